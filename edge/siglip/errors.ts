import { CodedError } from "../coded-error.ts";

export type SiglipEncoderErrorCode =
  /** The encoder's model is larger than the edge memory budget: use the `gpu` SigLIP placement (a deployment error). */
  | "model_too_large"
  /** The option values are unusable. */
  | "invalid_option"
  /** The pixels are not uint8 [3,S,S] for the model's image size (a caller bug: preprocessing sizes them). */
  | "invalid_pixels"
  /** onnxruntime-web failed to start, to load the graph, or to run it. */
  | "runtime_failed"
  /** The graph's output is not `image_features` float32 [N,tokens,featureDim] as the manifest says. */
  | "unexpected_output";

/** The edge SigLIP encoder cannot be created or cannot encode; `code` says why. */
export class SiglipEncoderError extends CodedError<SiglipEncoderErrorCode> {
  override name = "SiglipEncoderError";
}
