import { mkdirSync } from "node:fs";
import { cloudflareTest } from "@cloudflare/vitest-plugin";
import { defineConfig } from "vitest/config";
import { EDGE_ASSETS_DIR } from "./processes/edge-assets.ts";
import { softwareVulkanEnv } from "./processes/software-vulkan.ts";
import { edgeTestModels } from "./test/support/edge-models.ts";

// wrangler.toml's [assets] folder must exist for the Workers pool to read the configuration.
mkdirSync(EDGE_ASSETS_DIR, { recursive: true });
// Test workers and the processes they start inherit the software Vulkan device, so onnxruntime's WebGPU
// provider runs here without a GPU (the loader reads these variables when a process starts).
Object.assign(process.env, softwareVulkanEnv());

export default defineConfig({
  test: {
    reporters: ["default", "./test/support/summary-reporter.ts"],
    projects: [
      {
        test: {
          name: "unit",
          environment: "node",
          include: ["shared/**/*.test.ts", "gpu-service/**/*.test.ts", "converter/**/*.test.ts", "scripts/**/*.test.ts"],
          testTimeout: 60_000,
        },
      },
      {
        plugins: [
          cloudflareTest({
            wrangler: { configPath: "./wrangler.toml" },
            // Test-only binding: the tiny model sets and their gpu-placement SigLIP features (runs in Node).
            miniflare: { serviceBindings: { TEST_MODELS: edgeTestModels } },
          }),
        ],
        test: {
          name: "edge",
          include: ["edge/**/*.test.ts"],
          globalSetup: ["./test/support/hostile-image-setup.ts"],
        },
      },
      {
        test: {
          name: "integration",
          environment: "node",
          include: ["test/**/*.test.ts"],
          testTimeout: 120_000,
          hookTimeout: 180_000,
          fileParallelism: false,
        },
      },
    ],
  },
});
