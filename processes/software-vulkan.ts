import { readFileSync } from "node:fs";
import { join } from "node:path";
import { ROOT } from "./launch.ts";

/**
 * The environment that names the software Vulkan device (lavapipe) scripts/software-vulkan.sh provisions:
 * with it, onnxruntime's WebGPU provider runs without a GPU. Read from the script's env file; a process must
 * start with it (the dynamic loader reads LD_LIBRARY_PATH once).
 */
export function softwareVulkanEnv(): Record<string, string> {
  const path = join(ROOT, ".cache/software-vulkan/env");
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch {
    throw new Error(`${path} is missing: run bash scripts/software-vulkan.sh (npm test does)`);
  }
  return Object.fromEntries(text.split("\n").flatMap((line) => (line.includes("=") ? [line.split(/=(.*)/s, 2) as [string, string]] : [])));
}
