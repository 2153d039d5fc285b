// The generated TypeScript is committed; this proves it is exactly what the .proto files generate.
import { spawnSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, expect, it } from "vitest";

const root = fileURLToPath(new URL("../..", import.meta.url));
const scratch = mkdtempSync(join(tmpdir(), "proto-gen-"));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

function files(dir: string): Map<string, string> {
  const found = new Map<string, string>();
  const walk = (path: string) => {
    for (const entry of readdirSync(path, { withFileTypes: true })) {
      const full = join(path, entry.name);
      if (entry.isDirectory()) walk(full);
      else found.set(relative(dir, full), readFileSync(full, "utf8"));
    }
  };
  walk(dir);
  return found;
}

it("regenerating shared/gen from shared/proto yields no diff", () => {
  const lint = spawnSync(`${root}node_modules/.bin/buf`, ["lint"], { cwd: root, encoding: "utf8" });
  expect(lint.stdout + lint.stderr).toBe("");
  const generate = spawnSync(`${root}node_modules/.bin/buf`, ["generate", "--output", scratch], {
    cwd: root,
    encoding: "utf8",
    env: { ...process.env, PATH: `${root}node_modules/.bin:${process.env.PATH}` },
  });
  expect(generate.status, generate.stderr).toBe(0);
  const committed = files(join(root, "shared/gen"));
  const regenerated = files(join(scratch, "shared/gen"));
  expect([...regenerated.keys()].sort()).toEqual([...committed.keys()].sort());
  for (const [path, text] of regenerated) expect(committed.get(path), path).toBe(text);
});
