import { describe, expect, it } from "vitest";
import { rendezvousOrder } from "./rendezvous.ts";

const members = ["http://gpu-0:8600", "http://gpu-1:8600", "http://gpu-2:8600"].map((id) => ({ id }));
const keys = Array.from({ length: 600 }, (_, i) => `key-${i}`);
const topOf = async (key: string, of: readonly { id: string }[]) => (await rendezvousOrder(key, of))[0]!.id;

describe("rendezvousOrder", () => {
  it("ranks every member, the same way for the same key whatever order they are listed in", async () => {
    for (const key of keys.slice(0, 50)) {
      const order = await rendezvousOrder(key, members);
      expect([...order.map((m) => m.id)].sort()).toEqual(members.map((m) => m.id).sort());
      expect(await rendezvousOrder(key, [...members].reverse())).toEqual(order);
    }
  });

  it("spreads keys over the members", async () => {
    const wins = new Map<string, number>();
    for (const key of keys) {
      const top = await topOf(key, members);
      wins.set(top, (wins.get(top) ?? 0) + 1);
    }
    // 200 each on average; a binomial(600, 1/3) falls outside 150..250 with probability below 1e-4.
    for (const member of members) expect(wins.get(member.id)).toBeGreaterThan(150);
    for (const member of members) expect(wins.get(member.id)).toBeLessThan(250);
  });

  it("moves only the keys of a member that leaves, each to its second choice", async () => {
    const [gone, ...staying] = members;
    for (const key of keys) {
      const order = await rendezvousOrder(key, members);
      const after = await topOf(key, staying);
      expect(after).toBe(order[0]!.id === gone!.id ? order[1]!.id : order[0]!.id);
    }
  });

  it("moves to a member that joins only the keys it wins", async () => {
    const joined = [...members, { id: "http://gpu-3:8600" }];
    let moved = 0;
    for (const key of keys) {
      const before = await topOf(key, members);
      const after = await topOf(key, joined);
      if (after !== before) {
        expect(after).toBe("http://gpu-3:8600");
        moved++;
      }
    }
    expect(moved).toBeGreaterThan(100);
    expect(moved).toBeLessThan(200);
  });
});
