export { EdgeModelCache, readModelAsset, type EdgeModel } from "./model-files.ts";
