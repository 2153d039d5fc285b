const encoder = new TextEncoder();

/**
 * Rendezvous (highest-random-weight) order of `members` for `key`: each member's weight is a hash of its id
 * and the key, highest first. The same key always ranks the members the same way, and adding or removing a
 * member moves only the keys that member wins or held — so a conversation, or an image, keeps its replica.
 */
export async function rendezvousOrder<Member extends { readonly id: string }>(key: string, members: readonly Member[]): Promise<Member[]> {
  const weighed = await Promise.all(
    members.map(async (member) => {
      const digest = await crypto.subtle.digest("SHA-256", encoder.encode(`${member.id}\u0000${key}`));
      return { member, weight: new DataView(digest).getBigUint64(0) };
    }),
  );
  weighed.sort((a, b) => (a.weight === b.weight ? a.member.id.localeCompare(b.member.id) : a.weight > b.weight ? -1 : 1));
  return weighed.map(({ member }) => member);
}
