export {
  GRAPH_NAMES,
  MODEL_DTYPES,
  ManifestError,
  ManifestSchema,
  graphFileName,
  graphsOf,
  parseManifest,
  type GraphName,
  type Manifest,
  type ModelDtype,
} from "./schema.ts";
export { GRAPH_IO, KV_SIDES, pastName, presentName, type KvSide } from "./graph-io.ts";
