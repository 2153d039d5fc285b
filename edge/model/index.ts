export { type EdgeModel, EdgeModelCache, readModelAsset } from "./model-files.ts";
