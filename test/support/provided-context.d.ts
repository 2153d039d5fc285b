// What vitest's globalSetup files provide to tests (`inject`), typed for both the Node and the workerd tests.
import "vitest";

declare module "vitest" {
  export interface ProvidedContext {
    /** The hostile image server (test/support/hostile-image-server.ts) and the host name its redirects use. */
    hostileImageServer: { origin: string; host: string };
  }
}
