// The Worker isolate's own memory (JavaScript heap and ArrayBuffer stores), read through the DevTools protocol that
// `wrangler dev` serves on its inspector port: what the edge's code holds, apart from workerd's native memory
// (which RSS adds in).
export type HeapUsage = {
  /** Live JavaScript objects, bytes. */
  usedBytes: number;
  /** ArrayBuffer backing stores (tensors, image bytes, WASM memories), bytes. */
  backingStoreBytes: number;
};

type Message = { id?: number; method?: string; params?: { chunk?: string }; result?: Record<string, unknown>; error?: { message: string } };
type Reply = Message & { id: number };

export class IsolateHeap {
  readonly #socket: WebSocket;
  readonly #pending = new Map<number, (reply: Reply) => void>();
  #nextId = 1;
  #snapshotChunks: string[] = [];

  private constructor(socket: WebSocket) {
    this.#socket = socket;
    socket.addEventListener("message", (event) => {
      const message = JSON.parse(String(event.data)) as Message;
      if (message.method === "HeapProfiler.addHeapSnapshotChunk") this.#snapshotChunks.push(message.params?.chunk ?? "");
      if (message.id === undefined) return;
      this.#pending.get(message.id)?.(message as Reply);
      this.#pending.delete(message.id);
    });
  }

  /** Connects to the inspector of `wrangler dev --inspector-port <port>` (its first Worker). */
  static async connect(inspectorPort: number, timeoutMs = 10_000): Promise<IsolateHeap> {
    const targets = (await (await fetch(`http://127.0.0.1:${inspectorPort}/json`, { signal: AbortSignal.timeout(timeoutMs) })).json()) as {
      webSocketDebuggerUrl: string;
    }[];
    if (targets[0] === undefined) throw new Error(`no Worker on inspector port ${inspectorPort}`);
    // The inspector accepts only local origins; Node's WebSocket sends none unless told (an undici option).
    const socket = new WebSocket(targets[0].webSocketDebuggerUrl, { headers: { origin: "http://127.0.0.1" } } as unknown as string[]);
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`inspector on port ${inspectorPort} did not open within ${timeoutMs} ms`)),
        timeoutMs,
      );
      socket.addEventListener(
        "open",
        () => {
          clearTimeout(timer);
          resolve();
        },
        { once: true },
      );
      socket.addEventListener(
        "close",
        () => {
          clearTimeout(timer);
          reject(new Error(`inspector on port ${inspectorPort} refused the connection`));
        },
        { once: true },
      );
    });
    return new IsolateHeap(socket);
  }

  /**
   * The heap as it stands, garbage included: workerd's inspector ignores HeapProfiler.collectGarbage, so a cheap
   * reading can only be followed by its low-water mark; `retainedBytes` is exact but takes seconds.
   */
  async usage(): Promise<HeapUsage> {
    const usage = await this.#call("Runtime.getHeapUsage");
    return { usedBytes: Number(usage.usedSize), backingStoreBytes: Number(usage.backingStorageSize ?? 0) };
  }

  /**
   * What survives a full garbage collection: the summed size of a heap snapshot's objects, ArrayBuffer stores
   * included. The snapshot collects garbage first; it holds the isolate for seconds.
   */
  async retainedBytes(): Promise<number> {
    this.#snapshotChunks = [];
    await this.#call("HeapProfiler.takeHeapSnapshot", 300_000);
    const snapshot = JSON.parse(this.#snapshotChunks.join("")) as { snapshot: { meta: { node_fields: string[] } }; nodes: number[] };
    this.#snapshotChunks = [];
    const fields = snapshot.snapshot.meta.node_fields;
    const selfSize = fields.indexOf("self_size");
    let total = 0;
    for (let i = selfSize; i < snapshot.nodes.length; i += fields.length) total += snapshot.nodes[i]!;
    return total;
  }

  close(): void {
    this.#socket.close();
  }

  #call(method: string, timeoutMs = 30_000): Promise<Record<string, unknown>> {
    const id = this.#nextId++;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#pending.delete(id);
        reject(new Error(`inspector: ${method} got no answer within ${timeoutMs} ms`));
      }, timeoutMs);
      this.#pending.set(id, (reply) => {
        clearTimeout(timer);
        if (reply.error) reject(new Error(`inspector: ${method}: ${reply.error.message}`));
        else resolve(reply.result ?? {});
      });
      this.#socket.send(JSON.stringify({ id, method, params: {} }));
    });
  }
}
