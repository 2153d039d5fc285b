/**
 * An error of one of the edge's own libraries (prompt, image, SigLIP): `code` says which rule was broken.
 * The libraries know nothing of HTTP; `toApiError` (./errors.ts) decides what a client sees.
 */
export class CodedError<Code extends string> extends Error {
  readonly code: Code;

  constructor(code: Code, message: string, options?: ErrorOptions) {
    super(message, options);
    this.code = code;
  }
}
