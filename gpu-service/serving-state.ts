import { ServingStatus } from "../shared/gen/deepseek_vl/v1/inference_pb.js";
import type { Runtime } from "./runtime/index.ts";

/** What the service is doing now, as Health reports it; calls in flight are counted here too. */
export class ServingState {
  readonly startedAt = Date.now();
  status: ServingStatus = ServingStatus.STARTING;
  message = "starting";
  runtime: Runtime | undefined;
  inFlight = 0;
  private idleWaiters: (() => void)[] = [];

  serve(runtime: Runtime): void {
    this.runtime = runtime;
    this.status = ServingStatus.SERVING;
    this.message = `serving ${runtime.model.manifest.name} (${runtime.model.dtype})`;
  }

  noModel(reason: string): void {
    this.runtime = undefined;
    this.status = ServingStatus.NO_MODEL;
    this.message = `no model loaded: ${reason}`;
  }

  drain(): void {
    this.status = ServingStatus.DRAINING;
    this.message = "draining: finishing in-flight calls, admitting none";
  }

  get draining(): boolean {
    return this.status === ServingStatus.DRAINING;
  }

  callStarted(): void {
    this.inFlight++;
  }

  callEnded(): void {
    this.inFlight--;
    if (this.inFlight === 0) for (const wake of this.idleWaiters.splice(0)) wake();
  }

  /** Resolves once no call is in flight (immediately if none is). */
  idle(): Promise<void> {
    if (this.inFlight === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }
}
