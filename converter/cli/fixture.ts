// npm run fixture -- --kind hybrid|siglip --out DIR [--seed N] [--tiny | --size tiny|vision|real] [--dtype F16|BF16|F32] [--shards N]
import { parseArgs } from "node:util";
import { writeFixture } from "../fixture/index.ts";

const usage =
  "usage: npm run fixture -- --kind hybrid|siglip --out DIR [--seed N] [--tiny | --size tiny|vision|real] [--dtype F16|BF16|F32] [--shards N]";

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      kind: { type: "string" },
      out: { type: "string" },
      seed: { type: "string", default: "0" },
      tiny: { type: "boolean", default: false },
      size: { type: "string" },
      dtype: { type: "string", default: "F16" },
      shards: { type: "string" },
      help: { type: "boolean", default: false },
    },
  });
  if (values.help || !values.out || (values.kind !== "hybrid" && values.kind !== "siglip")) {
    console.error(usage);
    process.exitCode = values.help ? 0 : 2;
    return;
  }
  if (values.dtype !== "F16" && values.dtype !== "BF16" && values.dtype !== "F32")
    throw new Error(`--dtype ${values.dtype}: expected F16, BF16 or F32`);
  const size = values.tiny ? "tiny" : (values.size ?? "vision");
  if (size !== "tiny" && size !== "vision" && size !== "real") throw new Error(`--size ${size}: expected tiny, vision or real`);
  const seed = Number(values.seed);
  if (!Number.isInteger(seed)) throw new Error(`--seed ${values.seed}: expected an integer`);
  await writeFixture(values.out, {
    kind: values.kind,
    size,
    seed,
    dtype: values.dtype,
    shards: values.shards === undefined ? undefined : Number(values.shards),
  });
  console.log(`${values.out}: ${size} ${values.kind} fixture (seed ${seed}, ${values.dtype})`);
}

main().catch((error: Error) => {
  console.error(`fixture: ${error.name}: ${error.message}`);
  process.exitCode = 1;
});
