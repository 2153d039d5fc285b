/**
 * A push-to-pull bridge: the engine pushes messages as they are produced, a server-streaming
 * handler iterates them. Ends with `close()` or with the error given to `fail()`.
 */
export class StreamQueue<T> implements AsyncIterable<T> {
  #items: T[] = [];
  #ended = false;
  #error: unknown = undefined;
  #waiting: (() => void) | undefined;

  push(item: T): void {
    if (this.#ended) return;
    this.#items.push(item);
    this.#notify();
  }

  close(): void {
    this.#ended = true;
    this.#notify();
  }

  fail(error: unknown): void {
    if (this.#ended) return;
    this.#error = error ?? new Error("stream failed");
    this.#ended = true;
    this.#notify();
  }

  async *[Symbol.asyncIterator](): AsyncIterator<T> {
    for (;;) {
      if (this.#items.length > 0) {
        yield this.#items.shift()!;
        continue;
      }
      if (this.#ended) {
        if (this.#error !== undefined) throw this.#error;
        return;
      }
      await new Promise<void>((resolve) => (this.#waiting = resolve));
    }
  }

  #notify(): void {
    const wake = this.#waiting;
    this.#waiting = undefined;
    wake?.();
  }
}
