/**
 * One persistent world stream (`GET /api/v0.3/world/stream`): the user's own
 * events and, in shared worlds, other players' world changes, each once, in
 * order, with replay from `Last-Event-ID` and a bound on unread data.
 *
 * States: `catching_up` (a replay runs; live events are buffered), `live`,
 * `ending` (a final frame is queued; we close once the HTTP server has taken
 * it, or cut the connection after `dropAfterMs`), `closed`.
 *
 * Frames wait in the stream's own queue (`frame_queue.ts`) until the HTTP
 * server takes them, so what the client has not been sent yet is ours to
 * drop: past `maxQueuedBytes` unread, the queue is discarded and `resync`
 * (`slow_consumer`) goes next, then a clean end. The client gets what the
 * socket already carried, then `resync`, and can tell that from a network
 * cut; it resumes with `Last-Event-ID` (the last event it did read).
 *
 * The seam between replay and live is gap-free because the live listeners
 * are attached before the replay starts. Every event, live or replayed, goes
 * through the stream's {@linkcode VersionOrder}: the stream follows one
 * world (a shared experience, or the user's isolated world), whose versions
 * are contiguous, so a version already delivered is dropped (a republish, a
 * second copy in JetStream) and one that skips ahead is held while a
 * catch-up from JetStream looks for the missing ones. A version that cannot
 * be found is never skipped silently: the stream sends `resync` (`gap`), so
 * the client refetches the snapshot, and goes on after it.
 *
 * The catch-up itself (replay, pacing, retries) is `world_catch_up.ts`; the
 * wait for a missing version is `gap_patience.ts`. Both are made on first
 * need, so an idle stream is this object, its queue, its version order and
 * one hub listener (no timer: keep-alives come from the registry's one).
 *
 * @module
 */
import { experienceSubject, userSubject } from "../shared/subjects.ts";
import { metrics } from "../shared/metrics.ts";
import { log } from "../shared/log.ts";
import type { HubEvent, SubjectHub } from "./hub.ts";
import type { Replayer } from "./replay.ts";
import { CatchUp, type CatchUpHost, type StreamState } from "./world_catch_up.ts";
import { encodeResync, encodeRetry, KEEP_ALIVE_FRAME } from "./sse.ts";
import { FrameQueue, type NodeSink } from "./frame_queue.ts";
import { VersionOrder } from "./version_order.ts";
import { GapPatience } from "./gap_patience.ts";
import type { Clock } from "../shared/clock.ts";

/** The latency histogram's labels, one object for every delivery. */
const WORLD_LABELS = { stream: "world" } as const;

/** Process-wide settings every world stream shares. */
export interface WorldStreamConfig {
  hub: SubjectHub;
  replayer: Replayer;
  /** Bytes queued but not taken by the HTTP server past which the stream ends with `resync`. */
  maxQueuedBytes: number;
  /** How long a stream's last frame may wait for the client to read before the connection is cut. */
  dropAfterMs: number;
  /** `retry:` hint sent at the start (ms). */
  retryMs: number;
  /** Whether the bus is up (a failed replay is retried on reconnect only if it is not). */
  busConnected: () => boolean;
  /** Resolves once the bus server has seen our subscriptions (never rejects). */
  subscribed: () => Promise<void>;
  /** How long a missing version may keep later ones waiting before `resync` (`gap`); see `gap_patience.ts`. */
  gapWaitMs?: number;
  /** Timers of the gap wait (tests inject a manual clock). */
  clock?: Clock;
}

/** Per-connection parameters. */
export interface WorldStreamParams {
  userId: string;
  experience: string;
  /** From the `Last-Event-ID` header or `last_event_id` query. */
  lastEventId?: string;
  /** Called once when the stream is finished, however it ends. */
  onEnd?: () => void;
}

/**
 * A world stream; hand `body` to the HTTP response.
 *
 * @example
 * ```ts
 * const ws = new WorldStream(config, { userId, experience, lastEventId });
 * return new Response(ws.body, { headers: SSE_HEADERS });
 * ```
 */
export class WorldStream implements CatchUpHost {
  readonly userId: string;
  readonly experience: string;
  /** `performance.now()` of the last write, for keep-alives. */
  lastWriteAt = performance.now();
  /** Resolves once the NATS server has this stream's subscriptions (never rejects). */
  ready!: Promise<void>;

  readonly #cfg: WorldStreamConfig;
  readonly #onEnd: (() => void) | undefined;
  readonly #userSubject: string;
  readonly #experienceSubject: string;
  readonly #openedAt = Date.now();
  readonly #out: FrameQueue;
  #state: StreamState = "live";
  /** Our hub listener while attached (one closure for both subjects). */
  #listener: ((h: HubEvent, now: number) => void) | undefined;
  /** This stream's world, version by version. */
  #order = new VersionOrder<HubEvent>();
  /** How long the current gap may hold later versions (made at the first gap). */
  #patience: GapPatience | undefined;
  /** Id of the last event delivered (see {@linkcode CatchUpHost}). */
  lastId: string | undefined;
  /** Replays from JetStream; made on first need (most streams never catch up). */
  #catchUp: CatchUp | undefined;
  #dropTimer: ReturnType<typeof setTimeout> | undefined;

  constructor(cfg: WorldStreamConfig, params: WorldStreamParams) {
    this.#cfg = cfg;
    this.userId = params.userId;
    this.experience = params.experience;
    this.#onEnd = params.onEnd;
    this.#userSubject = userSubject(params.userId);
    this.#experienceSubject = experienceSubject(params.experience);
    this.#out = new FrameQueue({
      onTaken: () => this.#catchUp?.taken(),
      onEnd: () => this.#finish(),
    });
    this.#open(params.lastEventId);
  }

  #open(lastEventId: string | undefined): void {
    // Live first, replay second: nothing published from here on can fall in a gap.
    const listener = this.#listener = (h: HubEvent, now: number) => this.#onLive(h, now);
    this.#cfg.hub.listen(this.#userSubject, listener);
    this.#cfg.hub.listen(this.#experienceSubject, listener);
    if (lastEventId) {
      this.#state = "catching_up"; // buffer live events until the replay
      this.#catchUps().pendingFrom = { afterId: lastEventId };
    }
    // The first frame goes out once the server has our subscriptions, so a
    // client that sees the stream open can rely on it being live.
    this.ready = this.#cfg.subscribed().then(() => {
      if (this.#state === "ending" || this.#state === "closed") return;
      this.#enqueue(encodeRetry(this.#cfg.retryMs));
      if (lastEventId) this.#catchUps().start({ afterId: lastEventId });
    });
  }

  #gap(): GapPatience {
    return this.#patience ??= new GapPatience({
      waitMs: this.#cfg.gapWaitMs,
      clock: this.#cfg.clock,
      onLastLook: () => this.#lastLook(),
    });
  }

  /** No gap any more (a no-op for a stream that never had one). */
  #gapFilled(): void {
    this.#patience?.filled();
  }

  #catchUps(): CatchUp {
    return this.#catchUp ??= new CatchUp(this.#cfg, this, [
      this.#userSubject,
      this.#experienceSubject,
    ]);
  }

  /** @internal The stage, for the catch-up. */
  get state(): StreamState {
    return this.#state;
  }

  /** @internal Bytes not yet taken by the HTTP server, for the catch-up's pacing. */
  get queuedBytes(): number {
    return this.#out.queuedBytes;
  }

  /** @internal A catch-up starts: live events wait. */
  enterCatchUp(): void {
    this.#state = "catching_up";
  }

  /** Whether an event belongs on this stream (DESIGN.md guarantee 2 and "exactly once"). */
  wanted(h: HubEvent): boolean {
    const e = h.event;
    if (e.experience !== this.experience) return false;
    if (h.subject === this.#userSubject) return true;
    // The actor's own change arrives on its user subject; the experience
    // subject copy would be a duplicate.
    return h.subject === this.#experienceSubject && e.user_id !== this.userId;
  }

  #onLive(h: HubEvent, now: number): void {
    if (!this.wanted(h)) return;
    if (this.#state === "live") {
      this.accept(h, "live", now);
      // A version is missing: JetStream may have it (a republish, a retry after
      // a failure). One catch-up per gap; after it, the gap's patience decides.
      if (this.#order.gapped && this.lastId && (this.#patience?.idle ?? true)) {
        this.#catchUps().start({ afterId: this.lastId });
      }
    } else if (this.#state === "catching_up") {
      this.#catchUps().hold(h);
    }
  }

  /**
   * Offers an event to the version order and sends what it releases: each
   * version once, in order. `from: "replay"` for events read back from
   * JetStream (counted as replayed, paced by the client); `"buffer"` for live
   * events held during a catch-up (paced too, and timed like live ones).
   */
  accept(h: HubEvent, from: "live" | "buffer" | "replay", now = performance.now()): void {
    for (const ready of this.#order.offer(h.event.version, h)) this.#deliver(ready, from, now);
    if (this.#order.overflowing) this.#skipGap();
    else if (!this.#order.gapped) this.#gapFilled();
  }

  /** The gap's wait is over: one more catch-up, after which a gap left is given up. */
  #lastLook(): void {
    if (!this.#order.gapped) return this.#gapFilled();
    if (this.lastId) this.#catchUps().start({ afterId: this.lastId });
    else this.#skipGap();
  }

  /** Gives up on missing versions: `resync` (`gap`), then what was held, in order. */
  #skipGap(): void {
    this.#gapFilled();
    if (!this.#order.gapped) return;
    log("warn", "world stream cannot show a committed version; sending resync", {
      user_id: this.userId,
      experience: this.experience,
      missing: this.#order.missing,
    });
    metrics.resyncsSent.inc({ reason: "gap" });
    this.#enqueue(encodeResync("gap"));
    const now = performance.now();
    for (const h of this.#order.skipGap()) this.#deliver(h, "buffer", now);
  }

  /** Writes one event's frame. */
  #deliver(h: HubEvent, from: "live" | "buffer" | "replay", now: number): void {
    this.lastId = h.event.id;
    this.#enqueue(h.frame, from === "live", now);
    if (from === "replay") metrics.replayedEvents.inc();
    else {
      metrics.worldUpdateLatency.observe(
        WORLD_LABELS,
        performance.timeOrigin + now - h.event.timestamp,
      );
    }
  }

  #enqueue(frame: Uint8Array, checkOverflow = true, now = performance.now()): void {
    if (this.#state === "closed") return;
    this.lastWriteAt = now;
    this.#out.push(frame);
    if (
      checkOverflow && this.#state !== "ending" &&
      this.#out.queuedBytes > this.#cfg.maxQueuedBytes
    ) {
      this.overflow();
    }
  }

  /**
   * The client reads too slowly: drop what it has not been sent, end with
   * `resync`; it comes back with Last-Event-ID.
   */
  overflow(): void {
    log("warn", "world stream over its queue limit; ending with resync", {
      user_id: this.userId,
      experience: this.experience,
      max_queued_bytes: this.#cfg.maxQueuedBytes,
    });
    metrics.slowConsumerDrops.inc();
    metrics.resyncsSent.inc({ reason: "slow_consumer" });
    this.#endWith(encodeResync("slow_consumer"), { dropUnsent: true });
  }

  /**
   * Stops listening, queues a last frame (alone, with `dropUnsent`), closes
   * once the server has taken it.
   */
  #endWith(
    frame: Uint8Array,
    opts: { dropAfterMs?: number; dropUnsent?: boolean } = {},
  ): void {
    if (this.#state === "ending" || this.#state === "closed") return;
    this.#state = "ending";
    this.#detachAll();
    if (opts.dropUnsent) this.#out.dropUnsent();
    // A client that never reads would hold the connection forever: cut it.
    this.#dropTimer = setTimeout(() => {
      this.#dropTimer = undefined;
      if (this.#state !== "ending") return;
      this.#out.cut(new Error("world stream cut: the client did not read its last frames"));
    }, opts.dropAfterMs ?? this.#cfg.dropAfterMs);
    this.#enqueue(frame);
    this.#out.end(); // closes once the server has taken it
  }

  /** @internal The client's last event, read back: the world stands at its version. */
  anchorAt(h: HubEvent): void {
    if (h.event.experience === this.experience) this.#order.anchor(h.event.version);
  }

  /** @internal The replay cannot serve the client's id: `resync` clearing it, a fresh sequence. */
  restartSequence(reason: string): void {
    metrics.resyncsSent.inc({ reason });
    this.#enqueue(encodeResync(reason, true));
    // The client refetches the snapshot; the next event starts the sequence again.
    this.#order = new VersionOrder();
    this.#gapFilled();
  }

  /** @internal The catch-up is done: a version still missing is waited for, then given up; live again. */
  caughtUp(): void {
    // Still missing: wait for it first (a publish resent after an election),
    // then give it up with resync gap.
    if (this.#order.gapped && this.#gap().afterCatchUp() === "skip") this.#skipGap();
    this.#state = "live";
  }

  /**
   * NATS came back: fetch whatever was stored while our live subscription
   * could not see it (anchor: the last delivered id, else the open time).
   */
  onReconnect(): void {
    if (this.#state === "ending" || this.#state === "closed") return;
    const catchUp = this.#catchUps();
    catchUp.start(
      catchUp.pendingFrom ??
        (this.lastId ? { afterId: this.lastId } : { sinceMs: this.#openedAt }),
    );
  }

  /** The frames as a response body (unless piped to a node response). */
  get body(): ReadableStream<Uint8Array> {
    return this.#out.body;
  }

  /** Writes the frames straight into a `node:http` response instead of {@linkcode WorldStream.body}. */
  pipeTo(res: NodeSink): void {
    this.#out.pipeTo(res);
  }

  /** Whether the stream still takes frames (not ending or closed). */
  get isOpen(): boolean {
    return this.#state === "live" || this.#state === "catching_up";
  }

  /**
   * Queues a frame that is not a world update (`presence`, `say`): no id, no
   * version, not replayed; counted against the unread-bytes bound.
   */
  sendEphemeral(frame: Uint8Array): void {
    if (this.isOpen) this.#enqueue(frame);
  }

  /** Sends a keep-alive comment when nothing was written for `idleMs`. */
  keepAlive(now: number, idleMs: number): void {
    if (this.#state !== "live" && this.#state !== "catching_up") return;
    if (now - this.lastWriteAt >= idleMs) this.#enqueue(KEEP_ALIVE_FRAME);
  }

  /** Server shutdown: a jittered `retry:` hint (spreads the reconnects), then close. */
  shutdown(retryMs: number): void {
    // Shutdown waits for no one: a client that does not drain is cut soon.
    this.#endWith(encodeRetry(retryMs), { dropAfterMs: Math.min(this.#cfg.dropAfterMs, 2_000) });
  }

  #detachAll(): void {
    const listener = this.#listener;
    this.#listener = undefined;
    if (listener) {
      this.#cfg.hub.unlisten(this.#userSubject, listener);
      this.#cfg.hub.unlisten(this.#experienceSubject, listener);
    }
    this.#catchUp?.stop();
  }

  #finish(): void {
    if (this.#state === "closed") return;
    this.#state = "closed";
    this.#detachAll();
    if (this.#dropTimer !== undefined) clearTimeout(this.#dropTimer);
    this.#dropTimer = undefined;
    this.#gapFilled();
    this.#onEnd?.();
  }
}
