const encoder = new TextEncoder();

async function digest(text: string): Promise<Uint8Array> {
  return new Uint8Array(await crypto.subtle.digest("SHA-256", encoder.encode(text)));
}

/**
 * Compares a presented secret with the expected one in time independent of where they differ:
 * both are hashed to fixed-length digests first, so neither length nor content leaks.
 * Web Crypto only, so it runs unchanged in Node and in workerd.
 */
export async function secretsEqual(presented: string, expected: string): Promise<boolean> {
  const [a, b] = await Promise.all([digest(presented), digest(expected)]);
  let difference = 0;
  for (let i = 0; i < a.length; i++) difference |= a[i]! ^ b[i]!;
  return difference === 0;
}

/** Checks a presented secret against any of several accepted ones, always comparing with all of them. */
export async function secretMatchesAny(presented: string, accepted: readonly string[]): Promise<boolean> {
  const results = await Promise.all(accepted.map((secret) => secretsEqual(presented, secret)));
  return results.some(Boolean);
}

/** The token of an `Authorization: Bearer <token>` header, or undefined when absent or malformed. */
export function bearerToken(authorization: string | null | undefined): string | undefined {
  if (!authorization) return undefined;
  const match = /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(authorization);
  return match?.[1];
}
