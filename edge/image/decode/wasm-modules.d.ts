// wrangler's default module rules (and the Workers vitest pool) turn a `.wasm` import into a compiled module.
declare module "*.wasm" {
  const module: WebAssembly.Module;
  export default module;
}
