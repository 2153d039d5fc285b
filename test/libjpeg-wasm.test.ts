// The committed JPEG decoder module is what its build script makes from Debian's libjpeg-turbo source, byte for byte,
// and its SIMD kernels compute what libjpeg's C computes (the script's simd-check on random blocks and rows).
import { spawnSync } from "node:child_process";
import { expect, it } from "vitest";
import { ROOT } from "../processes/index.ts";

it("scripts/libjpeg-wasm.sh reproduces edge/image/decode/libjpeg/libjpeg.wasm, its SIMD kernels equal to libjpeg's C", () => {
  const build = spawnSync("bash", ["scripts/libjpeg-wasm.sh", "--check"], { cwd: ROOT, encoding: "utf8", timeout: 600_000 });
  const output = build.stderr + build.stdout;
  expect(output).toContain("ISLOW IDCT equal on 1000000 blocks");
  expect(output).toContain("YCbCr -> RGB equal on 200000 rows");
  expect(output).toContain("fancy upsampling (h2v1, h2v2) equal on 200000 rows");
  expect(output).toContain("the build reproduces");
  expect(build.status).toBe(0);
}, 660_000);
