/** True when `bytes` holds `prefix` at `at`. */
export function startsWith(bytes: Uint8Array, prefix: readonly number[], at = 0): boolean {
  if (at < 0 || at + prefix.length > bytes.length) return false;
  return prefix.every((b, i) => bytes[at + i] === b);
}

/** The byte values of an ASCII string, for comparing with `startsWith`. */
export function ascii(text: string): number[] {
  return Array.from(text, (c) => c.charCodeAt(0));
}

/** Bytes as Latin-1 text (every byte one character), as Pillow decodes PNG text keywords. */
export function latin1(bytes: Uint8Array): string {
  let text = "";
  for (let i = 0; i < bytes.length; i += 8192) text += String.fromCharCode(...bytes.subarray(i, i + 8192));
  return text;
}

export function dataView(bytes: Uint8Array): DataView {
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}
