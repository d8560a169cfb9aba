/**
 * Publishing committed events with a circuit breaker.
 *
 * `send` is synchronous and runs while the unit's lock is still held, so
 * events of one world leave in version order. `confirm` then waits (at most
 * `timeoutMs`) for the server to acknowledge with a flush. While NATS is
 * failing the breaker opens, so actions never wait on the bus:
 * - bus disconnected (reconnecting): events go to a bounded in-memory outbox
 *   (nats.js discards its own buffer on every reconnect attempt) and are sent
 *   in order as soon as the bus is connected again, so JetStream retention
 *   and live streams get them after the outage;
 * - bus connected but not acknowledging (a hung server): events are dropped.
 *   Clients that miss events see a version gap and refetch the snapshot;
 * - the connection died with events handed over but not acknowledged (nats.js
 *   still said "connected"): the failed flush puts them back in the outbox,
 *   in their original order. Each message carries `Nats-Msg-Id`, so JetStream
 *   keeps one copy if the first did get through; streams drop repeated ids.
 * The actor always gets its event in the reply. Each state change of the
 * breaker is logged once, never once per event.
 *
 * @module
 */
import type { Bus } from "../shared/bus/mod.ts";
import { log } from "../shared/log.ts";
import { metrics } from "../shared/metrics.ts";

function count(messages: readonly OutMessage[], outcome: "published" | "queued" | "dropped") {
  for (const m of messages) {
    if (outcome === "published") {
      metrics.worldUpdatesPublished.inc({ experience: m.experience, scope: m.scope });
    } else {
      metrics.worldUpdatesPublishFailures.inc({ experience: m.experience, reason: outcome });
    }
  }
}

/** Breaker states. */
export type BreakerState = "closed" | "open" | "half_open";

/** One message to publish. */
export interface OutMessage {
  subject: string;
  payload: string;
  /** Metric labels: the catalog's experience id and which subject kind. */
  experience: string;
  scope: "user" | "experience";
  /** JetStream de-duplication id (`Nats-Msg-Id`): unique per event and subject. */
  msgId: string;
}

/** What {@linkcode Publisher.send} handed to the bus, for {@linkcode Publisher.confirm}. */
export interface Sent {
  messages: readonly OutMessage[];
  requestId: string;
  /** Position in send order, so messages put back keep their order. */
  seq: number;
}

interface Queued {
  message: OutMessage;
  requestId: string;
  seq: number;
}

/** Options of {@linkcode Publisher}. */
export interface PublisherOptions {
  /** Longest wait for the server to acknowledge (ms); default 250. */
  timeoutMs?: number;
  /** Consecutive failures that open the breaker; default 3. */
  failureThreshold?: number;
  /** How long the breaker stays open before a trial (ms); default 1000. */
  cooldownMs?: number;
  /** Most messages held while the bus is disconnected; default 10,000 (oldest dropped). */
  outboxLimit?: number;
}

/** Counters for `/metrics` and tests. */
export interface PublisherStats {
  state: BreakerState;
  published: number;
  dropped: number;
  failures: number;
  /** Messages waiting in the outbox for the bus to come back. */
  queued: number;
}

/**
 * Publishes event messages through a circuit breaker.
 *
 * @example
 * ```ts
 * const pub = new Publisher(bus, { timeoutMs: 250 });
 * const sent = pub.send([{ subject, payload, experience, scope: "user", msgId }], requestId);
 * await pub.confirm(sent);
 * ```
 */
export class Publisher {
  readonly #bus: Bus;
  readonly #timeoutMs: number;
  readonly #threshold: number;
  readonly #cooldownMs: number;
  #state: BreakerState = "closed";
  #openedAt = 0;
  #consecutive = 0;
  #published = 0;
  #dropped = 0;
  #failures = 0;
  readonly #outboxLimit: number;
  /** In send order (`seq`). */
  #outbox: Queued[] = [];
  #seq = 0;
  readonly #offStatus: () => void;

  constructor(bus: Bus, opts: PublisherOptions = {}) {
    this.#bus = bus;
    this.#timeoutMs = opts.timeoutMs ?? 250;
    this.#threshold = opts.failureThreshold ?? 3;
    this.#cooldownMs = opts.cooldownMs ?? 1_000;
    this.#outboxLimit = opts.outboxLimit ?? 10_000;
    this.#offStatus = bus.onStatus((status) => {
      if (status !== "connected") return;
      // The bus is back: try again now rather than after the cooldown.
      if (this.#state === "open") this.#set("half_open");
      this.#flushOutbox();
    });
  }

  /** Sends what the outbox holds if the bus is up, then stops watching the bus. */
  close(): void {
    this.#offStatus();
    this.#flushOutbox();
    if (this.#outbox.length > 0) {
      log("warn", "events still in the outbox at shutdown are dropped", {
        messages: this.#outbox.length,
      });
      count(this.#outbox.map((o) => o.message), "dropped");
      this.#dropped += this.#outbox.length;
      this.#outbox = [];
    }
  }

  #queue(messages: readonly OutMessage[], requestId: string, seq: number): void {
    this.#requeue(messages.map((message) => ({ message, requestId, seq })));
  }

  /** Adds entries (in `seq` order) to the outbox, keeping the outbox in `seq` order. */
  #requeue(entries: Queued[]): void {
    if (entries.length === 0) return;
    const last = this.#outbox.at(-1);
    if (!last || last.seq <= entries[0]!.seq) this.#outbox.push(...entries);
    else {
      // Put back after a failed flush: older than some of what queued since.
      this.#outbox = [...this.#outbox, ...entries].sort((a, b) => a.seq - b.seq);
    }
    count(entries.map((o) => o.message), "queued");
    const excess = this.#outbox.length - this.#outboxLimit;
    if (excess > 0) {
      count(this.#outbox.splice(0, excess).map((o) => o.message), "dropped");
      this.#dropped += excess;
    }
  }

  /** Sends what queued up while the bus was down, oldest first. */
  #flushOutbox(): void {
    if (this.#outbox.length === 0 || !this.#busUp()) return;
    const pending = this.#outbox;
    this.#outbox = [];
    let done = 0;
    const sent: Queued[] = [];
    for (const q of pending) {
      const { message, requestId } = q;
      if (
        !this.#bus.publish(message.subject, message.payload, { requestId, msgId: message.msgId })
      ) {
        // Refused while the bus is up (too large, say): retrying cannot help,
        // and holding it would stall every event behind it.
        if (!this.#busUp()) break;
        log("error", "event refused by the bus; dropped", { subject: message.subject });
        count([message], "dropped");
        this.#dropped++;
      } else {
        sent.push(q);
      }
      done++;
    }
    this.#published += sent.length;
    count(sent.map((o) => o.message), "published");
    // Whatever was not sent goes back in front, in order.
    if (done < pending.length) this.#outbox = [...pending.slice(done), ...this.#outbox];
    else log("info", "event outbox flushed", { messages: sent.length });
    // Flushed messages can be lost to a dying connection like any others.
    if (sent.length > 0) this.#watch(sent);
  }

  /** Counters since start. */
  stats(): PublisherStats {
    return {
      state: this.#state,
      published: this.#published,
      dropped: this.#dropped,
      failures: this.#failures,
      queued: this.#outbox.length,
    };
  }

  #busUp(): boolean {
    const s = this.#bus.status();
    return s === "connected" || s === "in-process";
  }

  #set(state: BreakerState, fields: Record<string, unknown> = {}): void {
    if (this.#state === state) return;
    this.#state = state;
    metrics.breakerState.set(state === "open" ? 1 : 0);
    if (state === "open") this.#openedAt = performance.now();
    const msg = state === "open"
      ? "event publishing paused: circuit breaker open"
      : state === "closed"
      ? "event publishing resumed: circuit breaker closed"
      : "event publishing trial: circuit breaker half-open";
    log(state === "open" ? "warn" : "info", msg, { breaker: state, ...fields });
  }

  #fail(reason: string): void {
    this.#failures++;
    this.#consecutive++;
    if (
      this.#state === "half_open" ||
      (this.#state === "closed" && this.#consecutive >= this.#threshold)
    ) {
      this.#set("open", { reason, bus: this.#bus.status() });
    }
  }

  /**
   * Hands messages to the bus unless the breaker is open. Never throws,
   * never waits. Returns what was handed over (undefined: queued or dropped).
   */
  send(messages: readonly OutMessage[], requestId: string): Sent | undefined {
    const seq = ++this.#seq;
    if (!this.#busUp()) {
      this.#queue(messages, requestId, seq);
      this.#fail(`bus ${this.#bus.status()}`);
      return undefined;
    }
    // Keep version order: anything still queued from an outage goes first.
    this.#flushOutbox();
    if (this.#state === "open") {
      if (performance.now() - this.#openedAt >= this.#cooldownMs && this.#busUp()) {
        this.#set("half_open");
      } else {
        this.#dropped += messages.length;
        count(messages, "dropped");
        return undefined;
      }
    }
    let ok = true;
    for (const m of messages) {
      ok = this.#bus.publish(m.subject, m.payload, { requestId, msgId: m.msgId }) && ok;
    }
    if (!ok) {
      this.#dropped += messages.length;
      count(messages, "dropped");
      this.#fail("publish refused");
      return undefined;
    }
    this.#published += messages.length;
    count(messages, "published");
    return { messages, requestId, seq };
  }

  /**
   * Waits for the server's acknowledgement of `sent`, however long it takes,
   * and puts the messages back in the outbox if the connection fails first
   * (nats.js discards what it had not written). Resolves with the flush.
   */
  #watch(entries: Queued[]): Promise<"ok" | "error"> {
    if (this.#bus.kind === "in-process") return Promise.resolve("ok");
    return this.#bus.flush().then(() => "ok" as const, () => {
      // Sent again when the bus reports "connected", or before the next send.
      this.#requeue(entries);
      return "error" as const;
    });
  }

  /** Waits at most `timeoutMs` for the server to take what `send` handed over. */
  async confirm(sent: Sent | undefined): Promise<void> {
    // An in-process bus delivers synchronously; there is nothing to wait for.
    if (!sent || this.#bus.kind === "in-process") return;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<"timeout">((r) =>
      timer = setTimeout(() => r("timeout"), this.#timeoutMs)
    );
    const { messages, requestId, seq } = sent;
    const entries = messages.map((message) => ({ message, requestId, seq }));
    const result = await Promise.race([this.#watch(entries), timeout]);
    clearTimeout(timer);
    if (result === "ok") {
      this.#consecutive = 0;
      this.#set("closed");
    } else {
      this.#fail(result === "timeout" ? "flush timed out" : "flush failed");
    }
  }
}
