export { loadEdgeModel, readModelAsset, type EdgeModel } from "./model-files.ts";
