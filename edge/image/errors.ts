import { CodedError } from "../coded-error.ts";

export type ImageErrorCode =
  | "invalid_image"
  | "invalid_option"
  /** Not a JPEG, PNG or WebP by its magic bytes, or a variant of one that is not decoded (e.g. animated WebP). */
  | "unsupported_format"
  /** The container or its compressed data is malformed or truncated. */
  | "corrupt_image"
  /** The header declares more pixels than the configured cap; refused before decoding. */
  | "too_many_pixels";

/** An image or a preprocessing option is malformed; the edge maps it to a 400 for the client. */
export class ImageError extends CodedError<ImageErrorCode> {
  override name = "ImageError";
}
