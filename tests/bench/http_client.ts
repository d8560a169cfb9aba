/**
 * The load generator's HTTP/1.1 client: raw requests over `Deno.connect`,
 * with chunked transfer decoding and Server-Sent Events parsing done here.
 *
 * Why not `fetch`: a fetch-based SSE client costs about three times the CPU
 * of this one and tops out near 10k events/s on two cores, which would make
 * the load generator the bottleneck. Streams are closed with `conn.close()`
 * (never an `AbortController`, which was seen to leave sockets open).
 *
 * One connection carries one request at a time (keep-alive, no pipelining).
 * Frames that arrive in one socket read share one arrival time, taken once
 * per read as `performance.timeOrigin + performance.now()`: the same clock
 * the KB uses for an event's `timestamp`.
 *
 * @module
 */

const encoder = new TextEncoder();
const CR = 13;
const LF = 10;

/** Wall-clock milliseconds with sub-millisecond resolution (the KB's event clock). */
export function nowMs(): number {
  return performance.timeOrigin + performance.now();
}

/** One SSE message. `data` is the joined `data:` lines. */
export interface SseEvent {
  /** `event:` field, `"message"` when absent. */
  readonly type: string;
  readonly id: string | undefined;
  readonly data: string;
  /** Arrival time ({@linkcode nowMs}) of the socket read that completed the frame. */
  readonly at: number;
}

/** A complete (non-streamed or finished) response. */
export interface HttpResult {
  readonly status: number;
  readonly headers: Map<string, string>;
  /** The body as text; empty for SSE bodies (their events went to `onEvent`). */
  readonly body: string;
}

/** A request. `body` as a string is sent as-is with its byte length. */
export interface HttpRequest {
  method: "GET" | "POST";
  path: string;
  headers?: Record<string, string>;
  body?: string;
  /** Called for each SSE message of a `text/event-stream` body. */
  onEvent?: (event: SseEvent) => void;
  /** Resolves `head` of {@linkcode LeanConn.send} as soon as the status line and headers are in. */
  onHead?: (status: number, headers: Map<string, string>) => void;
}

type Phase = "head" | "size" | "data" | "data-crlf" | "trailer" | "length" | "close";

interface Pending {
  req: HttpRequest;
  resolve: (r: HttpResult) => void;
  reject: (e: Error) => void;
  status: number;
  headers: Map<string, string>;
  phase: Phase;
  /** Remaining bytes of the current chunk or of a Content-Length body. */
  remaining: number;
  sse: boolean;
  text: string;
  decoder: TextDecoder;
}

const frameDecoder = new TextDecoder();

/** Parses one complete SSE message (without its blank line); undefined for comments/retry only. */
function parseFrame(frame: string, at: number): SseEvent | undefined {
  let type = "message";
  let id: string | undefined;
  let data: string | undefined;
  let start = 0;
  while (start <= frame.length) {
    let nl = frame.indexOf("\n", start);
    if (nl < 0) nl = frame.length;
    const line = frame.slice(start, nl);
    start = nl + 1;
    if (line.startsWith("data:")) {
      const v = line.charCodeAt(5) === 32 ? line.slice(6) : line.slice(5);
      data = data === undefined ? v : data + "\n" + v;
    } else if (line.startsWith("event:")) {
      type = line.slice(line.charCodeAt(6) === 32 ? 7 : 6);
    } else if (line.startsWith("id:")) id = line.slice(line.charCodeAt(3) === 32 ? 4 : 3);
  }
  return data === undefined ? undefined : { type, id, data, at };
}

/**
 * Splits SSE bytes into messages at blank lines (LF LF) before decoding, so
 * each message is decoded once and whole (no streaming decoder needed).
 */
class SseParser {
  #partial: Uint8Array | undefined;
  feed(input: Uint8Array, at: number, emit: (e: SseEvent) => void): void {
    let bytes = input;
    if (this.#partial) {
      bytes = new Uint8Array(this.#partial.byteLength + input.byteLength);
      bytes.set(this.#partial);
      bytes.set(input, this.#partial.byteLength);
      this.#partial = undefined;
    }
    let start = 0;
    let from = 0;
    for (;;) {
      const nl = bytes.indexOf(LF, from);
      if (nl < 0 || nl + 1 >= bytes.byteLength) break;
      if (bytes[nl + 1] !== LF) {
        from = nl + 1;
        continue;
      }
      const e = parseFrame(frameDecoder.decode(bytes.subarray(start, nl)), at);
      if (e) emit(e);
      start = from = nl + 2;
    }
    if (start < bytes.byteLength) this.#partial = bytes.slice(start);
  }
}

/**
 * One keep-alive HTTP/1.1 connection.
 *
 * @example
 * ```ts
 * const c = await LeanConn.open(8000);
 * const r = await c.send({ method: "GET", path: "/health" }).done;
 * c.close();
 * ```
 */
export class LeanConn {
  readonly #conn: Deno.TcpConn;
  readonly #host: string;
  readonly #buf: Uint8Array;
  #pending: Pending | undefined;
  #carry: Uint8Array | undefined;
  #sse = new SseParser();
  #closed = false;
  /** Resolves when the socket is closed (by us or the peer). */
  readonly closed: Promise<void>;

  private constructor(conn: Deno.TcpConn, port: number, bufSize: number) {
    this.#conn = conn;
    this.#host = `127.0.0.1:${port}`;
    this.#buf = new Uint8Array(bufSize);
    this.closed = this.#pump();
  }

  /** Connects to 127.0.0.1:`port`; `bufSize` is this connection's read buffer. */
  static async open(port: number, bufSize = 16 * 1024): Promise<LeanConn> {
    const conn = await Deno.connect({ hostname: "127.0.0.1", port });
    conn.setNoDelay(true);
    return new LeanConn(conn, port, bufSize);
  }

  /** True once closed. */
  get isClosed(): boolean {
    return this.#closed;
  }

  /**
   * Sends a request. `done` resolves when the response is complete (for an
   * endless SSE body: never, unless the server ends it or we close).
   */
  send(req: HttpRequest): { done: Promise<HttpResult> } {
    if (this.#pending) throw new Error("a request is already in flight on this connection");
    if (this.#closed) throw new Error("connection closed");
    const done = new Promise<HttpResult>((resolve, reject) => {
      this.#pending = {
        req,
        resolve,
        reject,
        status: 0,
        headers: new Map(),
        phase: "head",
        remaining: 0,
        sse: false,
        text: "",
        decoder: new TextDecoder(),
      };
    });
    let head = `${req.method} ${req.path} HTTP/1.1\r\nHost: ${this.#host}\r\n`;
    for (const [k, v] of Object.entries(req.headers ?? {})) head += `${k}: ${v}\r\n`;
    const body = req.body === undefined ? undefined : encoder.encode(req.body);
    if (body) head += `Content-Length: ${body.byteLength}\r\n`;
    const headBytes = encoder.encode(head + "\r\n");
    let out = headBytes;
    if (body) {
      out = new Uint8Array(headBytes.byteLength + body.byteLength);
      out.set(headBytes);
      out.set(body, headBytes.byteLength);
    }
    this.#writeAll(out).catch((e) => this.#fail(e as Error));
    return { done };
  }

  async #writeAll(bytes: Uint8Array): Promise<void> {
    let off = 0;
    while (off < bytes.byteLength) off += await this.#conn.write(bytes.subarray(off));
  }

  /** Closes the socket; an in-flight request rejects. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    try {
      this.#conn.close();
    } catch { /* already closed */ }
  }

  async #pump(): Promise<void> {
    try {
      for (;;) {
        const n = await this.#conn.read(this.#buf);
        if (n === null) break;
        const at = nowMs();
        let bytes = this.#buf.subarray(0, n);
        if (this.#carry) {
          const joined = new Uint8Array(this.#carry.byteLength + n);
          joined.set(this.#carry);
          joined.set(bytes, this.#carry.byteLength);
          bytes = joined;
          this.#carry = undefined;
        }
        this.#consume(bytes, at);
      }
    } catch (e) {
      if (!this.#closed) this.#fail(e as Error);
    }
    this.#closed = true;
    const p = this.#pending;
    if (p && p.phase === "close") this.#finish(p);
    else this.#fail(new Error("connection closed by peer"));
    try {
      this.#conn.close();
    } catch { /* already closed */ }
  }

  #fail(e: Error): void {
    const p = this.#pending;
    this.#pending = undefined;
    p?.reject(e);
  }

  #finish(p: Pending): void {
    this.#pending = undefined;
    this.#sse = new SseParser();
    p.resolve({ status: p.status, headers: p.headers, body: p.sse ? "" : p.text });
  }

  #body(p: Pending, bytes: Uint8Array, at: number): void {
    if (p.sse) this.#sse.feed(bytes, at, p.req.onEvent ?? (() => {}));
    else p.text += p.decoder.decode(bytes, { stream: true });
  }

  /** Runs the response state machine over `bytes`; keeps an incomplete line for the next read. */
  #consume(bytes: Uint8Array, at: number): void {
    let i = 0;
    while (i < bytes.byteLength) {
      const p = this.#pending;
      if (!p) return; // unsolicited bytes: ignore
      if (p.phase === "head") {
        const end = indexOfCrlfCrlf(bytes, i);
        if (end < 0) return this.#keep(bytes, i);
        this.#parseHead(p, new TextDecoder().decode(bytes.subarray(i, end)));
        i = end + 4;
        continue;
      }
      if (p.phase === "size" || p.phase === "data-crlf" || p.phase === "trailer") {
        const nl = indexOfCrlf(bytes, i);
        if (nl < 0) return this.#keep(bytes, i);
        const empty = nl === i;
        const size = p.phase === "size" ? parseHex(bytes, i, nl) : 0;
        i = nl + 2;
        if (p.phase === "data-crlf") p.phase = "size";
        else if (p.phase === "trailer") {
          if (empty) this.#finish(p);
        } else {
          if (size === 0) p.phase = "trailer";
          else {
            p.remaining = size;
            p.phase = "data";
          }
        }
        continue;
      }
      // "data" (a chunk), "length" (Content-Length) or "close" (until EOF)
      const take = p.phase === "close"
        ? bytes.byteLength - i
        : Math.min(p.remaining, bytes.byteLength - i);
      this.#body(p, bytes.subarray(i, i + take), at);
      i += take;
      p.remaining -= take;
      if (p.phase === "data" && p.remaining === 0) p.phase = "data-crlf";
      else if (p.phase === "length" && p.remaining === 0) this.#finish(p);
    }
  }

  #keep(bytes: Uint8Array, from: number): void {
    this.#carry = bytes.slice(from);
  }

  #parseHead(p: Pending, head: string): void {
    const lines = head.split("\r\n");
    p.status = Number(lines[0]!.split(" ")[1]);
    for (const line of lines.slice(1)) {
      const c = line.indexOf(":");
      if (c > 0) p.headers.set(line.slice(0, c).trim().toLowerCase(), line.slice(c + 1).trim());
    }
    p.sse = (p.headers.get("content-type") ?? "").startsWith("text/event-stream");
    p.req.onHead?.(p.status, p.headers);
    if (p.headers.get("transfer-encoding")?.includes("chunked")) p.phase = "size";
    else if (p.headers.has("content-length")) {
      p.remaining = Number(p.headers.get("content-length"));
      p.phase = "length";
      if (p.remaining === 0) this.#finish(p);
    } else p.phase = "close";
  }
}

function indexOfCrlf(b: Uint8Array, from: number): number {
  for (let i = b.indexOf(LF, from + 1); i > 0; i = b.indexOf(LF, i + 1)) {
    if (b[i - 1] === CR) return i - 1;
  }
  return -1;
}

/** A chunk-size line's hex number (extensions after `;` are ignored). */
function parseHex(b: Uint8Array, from: number, to: number): number {
  let n = 0;
  for (let i = from; i < to; i++) {
    const c = b[i]!;
    const d = c >= 48 && c <= 57
      ? c - 48
      : c >= 97 && c <= 102
      ? c - 87
      : c >= 65 && c <= 70
      ? c - 55
      : -1;
    if (d < 0) break;
    n = n * 16 + d;
  }
  return n;
}

function indexOfCrlfCrlf(b: Uint8Array, from: number): number {
  for (let i = from; i < b.byteLength - 3; i++) {
    if (b[i] === CR && b[i + 1] === LF && b[i + 2] === CR && b[i + 3] === LF) return i;
  }
  return -1;
}

/**
 * Reads `"timestamp":<number>` out of an event's JSON text without parsing
 * all of it (NaN when absent).
 *
 * @example
 * ```ts
 * eventTimestamp('{"id":"x","timestamp":1700000000000.5}'); // 1700000000000.5
 * ```
 */
export function eventTimestamp(json: string): number {
  const k = json.indexOf('"timestamp":');
  if (k < 0) return NaN;
  let end = k + 12;
  while (end < json.length) {
    const c = json.charCodeAt(end);
    if ((c >= 48 && c <= 57) || c === 46 || c === 45 || c === 101 || c === 43) end++;
    else break;
  }
  return Number(json.slice(k + 12, end));
}
