/** Anything wrong with the input checkpoint: files, headers, tensors or config. The message names the culprit. */
export class CheckpointError extends Error {
  override name = "CheckpointError";
}
