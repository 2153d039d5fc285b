// Protocol abuse at the real GPU service process (tiny model): lying tensors, absurd sizes, wrong dtypes,
// out-of-range ids, image-count mismatches, bad secrets, and hand-broken gRPC-web / gRPC / HTTP/2 frames.
// Each gets its precise code, and after each the process is still serving with its RSS bounded.
//
// Where the product's documents (README, DESIGN §3/§6) name no code, the expectation comes from the
// protocol's references: gRPC's doc/statuscodes.md ("Error parsing request proto": INTERNAL; "message
// larger than configured limit": RESOURCE_EXHAUSTED; "compression mechanism used by client not supported":
// UNIMPLEMENTED; "request cardinality violation": UNIMPLEMENTED), connect-go's envelope reader (a message
// cut short of its length prefix: INVALID_ARGUMENT), gRPC over HTTP/2 (a content type that is not gRPC:
// HTTP 415) and RFC 9113 (HTTP/2 framing errors).
import { gzipSync } from "node:zlib";
import { create, type MessageInitShape } from "@bufbuild/protobuf";
import { Code } from "@connectrpc/connect";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { type Running, randomSecret, rssBytes, startGpuService } from "../../processes/index.ts";
import {
  DataType,
  type SamplingParamsSchema,
  ServingStatus,
  type Tensor,
  TensorSchema,
} from "../../shared/gen/deepseek_vl/v1/inference_pb.js";
import type { Manifest } from "../../shared/manifest/index.ts";
import { encodeTensor } from "../../shared/tensor/index.ts";
import { errorOf, gpuClients, type Protocol } from "../support/gpu-client.ts";
import { gpuMetric, waitFor } from "../support/metrics.ts";
import { tinyModel } from "../support/models.ts";
import { envelope, goAwayCode, grpcPost, grpcWebPost, HTTP2_PREFACE, http2Frame, type RawReply, rawTcp } from "../support/raw-grpc.ts";

const MiB = 1024 * 1024;
/** The service's default read limit, set explicitly: cases below are sized against it. */
const READ_MAX_BYTES = 64 * MiB;
const UINT32_MAX = 2 ** 32 - 1;

const secret = randomSecret();
let model: { dir: string; manifest: Manifest };
let gpu: Running & { grpcPort: number };
let warmRss: number;

/** Clients presenting `token` (the right secret unless given; `null`: no Authorization header). */
const clients = (protocol: Protocol, token: string | null = secret) =>
  gpuClients(protocol === "grpc" ? `http://127.0.0.1:${gpu.grpcPort}` : gpu.url, token ?? undefined, protocol);

beforeAll(async () => {
  model = await tinyModel("hybrid");
  gpu = await startGpuService({
    secret,
    env: { MODEL_DIR: model.dir, GPU_SERVICE_EXECUTION_PROVIDERS: "cpu", GPU_SERVICE_READ_MAX_BYTES: String(READ_MAX_BYTES) },
  });
  // Warm-up: every graph over both transports, so the baseline holds the model, the pools and the caches' start.
  for (const protocol of ["grpc-web", "grpc"] as const) {
    for await (const _ of clients(protocol).inference.generate(valid(1)));
    await clients(protocol).inference.encodeImages({ images: [{ key: `warm-${protocol}`, pixels: pixels(2) }] });
  }
  warmRss = rssBytes(gpu.process.pid!)!;
});

afterAll(async () => {
  await gpu?.stop();
});

// After every case: the process is up, still serving, and has not grown to twice its warm size.
afterEach(async () => {
  expect(gpu.process.exitCode).toBeNull();
  expect((await clients("grpc-web").inference.health({})).status).toBe(ServingStatus.SERVING);
  expect(rssBytes(gpu.process.pid!)).toBeLessThan(2 * warmRss);
});

type ImageInit = { key: string; pixels?: Tensor; siglipFeatures?: Tensor };
type GenerateInit = {
  requestId: string;
  inputIds: number[];
  images: ImageInit[];
  sampling?: MessageInitShape<typeof SamplingParamsSchema>;
};
type Clients = ReturnType<typeof clients>;

const size = () => model.manifest.vision.imageSize;
const features = () => [model.manifest.vision.imageTokens, model.manifest.vision.featureDim];

/** uint8 [3,S,S] pixels of a deterministic pattern. */
function pixels(seed: number): Tensor {
  const data = new Uint8Array(3 * size() * size()).map((_, i) => (i * 31 + seed * 17) & 0xff);
  return encodeTensor(DataType.UINT8, [3, size(), size()], data);
}

/** A tensor exactly as given, unchecked, as a lying client sends it. */
const lying = (dtype: number, shape: number[], bytes: number) => create(TensorSchema, { dtype, shape, data: new Uint8Array(bytes) });

/** A valid Generate request with `images` images (pixels attached), 4 greedy tokens. */
function valid(images = 0, overrides: Partial<GenerateInit> = {}): GenerateInit {
  const ids = [model.manifest.tokens.bos];
  for (let i = 0; i < images; i++)
    ids.push(...new Array<number>(model.manifest.vision.imageTokens).fill(model.manifest.tokens.image), 400 + i);
  return {
    requestId: "abuse",
    inputIds: [...ids, 300, 301],
    images: Array.from({ length: images }, (_, i) => ({ key: `image-${i}-${Math.random()}`, pixels: pixels(i) })),
    sampling: { temperature: 0, topK: 0, topP: 1, repetitionPenalty: 1, maxNewTokens: 4 },
    ...overrides,
  };
}

/** The one-image request with its image message replaced. */
const oneImage = (image: ImageInit): GenerateInit => ({ ...valid(1), images: [image] });

describe("lying and malformed content: INVALID_ARGUMENT naming the problem (NOT_FOUND for an unknown image key)", () => {
  const S = size;
  const generate = (request: GenerateInit) => (c: Clients) => c.inference.generate(request);
  const cases: [string, () => (c: Clients) => Promise<unknown> | AsyncIterable<unknown>, Code, RegExp][] = [
    [
      "pixels one byte short of their shape",
      () => generate(oneImage({ key: "k", pixels: lying(DataType.UINT8, [3, S(), S()], 3 * S() * S() - 1) })),
      Code.InvalidArgument,
      /bytes/,
    ],
    [
      "pixels one byte over their shape",
      () => generate(oneImage({ key: "k", pixels: lying(DataType.UINT8, [3, S(), S()], 3 * S() * S() + 1) })),
      Code.InvalidArgument,
      /bytes/,
    ],
    [
      "pixels declaring (2^32-1)^2 x 3 elements in 3 bytes",
      () => generate(oneImage({ key: "k", pixels: lying(DataType.UINT8, [UINT32_MAX, UINT32_MAX, 3], 3) })),
      Code.InvalidArgument,
      /limit/,
    ],
    [
      "pixels declaring 4 GiB in 16 bytes",
      () => generate(oneImage({ key: "k", pixels: lying(DataType.UINT8, [65536, 65536], 16) })),
      Code.InvalidArgument,
      /limit/,
    ],
    [
      "pixels with a zero dim",
      () => generate(oneImage({ key: "k", pixels: lying(DataType.UINT8, [3, 0, S()], 0) })),
      Code.InvalidArgument,
      /dim 0/,
    ],
    [
      "pixels of rank 9",
      () => generate(oneImage({ key: "k", pixels: lying(DataType.UINT8, [1, 1, 1, 1, 1, 1, 3, S(), S()], 3 * S() * S()) })),
      Code.InvalidArgument,
      /9 dims/,
    ],
    [
      "pixels of dtype UNSPECIFIED",
      () => generate(oneImage({ key: "k", pixels: lying(DataType.UNSPECIFIED, [3, S(), S()], 3 * S() * S()) })),
      Code.InvalidArgument,
      /dtype/,
    ],
    [
      "pixels of an undefined dtype (99)",
      () => generate(oneImage({ key: "k", pixels: lying(99, [3, S(), S()], 3 * S() * S()) })),
      Code.InvalidArgument,
      /dtype/,
    ],
    [
      "pixels as INT64 of the right byte size",
      () => generate(oneImage({ key: "k", pixels: lying(DataType.INT64, [3, S(), S() / 8], 3 * S() * S()) })),
      Code.InvalidArgument,
      /UINT8/,
    ],
    [
      "SigLIP features as BFLOAT16",
      () =>
        generate(
          oneImage({
            key: "k",
            pixels: pixels(1),
            siglipFeatures: lying(DataType.BFLOAT16, features(), features()[0]! * features()[1]! * 2),
          }),
        ),
      Code.InvalidArgument,
      /FLOAT16/,
    ],
    [
      "SigLIP features as FLOAT32",
      () =>
        generate(
          oneImage({
            key: "k",
            pixels: pixels(1),
            siglipFeatures: lying(DataType.FLOAT32, features(), features()[0]! * features()[1]! * 4),
          }),
        ),
      Code.InvalidArgument,
      /FLOAT16/,
    ],
    [
      "an id equal to the vocabulary size",
      () => generate(valid(0, { inputIds: [model.manifest.tokens.bos, model.manifest.llm.vocabSize] })),
      Code.InvalidArgument,
      /vocabulary/,
    ],
    [
      "the largest uint32 id",
      () => generate(valid(0, { inputIds: [model.manifest.tokens.bos, UINT32_MAX] })),
      Code.InvalidArgument,
      /vocabulary/,
    ],
    ["an image-token run but no image", () => generate({ ...valid(1), images: [] }), Code.InvalidArgument, /image/],
    ["two image-token runs but one image", () => generate({ ...valid(2), images: valid(1).images }), Code.InvalidArgument, /image/],
    ["an image but no image-token run", () => generate({ ...valid(), images: valid(1).images }), Code.InvalidArgument, /image/],
    ["an image without a key", () => generate(oneImage({ key: "", pixels: pixels(1) })), Code.InvalidArgument, /key/],
    ["a 257-character image key", () => generate(oneImage({ key: "k".repeat(257), pixels: pixels(1) })), Code.InvalidArgument, /key/],
    ["no sampling parameters", () => generate({ ...valid(), sampling: undefined }), Code.InvalidArgument, /sampling/],
    ["an image by a key the service never saw", () => generate(oneImage({ key: "never-sent" })), Code.NotFound, /never-sent/],
    ["EncodeImages with no images", () => (c) => c.inference.encodeImages({ images: [] }), Code.InvalidArgument, /empty/],
    [
      "EncodeImages with an image without pixels",
      () => (c) => c.inference.encodeImages({ images: [{ key: "bare" }] }),
      Code.InvalidArgument,
      /pixels/,
    ],
    [
      "EncodeImages with pixels declaring far more than they hold",
      () => (c) => c.inference.encodeImages({ images: [{ key: "k", pixels: lying(DataType.UINT8, [3, S(), S()], 10) }] }),
      Code.InvalidArgument,
      /bytes/,
    ],
    [
      "Echo with a tensor declaring 2^48 elements",
      () => (c) => c.diagnostics.echo({ tensors: [lying(DataType.UINT8, [2 ** 24, 2 ** 24], 1)] }),
      Code.InvalidArgument,
      /limit/,
    ],
  ];
  const protocols: Protocol[] = ["grpc-web", "grpc"];

  it.each(protocols.flatMap((protocol) => cases.map((entry) => [protocol, ...entry] as const)))(
    "%s: %s",
    async (protocol, _, call, code, message) => {
      const error = await errorOf(call()(clients(protocol)));
      expect(Code[error.code]).toBe(Code[code]);
      expect(error.rawMessage).toMatch(message);
    },
  );
});

describe("the shared secret: UNAUTHENTICATED before any work, on every protocol", () => {
  const wrong: [string, () => string | null][] = [
    ["no secret", () => null],
    ["another secret", () => randomSecret()],
    ["the secret plus a character", () => `${secret}x`],
    ["the secret less its last character", () => secret.slice(0, -1)],
  ];
  it.each((["grpc-web", "connect", "grpc"] as const).flatMap((protocol) => wrong.map(([name, token]) => [protocol, name, token] as const)))(
    "%s with %s",
    async (protocol, _, token) => {
      const tokens = () => gpuMetric(gpu.url, "gpu_service_generated_tokens_total");
      const images = () => gpuMetric(gpu.url, "gpu_service_vision_images_encoded", '{graph="siglip"}');
      const before = [await tokens(), await images()];
      const { inference } = clients(protocol, token());
      expect(Code[(await errorOf(inference.generate(valid(1)))).code]).toBe("Unauthenticated");
      expect(Code[(await errorOf(inference.encodeImages({ images: [{ key: "k", pixels: pixels(3) }] }))).code]).toBe("Unauthenticated");
      expect([await tokens(), await images()]).toEqual(before);
    },
  );

  it.each([
    ["another scheme", `Basic ${Buffer.from(`edge:${secret}`).toString("base64")}`],
    ["the bare secret", secret],
    ["Bearer with no token", "Bearer "],
  ])("%s in the Authorization header", async (_, authorization) => {
    for (const post of [grpcWebPost.bind(null, gpu.url), grpcPost.bind(null, gpu.grpcPort)]) {
      expect((await post("/deepseek_vl.v1.InferenceService/Health", envelope(new Uint8Array(0)), { authorization })).grpcStatus).toBe(
        Code.Unauthenticated,
      );
    }
  });

  it("refuses an unauthenticated request declaring a 4 GiB body without reading it, closing the connection", async () => {
    const head = [
      "POST /deepseek_vl.v1.InferenceService/Generate HTTP/1.1",
      "Host: 127.0.0.1",
      "Content-Type: application/grpc-web+proto",
      "X-Grpc-Web: 1",
      `Content-Length: ${2 ** 32}`,
      "",
      "",
    ].join("\r\n");
    // 300 KiB of the 4 GiB: past the 256 KiB an HTTP/1.1 server may discard to keep the connection usable.
    const sent = Buffer.concat([Buffer.from(head), envelope(new Uint8Array(300 * 1024), { declaredLength: UINT32_MAX })]);
    const { received, closedByServer } = await rawTcp(gpu.port, sent);
    expect(received.toString("latin1")).toMatch(new RegExp(`grpc-status:\\s*${Code.Unauthenticated}\\b`, "i"));
    expect(closedByServer).toBe(true);
  });
});

describe("broken gRPC frames on the gRPC-web (HTTP/1.1) and gRPC (h2c) endpoints", () => {
  const HEALTH = "/deepseek_vl.v1.InferenceService/Health";
  const GENERATE = "/deepseek_vl.v1.InferenceService/Generate";
  const empty = new Uint8Array(0);
  let bomb: Uint8Array | undefined;
  /** Zeros that inflate one MiB past the read limit: about 65 KiB on the wire. */
  const gzipBomb = () => (bomb ??= gzipSync(new Uint8Array(READ_MAX_BYTES + MiB)));

  type Frame = { body: Uint8Array; headers?: Record<string, string> };
  const frames: [string, () => Frame, Code][] = [
    ["a length prefix larger than the body", () => ({ body: envelope(new Uint8Array(10), { declaredLength: 100 }) }), Code.InvalidArgument],
    ["a body shorter than a length prefix", () => ({ body: Uint8Array.of(0, 0, 0) }), Code.InvalidArgument],
    ["a declared length of 4 GiB", () => ({ body: envelope(new Uint8Array(16), { declaredLength: UINT32_MAX }) }), Code.ResourceExhausted],
    [
      "a declared length one byte over the read limit",
      () => ({ body: envelope(new Uint8Array(16), { declaredLength: READ_MAX_BYTES + 1 }) }),
      Code.ResourceExhausted,
    ],
    ["a message with an invalid wire type", () => ({ body: envelope(Uint8Array.of(0x0f, 0x01, 0x02, 0x03)) }), Code.Internal],
    [
      "a message whose field promises more bytes than it holds",
      () => ({ body: envelope(Uint8Array.of(0x0a, 0x64, 0x01, 0x02)) }),
      Code.Internal,
    ],
    ["the compressed flag without a grpc-encoding", () => ({ body: envelope(gzipSync(empty), { flags: 1 }) }), Code.Internal],
    [
      "an unsupported grpc-encoding",
      () => ({ body: envelope(empty, { flags: 1 }), headers: { "grpc-encoding": "snappy" } }),
      Code.Unimplemented,
    ],
    [
      "a gzip bomb inflating past the read limit",
      () => ({ body: envelope(gzipBomb(), { flags: 1 }), headers: { "grpc-encoding": "gzip" } }),
      Code.ResourceExhausted,
    ],
    ["no message at all", () => ({ body: empty }), Code.Unimplemented],
    ["two messages for one request", () => ({ body: Buffer.concat([envelope(empty), envelope(empty)]) }), Code.Unimplemented],
    ["a deadline over the service's maximum", () => ({ body: envelope(empty), headers: { "grpc-timeout": "601S" } }), Code.InvalidArgument],
  ];
  const transports: [string, (path: string, frame: Frame) => Promise<RawReply>][] = [
    ["gRPC-web", (path, { body, headers }) => grpcWebPost(gpu.url, path, body, { authorization: `Bearer ${secret}`, ...headers })],
    ["gRPC", (path, { body, headers }) => grpcPost(gpu.grpcPort, path, body, { authorization: `Bearer ${secret}`, ...headers })],
  ];
  const matrix = transports.flatMap(([transport, post]) =>
    [HEALTH, GENERATE].flatMap((path) =>
      frames.map(([name, frame, code]) => [transport, path.split("/").pop()!, name, post, path, frame, code] as const),
    ),
  );

  it.each(matrix)("%s %s: %s", async (_, _method, _name, post, path, frame, code) => {
    const reply = await post(path, frame());
    // The message rides along so that a wrong code shows what the service said.
    expect({ http: reply.httpStatus, code: Code[reply.grpcStatus!], message: reply.grpcMessage }).toMatchObject({
      http: 200,
      code: Code[code],
    });
  });

  it.each(transports)("%s: a content type that is not gRPC gets HTTP 415", async (_, post) => {
    expect((await post(HEALTH, { body: envelope(empty), headers: { "content-type": "text/plain" } })).httpStatus).toBe(415);
  });

  it.each(transports)(
    "%s: an unknown method gets UNIMPLEMENTED (or HTTP 404, which gRPC clients read as UNIMPLEMENTED)",
    async (_, post) => {
      const reply = await post("/deepseek_vl.v1.InferenceService/Nope", { body: envelope(empty) });
      expect(reply.grpcStatus ?? (reply.httpStatus === 404 ? Code.Unimplemented : reply.httpStatus)).toBe(Code.Unimplemented);
    },
  );

  it("30 requests at once declaring just under the read limit, then cut short: each INVALID_ARGUMENT, memory bounded meanwhile", async () => {
    const writers: WritableStreamDefaultWriter<Uint8Array>[] = [];
    const replies = Array.from({ length: 30 }, () => {
      const { readable, writable } = new TransformStream<Uint8Array, Uint8Array>();
      const writer = writable.getWriter();
      writers.push(writer);
      void writer.write(envelope(new Uint8Array(5), { declaredLength: READ_MAX_BYTES - 1 }).subarray(0, 10));
      return grpcWebPost(gpu.url, GENERATE, readable, { authorization: `Bearer ${secret}` });
    });
    // All 30 are in flight at the service (Health counts itself too), each body held open.
    await waitFor(async () => (await clients("grpc-web").inference.health({})).inFlight >= 31, "the 30 calls to reach the service");
    expect(rssBytes(gpu.process.pid!)).toBeLessThan(2 * warmRss);
    for (const writer of writers) await writer.close();
    for (const reply of await Promise.all(replies)) expect(Code[reply.grpcStatus!]).toBe("InvalidArgument");
  });

  it("survives 10 rounds of every broken frame on both transports with its memory bounded", async () => {
    for (let round = 0; round < 10; round++) {
      await Promise.all(transports.map(([, post]) => Promise.all(frames.map(([, frame]) => post(GENERATE, frame())))));
    }
  });
});

describe("broken HTTP/2 on the h2c port: the connection is closed, the service stays up", () => {
  const settings = () => http2Frame(0x4, 0, 0, new Uint8Array(0));

  it("bytes that are not the HTTP/2 connection preface", async () => {
    const garbage = Uint8Array.from({ length: 64 }, (_, i) => (i * 97 + 13) & 0xff);
    expect((await rawTcp(gpu.grpcPort, garbage)).closedByServer).toBe(true);
    expect((await rawTcp(gpu.grpcPort, "POST /deepseek_vl.v1.InferenceService/Health HTTP/1.1\r\nHost: x\r\n\r\n")).closedByServer).toBe(
      true,
    );
  });

  it("a DATA frame on stream 0: GOAWAY with PROTOCOL_ERROR (RFC 9113 §6.1)", async () => {
    const bytes = Buffer.concat([Buffer.from(HTTP2_PREFACE), settings(), http2Frame(0x0, 0, 0, new Uint8Array(4))]);
    const { received, closedByServer } = await rawTcp(gpu.grpcPort, bytes);
    expect(closedByServer).toBe(true);
    expect(goAwayCode(received)).toBe(0x1);
  });

  it("a HEADERS frame declaring 16 MiB, over SETTINGS_MAX_FRAME_SIZE: GOAWAY with FRAME_SIZE_ERROR (RFC 9113 §4.2)", async () => {
    const bytes = Buffer.concat([Buffer.from(HTTP2_PREFACE), settings(), http2Frame(0x1, 0x4, 1, new Uint8Array(32), 2 ** 24 - 1)]);
    const { received, closedByServer } = await rawTcp(gpu.grpcPort, bytes);
    expect(closedByServer).toBe(true);
    expect(goAwayCode(received)).toBe(0x6);
  });
});
