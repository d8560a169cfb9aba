/**
 * Delivers committed events to JetStream, acknowledged (DESIGN.md guarantee
 * 9). The events themselves are durable before they get here: each commit
 * writes them into its unit's outbox (the state store), so this module only
 * has to get them acknowledged, in order, and report what was.
 *
 * - After every commit the store hands over the unit's outbox (every event
 *   of the unit not known to be acknowledged, in version order). Events not
 *   yet sent are published at once, in version order, without waiting for
 *   earlier acknowledgements (nats.js writes each publish synchronously, so
 *   the order on the wire is the call order); the acknowledgements come
 *   later and never hold up the action.
 * - An event counts as delivered when JetStream has acknowledged all of its
 *   messages; {@linkcode EventPublisherOptions.onAcked} then learns the
 *   unit's highest version below which everything is acknowledged, and the
 *   store drops those from the outbox at its next commit.
 * - A failed publish (bus down, no stream, timeout, a leader election)
 *   pauses the unit: nothing more of it is sent until a retry (backoff, or
 *   at once when the bus reconnects) resends every unacknowledged event in
 *   order. Each event carries `Nats-Msg-Id`, so JetStream stores one copy of
 *   a resend within its duplicate window; streams drop repeated versions.
 * - Nothing is ever dropped here: what is not acknowledged stays in the
 *   durable outbox, and whichever process next opens the unit resends it.
 *
 * @module
 */
import type { Bus } from "../shared/bus/mod.ts";
import { type Clock, systemClock, type TimerHandle } from "../shared/clock.ts";
import { log } from "../shared/log.ts";
import { metrics } from "../shared/metrics.ts";
import type { WorldUpdateEvent } from "../shared/schema.ts";
import { eventMessages } from "./events.ts";

/** What the publisher needs of the bus. */
export type AckedPublishBus = Pick<Bus, "status" | "onStatus" | "publishAcked">;

/** Options of {@linkcode EventPublisher}. */
export interface EventPublisherOptions {
  /** How long one acknowledgement may take before the unit pauses (ms, default 5 s). */
  ackTimeoutMs?: number;
  /** First retry delay after a failure (ms, default 250); doubles up to `maxBackoffMs`. */
  minBackoffMs?: number;
  /** Longest retry delay (ms, default 2 s: a JetStream leader election takes a few seconds). */
  maxBackoffMs?: number;
  /** Called when a unit's acknowledged prefix grows (in order, per unit). */
  onAcked?: (unit: string, version: number) => void;
  /** Called when no stream stores the events' subjects (at most once per pause). */
  onNoStream?: () => void;
  clock?: Clock;
}

interface Line {
  readonly unit: string;
  /** Unacknowledged events, in version order (the last outbox seen, minus what was acknowledged). */
  pending: WorldUpdateEvent[];
  /** Every version at or below this is acknowledged. */
  acked: number;
  /** Acknowledged versions above `acked` (their predecessor is still out). */
  ackedAhead: Set<number>;
  /** Versions handed to the bus and not answered yet, with the epoch they were sent in. */
  inflight: Map<number, number>;
  /**
   * Bumped when the connection comes back: what was in flight on the old one
   * is resent in order (nats.js will only time those out), and answers from
   * an older epoch no longer pause the unit.
   */
  epoch: number;
  paused: boolean;
  backoffMs: number;
  timer: TimerHandle | undefined;
}

/** Counters for tests and `/metrics`. */
export interface EventPublisherStats {
  /** Events known to this process and not yet acknowledged. */
  pending: number;
  /** Events sent and waiting for their acknowledgement. */
  inflight: number;
  /** Units whose publishing is paused after a failure. */
  paused: number;
  /** Messages acknowledged since start. */
  acknowledged: number;
  /** Failed publishes since start. */
  failures: number;
}

/**
 * Publishes outbox events with acknowledgements, per unit, in order.
 *
 * @example
 * ```ts
 * const publisher = new EventPublisher(bus, { onAcked: (unit, v) => store.acked(unit, v) });
 * publisher.submit(unit.key, commit.outbox); // after every commit, still in version order
 * ```
 */
export class EventPublisher {
  readonly #bus: AckedPublishBus;
  readonly #ackTimeoutMs: number;
  readonly #minBackoffMs: number;
  readonly #maxBackoffMs: number;
  readonly #onAcked: ((unit: string, version: number) => void) | undefined;
  readonly #onNoStream: (() => void) | undefined;
  readonly #clock: Clock;
  readonly #lines = new Map<string, Line>();
  readonly #offStatus: () => void;
  #acknowledged = 0;
  #failures = 0;
  #pausedCount = 0;
  /** Publishing failed since the last acknowledgement: one log line when it starts, one when it ends. */
  #degraded = false;
  #closed = false;
  #settled: (() => void)[] = [];

  constructor(bus: AckedPublishBus, opts: EventPublisherOptions = {}) {
    this.#bus = bus;
    this.#ackTimeoutMs = opts.ackTimeoutMs ?? 5_000;
    this.#minBackoffMs = opts.minBackoffMs ?? 250;
    this.#maxBackoffMs = opts.maxBackoffMs ?? 2_000;
    this.#onAcked = opts.onAcked;
    this.#onNoStream = opts.onNoStream;
    this.#clock = opts.clock ?? systemClock;
    this.#offStatus = bus.onStatus((status) => {
      if (status !== "connected") return;
      // The bus is back: everything waiting goes now, not after its backoff,
      // and in version order, including what was in flight on the dead connection.
      for (const line of this.#lines.values()) {
        line.epoch++;
        line.inflight.clear();
        this.#resume(line);
      }
    });
  }

  /** The highest version of `unit` below which this process knows everything is acknowledged (0: none). */
  ackedVersion(unit: string): number {
    return this.#lines.get(unit)?.acked ?? 0;
  }

  /**
   * Takes a unit's outbox after a commit (every event of it not known to be
   * acknowledged, in version order) and sends what has not been sent.
   * Call in commit order. Never throws, never waits.
   */
  submit(unit: string, outbox: readonly WorldUpdateEvent[]): void {
    if (this.#closed) return;
    let line = this.#lines.get(unit);
    if (!line) {
      if (outbox.length === 0) return;
      line = {
        unit,
        pending: [],
        acked: 0,
        ackedAhead: new Set(),
        inflight: new Map(),
        epoch: 0,
        paused: false,
        backoffMs: this.#minBackoffMs,
        timer: undefined,
      };
      this.#lines.set(unit, line);
    }
    const acked = line.acked;
    line.pending = outbox.filter((e) => e.version > acked);
    this.#advance(line);
    this.#send(line);
    this.#gauge();
  }

  /** Counters since start. */
  stats(): EventPublisherStats {
    let pending = 0;
    let inflight = 0;
    for (const l of this.#lines.values()) {
      pending += l.pending.length;
      inflight += l.inflight.size;
    }
    return {
      pending,
      inflight,
      paused: this.#pausedCount,
      acknowledged: this.#acknowledged,
      failures: this.#failures,
    };
  }

  /**
   * Waits (at most `timeoutMs`) until nothing is in flight, then stops.
   * Events still unacknowledged stay in their units' durable outboxes and
   * are resent by whichever process opens those units next.
   */
  async close(timeoutMs = 2_000): Promise<void> {
    if (this.#closed) return;
    const idle = () => [...this.#lines.values()].every((l) => l.inflight.size === 0);
    if (!idle()) {
      await new Promise<void>((resolve) => {
        const timer = this.#clock.setTimeout(resolve, timeoutMs);
        this.#settled.push(() => {
          if (!idle()) return;
          this.#clock.clearTimeout(timer);
          resolve();
        });
      });
    }
    this.#closed = true;
    this.#offStatus();
    for (const l of this.#lines.values()) this.#clock.clearTimeout(l.timer);
    const left = this.stats().pending;
    if (left > 0) {
      log("warn", "events not yet acknowledged at shutdown stay in the outbox for the next start", {
        events: left,
      });
    }
  }

  #busUp(): boolean {
    const s = this.#bus.status();
    return s === "connected" || s === "in-process";
  }

  #send(line: Line): void {
    if (line.paused || this.#closed || !this.#busUp()) return;
    for (const event of line.pending) {
      if (line.inflight.has(event.version) || line.ackedAhead.has(event.version)) continue;
      this.#publish(line, event);
      if (line.paused) return; // failed synchronously: the retry resends in order
    }
  }

  #publish(line: Line, event: WorldUpdateEvent): void {
    const version = event.version;
    const epoch = line.epoch;
    line.inflight.set(version, epoch);
    const messages = eventMessages(event);
    let sent: Promise<unknown>[];
    try {
      sent = messages.map((m) =>
        this.#bus.publishAcked(m.subject, m.payload, {
          msgId: m.msgId,
          requestId: event.metadata.request_id,
          timeoutMs: this.#ackTimeoutMs,
        })
      );
    } catch (e) {
      sent = [Promise.reject(e)];
    }
    // Only the answer to the copy in flight now frees its slot.
    const settle = () => {
      if (line.inflight.get(version) === epoch) line.inflight.delete(version);
    };
    Promise.all(sent).then(() => {
      settle();
      this.#acknowledged += messages.length;
      for (const m of messages) {
        metrics.worldUpdatesPublished.inc({ experience: event.experience, scope: m.scope });
      }
      line.backoffMs = this.#minBackoffMs;
      if (version > line.acked) line.ackedAhead.add(version);
      this.#advance(line);
      if (this.#degraded && (this.#pausedCount === 0 || this.stats().pending === 0)) {
        this.#degraded = false;
        log("info", "event publishing resumed: JetStream acknowledges again", {
          bus: this.#bus.status(),
        });
      }
      this.#gauge();
      this.#checkSettled();
    }, (e) => {
      settle();
      // A late failure of a copy that a resend already got acknowledged, or of
      // one sent on a connection since replaced (it is resent): nothing to do.
      if (epoch !== line.epoch || version <= line.acked || line.ackedAhead.has(version)) {
        return this.#checkSettled();
      }
      this.#failures++;
      metrics.worldUpdatesPublishFailures.inc({
        experience: event.experience,
        reason: failureReason(e),
      });
      this.#pause(line, e);
      this.#checkSettled();
    });
  }

  /** Moves the acknowledged prefix past every acknowledged event at the front. */
  #advance(line: Line): void {
    const before = line.acked;
    while (line.pending.length > 0 && line.ackedAhead.has(line.pending[0]!.version)) {
      const v = line.pending.shift()!.version;
      line.ackedAhead.delete(v);
      line.acked = v;
    }
    for (const v of line.ackedAhead) if (v <= line.acked) line.ackedAhead.delete(v);
    if (line.pending.length === 0 && line.ackedAhead.size > 0) {
      // The outbox no longer lists these (pruned by a bound): they count as done.
      line.acked = Math.max(line.acked, ...line.ackedAhead);
      line.ackedAhead.clear();
    }
    if (line.acked > before) this.#onAcked?.(line.unit, line.acked);
    if (line.pending.length === 0 && line.inflight.size === 0 && !line.paused) {
      // Idle: keep only what the next commit needs to know (the acknowledged version).
      line.ackedAhead.clear();
    }
  }

  #pause(line: Line, e: unknown): void {
    if (line.paused || this.#closed) return;
    line.paused = true;
    const code = (e as { code?: unknown })?.code;
    if (code === "stream_not_found" || code === "jetstream_unavailable") this.#onNoStream?.();
    this.#pausedCount++;
    if (!this.#degraded) {
      this.#degraded = true;
      log(
        "warn",
        "event publishing paused: JetStream did not acknowledge; events wait in the outbox",
        {
          unit: line.unit,
          error: String(e),
          bus: this.#bus.status(),
        },
      );
    }
    this.#gauge();
    line.timer = this.#clock.setTimeout(() => {
      line.timer = undefined;
      this.#resume(line);
    }, line.backoffMs);
    line.backoffMs = Math.min(this.#maxBackoffMs, line.backoffMs * 2);
  }

  #resume(line: Line): void {
    if (this.#closed) return;
    if (line.paused) {
      this.#clock.clearTimeout(line.timer);
      line.timer = undefined;
      line.paused = false;
      this.#pausedCount--;
    }
    this.#send(line);
    this.#gauge();
  }

  #gauge(): void {
    metrics.outboxPausedUnits.set(this.#pausedCount);
    let pending = 0;
    for (const l of this.#lines.values()) pending += l.pending.length;
    metrics.outboxPending.set(pending);
  }

  #checkSettled(): void {
    for (const check of this.#settled) check();
  }
}

/** A bounded metric label for a failed publish. */
function failureReason(e: unknown): string {
  const code = (e as { code?: unknown })?.code;
  if (typeof code === "string" && /^[a-z_]{1,32}$/.test(code)) return code;
  return "failed";
}
