/**
 * A stream's outgoing frames, waiting in our own queue until the HTTP server
 * takes them. Frames the client has not been sent yet are still ours: they
 * can be counted and dropped, so a stream that must end early can put its
 * last frame right behind what the socket already carries.
 *
 * Two ways out, one queue:
 * - `body`, a `ReadableStream` for any `Response` (one frame per `pull()`;
 *   the stream itself queues nothing). Created on first use.
 * - `pipeTo(res)`, straight into a `node:http` response: frames are written
 *   while the socket keeps up, and wait here from the first `false` until
 *   `drain`. No stream, reader or promise per connection, and the listeners
 *   are shared functions: an idle queue costs an empty array and a few
 *   fields (this is what lets 10,000 idle streams fit in a quarter of the
 *   memory; see README "Serving").
 *
 * Piped, the frames go to the response's socket itself, already in HTTP/1.1
 * chunked framing, once the head is flushed: `res.write()` frames every
 * chunk again per response (a size line, the data, a CRLF: three buffers
 * through `cork`/`writev` in a later tick), while one change fanned out to
 * 1,000 streams is the same frame 1,000 times. {@linkcode chunkOf} frames it
 * once and every socket gets the same bytes in one `write`. Measured
 * (tests/bench, `fanout.*`): about a fifth less CPU per delivered event.
 * `res.end()` still writes the last chunk, after ours on the same socket.
 *
 * @module
 */

/** What the owner of a {@linkcode FrameQueue} hears. */
export interface FrameQueueHooks {
  /** The server took a frame or asked for one: the queue may have room now. */
  onTaken(): void;
  /** The body ended (closed, cut, or cancelled by the client); called once. */
  onEnd(): void;
}

/** The socket under a `node:http` response, written directly (see the module doc). */
export interface NodeSocket {
  write(chunk: Uint8Array): boolean;
  on(event: "drain", listener: (this: NodeSocket) => void): unknown;
  off(event: "drain", listener: (this: NodeSocket) => void): unknown;
  readonly writableNeedDrain?: boolean;
}

/** The part of a `node:http` `ServerResponse` a queue writes to. */
export interface NodeSink {
  write(chunk: Uint8Array): boolean;
  end(): unknown;
  destroy(error?: Error): unknown;
  on(event: "drain" | "close" | "error", listener: (this: NodeSink) => void): unknown;
  readonly destroyed: boolean;
  readonly writableNeedDrain?: boolean;
  /** The connection, while this response owns it (node sets it; fakes may not). */
  readonly socket?: NodeSocket | null;
  /** Whether the body goes out in chunked framing (an HTTP/1.1 response without a length). */
  readonly chunkedEncoding?: boolean;
  /** Sends the head now (so that body bytes can follow it on the socket). */
  flushHeaders?(): void;
}

/** The queue a node response or socket writes for (one symbol property instead of a closure per listener). */
const QUEUE = Symbol("frameQueue");
type Piped = NodeSink & { [QUEUE]?: FrameQueue };
type PipedSocket = NodeSocket & { [QUEUE]?: FrameQueue };

function onSinkDrain(this: Piped | PipedSocket): void {
  this[QUEUE]?.[SINK_READY]();
}
function onSinkGone(this: Piped): void {
  this[QUEUE]?.[SINK_GONE]();
}
const SINK_READY = Symbol("sinkReady");
const SINK_GONE = Symbol("sinkGone");

const CHUNKS = new WeakMap<Uint8Array, Uint8Array>();
const encoder = new TextEncoder();

/**
 * A frame in HTTP/1.1 chunked framing (size line, data, CRLF), made once per
 * frame object: a frame fanned out to many streams is framed once. An empty
 * frame would be the body's last chunk, so it must not be passed.
 *
 * @example
 * ```ts
 * chunkOf(new TextEncoder().encode(": hi\n\n")); // "6\r\n: hi\n\n\r\n"
 * ```
 */
export function chunkOf(frame: Uint8Array): Uint8Array {
  let chunk = CHUNKS.get(frame);
  if (chunk) return chunk;
  const head = encoder.encode(`${frame.byteLength.toString(16)}\r\n`);
  chunk = new Uint8Array(head.byteLength + frame.byteLength + 2);
  chunk.set(head);
  chunk.set(frame, head.byteLength);
  chunk[chunk.byteLength - 2] = 13; // \r
  chunk[chunk.byteLength - 1] = 10; // \n
  CHUNKS.set(frame, chunk);
  return chunk;
}

/**
 * The socket to write a response's body to directly, with its head flushed;
 * `undefined` when the response does not own one (a fake in a test, or a
 * pipelined response still waiting for the one before it).
 */
function directSocket(res: NodeSink): PipedSocket | undefined {
  const socket = res.socket;
  if (!socket || typeof res.flushHeaders !== "function") return undefined;
  res.flushHeaders();
  return socket;
}

/**
 * A frame queue; hand `body` to the HTTP response, or `pipeTo` a node one.
 *
 * @example
 * ```ts
 * const out = new FrameQueue({ onTaken: () => {}, onEnd: () => cleanUp() });
 * out.push(frame);
 * out.end(); // closes once the server has taken every frame
 * return new Response(out.body, { headers: SSE_HEADERS });
 * ```
 */
export class FrameQueue {
  readonly #hooks: FrameQueueHooks;
  #body: ReadableStream<Uint8Array> | undefined;
  #controller: ReadableStreamDefaultController<Uint8Array> | undefined;
  #sink: Piped | undefined;
  /** The sink's socket, written directly (see the module doc). */
  #socket: PipedSocket | undefined;
  /** Whether frames go to {@linkcode #socket} in chunked framing. */
  #chunked = false;
  /** Oldest first. */
  #frames: Uint8Array[] = [];
  #bytes = 0;
  /** The server can take a frame now (asked with `pull()`, or the socket keeps up). */
  #wanting = false;
  #ending = false;
  #ended = false;

  constructor(hooks: FrameQueueHooks) {
    this.#hooks = hooks;
  }

  /** The frames as a response body (created on first use; not with {@linkcode FrameQueue.pipeTo}). */
  get body(): ReadableStream<Uint8Array> {
    return this.#body ??= new ReadableStream<Uint8Array>(
      {
        start: (controller) => {
          this.#controller = controller;
          // Ended before anyone asked for the body: an empty, closed one.
          if (this.#ended) controller.close();
        },
        pull: () => {
          this.#wanting = true;
          this.#pump();
          if (!this.#ended) this.#hooks.onTaken();
        },
        cancel: () => this.#end(),
      },
      { highWaterMark: 0 },
    );
  }

  /**
   * Writes the frames to a `node:http` response from now on (its head must be
   * written already); the response closing ends the queue.
   */
  pipeTo(res: NodeSink): void {
    const sink = res as Piped;
    this.#sink = sink;
    sink[QUEUE] = this;
    sink.on("drain", onSinkDrain);
    sink.on("close", onSinkGone);
    // A write after the socket failed; "close" follows.
    sink.on("error", onSinkGone);
    if (sink.destroyed) return this.#end();
    const socket = this.#socket = directSocket(sink);
    if (socket) {
      socket[QUEUE] = this;
      socket.on("drain", onSinkDrain);
      this.#chunked = sink.chunkedEncoding === true;
    }
    this.#wanting = !(socket ?? sink).writableNeedDrain;
    this.#pump();
  }

  /** Bytes queued and not yet taken by the server. */
  get queuedBytes(): number {
    return this.#bytes;
  }

  /** Whether the body has ended. */
  get ended(): boolean {
    return this.#ended;
  }

  /** Queues a frame (handed over at once if the server is waiting); ignored after `end()`. */
  push(frame: Uint8Array): void {
    if (this.#ended || this.#ending) return;
    if (this.#wanting && this.#frames.length === 0) {
      // A reader keeping up: no queueing (and an idle queue allocates nothing).
      this.#hand(frame);
      return;
    }
    this.#frames.push(frame);
    this.#bytes += frame.byteLength;
    this.#pump();
  }

  /** Forgets every frame not yet taken by the server. */
  dropUnsent(): void {
    this.#frames = [];
    this.#bytes = 0;
  }

  /** Closes the body cleanly once the server has taken every queued frame. */
  end(): void {
    this.#ending = true;
    this.#pump();
  }

  /** Ends the body with an error now: the server aborts the response. */
  cut(reason: Error): void {
    if (this.#ended) return;
    if (this.#sink) this.#sink.destroy(reason);
    else {
      try {
        this.#controller?.error(reason);
      } catch { /* already closed */ }
    }
    this.#end();
  }

  /** @internal The node response drained: write what waits. */
  [SINK_READY](): void {
    if (this.#ended) return;
    this.#wanting = true;
    this.#pump();
    if (!this.#ended) this.#hooks.onTaken();
  }

  /** @internal The node response closed (the client left, or we ended it). */
  [SINK_GONE](): void {
    this.#end();
  }

  #pump(): void {
    // A stream body takes one frame per pull (#hand clears #wanting); a node
    // response takes frames until its socket buffer is full.
    while (!this.#ended && this.#wanting && this.#frames.length > 0) {
      const frame = this.#frames.shift()!;
      this.#bytes -= frame.byteLength;
      if (!this.#hand(frame)) return;
    }
    if (!this.#ended && this.#ending && this.#frames.length === 0) {
      // Whatever sits in the server's buffers still goes out before the close.
      if (this.#sink) this.#sink.end();
      else if (this.#controller) {
        try {
          this.#controller.close();
        } catch { /* already closed */ }
      }
      this.#end();
    }
  }

  /** Gives a frame to the waiting server; false when the body is gone. */
  #hand(frame: Uint8Array): boolean {
    const sink = this.#sink;
    if (sink) {
      if (sink.destroyed) {
        this.#end();
        return false;
      }
      const socket = this.#socket;
      if (!socket) this.#wanting = sink.write(frame);
      else if (frame.byteLength > 0) {
        this.#wanting = socket.write(this.#chunked ? chunkOf(frame) : frame);
      }
      return true;
    }
    this.#wanting = false;
    try {
      this.#controller!.enqueue(frame);
      return true;
    } catch {
      this.#end();
      return false;
    }
  }

  #end(): void {
    if (this.#ended) return;
    this.#ended = true;
    this.dropUnsent();
    const sink = this.#sink;
    if (sink) delete sink[QUEUE];
    const socket = this.#socket;
    if (socket) {
      // A kept-alive connection serves the next request: leave it as it was.
      socket.off("drain", onSinkDrain);
      delete socket[QUEUE];
      this.#socket = undefined;
    }
    this.#hooks.onEnd();
  }
}
