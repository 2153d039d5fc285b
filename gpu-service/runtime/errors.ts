/** Why the runtime refused or ended a request, with what a caller needs to act on it. */
export type RuntimeErrorReason =
  | { kind: "queue_full"; retryAfterMs: number }
  | { kind: "image_not_cached"; imageKey: string }
  /** The request's KV cache alone exceeds the budget: it can never be admitted. */
  | { kind: "kv_budget"; neededBytes: number; budgetBytes: number };

/** The runtime's own failures; the service maps them to its transport's errors (see services/runtime-errors.ts). */
export class RuntimeError extends Error {
  override name = "RuntimeError";
  readonly reason: RuntimeErrorReason;

  constructor(message: string, reason: RuntimeErrorReason) {
    super(message);
    this.reason = reason;
  }
}
