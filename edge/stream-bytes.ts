/** A stream's first buffer when its length is declared; it doubles from there up to the declared length. */
const FIRST_BUFFER_BYTES = 1 << 20;

export type StreamBytesOptions = {
  /**
   * The length the stream declares (its Content-Length), if any. The stream is then read into one buffer that
   * grows by doubling from 1 MiB to exactly that length, so what it holds is what arrived (a client that declares
   * much and sends little claims little) and no join is needed at the end; without, chunks are joined at the end.
   */
  readonly declaredBytes: number | undefined;
  /** Once more than this arrived the read is cancelled and `tooLarge()` thrown. */
  readonly maxBytes: number;
  readonly tooLarge: () => Error;
  /** Once no chunk came for `ms`, the read is cancelled and `stalled()` thrown. */
  readonly idle?: { readonly ms: number; readonly stalled: () => Error };
};

/** The Content-Length of a message whose body is sent as is (not chunked), when it declares a valid one. */
export function declaredLength(headers: Headers): number | undefined {
  if (headers.has("transfer-encoding")) return undefined;
  const value = headers.get("content-length");
  const length = value === null ? Number.NaN : Number(value);
  return Number.isSafeInteger(length) && length >= 0 ? length : undefined;
}

/** A whole stream in one Uint8Array, bounded in bytes (and, with `idle`, in the pause between chunks). */
export async function streamBytes(stream: ReadableStream<Uint8Array>, options: StreamBytesOptions): Promise<Uint8Array> {
  const { declaredBytes, maxBytes, tooLarge, idle } = options;
  const reader = stream.getReader();
  let buffer = new Uint8Array(declaredBytes === undefined ? 0 : Math.min(declaredBytes, FIRST_BUFFER_BYTES));
  const chunks: Uint8Array[] = [];
  let length = 0;
  for (;;) {
    const read = await (idle ? readWithin(reader, idle.ms) : reader.read());
    if (read === "stalled") {
      reader.cancel("the stream stalled").catch(() => undefined);
      throw idle!.stalled();
    }
    if (read.done) break;
    const chunk = read.value;
    if (length + chunk.length > maxBytes) {
      reader.cancel("the stream is too large").catch(() => undefined);
      throw tooLarge();
    }
    if (declaredBytes === undefined) chunks.push(chunk);
    else {
      // A body longer than declared (a Content-Length of the encoded bytes, say) still reads whole.
      if (length + chunk.length > buffer.length) {
        const grown = new Uint8Array(Math.max(length + chunk.length, Math.min(declaredBytes, buffer.length * 2)));
        grown.set(buffer.subarray(0, length));
        buffer = grown;
      }
      buffer.set(chunk, length);
    }
    length += chunk.length;
  }
  if (declaredBytes !== undefined) return buffer.subarray(0, length);
  const bytes = new Uint8Array(length);
  let at = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, at);
    at += chunk.length;
  }
  return bytes;
}

async function readWithin(reader: ReadableStreamDefaultReader<Uint8Array>, ms: number) {
  let timer: ReturnType<typeof setTimeout> | null = null;
  const idle = new Promise<"stalled">((resolve) => {
    timer = setTimeout(() => resolve("stalled"), ms);
  });
  try {
    return await Promise.race([reader.read(), idle]);
  } finally {
    clearTimeout(timer);
  }
}
