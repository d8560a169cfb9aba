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
 * @module
 */
import { experienceSubject, userSubject } from "../shared/subjects.ts";
import { metrics } from "../shared/metrics.ts";
import { log } from "../shared/log.ts";
import type { HubEvent, SubjectHub } from "./hub.ts";
import type { Replayer, ReplayFrom } from "./replay.ts";
import { encodeResync, encodeRetry, KEEP_ALIVE_FRAME } from "./sse.ts";
import { FrameQueue } from "./frame_queue.ts";
import { VersionOrder } from "./version_order.ts";

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

/**
 * Attempts of a replay that failed for a reason that may pass (a restart, an
 * election, an event seen live and not stored yet): 250 ms doubling, about
 * 16 s in all.
 */
const REPLAY_RETRIES = 6;
/**
 * Catch-ups that still leave a version missing are run again this many
 * times (after 300 ms, then 600 ms) before the stream gives the version up
 * with `resync` (`gap`): an event published before this stream's
 * subscription reached the server can be stored after the replay's cut (a
 * replicated stream commits through its quorum first; seen in about one run
 * in ten of the many-hosts test on a 3-node cluster: one observer of three
 * missed versions the other two got).
 */
const GAP_RETRIES = 2;

/** Failures of the history that another attempt may not meet. */
function isTransient(e: unknown): boolean {
  const code = (e as { code?: unknown })?.code;
  return code === "timeout" || code === "jetstream_unavailable" || code === "disconnected" ||
    code === "stream_not_found" || code === "not_stored_yet";
}

/** Events read before a replay's anchor that a stream keeps until the anchor says which count. */
const MAX_BEFORE_ANCHOR = 4096;

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
  /** This stream's world, version by version. */
  #order = new VersionOrder<HubEvent>();
  #lastId: string | undefined;
  /** Start point of a catch-up that has not completed (kept across NATS outages). */
  #pendingFrom: ReplayFrom | undefined;
  #catchUpRunning = false;
  #catchUpAgain = false;
  #replayRetries = 0;
  #gapRetries = 0;
  #retryTimer: ReturnType<typeof setTimeout> | undefined;
  #replayAbort: AbortController | undefined;
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
    if (this.#state === "live") {
      this.#accept(h, "live");
      // A version is missing: JetStream may have it (a republish, a retry after a failure).
      if (this.#order.gapped && this.#lastId) this.#catchUp({ afterId: this.#lastId });
    } else if (this.#state === "catching_up") {
      this.#buffer.push(h);
      this.#bufferBytes += h.frame.byteLength;
      if (this.#bufferBytes > this.#cfg.maxQueuedBytes) this.#overflow();
    }
  }

  /**
   * Offers an event to the version order and sends what it releases: each
   * version once, in order. `from: "replay"` for events read back from
   * JetStream (counted as replayed, paced by the client); `"buffer"` for live
   * events held during a catch-up (paced too, and timed like live ones).
   */
  #accept(h: HubEvent, from: "live" | "buffer" | "replay"): void {
    for (const ready of this.#order.offer(h.event.version, h)) this.#deliver(ready, from);
    if (this.#order.overflowing) this.#skipGap();
  }

  /** Gives up on missing versions: `resync` (`gap`), then what was held, in order. */
  #skipGap(): void {
    if (!this.#order.gapped) return;
    log("warn", "world stream cannot show a committed version; sending resync", {
      user_id: this.userId,
      experience: this.experience,
      missing: this.#order.missing,
    });
    metrics.resyncsSent.inc({ reason: "gap" });
    this.#enqueue(encodeResync("gap"));
    for (const h of this.#order.skipGap()) this.#deliver(h, "buffer");
  }

  /** Writes one event's frame. */
  #deliver(h: HubEvent, from: "live" | "buffer" | "replay"): void {
    this.#lastId = h.event.id;
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
    // Aborted when the stream closes: a replay of a stream nobody reads any more gives back its slot.
    const abort = new AbortController();
    this.#replayAbort = abort;
    let resync: string | undefined;
    /** Wanted events stored before the anchor: which of them the client lacks is known at the anchor. */
    let beforeAnchor: HubEvent[] = [];
    try {
      const subjects = [this.#userSubject, this.#experienceSubject];
      for await (const item of this.#cfg.replayer.replay(subjects, from, abort.signal)) {
        if (this.#state !== "catching_up") return; // leaving the loop releases the readers
        if (item.kind === "resync") {
          resync = item.reason;
          break;
        }
        const h = item.hubEvent;
        if (item.kind === "anchor") {
          // The last event the client has: our world stands at its version.
          if (h.event.experience === this.experience) this.#order.anchor(h.event.version);
          const early = beforeAnchor;
          beforeAnchor = [];
          for (const e of early) this.#accept(e, "replay");
          continue;
        }
        // Only what is delivered counts as replayed: the actor's own change is
        // skipped on the experience subject and must still come from the user subject.
        if (!this.#wanted(h)) continue;
        if (item.beforeAnchor) {
          beforeAnchor.push(h);
          if (beforeAnchor.length > MAX_BEFORE_ANCHOR) beforeAnchor.shift();
          continue;
        }
        // Paced by the client: a big replay never sits in our queue at once.
        if (!(await this.#space())) return;
        this.#accept(h, "replay");
        // A retry resumes from the last event delivered.
        if (this.#lastId) this.#pendingFrom = { afterId: this.#lastId };
      }
    } catch (e) {
      if (abort.signal.aborted) return; // the stream ended
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
      // JetStream may still be starting after a restart, or electing a leader:
      // try again a few times before giving up on the gap.
      if (isTransient(e) && this.#replayRetries < REPLAY_RETRIES) {
        const delay = 250 * 2 ** this.#replayRetries++;
        this.#retryTimer = setTimeout(() => {
          this.#retryTimer = undefined;
          this.#catchUpAgain = false;
          this.#catchUp(from);
        }, delay);
        return;
      }
      if ((e as { code?: unknown })?.code === "not_stored_yet") {
        // Still not in the stream after the retries: an id we cannot replay from.
        resync = "unknown_event_id";
      } else {
        // JetStream itself failed (disabled, stream missing): we cannot fill the gap.
        log("error", "world stream replay failed", { user_id: this.userId, error: String(e) });
        resync = "replay_failed";
      }
    }
    this.#replayRetries = 0;
    if (this.#state !== "catching_up") return;
    this.#pendingFrom = undefined;
    // The id we were given cannot be replayed from: clear it at the client.
    if (resync) {
      metrics.resyncsSent.inc({ reason: resync });
      this.#enqueue(encodeResync(resync, true));
      // The client refetches the snapshot; the next event starts the sequence again.
      this.#order = new VersionOrder();
    } else {
      // Both kinds: after Last-Event-ID, and after a NATS outage.
      metrics.replaysServed.inc();
      if ("afterId" in from && !this.#lastId) this.#lastId = from.afterId;
    }
    // Live events that arrived meanwhile (the order drops what the replay sent).
    while (this.#buffer.length > 0) {
      const h = this.#buffer.shift()!;
      this.#bufferBytes -= h.frame.byteLength;
      if (!(await this.#space())) return;
      this.#accept(h, "buffer");
    }
    // Still missing: it may be on its way into the stream. Look again (live
    // events keep buffering meanwhile) before giving it up.
    if (this.#order.gapped && this.#lastId && this.#gapRetries < GAP_RETRIES) {
      const afterId = this.#lastId;
      this.#retryTimer = setTimeout(() => {
        this.#retryTimer = undefined;
        this.#catchUp({ afterId });
      }, 300 * 2 ** this.#gapRetries++);
      return;
    }
    this.#gapRetries = 0;
    // Whatever JetStream and the live subscription could not supply is gone.
    this.#skipGap();
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
    this.#replayAbort?.abort();
  }

  #finish(): void {
    if (this.#state === "closed") return;
    this.#state = "closed";
    this.#detachAll();
    this.#buffer = [];
    this.#wakeSpace(false);
    if (this.#dropTimer !== undefined) clearTimeout(this.#dropTimer);
    this.#dropTimer = undefined;
    clearTimeout(this.#retryTimer);
    this.#onEnd?.();
  }
}
