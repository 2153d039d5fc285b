// The committed JPEG decoder module is what its build script makes from Debian's libjpeg-turbo source, byte for byte.
import { spawnSync } from "node:child_process";
import { expect, it } from "vitest";
import { ROOT } from "../processes/index.ts";

it("scripts/libjpeg-wasm.sh reproduces edge/image/decode/libjpeg/libjpeg.wasm", () => {
  const build = spawnSync("bash", ["scripts/libjpeg-wasm.sh", "--check"], { cwd: ROOT, encoding: "utf8", timeout: 600_000 });
  expect(build.stderr + build.stdout).toContain("the build reproduces");
  expect(build.status).toBe(0);
}, 660_000);
