/**
 * A world stream's catch-up: reads what the client lacks back from
 * JetStream (after `Last-Event-ID`, after a NATS outage, or to fill a
 * version gap) while live events wait in a buffer, then hands both to the
 * stream's version order, replay first. Created only for streams that need
 * one: an idle stream that never catches up has none.
 *
 * Paced by the client: a big replay never sits in the stream's queue at
 * once (it waits until the queue is below half its limit). Failures that
 * may pass (a restart, an election, an event seen live and not stored yet)
 * are retried, 250 ms doubling, about 16 s in all; an outage waits for the
 * reconnect, which runs the catch-up again from the last event delivered.
 *
 * @module
 */
import { log } from "../shared/log.ts";
import { metrics } from "../shared/metrics.ts";
import type { HubEvent } from "./hub.ts";
import type { Replayer, ReplayFrom } from "./replay.ts";

/** A world stream's stage (see world_stream.ts). */
export type StreamState = "catching_up" | "live" | "ending" | "closed";

/** What a catch-up needs of its stream. */
export interface CatchUpHost {
  readonly userId: string;
  readonly experience: string;
  readonly state: StreamState;
  /** Id of the last event delivered (a catch-up resumes after it). */
  lastId: string | undefined;
  /** Bytes in the stream's queue not yet taken by the HTTP server. */
  readonly queuedBytes: number;
  /** Live events wait from now on. */
  enterCatchUp(): void;
  /** Whether an event belongs on this stream. */
  wanted(h: HubEvent): boolean;
  /** Offers an event to the version order (and sends what it releases). */
  accept(h: HubEvent, from: "buffer" | "replay"): void;
  /** The client's last event stands at this version of the stream's world. */
  anchorAt(h: HubEvent): void;
  /** The replay cannot serve the client: `resync` (`reason`) and a fresh sequence. */
  restartSequence(reason: string): void;
  /** Done: decide about a gap still open, then live again. */
  caughtUp(): void;
  /** Too much waited: the stream ends with `resync` (`slow_consumer`). */
  overflow(): void;
  /** Runs the catch-up again from where the stream stands (the bus bounced meanwhile). */
  onReconnect(): void;
}

/** The parts of the stream settings a catch-up uses. */
export interface CatchUpConfig {
  replayer: Replayer;
  maxQueuedBytes: number;
  busConnected: () => boolean;
}

/** Attempts of a replay that failed for a reason that may pass: 250 ms doubling, about 16 s in all. */
const REPLAY_RETRIES = 6;

/** Failures of the history that another attempt may not meet. */
function isTransient(e: unknown): boolean {
  const code = (e as { code?: unknown })?.code;
  return code === "timeout" || code === "jetstream_unavailable" || code === "disconnected" ||
    code === "stream_not_found" || code === "not_stored_yet";
}

/** Events read before a replay's anchor that a stream keeps until the anchor says which count. */
const MAX_BEFORE_ANCHOR = 4096;

/**
 * One stream's catch-up machinery.
 *
 * @example
 * ```ts
 * const catchUp = new CatchUp(config, stream, [userSubject, experienceSubject]);
 * catchUp.start({ afterId: lastEventId }); // live events: catchUp.hold(h) meanwhile
 * ```
 */
export class CatchUp {
  readonly #cfg: CatchUpConfig;
  readonly #host: CatchUpHost;
  readonly #subjects: string[];
  /** Start point of a catch-up that has not completed (kept across NATS outages). */
  pendingFrom: ReplayFrom | undefined;
  #running = false;
  #again = false;
  #retries = 0;
  #retryTimer: ReturnType<typeof setTimeout> | undefined;
  #abort: AbortController | undefined;
  #buffer: HubEvent[] = [];
  #bufferBytes = 0;
  #spaceWaiter: ((ok: boolean) => void) | undefined;

  constructor(cfg: CatchUpConfig, host: CatchUpHost, subjects: string[]) {
    this.#cfg = cfg;
    this.#host = host;
    this.#subjects = subjects;
  }

  /** Starts (or queues) a catch-up from `from`; live events wait until it is done. */
  start(from: ReplayFrom): void {
    const host = this.#host;
    if (host.state === "ending" || host.state === "closed") return;
    host.enterCatchUp();
    this.pendingFrom ??= from;
    if (this.#running) {
      this.#again = true;
      return;
    }
    this.#running = true;
    this.#run().finally(() => {
      this.#running = false;
      // NATS bounced while we replayed: what we delivered may have a new gap.
      if (this.#again) {
        this.#again = false;
        host.onReconnect();
      }
    });
  }

  /** A live event during the catch-up: it waits (past the queue limit, the stream overflows). */
  hold(h: HubEvent): void {
    this.#buffer.push(h);
    this.#bufferBytes += h.frame.byteLength;
    if (this.#bufferBytes > this.#cfg.maxQueuedBytes) this.#host.overflow();
  }

  /** The HTTP server took frames: a paced replay may go on. */
  taken(): void {
    if (this.#host.queuedBytes < this.#cfg.maxQueuedBytes / 2) this.#wakeSpace(true);
  }

  /** The stream is ending: forget what waits, release the replay's readers, stop retrying. */
  stop(): void {
    this.#buffer = [];
    this.#bufferBytes = 0;
    this.#wakeSpace(false);
    this.#abort?.abort();
    clearTimeout(this.#retryTimer);
    this.#retryTimer = undefined;
  }

  async #run(): Promise<void> {
    const host = this.#host;
    const from = this.pendingFrom!;
    // Aborted when the stream closes: a replay of a stream nobody reads any more gives back its slot.
    const abort = new AbortController();
    this.#abort = abort;
    let resync: string | undefined;
    /** Wanted events stored before the anchor: which of them the client lacks is known at the anchor. */
    let beforeAnchor: HubEvent[] = [];
    try {
      for await (const item of this.#cfg.replayer.replay(this.#subjects, from, abort.signal)) {
        if (host.state !== "catching_up") return; // leaving the loop releases the readers
        if (item.kind === "resync") {
          resync = item.reason;
          break;
        }
        const h = item.hubEvent;
        if (item.kind === "anchor") {
          // The last event the client has: our world stands at its version.
          host.anchorAt(h);
          const early = beforeAnchor;
          beforeAnchor = [];
          for (const e of early) host.accept(e, "replay");
          continue;
        }
        // Only what is delivered counts as replayed: the actor's own change is
        // skipped on the experience subject and must still come from the user subject.
        if (!host.wanted(h)) continue;
        if (item.beforeAnchor) {
          beforeAnchor.push(h);
          if (beforeAnchor.length > MAX_BEFORE_ANCHOR) beforeAnchor.shift();
          continue;
        }
        // Paced by the client: a big replay never sits in our queue at once.
        if (!(await this.#space())) return;
        host.accept(h, "replay");
        // A retry resumes from the last event delivered.
        if (host.lastId) this.pendingFrom = { afterId: host.lastId };
      }
    } catch (e) {
      if (abort.signal.aborted) return; // the stream ended
      // Interrupted by an outage (the bus may already be back: the consumer
      // died with the old connection, and the reconnect asked for a rerun).
      if (!this.#cfg.busConnected() || this.#again) {
        // NATS is unreachable: keep buffering; the reconnect hook runs us again.
        log("warn", "world stream replay interrupted; will resume on reconnect", {
          user_id: host.userId,
          error: String(e),
        });
        return;
      }
      // JetStream may still be starting after a restart, or electing a leader:
      // try again a few times before giving up on the gap.
      if (isTransient(e) && this.#retries < REPLAY_RETRIES) {
        const delay = 250 * 2 ** this.#retries++;
        this.#retryTimer = setTimeout(() => {
          this.#retryTimer = undefined;
          this.#again = false;
          this.start(from);
        }, delay);
        return;
      }
      if ((e as { code?: unknown })?.code === "not_stored_yet") {
        // Still not in the stream after the retries: an id we cannot replay from.
        resync = "unknown_event_id";
      } else {
        // JetStream itself failed (disabled, stream missing): we cannot fill the gap.
        log("error", "world stream replay failed", { user_id: host.userId, error: String(e) });
        resync = "replay_failed";
      }
    }
    this.#retries = 0;
    if (host.state !== "catching_up") return;
    this.pendingFrom = undefined;
    // The id we were given cannot be replayed from: clear it at the client.
    if (resync) host.restartSequence(resync);
    else {
      // Both kinds: after Last-Event-ID, and after a NATS outage.
      metrics.replaysServed.inc();
      if ("afterId" in from && !host.lastId) host.lastId = from.afterId;
    }
    // Live events that arrived meanwhile (the order drops what the replay sent).
    while (this.#buffer.length > 0) {
      const h = this.#buffer.shift()!;
      this.#bufferBytes -= h.frame.byteLength;
      if (!(await this.#space())) return;
      host.accept(h, "buffer");
    }
    host.caughtUp();
  }

  /**
   * Resolves true once the queue is below half its limit (false if the
   * stream ended meanwhile): a replay is paced by the client and leaves room
   * for the live events that follow it.
   */
  #space(): Promise<boolean> {
    if (this.#host.state !== "catching_up") return Promise.resolve(false);
    if (this.#host.queuedBytes < this.#cfg.maxQueuedBytes / 2) return Promise.resolve(true);
    return new Promise((resolve) => this.#spaceWaiter = resolve);
  }

  #wakeSpace(ok: boolean): void {
    const w = this.#spaceWaiter;
    this.#spaceWaiter = undefined;
    w?.(ok);
  }
}
