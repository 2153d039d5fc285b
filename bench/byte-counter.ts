// A TCP proxy on loopback that counts the bytes passing each way (benchmarks only): put between the edge and
// the GPU service, it shows what a request costs on the link. Upstream bytes are also split by the HTTP/1.1
// request they belong to, from the request lines ("POST /deepseek_vl.v1.InferenceService/Generate HTTP/1.1").
import { connect, createServer, type Socket } from "node:net";

export type Traffic = {
  /** Bytes sent to the target (requests: HTTP/1.1 headers and bodies). */
  upstream: number;
  /** Bytes the target sent back. */
  downstream: number;
  /** Upstream bytes by request path (the RPC method for gRPC-web), in order of first appearance. */
  byPath: Map<string, number>;
};

export type ByteCounter = {
  url: string;
  /** The traffic since the last call (or the start), and a fresh count from now on. */
  take(): Traffic;
  close(): Promise<void>;
};

const REQUEST_LINE = Buffer.from("POST /");
const emptyTraffic = (): Traffic => ({ upstream: 0, downstream: 0, byPath: new Map() });

export async function startByteCounter(target: { host: string; port: number }): Promise<ByteCounter> {
  let traffic = emptyTraffic();
  const sockets = new Set<Socket>();
  const add = (path: string, bytes: number) => {
    if (bytes > 0) traffic.byPath.set(path, (traffic.byPath.get(path) ?? 0) + bytes);
  };

  const server = createServer((client) => {
    const upstream = connect(target.port, target.host);
    for (const socket of [client, upstream]) {
      sockets.add(socket);
      socket.once("close", () => sockets.delete(socket));
      socket.on("error", () => [client, upstream].forEach((s) => s.destroy()));
    }
    // A request line may only be missed if it straddles two reads; its bytes then count for the previous path.
    let path = "(unknown)";
    client.on("data", (chunk: Buffer) => {
      traffic.upstream += chunk.length;
      let from = 0;
      for (let at = chunk.indexOf(REQUEST_LINE); at >= 0; at = chunk.indexOf(REQUEST_LINE, at + 1)) {
        add(path, at - from);
        const end = chunk.indexOf(" ", at + REQUEST_LINE.length);
        path = chunk.toString("latin1", at + REQUEST_LINE.length - 1, end < 0 ? chunk.length : end);
        from = at;
      }
      add(path, chunk.length - from);
    });
    upstream.on("data", (chunk: Buffer) => (traffic.downstream += chunk.length));
    client.pipe(upstream);
    upstream.pipe(client);
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", resolve);
  });
  const address = server.address();
  if (typeof address !== "object" || address === null) throw new Error("the byte counter has no address");
  return {
    url: `http://127.0.0.1:${address.port}`,
    take() {
      const taken = traffic;
      traffic = emptyTraffic();
      return taken;
    },
    close() {
      for (const socket of sockets) socket.destroy();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}
