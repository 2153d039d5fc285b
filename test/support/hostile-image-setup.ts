// vitest globalSetup of the edge tests: the hostile image server runs in Node for the whole run, and the
// tests inside workerd learn where it is, and the host name its redirects use, through `inject("hostileImageServer")`.
import type { TestProject } from "vitest/node";
import { HOSTILE_IMAGE_HOST, startHostileImageServer } from "./hostile-image-server.ts";

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const server = await startHostileImageServer();
  project.provide("hostileImageServer", { origin: server.origin, host: HOSTILE_IMAGE_HOST });
  return server.stop;
}
