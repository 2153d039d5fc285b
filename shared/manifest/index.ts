export { GRAPH_IO, KV_SIDES, type KvSide, pastName, presentName } from "./graph-io.ts";
export {
  GRAPH_NAMES,
  type GraphName,
  graphFileName,
  graphsOf,
  type Manifest,
  ManifestError,
  ManifestSchema,
  MODEL_DTYPES,
  type ModelDtype,
  parseManifest,
} from "./schema.ts";
