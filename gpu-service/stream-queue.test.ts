import { describe, expect, it } from "vitest";
import { StreamQueue } from "./stream-queue.ts";

async function drain<T>(queue: StreamQueue<T>): Promise<{ items: T[]; error?: unknown }> {
  const items: T[] = [];
  try {
    for await (const item of queue) items.push(item);
    return { items };
  } catch (error) {
    return { items, error };
  }
}

describe("StreamQueue", () => {
  it("delivers items pushed before and after the reader starts, in order, then ends on close", async () => {
    const queue = new StreamQueue<number>();
    queue.push(1);
    const reading = drain(queue);
    queue.push(2);
    await Promise.resolve();
    queue.push(3);
    queue.close();
    queue.push(4);
    expect(await reading).toEqual({ items: [1, 2, 3] });
  });

  it("delivers the items queued before a failure, then throws it", async () => {
    const queue = new StreamQueue<string>();
    queue.push("a");
    const failure = new Error("deadline");
    queue.fail(failure);
    expect(await drain(queue)).toEqual({ items: ["a"], error: failure });
  });
});
