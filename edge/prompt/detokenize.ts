import { PromptError } from "./errors.ts";
import type { ChatTokenizer } from "./tokenizer.ts";

export interface DetokenizerOptions {
  /**
   * Stop strings (OpenAI `stop`). None by default: the official inference.py stops on EOS only (the GPU service
   * stops on the EOS id); the Gradio demo's extra "User:" cut is the client's to ask for, since a reply may quote it.
   */
  stop?: readonly string[];
}

export interface TextDelta {
  /** New text; empty while bytes or a possible stop-string prefix are held back. */
  text: string;
  /** A stop string was matched: `text` ends right before it, and everything after is dropped. */
  stopped: boolean;
}

// A stop string with a lone surrogate could match, or be held back at, half of a character.
const LONE_SURROGATE = /\p{Cs}/u;

/**
 * Turns generated ids, fed one at a time, into text deltas whose concatenation is HF's
 * `decode(ids, skip_special_tokens=True)` cut at the first stop string:
 * - bytes of a character split across tokens are held until it is complete (a streaming TextDecoder, whose
 *   U+FFFD substitution for invalid bytes is the same as Rust's `from_utf8_lossy`); a U+FEFF is kept as text;
 * - hidden ids (special tokens, ids outside the vocabulary) produce nothing;
 * - the longest tail that could begin a stop string is held back until it cannot.
 * Each step costs the token's length plus a term bounded by the stop strings: linear in the generated length.
 */
export class IncrementalDetokenizer {
  readonly #tokenizer: ChatTokenizer;
  readonly #decoder = new TextDecoder("utf-8", { fatal: false, ignoreBOM: true });
  readonly #stops: readonly string[];
  readonly #longestStop: number;
  /** Decoded text not yet emitted: shorter than the longest stop string between calls. */
  #pending = "";
  #stopped = false;
  #finished = false;

  constructor(tokenizer: ChatTokenizer, options: DetokenizerOptions = {}) {
    const stops = options.stop ?? [];
    stops.forEach((stop, i) => {
      if (typeof stop !== "string" || stop === "") throw new PromptError("invalid_stop", `stop[${i}] must be a non-empty string`);
      if (LONE_SURROGATE.test(stop)) throw new PromptError("invalid_stop", `stop[${i}] is not well-formed Unicode (lone surrogate)`);
    });
    this.#tokenizer = tokenizer;
    this.#stops = [...stops];
    this.#longestStop = Math.max(0, ...stops.map((stop) => stop.length));
  }

  /** True once a stop string matched; later ids are ignored. */
  get stopped(): boolean {
    return this.#stopped;
  }

  /** Feeds one generated id. */
  push(id: number): TextDelta {
    if (this.#stopped || this.#finished) return { text: "", stopped: this.#stopped };
    const bytes = this.#tokenizer.bytesOf(id);
    if (!bytes) return { text: "", stopped: false };
    return this.#emit(this.#decoder.decode(bytes, { stream: true }), false);
  }

  /**
   * Ends the stream: releases the held-back text; bytes of an unfinished character become one U+FFFD, as HF's
   * decode does. Ids pushed afterwards are ignored.
   */
  finish(): TextDelta {
    if (this.#stopped || this.#finished) return { text: "", stopped: this.#stopped };
    this.#finished = true;
    return this.#emit(this.#decoder.decode(), true);
  }

  #emit(text: string, final: boolean): TextDelta {
    const pending = this.#pending + text;
    let cut = -1;
    for (const stop of this.#stops) {
      const at = pending.indexOf(stop);
      if (at >= 0 && (cut < 0 || at < cut)) cut = at;
    }
    if (cut >= 0) {
      this.#stopped = true;
      this.#pending = "";
      return { text: pending.slice(0, cut), stopped: true };
    }
    const held = final ? 0 : this.#stopPrefixLength(pending);
    this.#pending = pending.slice(pending.length - held);
    return { text: pending.slice(0, pending.length - held), stopped: false };
  }

  /** Length of the longest tail of `text` that is the beginning of a stop string (whole stops were ruled out). */
  #stopPrefixLength(text: string): number {
    for (let length = Math.min(text.length, this.#longestStop - 1); length > 0; length--) {
      const tail = text.slice(text.length - length);
      if (this.#stops.some((stop) => stop.startsWith(tail))) return length;
    }
    return 0;
  }
}
