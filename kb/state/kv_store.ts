/**
 * `KvStore`, the `nats` implementation of {@linkcode StateBackend}
 * (`STATE_BACKEND=nats`): each unit is one key of a JetStream KV bucket
 * (one bucket per experience, `kv_unit.ts`), written by compare-and-set on
 * the key's revision, so any number of KB processes on any hosts serve one
 * world.
 *
 * - Actions on a unit queue in process; each round takes everything queued
 *   (up to `maxBatch`) and decides it in order on the unit's state
 *   (`batch.ts`: each action its own version and event), then writes the
 *   whole batch, with its events in the unit's outbox, in one
 *   `update(key, value, revision)` (`create` for a new unit).
 * - A write that loses (another KB wrote first: `wrong_revision`) re-reads
 *   the unit from the stream leader and decides the batch again (the engine
 *   is pure), up to `maxRetries` times, then fails the batch with
 *   `429 world_busy`. Nothing of a lost write is stored.
 * - The state of each unit this process serves is cached and kept current
 *   by a watch of its bucket (`kv_cache.ts`); the cache is trusted only
 *   while the watch is fresh, otherwise every read and decision goes to the
 *   server. A stale cache costs one retry, never a wrong commit.
 * - After a commit the unit's outbox goes to the sink (the event
 *   publisher); a unit read from the server hands over what its outbox
 *   still holds, so whichever KB next touches a unit resends the events a
 *   KB that died left unacknowledged.
 * - A unit whose value would exceed the server's max payload is refused
 *   (`409 world_too_large`, nothing changes); NATS down or not answering
 *   fails at once with `503 state_unavailable` (there is no state without it).
 *
 * Over 400 lines on purpose: the round (read, decide, write by
 * compare-and-set, retry, hand the outbox over) is one sequence over one
 * unit's state; the pieces that stand alone are `kv_unit.ts`,
 * `kv_cache.ts` and `kv_next.ts`.
 *
 * @module
 */
import { type Bus, BusError, type KvBucket } from "../../shared/bus/mod.ts";
import { type Clock, systemClock } from "../../shared/clock.ts";
import { AppError } from "../../shared/errors.ts";
import { log } from "../../shared/log.ts";
import { LruMap } from "../../shared/lru.ts";
import { metrics } from "../../shared/metrics.ts";
import type { StateModel } from "../../shared/schema.ts";
import type {
  Commit,
  OutboxLimits,
  OutboxSink,
  Plan,
  StateBackend,
  TransactOptions,
  UnitState,
} from "./backend.ts";
import { decideBatch, type DecidedBatch, type Pending, settle } from "./batch.ts";
import { type Entry, WatchedBucket } from "./kv_cache.ts";
import {
  decodeUnit,
  EMPTY_UNIT,
  encodeUnit,
  type KvUnitDoc,
  kvUnitFor,
  WORLD_KEY,
} from "./kv_unit.ts";
import { DEFAULT_OUTBOX_LIMITS } from "./outbox.ts";
import { nextUnit } from "./kv_next.ts";
import type { Unit } from "./unit.ts";
import { UnitQueues } from "./unit_queues.ts";

/** Options of {@linkcode KvStore}. */
export interface KvStoreOptions {
  /** Opens (creating or updating) a state bucket (`NatsBus.kv` with the replicas). */
  openBucket: (name: string, singleKey: boolean) => Promise<KvBucket>;
  /** The bus the buckets are on: its status says whether a write can even be tried. */
  bus: Pick<Bus, "status">;
  /** The experiences whose buckets the start-up sweep visits. */
  experiences?: () => { id: string; model: StateModel }[];
  /** Where each unit's outbox goes (the event publisher). */
  outbox?: OutboxSink;
  /** Bounds of one unit's outbox; the bytes are also held to a quarter of the largest value. */
  outboxLimits?: OutboxLimits;
  /** Most actions written together (default 64). */
  maxBatch?: number;
  /** Compare-and-set losses one batch survives before `429 world_busy` (default 16). */
  maxRetries?: number;
  /** Units whose state stays cached, per bucket (default 1,000). */
  cachedUnits?: number;
  /** Time of the watch's retries and of the pauses between contending writes. */
  clock?: Clock;
}

/**
 * State units as keys of JetStream KV buckets.
 *
 * @example
 * ```ts
 * const store = new KvStore({ openBucket: (name, singleKey) => bus.kv({ name, singleKey }), bus });
 * const unit = await store.unit("wylding-woods", "shared", "alice");
 * const c = await store.transact(unit, "alice", decide);
 * await store.close();
 * ```
 */
export class KvStore implements StateBackend {
  readonly #opts: KvStoreOptions;
  readonly #sink: OutboxSink | undefined;
  readonly #limits: OutboxLimits;
  readonly #maxBatch: number;
  readonly #maxRetries: number;
  readonly #clock: Clock;
  readonly #buckets = new Map<string, Promise<WatchedBucket>>();
  /** What this process learnt is acknowledged, per unit key. */
  readonly #acked = new LruMap<string, number>({ max: 10_000 });
  readonly #queues = new UnitQueues<Pending>();
  #closed = false;

  constructor(opts: KvStoreOptions) {
    this.#opts = opts;
    this.#sink = opts.outbox;
    this.#limits = opts.outboxLimits ?? DEFAULT_OUTBOX_LIMITS;
    this.#maxBatch = opts.maxBatch ?? 64;
    this.#maxRetries = opts.maxRetries ?? 16;
    this.#clock = opts.clock ?? systemClock;
  }

  /**
   * The unit a user acts on (see `kvUnitFor`).
   *
   * @example
   * ```ts
   * const unit = await store.unit("wylding-woods", "shared", "alice"); // key "gaia_state_wylding-woods/world"
   * ```
   */
  unit(experience: string, model: StateModel, userId: string): Promise<Unit> {
    return kvUnitFor(experience, model, userId);
  }

  /**
   * The unit's state: from the cache while the watch is fresh, otherwise
   * from the stream leader (handing over what its outbox holds).
   *
   * @example
   * ```ts
   * const { version, world, player } = await store.read(unit);
   * ```
   */
  async read(unit: Unit): Promise<UnitState> {
    const wb = await this.#bucket(unit.dir, unit.model);
    const e = wb.trusted(unit.lock) ?? await this.#fetch(wb, unit);
    return { version: e.doc.version, world: e.doc.world, player: playerOf(e.doc, unit.player) };
  }

  /**
   * Queues an action on its unit; see the module doc for how it commits.
   *
   * @example
   * ```ts
   * const c = await store.transact(unit, "alice", (s) => plan(s), { event: build });
   * ```
   */
  transact<T>(
    unit: Unit,
    userId: string,
    decide: (state: UnitState) => Plan<T>,
    opts: TransactOptions<T> = {},
  ): Promise<Commit<T>> {
    return new Promise<Commit<T>>((resolve, reject) => {
      const item = { unit, userId, decide, event: opts.event, resolve, reject } as Pending;
      this.#queues.push(unit.key, item, (queue) => this.#step(unit, queue));
    });
  }

  /**
   * Records what JetStream acknowledged; the next commit of the unit (by
   * this KB) drops those events and writes the mark into the unit for the others.
   *
   * @example
   * ```ts
   * store.acked(unit.key, 42);
   * ```
   */
  acked(unitKey: string, version: number): void {
    if (version > (this.#acked.get(unitKey) ?? 0)) this.#acked.set(unitKey, version);
  }

  /**
   * Hands every unit whose outbox holds events to the sink (a KB that died
   * before JetStream acknowledged them), in the buckets of the experiences
   * `opts.experiences` lists.
   *
   * @example
   * ```ts
   * const units = await store.sweep();
   * ```
   */
  async sweep(): Promise<number> {
    let found = 0;
    for (const exp of this.#opts.experiences?.() ?? []) {
      const probe = await kvUnitFor(exp.id, exp.model, "");
      const wb = await this.#bucket(probe.dir, exp.model);
      for (const key of await wb.bucket.keys()) {
        if (this.#closed) return found;
        const unit = { ...probe, key: `${probe.dir}/${key}`, lock: key };
        const e = await this.#fetch(wb, unit);
        if (e.doc.outbox.some((ev) => ev.version > e.doc.acked)) found++;
      }
    }
    return found;
  }

  /**
   * Waits for batches being written and stops the watches.
   *
   * @example
   * ```ts
   * await store.close();
   * ```
   */
  async close(): Promise<void> {
    await this.#queues.settled();
    this.#closed = true;
    const buckets = await Promise.allSettled([...this.#buckets.values()]);
    for (const b of buckets) if (b.status === "fulfilled") await b.value.close();
  }

  /**
   * The watched bucket of an experience, opened once. A shared world's
   * bucket holds only its world, created empty at once: every commit is
   * then an update checked on the stream's last sequence.
   */
  #bucket(name: string, model: StateModel): Promise<WatchedBucket> {
    let p = this.#buckets.get(name);
    if (!p) {
      p = (async () => {
        this.#checkBus();
        let bucket: KvBucket;
        try {
          bucket = await this.#opts.openBucket(name, model === "shared");
          if (model === "shared") {
            await bucket.create(WORLD_KEY, encodeUnit(EMPTY_UNIT)).catch((e) => {
              if (!(e instanceof BusError && e.code === "wrong_revision")) throw e;
            });
          }
        } catch (e) {
          throw unavailable(e, false);
        }
        return new WatchedBucket(bucket, this.#clock, this.#opts.cachedUnits ?? 1000);
      })();
      this.#buckets.set(name, p);
      p.catch(() => this.#buckets.delete(name)); // the next use tries again
    }
    return p.then((wb) => {
      if (!this.#closed) wb.startWatch();
      return wb;
    });
  }

  /** Reads a unit from the stream leader, caches it, and hands over its outbox. */
  async #fetch(wb: WatchedBucket, unit: Unit): Promise<Entry> {
    this.#checkBus();
    let got;
    try {
      got = await wb.bucket.get(unit.lock);
    } catch (e) {
      throw unavailable(e, false);
    }
    const entry: Entry = got
      ? { revision: got.revision, doc: decodeUnit(got.value) }
      : { revision: 0, doc: EMPTY_UNIT };
    wb.remember(unit.lock, entry);
    this.#handOver(unit.key, entry.doc);
    return entry;
  }

  #handOver(unitKey: string, doc: KvUnitDoc): void {
    if (!this.#sink) return;
    const acked = Math.max(doc.acked, this.#acked.get(unitKey) ?? 0);
    const open = doc.outbox.filter((e) => e.version > acked);
    if (open.length > 0) this.#sink.submit(unitKey, open);
  }

  #checkBus(): void {
    const s = this.#opts.bus.status();
    if (s !== "connected") {
      throw new AppError(
        "state_unavailable",
        `the state store (NATS) is unreachable (bus ${s}); nothing was changed, retry shortly`,
        503,
      );
    }
  }

  /** Commits the next batch of a unit's queue (see `UnitQueues`). */
  async #step(unit: Unit, queue: Pending[]): Promise<void> {
    const batch = queue.splice(0, this.#maxBatch);
    try {
      const wb = await this.#bucket(unit.dir, unit.model);
      await this.#commitBatch(wb, batch, queue);
    } catch (e) {
      for (const p of batch) p.reject(e);
    }
  }

  /**
   * Decides and writes one batch, deciding again after each lost write.
   * A batch that keeps losing gives its later half back to the front of the
   * queue: a smaller batch is decided sooner, so it gets its turn.
   */
  async #commitBatch(wb: WatchedBucket, batch: Pending[], queue: Pending[]): Promise<void> {
    const unit = batch[0]!.unit;
    const key = unit.lock;
    let entry = wb.trusted(key);
    for (let attempt = 0;; attempt++) {
      entry ??= await this.#fetch(wb, unit);
      const doc = entry.doc;
      const b = decideBatch(batch, doc.version, doc.world, (u) => playerOf(doc, u.player));
      if (b.changed.length === 0) return settle(b.done);
      const built = this.#build(wb, unit, entry, b);
      if (!built) return; // the batch failed with its error, nothing written
      const started = performance.now();
      let revision: number;
      try {
        this.#checkBus();
        revision = entry.revision === 0
          ? await wb.bucket.create(key, built.value)
          : await wb.bucket.update(key, built.value, entry.revision);
      } catch (e) {
        if (!(e instanceof BusError && e.code === "wrong_revision")) {
          wb.forget(key);
          throw e instanceof AppError ? e : unavailable(e, true);
        }
        metrics.kbStateConflicts.inc({ experience: unit.experience });
        wb.lost(key);
        if (attempt >= this.#maxRetries) {
          throw new AppError(
            "world_busy",
            "this world is changing too fast (other KBs keep writing it first); retry shortly",
            429,
          );
        }
        if (attempt >= 1 && batch.length > 1) queue.unshift(...batch.splice(batch.length >> 1));
        // Decide again on the newer state: from the watch when it brings it
        // in time (as fast as the winner learns it), else from the leader.
        const lostAt = entry.revision;
        await wb.watched(key, lostAt + 1, 100);
        entry = wb.trusted(key);
        if (entry && entry.revision <= lostAt) entry = undefined;
        continue;
      }
      metrics.kbCommitDuration.observe({ state_model: unit.model }, performance.now() - started);
      metrics.kbCommits.inc(
        { experience: unit.experience, state_model: unit.model },
        b.changed.length,
      );
      wb.remember(key, { revision, doc: built.doc }, true);
      this.#sink?.submit(unit.key, built.doc.outbox);
      settle(b.done);
      // Another KB writes this unit too: let it learn this revision from its
      // watch before this KB writes again, so neither starves the other.
      if (wb.contended(key)) {
        await wb.watched(key, revision, 20);
        await this.#pause();
      }
      return;
    }
  }

  /**
   * The unit after a decided batch (`nextUnit`), its events built; every
   * action of the batch is rejected (nothing written) when an event cannot
   * be built or the unit would be too large.
   */
  #build(
    wb: WatchedBucket,
    unit: Unit,
    entry: Entry,
    b: DecidedBatch,
  ): { doc: KvUnitDoc; value: Uint8Array } | undefined {
    try {
      const next = nextUnit(entry.doc, b, {
        acked: Math.max(entry.doc.acked, this.#acked.get(unit.key) ?? 0),
        limits: this.#limits,
        maxValueBytes: wb.bucket.maxValueBytes,
      });
      if (next.dropped > 0) {
        metrics.outboxDropped.inc({ experience: unit.experience }, next.dropped);
      }
      return next;
    } catch (error) {
      if (error instanceof AppError && error.code === "world_too_large") {
        log("warn", "state unit too large: action refused", {
          unit: unit.key,
          error: error.message,
        });
      }
      for (const d of b.done) d.p.reject(error);
      return undefined;
    }
  }

  /** Up to 1 ms, at random: room for another KB's write between two of this one's. */
  #pause(): Promise<void> {
    const ms = Math.random();
    return new Promise((resolve) => this.#clock.setTimeout(resolve, ms));
  }
}

/** A player's profile in a unit (frozen), or null. */
function playerOf(doc: KvUnitDoc, userId: string): Record<string, unknown> | null {
  return doc.players[userId] ?? null;
}

/** The 503 for a state store that did not answer. */
function unavailable(e: unknown, wrote: boolean): AppError {
  if (e instanceof AppError) return e;
  const code = e instanceof BusError ? e.code : "failed";
  const maybe = wrote && e instanceof BusError && e.mayHaveArrived;
  return new AppError(
    "state_unavailable",
    maybe
      ? `the state store (NATS) did not confirm the write (${code}); the action may have happened (the world stream shows it)`
      : `the state store (NATS) is unavailable (${code}); nothing was changed, retry shortly`,
    503,
  );
}
