/**
 * A test SSE client over `fetch` + `eventsource-parser`: every event with the
 * time it arrived, and a `close()` that cancels the body.
 *
 * @module
 */
import { EventSourceParserStream } from "eventsource-parser/stream";

/** One received SSE event. */
export interface SseEvent {
  event: string;
  data: string;
  id?: string;
  /** `performance.timeOrigin + performance.now()` at arrival (ms since epoch). */
  at: number;
}

/** An open SSE response. */
export interface SseStream {
  response: Response;
  /** Next event, or undefined when the stream ended. Rejects after `timeoutMs`. */
  next(timeoutMs?: number): Promise<SseEvent | undefined>;
  /** Reads until `done` (or the stream ends) and returns all events. */
  collect(timeoutMs?: number): Promise<SseEvent[]>;
  close(): Promise<void>;
}

/**
 * Opens an SSE stream; throws with the body when the status is not 200.
 *
 * @example
 * ```ts
 * const s = await openSse(`${url}/api/v0.3/world/stream?experience=x`, { headers });
 * const first = await s.next();
 * await s.close();
 * ```
 */
export async function openSse(url: string, init: RequestInit = {}): Promise<SseStream> {
  const response = await fetch(url, init);
  if (response.status !== 200 || !response.body) {
    const text = await response.text();
    throw new Error(`SSE ${url}: ${response.status} ${text}`);
  }
  const reader = response.body
    .pipeThrough(new TextDecoderStream())
    .pipeThrough(new EventSourceParserStream())
    .getReader();
  let ended = false;
  const next = async (timeoutMs = 10_000): Promise<SseEvent | undefined> => {
    if (ended) return undefined;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no SSE event within ${timeoutMs} ms`)), timeoutMs);
    });
    try {
      const r = await Promise.race([reader.read(), timeout]);
      if (r.done) {
        ended = true;
        return undefined;
      }
      return { ...r.value, at: performance.timeOrigin + performance.now() } as SseEvent;
    } finally {
      clearTimeout(timer);
    }
  };
  return {
    response,
    next,
    async collect(timeoutMs = 10_000) {
      const out: SseEvent[] = [];
      for (;;) {
        const e = await next(timeoutMs);
        if (!e) break;
        out.push(e);
        if (e.event === "done") break;
      }
      return out;
    },
    async close() {
      ended = true;
      await reader.cancel().catch(() => {});
    },
  };
}
