/**
 * A streaming response body whose frames wait in our own queue until the
 * HTTP server reads them (one frame per `pull()`; the `ReadableStream`
 * itself queues nothing). Frames the client has not been sent yet are still
 * ours: they can be counted and dropped, so a stream that must end early can
 * put its last frame right behind what the socket already carries.
 *
 * An idle queue costs one empty array and a few fields.
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

/**
 * A frame queue; hand `body` to the HTTP response.
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
  readonly body: ReadableStream<Uint8Array>;
  readonly #hooks: FrameQueueHooks;
  #controller!: ReadableStreamDefaultController<Uint8Array>;
  /** Oldest first. */
  #frames: Uint8Array[] = [];
  #bytes = 0;
  /** The server asked for a frame (`pull()`) and has not been given one yet. */
  #wanting = false;
  #ending = false;
  #ended = false;

  constructor(hooks: FrameQueueHooks) {
    this.#hooks = hooks;
    this.body = new ReadableStream<Uint8Array>(
      {
        start: (controller) => {
          this.#controller = controller;
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
    try {
      this.#controller.error(reason);
    } catch { /* already closed */ }
    this.#end();
  }

  #pump(): void {
    if (this.#ended) return;
    if (this.#wanting && this.#frames.length > 0) {
      const frame = this.#frames.shift()!;
      this.#bytes -= frame.byteLength;
      if (!this.#hand(frame)) return;
    }
    if (this.#ending && this.#frames.length === 0) {
      try {
        this.#controller.close();
      } catch { /* already closed */ }
      this.#end();
    }
  }

  /** Gives a frame to the waiting server; false when the body is gone. */
  #hand(frame: Uint8Array): boolean {
    this.#wanting = false;
    try {
      this.#controller.enqueue(frame);
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
    this.#hooks.onEnd();
  }
}
