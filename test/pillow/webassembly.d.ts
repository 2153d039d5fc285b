// Node 22 has the WebAssembly JS API, but TypeScript declares it only in lib.dom and @types/node 22
// does not: this is the part that edge/image/decode (type-checked here through the Pillow tests)
// and the Node codec loader use. The Worker side gets the full API from @cloudflare/workers-types.
declare namespace WebAssembly {
  type Imports = Record<string, Record<string, unknown>>;
  type Exports = Record<string, unknown>;
  class Module {
    constructor(bytes: ArrayBufferView | ArrayBuffer);
  }
  class Instance {
    constructor(module: Module, imports?: Imports);
    readonly exports: Exports;
  }
  class Memory {
    private constructor();
    readonly buffer: ArrayBuffer;
  }
}
