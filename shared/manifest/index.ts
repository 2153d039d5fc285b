export { GRAPH_IO, joiningName, KV_SIDES, type KvSide, pastName, presentName } from "./graph-io.ts";
export {
  FORMAT_VERSION,
  GRAPH_NAMES,
  type GraphName,
  graphFileName,
  graphsOf,
  type Manifest,
  ManifestError,
  ManifestSchema,
  MODEL_DTYPES,
  type ModelDtype,
  parseCurrentManifest,
  parseManifest,
  servedGraphsOf,
  servingTopK,
} from "./schema.ts";
