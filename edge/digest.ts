const encoder = new TextEncoder();

/**
 * The SHA-256 of `parts` one after another, as lowercase hex (a string is hashed as its UTF-8 bytes). The parts
 * are streamed into the digest, never joined: a photo's bytes are hashed where they lie.
 */
export async function sha256Hex(...parts: (Uint8Array | string)[]): Promise<string> {
  const stream = new crypto.DigestStream("SHA-256");
  const writer = stream.getWriter();
  for (const part of parts) await writer.write(typeof part === "string" ? encoder.encode(part) : part);
  await writer.close();
  const digest = new Uint8Array(await stream.digest);
  return Array.from(digest, (byte) => byte.toString(16).padStart(2, "0")).join("");
}
