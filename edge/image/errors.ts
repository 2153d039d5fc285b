export type ImageErrorCode = "invalid_image" | "invalid_option";

/** An image or a preprocessing option is malformed; the edge maps it to a 400 for the client. */
export class ImageError extends Error {
  override name = "ImageError";
  readonly code: ImageErrorCode;

  constructor(code: ImageErrorCode, message: string) {
    super(message);
    this.code = code;
  }
}
