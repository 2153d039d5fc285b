// `npm run bundle:offline [-- --out FILE]`: the GPU service as one self-contained archive for an offline Linux
// x64 GPU host: a Node runtime, the service's code and production dependencies (onnxruntime-node's Linux x64
// binaries only), and the Vulkan loader a minimal host may lack. No model. On the host:
//   tar -xJf deepseek-vl-gpu-service-linux-x64.tar.xz && GPU_SERVICE_SECRET=... MODEL_DIR=/models/x deepseek-vl-gpu-service/start
import { execFileSync } from "node:child_process";
import { copyFileSync, cpSync, existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { basename, dirname, join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { ROOT } from "../processes/index.ts";

const NAME = "deepseek-vl-gpu-service";
/** What the GPU service imports from npm (its own code imports nothing else). */
const ROOT_PACKAGES = ["@bufbuild/protobuf", "@connectrpc/connect", "@connectrpc/connect-node", "onnxruntime-node", "prom-client", "zod"];
/** The archive may not grow past this (the bound for a bundle to carry to a GPU host). */
const MAX_BYTES = 60 * 1024 * 1024;

const { values } = parseArgs({ options: { out: { type: "string" } } });
const out = resolve(values.out ?? join(ROOT, ".cache/bundle", `${NAME}-linux-x64.tar.xz`));

/** The packages `roots` need, following `dependencies` through node_modules. */
function dependencyClosure(roots: readonly string[]): string[] {
  const seen = new Set<string>();
  const visit = (name: string) => {
    if (seen.has(name)) return;
    seen.add(name);
    const manifest = JSON.parse(readFileSync(join(ROOT, "node_modules", name, "package.json"), "utf8"));
    for (const dependency of Object.keys(manifest.dependencies ?? {})) visit(dependency);
  };
  for (const root of roots) visit(root);
  return [...seen].sort();
}

const vulkanLoader = join(ROOT, ".cache/software-vulkan/root/usr/lib/x86_64-linux-gnu/libvulkan.so.1");
if (!existsSync(vulkanLoader)) execFileSync("bash", [join(ROOT, "scripts/software-vulkan.sh")], { stdio: "inherit" });

const staging = join(dirname(out), `.${basename(out)}.staging`);
const bundle = join(staging, NAME);
rmSync(staging, { recursive: true, force: true });
mkdirSync(join(bundle, "lib"), { recursive: true });

copyFileSync(join(ROOT, "node_modules/node/bin/node"), join(bundle, "node"));
copyFileSync(vulkanLoader, join(bundle, "lib/libvulkan.so.1"));
const app = join(bundle, "app");
const productCode = (path: string) => !path.endsWith(".test.ts") && basename(path) !== "Dockerfile";
for (const folder of ["gpu-service", "shared"]) cpSync(join(ROOT, folder), join(app, folder), { recursive: true, filter: productCode });
writeFileSync(join(app, "package.json"), `${JSON.stringify({ name: NAME, private: true, type: "module" }, null, 2)}\n`);
for (const name of dependencyClosure(ROOT_PACKAGES)) {
  cpSync(join(ROOT, "node_modules", name), join(app, "node_modules", name), {
    recursive: true,
    // onnxruntime-node ships every platform's binaries: Linux x64 only.
    filter: (path) => !/onnxruntime-node\/bin\/napi-v\d+\/(darwin|win32|linux\/arm64)/.test(path),
  });
}
writeFileSync(
  join(bundle, "start"),
  `#!/bin/sh
# Starts the GPU service from this folder: MODEL_DIR and GPU_SERVICE_SECRET from the environment (see the README).
here="$(cd "$(dirname "$0")" && pwd)"
# The bundled Vulkan loader is used only where the host has none.
if ! { /sbin/ldconfig -p 2>/dev/null || ldconfig -p 2>/dev/null; } | grep -q "libvulkan.so.1 "; then
  export LD_LIBRARY_PATH="\${LD_LIBRARY_PATH:+$LD_LIBRARY_PATH:}$here/lib"
fi
cd "$here/app" && exec "$here/node" gpu-service/main.ts "$@"
`,
  { mode: 0o755 },
);

mkdirSync(dirname(out), { recursive: true });
execFileSync("tar", ["-C", staging, "-cJf", out, NAME], { env: { ...process.env, XZ_OPT: "-3 -T0" } });
rmSync(staging, { recursive: true, force: true });
const size = statSync(out).size;
console.log(`${out}: ${(size / 1024 / 1024).toFixed(1)} MiB`);
if (size > MAX_BYTES) {
  console.error(`the bundle is over ${MAX_BYTES / 1024 / 1024} MiB`);
  process.exit(1);
}
