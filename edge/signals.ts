// Cancellation that outlives nothing. workerd can keep a request's objects past its end (an aborted fetch's
// errored body, and what its signal and errors reference); an abort reason created deep in a call captures that
// call's stack, closures and all (a request's pixels among them). So requests cancel through a follower signal
// whose listener holds only its controller, and abort with one reason made once, here.

/** The reason every edge-made cancellation carries: an AbortError, as a caller's own abort would be. */
export const CANCELLED = new DOMException("The request was cancelled", "AbortError");

export type FollowingSignal = {
  readonly signal: AbortSignal;
  /** Aborts the follower (with CANCELLED) and stops following. */
  abort(): void;
  /** Stops following: `source` no longer reaches the follower. */
  unlink(): void;
};

/** A signal that aborts when `source` does (if given), or when told to, until unlinked. */
export function followSignal(source?: AbortSignal | null): FollowingSignal {
  const controller = new AbortController();
  const onAbort = () => {
    // Formatting a reason's stack makes V8 drop the frames it captured, and the closures they hold.
    void (source?.reason as { stack?: unknown } | undefined)?.stack;
    controller.abort(CANCELLED);
  };
  if (source?.aborted) onAbort();
  else source?.addEventListener("abort", onAbort, { once: true });
  const unlink = () => source?.removeEventListener("abort", onAbort);
  return {
    signal: controller.signal,
    abort: () => {
      unlink();
      onAbort();
    },
    unlink,
  };
}
