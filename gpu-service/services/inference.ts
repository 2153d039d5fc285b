import { create } from "@bufbuild/protobuf";
import { Code, ConnectError, type ServiceImpl } from "@connectrpc/connect";
import {
  HealthResponseSchema,
  InferenceService,
  ModelInfoResponseSchema,
} from "../../shared/gen/deepseek_vl/v1/inference_pb.js";
import { VERSION } from "../../shared/version.ts";
import type { ServingState } from "../serving-state.ts";

export function inferenceService(state: ServingState): Partial<ServiceImpl<typeof InferenceService>> {
  return {
    health() {
      return create(HealthResponseSchema, {
        status: state.status,
        message: state.message,
        version: VERSION,
        uptimeSeconds: (Date.now() - state.startedAt) / 1000,
        inFlight: state.inFlight,
        queued: 0,
      });
    },
    modelInfo() {
      if (!state.model) throw new ConnectError(state.message, Code.Unavailable);
      return create(ModelInfoResponseSchema, { manifestJson: state.model.manifestJson });
    },
  };
}
