/**
 * The kit's SSE client, over `fetch` and `eventsource-parser`: every message
 * with its data parsed (JSON, else the raw text), id and arrival time, the
 * `retry` hint, comments (keep-alives), the id an `EventSource` would send
 * as `Last-Event-ID`, and how the stream ended (cleanly, or with an error).
 *
 * @module
 */
import { createParser } from "eventsource-parser";

/** One received SSE message. */
export interface SseMessage {
  /** `event:` (default `message`). */
  event: string;
  /** `data:` parsed as JSON, or the raw text when it is not JSON. */
  // deno-lint-ignore no-explicit-any
  data: any;
  /** `data:` as sent. */
  raw: string;
  id?: string;
  /** Arrival time, ms since the epoch (`performance.timeOrigin + performance.now()`). */
  at: number;
}

/** Options of {@linkcode SseClient.from}. */
export interface SseClientOptions {
  /** Do not read until {@linkcode SseClient.resume} (read by hand with `readChunks`). */
  paused?: boolean;
}

function parseData(raw: string): unknown {
  try {
    return JSON.parse(raw);
  } catch {
    return raw;
  }
}

/**
 * An open SSE response whose messages queue up as they arrive.
 *
 * @example
 * ```ts
 * const s = await SseClient.open(`${url}/api/v0.3/world/stream?experience=glade`, { headers });
 * const [update] = await s.take(1); // skips other events
 * console.log(update!.data.version, s.retry, s.lastEventId);
 * await s.close();
 * ```
 */
export class SseClient {
  readonly response: Response;
  readonly messages: SseMessage[] = [];
  readonly comments: string[] = [];
  /** The last `retry:` hint. */
  retry: number | undefined;
  /** The SSE id an EventSource would send as Last-Event-ID. */
  lastEventId = "";
  /** The stream is over (ended by the server, cut, or closed here). */
  ended = false;
  /** Why reading failed (a cut connection); undefined after a clean end or `close()`. */
  error: unknown;
  #read = 0;
  #wake: (() => void) | undefined;
  #resume: (() => void) | undefined;
  #paused: boolean;
  #closing = false;
  readonly #reader: ReadableStreamDefaultReader<Uint8Array>;
  readonly #feed: (chunk: Uint8Array) => void;
  readonly #loop: Promise<void>;

  private constructor(res: Response, opts: SseClientOptions) {
    this.response = res;
    this.#paused = opts.paused ?? false;
    this.#reader = res.body!.getReader();
    const parser = createParser({
      onEvent: (m) => {
        if (m.id !== undefined) this.lastEventId = m.id;
        this.messages.push({
          event: m.event ?? "message",
          data: parseData(m.data),
          raw: m.data,
          id: m.id,
          at: performance.timeOrigin + performance.now(),
        });
        this.#wake?.();
      },
      onComment: (c) => this.comments.push(c.trim()),
      onRetry: (r) => this.retry = r,
    });
    const decoder = new TextDecoder();
    this.#feed = (chunk) => parser.feed(decoder.decode(chunk, { stream: true }));
    this.#loop = this.#run();
  }

  async #run(): Promise<void> {
    try {
      for (;;) {
        while (this.#paused) await new Promise<void>((r) => this.#resume = r);
        const { done, value } = await this.#reader.read();
        if (done) break;
        this.#feed(value);
      }
    } catch (e) {
      if (!this.#closing) this.error = e;
    }
    this.ended = true;
    this.#wake?.();
  }

  /**
   * Opens a stream; throws with the status and body when it is not 200.
   *
   * @example
   * ```ts
   * const s = await SseClient.open(url, { method: "POST", headers, body });
   * ```
   */
  static async open(url: string, init: RequestInit = {}): Promise<SseClient> {
    return SseClient.from(await fetch(url, init));
  }

  /**
   * Reads an SSE response already fetched (or from `app.request()`).
   *
   * @example
   * ```ts
   * const s = SseClient.from(await app.request("/api/v0.3/world/stream?..."), { paused: true });
   * await s.readChunks(20);
   * s.resume();
   * ```
   */
  static async from(res: Response, opts: SseClientOptions = {}): Promise<SseClient> {
    if (res.status !== 200 || !res.body) {
      const text = await res.text();
      throw new Error(`SSE open failed: ${res.status} ${text}`);
    }
    return new SseClient(res, opts);
  }

  /** While paused: reads `n` chunks of the body (fewer if it ends). */
  async readChunks(n: number): Promise<void> {
    if (!this.#paused) throw new Error("readChunks: only while paused");
    for (let i = 0; i < n; i++) {
      const { done, value } = await this.#reader.read();
      if (done) return;
      this.#feed(value);
    }
  }

  /** Starts (or restarts) reading in the background. */
  resume(): void {
    this.#paused = false;
    this.#resume?.();
  }

  /**
   * The next unread message; rejects after `timeoutMs` or when the stream
   * ended without one.
   */
  async next(timeoutMs = 5_000): Promise<SseMessage> {
    const deadline = performance.now() + timeoutMs;
    while (this.#read >= this.messages.length) {
      if (this.ended) throw new Error(`stream ended${this.error ? `: ${this.error}` : ""}`);
      const left = deadline - performance.now();
      if (left <= 0) throw new Error(`no SSE message within ${timeoutMs} ms`);
      let timer: ReturnType<typeof setTimeout> | undefined;
      await new Promise<void>((r) => {
        this.#wake = r;
        timer = setTimeout(r, left);
      });
      clearTimeout(timer);
      this.#wake = undefined;
    }
    return this.messages[this.#read++]!;
  }

  /** Reads `n` messages of type `event`, skipping others. */
  async take(n: number, event = "world_update", timeoutMs = 10_000): Promise<SseMessage[]> {
    const out: SseMessage[] = [];
    const deadline = performance.now() + timeoutMs;
    while (out.length < n) {
      const m = await this.next(Math.max(1, deadline - performance.now()));
      if (m.event === event) out.push(m);
    }
    return out;
  }

  /** Received messages of type `event` (read or not). */
  received(event = "world_update"): SseMessage[] {
    return this.messages.filter((m) => m.event === event);
  }

  /** Waits until the server ends the stream; returns every message. */
  async untilEnd(timeoutMs = 10_000): Promise<SseMessage[]> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new Error(`stream did not end within ${timeoutMs} ms`)),
        timeoutMs,
      );
    });
    try {
      await Promise.race([this.#loop, timeout]);
    } finally {
      clearTimeout(timer);
    }
    return this.messages;
  }

  /** Closes the connection (client side). */
  async close(): Promise<void> {
    this.#closing = true;
    await this.#reader.cancel().catch(() => {});
    this.resume();
    await this.#loop;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}
