/**
 * A watch of a JetStream KV bucket that notices when it is lost and comes
 * back by itself. `@nats-io/kv`'s own watch waits 30 s between heartbeats
 * and never recovered, on a 3-node cluster, when the node holding its
 * ordered consumer (one replica, on one node) was killed: a cache built on
 * it would have stayed stale for good. This one:
 *
 * - reads the bucket's stream through an ordered consumer that starts right
 *   after the stream's last sequence (only changes from now on),
 * - asks for a server heartbeat every second while idle, and counts itself
 *   {@linkcode KvWatch.fresh} only while it heard something (a change or a
 *   heartbeat) within 2.5 s,
 * - reopens its consumer from the last revision it saw after 3 s of silence
 *   (and keeps trying every 500 ms), so every key written meanwhile arrives
 *   at its latest revision (the bucket keeps one value per key).
 *
 * @module
 */
import {
  type ConsumerMessages,
  DeliverPolicy,
  type JetStreamClient,
  type JetStreamManager,
} from "@nats-io/jetstream";
import { type Clock, systemClock, type TimerHandle } from "../clock.ts";
import type { KvChange, KvWatch } from "./kv.ts";
import { jetStreamError } from "./jetstream_errors.ts";

/** Heard nothing for this long: not fresh (ms). */
export const WATCH_FRESH_MS = 2_500;
/** Heard nothing for this long: the consumer is reopened (ms). */
export const WATCH_REOPEN_MS = 3_000;
/** How often silence is checked (ms). */
const CHECK_MS = 500;
/** Server heartbeat while idle (ms). */
const HEARTBEAT_MS = 1_000;

/** What {@linkcode openKvWatch} needs. */
export interface KvWatchOptions {
  js: JetStreamClient;
  jsm: Promise<JetStreamManager>;
  /** The bucket's stream, `KV_<bucket>`. */
  stream: string;
  /** Subject prefix of its keys, `$KV.<bucket>.`. */
  prefix: string;
  onChange: (change: KvChange) => void;
  clock?: Clock;
}

/**
 * Starts watching: resolves once the consumer is open (changes from now on
 * are delivered, in revision order, each once).
 *
 * @example
 * ```ts
 * const watch = await openKvWatch({ js, jsm, stream: "KV_gaia_state", prefix: "$KV.gaia_state.", onChange });
 * if (!watch.fresh()) readFromServer();
 * await watch.close();
 * ```
 */
export async function openKvWatch(opts: KvWatchOptions): Promise<KvWatch> {
  const watch = new ReopeningWatch(opts);
  await watch.start();
  return watch;
}

class ReopeningWatch implements KvWatch {
  readonly #opts: KvWatchOptions;
  readonly #clock: Clock;
  /** Stream sequence of the last change delivered (the next consumer starts after it). */
  #lastSeq = 0;
  #heardAt = -Infinity;
  #messages: ConsumerMessages | undefined;
  /** Bumped per consumer: loops of a replaced consumer stop reporting. */
  #generation = 0;
  #timer: TimerHandle | undefined;
  #reopening: Promise<void> | undefined;
  #loops = new Set<Promise<void>>();
  #closed = false;

  constructor(opts: KvWatchOptions) {
    this.#opts = opts;
    this.#clock = opts.clock ?? systemClock;
  }

  async start(): Promise<void> {
    try {
      const info = await (await this.#opts.jsm).streams.info(this.#opts.stream);
      this.#lastSeq = info.state.last_seq;
    } catch (e) {
      throw jetStreamError(e, `watch of ${this.#opts.stream}`);
    }
    await this.#open();
    this.#schedule();
  }

  fresh(): boolean {
    return !this.#closed && this.#messages !== undefined &&
      this.#clock.now() - this.#heardAt <= WATCH_FRESH_MS;
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#clock.clearTimeout(this.#timer);
    await this.#reopening;
    this.#stop();
    await Promise.allSettled([...this.#loops]);
  }

  async #open(): Promise<void> {
    const generation = ++this.#generation;
    let consumer;
    try {
      consumer = await this.#opts.js.consumers.get(this.#opts.stream, {
        filter_subjects: `${this.#opts.prefix}>`,
        deliver_policy: DeliverPolicy.StartSequence,
        opt_start_seq: this.#lastSeq + 1,
      });
    } catch (e) {
      throw jetStreamError(e, `watch of ${this.#opts.stream}`);
    }
    if (this.#closed) return;
    const messages = await consumer.consume({
      expires: 5_000,
      idle_heartbeat: HEARTBEAT_MS,
      max_messages: 512,
    });
    if (this.#closed) {
      await messages.close();
      return;
    }
    this.#messages = messages;
    this.#heardAt = this.#clock.now();
    this.#loop((async () => {
      for await (const n of messages.status()) {
        if (generation !== this.#generation) return;
        if (n.type === "heartbeat") this.#heardAt = this.#clock.now();
      }
    })());
    this.#loop((async () => {
      for await (const m of messages) {
        if (generation !== this.#generation) return;
        this.#heardAt = this.#clock.now();
        if (m.seq <= this.#lastSeq) continue; // a reopened consumer overlapping the old one
        this.#lastSeq = m.seq;
        const op = m.headers?.get("KV-Operation");
        if (op === "DEL" || op === "PURGE") continue;
        this.#opts.onChange({
          key: m.subject.slice(this.#opts.prefix.length),
          revision: m.seq,
          value: m.data,
        });
      }
    })());
  }

  #loop(p: Promise<void>): void {
    const tracked = p.catch(() => {}); // a consumer that dies ends its loop; the check reopens
    this.#loops.add(tracked);
    tracked.finally(() => this.#loops.delete(tracked));
  }

  #stop(): void {
    const m = this.#messages;
    this.#messages = undefined;
    this.#generation++;
    m?.close().catch(() => {});
  }

  #schedule(): void {
    if (this.#closed) return;
    this.#timer = this.#clock.setTimeout(() => {
      this.#timer = undefined;
      if (this.#closed) return;
      if (!this.#reopening && this.#clock.now() - this.#heardAt > WATCH_REOPEN_MS) {
        this.#reopening = (async () => {
          this.#stop();
          try {
            await this.#open();
          } catch { /* the server is unreachable: the next check tries again */ }
        })().finally(() => this.#reopening = undefined);
      }
      this.#schedule();
    }, CHECK_MS);
  }
}
