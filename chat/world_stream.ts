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
 * are attached before the replay starts, and duplicate-free because buffered
 * live events that the replay already delivered are skipped by id.
 *
 * @module
 */
import { experienceSubject, userSubject } from "../shared/subjects.ts";
import { metrics } from "../shared/metrics.ts";
import { log } from "../shared/log.ts";
import type { HubEvent, SubjectHub } from "./hub.ts";
import type { Replayer, ReplayFrom } from "./replay.ts";
import { encodeResync, encodeRetry, KEEP_ALIVE_FRAME } from "./sse.ts";
import { FrameQueue } from "./frame_queue.ts";

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

type State = "catching_up" | "live" | "ending" | "closed";

/** How many recently delivered ids a stream remembers to drop duplicates at seams. */
const RECENT_IDS = 1024;

class RecentIds {
  #set = new Set<string>();
  #ring: string[] = [];
  #at = 0;
  has(id: string): boolean {
    return this.#set.has(id);
  }
  add(id: string): void {
    if (this.#ring.length < RECENT_IDS) this.#ring.push(id);
    else {
      this.#set.delete(this.#ring[this.#at]!);
      this.#ring[this.#at] = id;
      this.#at = (this.#at + 1) % RECENT_IDS;
    }
    this.#set.add(id);
  }
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
export class WorldStream {
  readonly body: ReadableStream<Uint8Array>;
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
  #state: State = "live";
  #detach: (() => void)[] = [];
  #buffer: HubEvent[] = [];
  #bufferBytes = 0;
  #recent = new RecentIds();
  #lastId: string | undefined;
  /** Start point of a catch-up that has not completed (kept across NATS outages). */
  #pendingFrom: ReplayFrom | undefined;
  #catchUpRunning = false;
  #catchUpAgain = false;
  #spaceWaiter: ((ok: boolean) => void) | undefined;
  #dropTimer: ReturnType<typeof setTimeout> | undefined;

  constructor(cfg: WorldStreamConfig, params: WorldStreamParams) {
    this.#cfg = cfg;
    this.userId = params.userId;
    this.experience = params.experience;
    this.#onEnd = params.onEnd;
    this.#userSubject = userSubject(params.userId);
    this.#experienceSubject = experienceSubject(params.experience);
    this.#out = new FrameQueue({
      onTaken: () => {
        if (this.#out.queuedBytes < this.#cfg.maxQueuedBytes / 2) this.#wakeSpace(true);
      },
      onEnd: () => this.#finish(),
    });
    this.body = this.#out.body;
    this.#open(params.lastEventId);
  }

  #open(lastEventId: string | undefined): void {
    // Live first, replay second: nothing published from here on can fall in a gap.
    const listener = (h: HubEvent) => this.#onLive(h);
    this.#detach.push(this.#cfg.hub.attach(this.#userSubject, listener));
    this.#detach.push(this.#cfg.hub.attach(this.#experienceSubject, listener));
    if (lastEventId) {
      this.#state = "catching_up"; // buffer live events until the replay
      this.#pendingFrom = { afterId: lastEventId };
    }
    // The first frame goes out once the server has our subscriptions, so a
    // client that sees the stream open can rely on it being live.
    this.ready = this.#cfg.subscribed().then(() => {
      if (this.#state === "ending" || this.#state === "closed") return;
      this.#enqueue(encodeRetry(this.#cfg.retryMs));
      if (lastEventId) this.#catchUp({ afterId: lastEventId });
    });
  }

  /** Whether an event belongs on this stream (DESIGN.md guarantee 2 and "exactly once"). */
  #wanted(h: HubEvent): boolean {
    const e = h.event;
    if (e.experience !== this.experience) return false;
    if (h.subject === this.#userSubject) return true;
    // The actor's own change arrives on its user subject; the experience
    // subject copy would be a duplicate.
    return h.subject === this.#experienceSubject && e.user_id !== this.userId;
  }

  #onLive(h: HubEvent): void {
    if (!this.#wanted(h)) return;
    if (this.#state === "live") this.#deliver(h);
    else if (this.#state === "catching_up") {
      this.#buffer.push(h);
      this.#bufferBytes += h.frame.byteLength;
      if (this.#bufferBytes > this.#cfg.maxQueuedBytes) this.#overflow();
    }
  }

  /**
   * Sends an event once. `from: "replay"` for events read back from
   * JetStream (counted as replayed, paced by the client); `"buffer"` for live
   * events held during a catch-up (paced too, and timed like live ones).
   */
  #deliver(h: HubEvent, from: "live" | "buffer" | "replay" = "live"): void {
    const id = h.event.id;
    if (this.#recent.has(id)) return;
    this.#recent.add(id);
    this.#lastId = id;
    this.#enqueue(h.frame, from === "live");
    if (from === "replay") metrics.replayedEvents.inc();
    else {
      metrics.worldUpdateLatency.observe(
        { stream: "world" },
        performance.timeOrigin + performance.now() - h.event.timestamp,
      );
    }
  }

  #enqueue(frame: Uint8Array, checkOverflow = true): void {
    if (this.#state === "closed") return;
    this.lastWriteAt = performance.now();
    this.#out.push(frame);
    if (
      checkOverflow && this.#state !== "ending" &&
      this.#out.queuedBytes > this.#cfg.maxQueuedBytes
    ) {
      this.#overflow();
    }
  }

  /**
   * The client reads too slowly: drop what it has not been sent, end with
   * `resync`; it comes back with Last-Event-ID.
   */
  #overflow(): void {
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
    this.#buffer = [];
    this.#wakeSpace(false);
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

  /** Starts (or queues) a catch-up; live events are buffered until it is done. */
  #catchUp(from: ReplayFrom): void {
    if (this.#state === "ending" || this.#state === "closed") return;
    this.#state = "catching_up";
    this.#pendingFrom ??= from;
    if (this.#catchUpRunning) {
      this.#catchUpAgain = true;
      return;
    }
    this.#catchUpRunning = true;
    this.#runCatchUp().finally(() => {
      this.#catchUpRunning = false;
      // NATS bounced while we replayed: what we delivered may have a new gap.
      if (this.#catchUpAgain) {
        this.#catchUpAgain = false;
        this.onReconnect();
      }
    });
  }

  async #runCatchUp(): Promise<void> {
    const from = this.#pendingFrom!;
    const replayed = new Set<string>();
    let resync: string | undefined;
    try {
      const subjects = [this.#userSubject, this.#experienceSubject];
      for await (const item of this.#cfg.replayer.replay(subjects, from)) {
        if (this.#state !== "catching_up") return; // leaving the loop releases the readers
        if (item.kind === "resync") {
          resync = item.reason;
          break;
        }
        const h = item.hubEvent;
        // Only what is delivered counts as replayed: the actor's own change is
        // skipped on the experience subject and must still come from the user subject.
        if (!this.#wanted(h)) continue;
        replayed.add(h.event.id);
        // Paced by the client: a big replay never sits in our queue at once.
        if (!(await this.#space())) return;
        this.#deliver(h, "replay");
        this.#pendingFrom = { afterId: h.event.id }; // a retry resumes from here
      }
    } catch (e) {
      // Interrupted by an outage (the bus may already be back: the consumer
      // died with the old connection, and the reconnect asked for a rerun).
      if (!this.#cfg.busConnected() || this.#catchUpAgain) {
        // NATS is unreachable: keep buffering; the reconnect hook runs us again.
        log("warn", "world stream replay interrupted; will resume on reconnect", {
          user_id: this.userId,
          error: String(e),
        });
        return;
      }
      // JetStream itself failed (disabled, stream missing): we cannot fill the gap.
      log("error", "world stream replay failed", { user_id: this.userId, error: String(e) });
      resync = "replay_failed";
    }
    if (this.#state !== "catching_up") return;
    this.#pendingFrom = undefined;
    // The id we were given cannot be replayed from: clear it at the client.
    if (resync) {
      metrics.resyncsSent.inc({ reason: resync });
      this.#enqueue(encodeResync(resync, true));
    } else {
      // Both kinds: after Last-Event-ID, and after a NATS outage.
      metrics.replaysServed.inc();
      if ("afterId" in from && !this.#lastId) this.#lastId = from.afterId;
    }
    // Live events that arrived meanwhile, minus what the replay already sent.
    while (this.#buffer.length > 0) {
      const h = this.#buffer.shift()!;
      this.#bufferBytes -= h.frame.byteLength;
      if (replayed.has(h.event.id)) continue;
      if (!(await this.#space())) return;
      this.#deliver(h, "buffer");
    }
    this.#state = "live";
  }

  /**
   * Resolves true once the queue is below half its limit (false if the
   * stream ended meanwhile): a replay is paced by the client and leaves room
   * for the live events that follow it.
   */
  #space(): Promise<boolean> {
    if (this.#state !== "catching_up") return Promise.resolve(false);
    if (this.#out.queuedBytes < this.#cfg.maxQueuedBytes / 2) return Promise.resolve(true);
    return new Promise((resolve) => this.#spaceWaiter = resolve);
  }

  #wakeSpace(ok: boolean): void {
    const w = this.#spaceWaiter;
    this.#spaceWaiter = undefined;
    w?.(ok);
  }

  /**
   * NATS came back: fetch whatever was stored while our live subscription
   * could not see it (anchor: the last delivered id, else the open time).
   */
  onReconnect(): void {
    if (this.#state === "ending" || this.#state === "closed") return;
    if (this.#pendingFrom) {
      this.#catchUp(this.#pendingFrom);
      return;
    }
    this.#catchUp(this.#lastId ? { afterId: this.#lastId } : { sinceMs: this.#openedAt });
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
    for (const d of this.#detach) d();
    this.#detach = [];
  }

  #finish(): void {
    if (this.#state === "closed") return;
    this.#state = "closed";
    this.#detachAll();
    this.#buffer = [];
    this.#wakeSpace(false);
    if (this.#dropTimer !== undefined) clearTimeout(this.#dropTimer);
    this.#dropTimer = undefined;
    this.#onEnd?.();
  }
}
