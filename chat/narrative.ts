/**
 * A narrator as a `ReadableStream` of chat parts: text chunks become
 * `content` parts; any failure (HTTP error, malformed chunk, stall) becomes
 * one `error` part and the stream ends, so the client always gets `error`
 * then `done`. Cancelling aborts the narrator (and its HTTP request).
 *
 * @module
 */
import { log } from "../shared/log.ts";
import { withTimeout } from "../shared/timeout.ts";
import type { NarrationInput, Narrator } from "./narrators/types.ts";
import type { ChatPart } from "./parts.ts";

class StallError extends Error {
  constructor(ms: number) {
    super(`no narrator output for ${ms} ms`);
    this.name = "StallError";
  }
}

/**
 * Maps a narrator failure to a client-safe error part (no upstream bodies or keys).
 *
 * @example
 * ```ts
 * narratorErrorPart(new Error("boom")); // { type: "error", code: "narrator_failed", ... }
 * ```
 */
export function narratorErrorPart(e: unknown): Extract<ChatPart, { type: "error" }> {
  if (e instanceof StallError) {
    return { type: "error", code: "narrator_timeout", message: "the narrator stopped responding" };
  }
  const status = (e as { status?: unknown })?.status;
  if (status === 429) {
    return {
      type: "error",
      code: "narrator_rate_limited",
      message: "the narrator is rate limited (429)",
    };
  }
  if (typeof status === "number" && status >= 500) {
    return {
      type: "error",
      code: "narrator_unavailable",
      message: `the narrator service failed (${status})`,
    };
  }
  if (typeof status === "number") {
    return {
      type: "error",
      code: "narrator_failed",
      message: `the narrator request failed (${status})`,
    };
  }
  return { type: "error", code: "narrator_failed", message: "the narrator failed" };
}

/**
 * Runs `narrator` as a stream. `stallMs` bounds the wait for every chunk
 * (including the first).
 *
 * @example
 * ```ts
 * const stream = narrativeStream(narrator, input, 20_000);
 * ```
 */
export function narrativeStream(
  narrator: Narrator,
  input: NarrationInput,
  stallMs: number,
): ReadableStream<ChatPart> {
  const ac = new AbortController();
  let iterator: AsyncIterator<string> | undefined;
  let finished = false;

  const stop = () => {
    finished = true;
    if (!ac.signal.aborted) ac.abort();
    // Let the generator run its finally blocks; the abort already stopped its I/O.
    iterator?.return?.().catch(() => {});
  };

  // Waits for the next chunk, but never longer than stallMs: an SDK that does
  // not notice the abort cannot hang the client.
  const next = (): Promise<IteratorResult<string>> => {
    // Created on the first pull, inside its try: a narrator that throws at once
    // fails like one that throws later (error part), not the action.
    iterator ??= narrator.narrate(input, ac.signal)[Symbol.asyncIterator]();
    return withTimeout(iterator.next(), stallMs, () => {
      const err = new StallError(stallMs);
      ac.abort(err);
      throw err;
    });
  };

  return new ReadableStream<ChatPart>({
    async pull(controller) {
      if (finished) return;
      try {
        for (;;) {
          const r = await next();
          if (finished) return;
          if (r.done) {
            finished = true;
            controller.close();
            return;
          }
          if (r.value) {
            controller.enqueue({ type: "content", content: r.value });
            return;
          }
        }
      } catch (e) {
        if (finished) return;
        const reason = ac.signal.reason instanceof StallError ? ac.signal.reason : e;
        log("warn", "narrator failed", { narrator: narrator.kind, error: String(e) });
        stop();
        controller.enqueue(narratorErrorPart(reason));
        controller.close();
      }
    },
    cancel() {
      stop();
    },
  }, { highWaterMark: 8 });
}
