// `npm run preprocess -- IMAGE --model-dir DIR --out FILE.png`: writes exactly the uint8 image the model sees
// (decoded, EXIF-oriented, resized with Pillow's bicubic and padded to a square), with the edge's own code.
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { fromPlanar, preprocessImage, readImageHeader } from "../edge/image/index.ts";
import { encodePng, nodeCodecWasm } from "../processes/index.ts";
import { parseManifest } from "../shared/manifest/index.ts";

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: { "model-dir": { type: "string" }, out: { type: "string" } },
});
const [image] = positionals;
if (!image || !values["model-dir"] || !values.out) {
  console.error("usage: npm run preprocess -- IMAGE --model-dir DIR --out FILE.png");
  process.exit(2);
}
const manifest = parseManifest(await readFile(join(values["model-dir"], "manifest.json"), "utf8"));
const bytes = new Uint8Array(await readFile(image));
const { imageSize, imageMean, minSize } = manifest.vision;
const { data, size } = await preprocessImage(bytes, { wasm: nodeCodecWasm(), imageSize, imageMean, minSize });
const padded = fromPlanar(data, size);
await writeFile(values.out, encodePng(padded.data, padded.width, padded.height));
const { width, height, orientation } = readImageHeader(bytes);
console.log(
  `${values.out}: ${width}x${height} (orientation ${orientation ?? 1}) -> ${padded.width}x${padded.height} (pad ${manifest.vision.padColor.join(",")})`,
);
