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
 *   while `res.write()` says the socket keeps up, and wait here from the
 *   first `false` until `drain`. No stream, reader or promise per
 *   connection, and the listeners are shared functions: an idle queue costs
 *   an empty array and a few fields (this is what lets 10,000 idle streams
 *   fit in a quarter of the memory; see README "Serving").
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

/** The part of a `node:http` `ServerResponse` a queue writes to. */
export interface NodeSink {
  write(chunk: Uint8Array): boolean;
  end(): unknown;
  destroy(error?: Error): unknown;
  on(event: "drain" | "close" | "error", listener: (this: NodeSink) => void): unknown;
  readonly destroyed: boolean;
  readonly writableNeedDrain?: boolean;
}

/** The queue a node response writes for (one symbol property instead of a closure per listener). */
const QUEUE = Symbol("frameQueue");
type Piped = NodeSink & { [QUEUE]?: FrameQueue };

function onSinkDrain(this: Piped): void {
  this[QUEUE]?.[SINK_READY]();
}
function onSinkGone(this: Piped): void {
  this[QUEUE]?.[SINK_GONE]();
}
const SINK_READY = Symbol("sinkReady");
const SINK_GONE = Symbol("sinkGone");

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
    this.#wanting = !sink.writableNeedDrain;
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
      this.#wanting = sink.write(frame);
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
    this.#hooks.onEnd();
  }
}
