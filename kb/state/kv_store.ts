/**
 * `KvStore`, the `nats` implementation of {@linkcode StateBackend}
 * (`STATE_BACKEND=nats`): each unit is one key of a JetStream KV bucket
 * (`kv_unit.ts`), written by compare-and-set on the key's revision, so any
 * number of KB processes on any hosts serve one world.
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
 *   by a watch of the bucket; the cache is trusted only while the watch is
 *   fresh (`jetstream_kv_watch.ts`), otherwise every read and decision goes
 *   to the server. A stale cache costs one retry, never a wrong commit. The
 *   highest revision seen per key is kept, so a read older than what the
 *   watch already showed is never cached.
 * - After a commit the unit's outbox goes to the sink (the event
 *   publisher); a unit read from the server hands over what its outbox
 *   still holds, so whichever KB next touches a unit resends the events a
 *   KB that died left unacknowledged.
 * - A unit whose value would exceed the server's max payload is refused
 *   (`409 world_too_large`, nothing changes); NATS down or not answering
 *   fails at once with `503 state_unavailable` (there is no state without it).
 *
 * @module
 */
import { type Bus, BusError, type KvBucket, type KvWatch } from "../../shared/bus/mod.ts";
import { type Clock, systemClock } from "../../shared/clock.ts";
import { AppError } from "../../shared/errors.ts";
import { log } from "../../shared/log.ts";
import { LruMap } from "../../shared/lru.ts";
import { metrics } from "../../shared/metrics.ts";
import type { StateModel, WorldUpdateEvent } from "../../shared/schema.ts";
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
import { deepFreeze } from "./files.ts";
import { decodeUnit, EMPTY_UNIT, encodeUnit, type KvUnitDoc, kvUnitFor } from "./kv_unit.ts";
import { DEFAULT_OUTBOX_LIMITS, nextOutbox } from "./outbox.ts";
import type { Unit } from "./unit.ts";

/** Options of {@linkcode KvStore}. */
export interface KvStoreOptions {
  /** The state bucket (`NatsBus.kv`). */
  bucket: KvBucket;
  /** The bus the bucket is on: its status says whether a write can even be tried. */
  bus: Pick<Bus, "status">;
  /** Where each unit's outbox goes (the event publisher). */
  outbox?: OutboxSink;
  /** Bounds of one unit's outbox; the bytes are also held to a quarter of the bucket's largest value. */
  outboxLimits?: OutboxLimits;
  /** Most actions written together (default 64). */
  maxBatch?: number;
  /** Compare-and-set losses one batch survives before `429 world_busy` (default 16). */
  maxRetries?: number;
  /** Units whose state stays cached (default 1,000). */
  cachedUnits?: number;
  /** Time of the small backoff between retries. */
  clock?: Clock;
}

/** A unit's state as of a revision of its key (0: never written). */
interface Entry {
  revision: number;
  doc: KvUnitDoc;
}

const encoder = new TextEncoder();

/**
 * State units as keys of a JetStream KV bucket.
 *
 * @example
 * ```ts
 * const store = new KvStore({ bucket: await bus.kv({ name: "gaia_state" }), bus });
 * const unit = await store.unit("wylding-woods", "shared", "alice");
 * const c = await store.transact(unit, "alice", decide);
 * await store.close();
 * ```
 */
export class KvStore implements StateBackend {
  readonly #bucket: KvBucket;
  readonly #bus: Pick<Bus, "status">;
  readonly #sink: OutboxSink | undefined;
  readonly #limits: OutboxLimits;
  readonly #maxBatch: number;
  readonly #maxRetries: number;
  readonly #clock: Clock;
  readonly #cache: LruMap<string, Entry>;
  /** Highest revision seen per key (reads and the watch): never cache anything older. */
  readonly #highest: LruMap<string, number>;
  /** What this process learnt is acknowledged, per key. */
  readonly #acked = new LruMap<string, number>({ max: 10_000 });
  readonly #queues = new Map<string, Pending[]>();
  /** Last revision this process wrote, per key: a watched revision that is not it came from another KB. */
  readonly #own = new LruMap<string, number>({ max: 10_000 });
  /** Highest revision the watch itself delivered, per key. */
  readonly #watchedRev = new LruMap<string, number>({ max: 10_000 });
  /** When another KB was last seen writing a key (a watched write or a lost one; clock ms). */
  readonly #foreignAt = new LruMap<string, number>({ max: 10_000 });
  /** Batches waiting for the watch to show a key at a revision. */
  readonly #waiters = new Map<string, { revision: number; done: () => void }[]>();
  readonly #draining = new Set<Promise<void>>();
  #watch: KvWatch | undefined;
  #watchStart: Promise<void> | undefined;
  #watchRetryAt = 0;
  #closed = false;

  constructor(opts: KvStoreOptions) {
    this.#bucket = opts.bucket;
    this.#bus = opts.bus;
    this.#sink = opts.outbox;
    const limits = opts.outboxLimits ?? DEFAULT_OUTBOX_LIMITS;
    this.#limits = {
      maxEvents: limits.maxEvents,
      maxBytes: Math.min(limits.maxBytes, Math.floor(opts.bucket.maxValueBytes / 4)),
    };
    this.#maxBatch = opts.maxBatch ?? 64;
    this.#maxRetries = opts.maxRetries ?? 16;
    this.#clock = opts.clock ?? systemClock;
    this.#cache = new LruMap({ max: opts.cachedUnits ?? 1000 });
    this.#highest = new LruMap({ max: 10 * (opts.cachedUnits ?? 1000) });
  }

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
    this.#startWatch();
    const e = this.#trusted(unit.key) ?? await this.#fetch(unit.key);
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
    this.#startWatch();
    return new Promise<Commit<T>>((resolve, reject) => {
      const item = { unit, userId, decide, event: opts.event, resolve, reject } as Pending;
      const queue = this.#queues.get(unit.key);
      if (queue) return void queue.push(item);
      this.#queues.set(unit.key, [item]);
      const drained = this.#drain(unit.key);
      this.#draining.add(drained);
      drained.finally(() => this.#draining.delete(drained));
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
   * before JetStream acknowledged them).
   *
   * @example
   * ```ts
   * const units = await store.sweep();
   * ```
   */
  async sweep(): Promise<number> {
    let found = 0;
    for (const key of await this.#bucket.keys()) {
      if (this.#closed) break;
      const e = await this.#fetch(key);
      if (e.doc.outbox.some((ev) => ev.version > e.doc.acked)) found++;
    }
    return found;
  }

  /**
   * Waits for batches being written and stops the watch.
   *
   * @example
   * ```ts
   * await store.close();
   * ```
   */
  async close(): Promise<void> {
    while (this.#draining.size > 0) await Promise.allSettled([...this.#draining]);
    this.#closed = true;
    await this.#watchStart;
    await this.#watch?.close();
    this.#watch = undefined;
  }

  /** Starts the watch once (again after a failure, at most once a second). */
  #startWatch(): void {
    if (this.#closed || this.#watch || this.#watchStart) return;
    if (this.#clock.now() < this.#watchRetryAt) return;
    this.#watchStart = this.#bucket.watch((c) => this.#changed(c.key, c.revision, c.value))
      .then(async (w) => {
        if (this.#closed) await w.close();
        else this.#watch = w;
      }, (e) => {
        this.#watchRetryAt = this.#clock.now() + 1_000;
        log("warn", "state watch could not start; reading from the server until it does", {
          bucket: this.#bucket.name,
          error: String(e),
        });
      }).finally(() => this.#watchStart = undefined);
  }

  /** A change the watch saw: keep a cached unit current, remember the revision. */
  #changed(key: string, revision: number, value: Uint8Array): void {
    if (revision > (this.#highest.peek(key) ?? 0)) this.#highest.set(key, revision);
    if (revision > (this.#watchedRev.peek(key) ?? 0)) this.#watchedRev.set(key, revision);
    if (this.#own.peek(key) !== revision) this.#foreignAt.set(key, this.#clock.now());
    const cached = this.#cache.peek(key);
    if (cached && cached.revision < revision) {
      try {
        this.#cache.set(key, { revision, doc: decodeUnit(value) });
      } catch {
        this.#cache.delete(key);
      }
    }
    const waiting = this.#waiters.get(key);
    if (!waiting) return;
    const left = waiting.filter((w) => w.revision > revision);
    for (const w of waiting) if (w.revision <= revision) w.done();
    if (left.length > 0) this.#waiters.set(key, left);
    else this.#waiters.delete(key);
  }

  /**
   * Waits (at most `ms`) until the watch has shown `key` at `revision` or
   * later. Used so that every KB contending for a unit learns its newest
   * revision the same way, from the watch: a KB that learnt it from its own
   * write's acknowledgement would always be first to write again and could
   * starve the others.
   */
  #watched(key: string, revision: number, ms: number): Promise<void> {
    if ((this.#watchedRev.peek(key) ?? 0) >= revision || !this.#watch?.fresh()) {
      return Promise.resolve();
    }
    return new Promise<void>((resolve) => {
      const w = {
        revision,
        done: () => {
          this.#clock.clearTimeout(timer);
          resolve();
        },
      };
      const timer = this.#clock.setTimeout(() => {
        const list = this.#waiters.get(key)?.filter((x) => x !== w) ?? [];
        if (list.length > 0) this.#waiters.set(key, list);
        else this.#waiters.delete(key);
        resolve();
      }, ms);
      this.#waiters.set(key, [...(this.#waiters.get(key) ?? []), w]);
    });
  }

  /** The cached entry, if the watch vouches for it. */
  #trusted(key: string): Entry | undefined {
    if (!this.#watch?.fresh()) return undefined;
    const e = this.#cache.get(key);
    if (!e || e.revision < (this.#highest.peek(key) ?? 0)) return undefined;
    return e;
  }

  /** Reads a unit from the stream leader, caches it, and hands over its outbox. */
  async #fetch(key: string): Promise<Entry> {
    this.#checkBus();
    let got;
    try {
      got = await this.#bucket.get(key);
    } catch (e) {
      throw unavailable(e, false);
    }
    const entry: Entry = got
      ? { revision: got.revision, doc: decodeUnit(got.value) }
      : { revision: 0, doc: EMPTY_UNIT };
    this.#remember(key, entry);
    this.#handOver(key, entry.doc);
    return entry;
  }

  #remember(key: string, entry: Entry): void {
    const highest = this.#highest.peek(key) ?? 0;
    if (entry.revision < highest) return; // a replica behind what the watch showed
    if (entry.revision > highest) this.#highest.set(key, entry.revision);
    const cached = this.#cache.peek(key);
    if (!cached || cached.revision <= entry.revision) this.#cache.set(key, entry);
  }

  #handOver(key: string, doc: KvUnitDoc): void {
    if (!this.#sink) return;
    const acked = Math.max(doc.acked, this.#acked.get(key) ?? 0);
    const open = doc.outbox.filter((e) => e.version > acked);
    if (open.length > 0) this.#sink.submit(key, open);
  }

  #checkBus(): void {
    const s = this.#bus.status();
    if (s !== "connected") {
      throw new AppError(
        "state_unavailable",
        `the state store (NATS) is unreachable (bus ${s}); nothing was changed, retry shortly`,
        503,
      );
    }
  }

  async #drain(key: string): Promise<void> {
    const queue = this.#queues.get(key)!;
    while (queue.length > 0) {
      const batch = queue.splice(0, this.#maxBatch);
      try {
        await this.#commitBatch(key, batch, queue);
      } catch (e) {
        for (const p of batch) p.reject(e);
      }
    }
    this.#queues.delete(key);
  }

  /**
   * Decides and writes one batch, deciding again after each lost write.
   * A batch that keeps losing gives its later half back to the front of the
   * queue: a smaller batch is decided sooner, so it gets its turn.
   */
  async #commitBatch(key: string, batch: Pending[], queue: Pending[]): Promise<void> {
    const unit = batch[0]!.unit;
    let entry = this.#trusted(key);
    for (let attempt = 0;; attempt++) {
      entry ??= await this.#fetch(key);
      const doc = entry.doc;
      const b = decideBatch(batch, doc.version, doc.world, (u) => playerOf(doc, u.player));
      if (b.changed.length === 0) return settle(b.done);
      const built = this.#build(unit, key, entry, b);
      if (!built) return; // the batch failed with its error, nothing written
      const started = performance.now();
      let revision: number;
      try {
        this.#checkBus();
        revision = entry.revision === 0
          ? await this.#bucket.create(key, built.value)
          : await this.#bucket.update(key, built.value, entry.revision);
      } catch (e) {
        if (e instanceof BusError && e.code === "wrong_revision") {
          metrics.kbStateConflicts.inc({ experience: unit.experience });
          if (attempt >= 1 && batch.length > 1) queue.unshift(...batch.splice(batch.length >> 1));
          this.#foreignAt.set(key, this.#clock.now());
          if (attempt >= this.#maxRetries) {
            throw new AppError(
              "world_busy",
              "this world is changing too fast (other KBs keep writing it first); retry shortly",
              429,
            );
          }
          // Decide again on the newer state: from the watch when it brings it
          // in time (as fast as the winner learns it), else from the leader.
          const lostAt = entry.revision;
          await this.#watched(key, lostAt + 1, 100);
          entry = this.#trusted(key);
          if (entry && entry.revision <= lostAt) entry = undefined;
          continue;
        }
        this.#cache.delete(key);
        throw e instanceof AppError ? e : unavailable(e, true);
      }
      metrics.kbCommitDuration.observe({ state_model: unit.model }, performance.now() - started);
      metrics.kbCommits.inc(
        { experience: unit.experience, state_model: unit.model },
        b.changed.length,
      );
      this.#own.set(key, revision);
      this.#remember(key, { revision, doc: built.doc });
      this.#sink?.submit(key, built.doc.outbox);
      settle(b.done);
      // Another KB writes this unit too: let it learn this revision from its
      // watch before this KB writes again, so neither starves the other.
      const foreign = this.#foreignAt.peek(key);
      if (foreign !== undefined && this.#clock.now() - foreign < 2_000) {
        await this.#watched(key, revision, 20);
        await this.#pause();
      }
      return;
    }
  }

  /**
   * The unit after a decided batch: events built, outbox bounded, encoded
   * and within the server's max payload. Undefined (every action of the
   * batch rejected) when an event cannot be built or the unit is too large.
   */
  #build(
    unit: Unit,
    key: string,
    entry: Entry,
    b: DecidedBatch,
  ): { doc: KvUnitDoc; value: Uint8Array } | undefined {
    const timestamp = performance.timeOrigin + performance.now();
    const events: WorldUpdateEvent[] = [];
    try {
      for (const d of b.changed) {
        d.commit!.timestamp = timestamp;
        if (!d.p.event) continue;
        d.commit!.event = d.p.event(d.commit!);
        events.push(d.commit!.event);
      }
    } catch (error) {
      for (const d of b.done) d.p.reject(error);
      return undefined;
    }
    const acked = Math.max(entry.doc.acked, this.#acked.get(key) ?? 0);
    const next = nextOutbox(entry.doc.outbox, acked, events, this.#limits);
    if (next.dropped.length > 0) {
      metrics.outboxDropped.inc({ experience: unit.experience }, next.dropped.length);
    }
    const players: Record<string, Record<string, unknown>> = { ...entry.doc.players };
    for (const [userId, pd] of b.players) {
      if (pd.dirty && pd.player) players[userId] = pd.player;
    }
    const doc: KvUnitDoc = deepFreeze({
      version: b.version,
      acked,
      outbox: next.outbox,
      world: b.world,
      players,
    });
    const value = encoder.encode(encodeUnit(doc));
    if (value.length > this.#bucket.maxValueBytes) {
      const error = new AppError(
        "world_too_large",
        `this world's state would be ${value.length} bytes, over the ${this.#bucket.maxValueBytes} bytes one NATS message may carry (max_payload); nothing was changed`,
        409,
      );
      log("warn", "state unit too large: action refused", {
        unit: key,
        bytes: value.length,
        max_bytes: this.#bucket.maxValueBytes,
      });
      for (const d of b.done) d.p.reject(error);
      return undefined;
    }
    return { doc, value };
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
