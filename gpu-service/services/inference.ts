import { create } from "@bufbuild/protobuf";
import { Code, ConnectError, type HandlerContext, type ServiceImpl } from "@connectrpc/connect";
import {
  DataType,
  EncodeImagesResponseSchema,
  FinishReason,
  type GenerateRequest,
  type GenerateResponse,
  GenerateResponseSchema,
  HealthResponseSchema,
  type InferenceService,
  ModelInfoResponseSchema,
} from "../../shared/gen/deepseek_vl/v1/inference_pb.js";
import { encodeTensor } from "../../shared/tensor/index.ts";
import { VERSION } from "../../shared/version.ts";
import { callSignal } from "../calls.ts";
import type { GpuServiceConfig } from "../config.ts";
import type { Logger } from "../log.ts";
import type { Metrics } from "../metrics.ts";
import { type Runtime, toFloat16Bits } from "../runtime/index.ts";
import { SequenceRng, validateSamplingParams } from "../sampling/index.ts";
import type { ServingState } from "../serving-state.ts";
import { StreamQueue } from "../stream-queue.ts";
import { checkContext, imageRuns, readImage } from "./requests.ts";
import { toConnectError } from "./runtime-errors.ts";

const FINISH_REASONS = { stop: FinishReason.STOP, length: FinishReason.LENGTH, cancelled: FinishReason.CANCELLED } as const;

export function inferenceService(
  state: ServingState,
  config: GpuServiceConfig,
  metrics: Metrics,
  log: Logger,
): ServiceImpl<typeof InferenceService> {
  const ready = (): Runtime => {
    if (!state.runtime || state.draining) throw new ConnectError(state.message, Code.Unavailable);
    return state.runtime;
  };

  return {
    health() {
      return create(HealthResponseSchema, {
        status: state.status,
        message: state.message,
        version: VERSION,
        uptimeSeconds: (Date.now() - state.startedAt) / 1000,
        inFlight: state.inFlight,
        queued: state.runtime?.engine.queued ?? 0,
      });
    },

    modelInfo() {
      const runtime = ready();
      return create(ModelInfoResponseSchema, {
        manifestJson: runtime.directory.manifestJson,
        executionProviders: Object.fromEntries(Object.entries(runtime.model.providers).map(([graph, provider]) => [graph, provider])),
      });
    },

    async *generate(request, context) {
      yield* generation(ready(), request, context, config, metrics, log);
    },

    async encodeImages(request) {
      const runtime = ready();
      const { manifest } = runtime.model;
      if (request.images.length === 0) throw new ConnectError("images is empty", Code.InvalidArgument);
      const pixels = request.images.map((message, index) => {
        const image = readImage(message, index, manifest);
        if (!image.pixels) throw new ConnectError(`images[${index}] (${message.key}) has no pixels`, Code.InvalidArgument);
        return image.pixels;
      });
      const features = await runtime.engine.exclusive(() => runtime.vision.siglip(pixels));
      const shape = [manifest.vision.imageTokens, manifest.vision.featureDim];
      return create(EncodeImagesResponseSchema, {
        siglipFeatures: features.map((values) => encodeTensor(DataType.FLOAT16, shape, toFloat16Bits(values))),
      });
    },
  };
}

/** Validates a Generate request, queues it, and streams its tokens and final message. */
async function* generation(
  runtime: Runtime,
  request: GenerateRequest,
  context: HandlerContext,
  config: GpuServiceConfig,
  metrics: Metrics,
  log: Logger,
): AsyncGenerator<GenerateResponse> {
  const { manifest } = runtime.model;
  const settings = request.sampling;
  if (!settings) throw new ConnectError("sampling is required", Code.InvalidArgument);
  const problems = validateSamplingParams(settings, manifest.llm.vocabSize);
  if (problems.length > 0) throw new ConnectError(problems.join("; "), Code.InvalidArgument);
  checkContext(request, settings.maxNewTokens, manifest);
  const images = request.images.map((message, index) => readImage(message, index, manifest));
  const imageStarts = imageRuns(request.inputIds, images.length, manifest);

  const stream = new StreamQueue<GenerateResponse>();
  const signal = callSignal(context, config.defaultTimeoutMs);
  const done = runtime.engine.generate({
    id: request.requestId,
    cacheNamespace: request.cacheNamespace,
    inputIds: request.inputIds,
    images,
    imageStarts,
    sampling: settings,
    rng: new SequenceRng(settings.seed),
    maxNewTokens: settings.maxNewTokens,
    stopTokenIds: new Set([manifest.tokens.eos, ...settings.stopTokenIds]),
    signal,
    topLogprobs: settings.topLogprobs,
    onToken(tokenId, logprob, top) {
      stream.push(create(GenerateResponseSchema, { event: { case: "token", value: { tokenId, logprob, topLogprobs: [...top] } } }));
    },
  });
  const fail = (error: unknown) => {
    const failure = toConnectError(error);
    log.warn("generation failed", { requestId: request.requestId, error: String(failure) });
    stream.fail(failure);
  };
  done.then((result) => {
    // A deadline or a shutdown, not the caller hanging up: the call ends with that error.
    if (result.reason === "cancelled" && signal.reason instanceof ConnectError && signal.reason.code !== Code.Canceled) {
      return fail(signal.reason);
    }
    metrics.timeToFirstToken.observe(result.timings.timeToFirstTokenMs / 1000);
    log.info("generation finished", { requestId: request.requestId, ...result });
    stream.push(
      create(GenerateResponseSchema, {
        event: {
          case: "finished",
          value: {
            reason: FINISH_REASONS[result.reason],
            usage: {
              promptTokens: result.promptTokens,
              completionTokens: result.completionTokens,
              cachedImages: result.cachedImages,
              cachedPromptTokens: result.cachedPromptTokens,
            },
            timings: result.timings,
          },
        },
      }),
    );
    stream.close();
  }, fail);
  yield* stream;
}
