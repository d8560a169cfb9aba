/**
 * Crash-safe, contention-safe state files (see `kb/STATE.md` for the why):
 * `StateStore`, the files implementation of {@linkcode StateBackend}.
 *
 * Changes of a unit (`unit.ts`):
 *
 * 1. queue per unit in process; the first in the queue takes the in-process
 *    mutex (`mutex.ts`), then an exclusive `Deno.FsFile.lock` on the unit's
 *    `.lock` file, a file that is never renamed or replaced (locking a file
 *    that is then replaced by rename lets waiters hold a lock on a dead inode
 *    and lose updates);
 * 2. use the documents cached from this process's last commit or read if
 *    `world.json` still carries their version and no intent is pending
 *    (every commit, by any process, rewrites `world.json` with a higher
 *    version; `cache.ts`); otherwise replay a committed `.intent` left by a
 *    writer that died and read the files;
 * 3. take everything queued by then as one batch (group commit, `batch.ts`):
 *    each action decides on the state left by the one before it, and each
 *    changing action gets its own version;
 * 4. commit the batch durably (`commit.ts`): a write-ahead intent (`intent.ts`)
 *    and temp copies fsynced together, renames, directory fsyncs, the intent
 *    emptied.
 *
 * Readers take a shared lock and read a committed intent in place of the
 * files it would replace, so a read never writes and never sees half a commit.
 *
 * The lock, intent and directory handles of recently used units stay open
 * (an LRU of `openUnits`; a unit inside a critical section is never
 * evicted), so a warm commit opens only its temp files. This file owns when
 * each step runs and under which lock; the steps themselves are in the files
 * named above. It is over 400 lines on purpose: the lock order, the queue
 * and the recovery of one unit are one piece of reasoning, easier to check
 * for races read together than spread over files.
 *
 * @module
 */
import { log } from "../../shared/log.ts";
import { metrics } from "../../shared/metrics.ts";
import { LruMap } from "../../shared/lru.ts";
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
import { batchFiles, decideBatch, noOps, type Pending, settle, unchanged } from "./batch.ts";
import { type Cached, type CachedUnit, UnitDocs } from "./cache.ts";
import { closeHandles, UnitIo } from "./commit.ts";
import { createDirDurably, readJson, sameFile } from "./files.ts";
import { parseIntent } from "./intent.ts";
import { KeyedMutex } from "./mutex.ts";
import { AckMarks } from "./ack_marks.ts";
import { DEFAULT_OUTBOX_LIMITS, nextOutbox } from "./outbox.ts";
import { sweepUnits } from "./sweep.ts";
import { type Unit, unitAt, unitFor } from "./unit.ts";
import { UnitQueues } from "./unit_queues.ts";

/** Options of {@linkcode StateStore}. */
export interface StateStoreOptions {
  /** fsync files and directories (default true; only benchmarks turn it off). */
  fsync?: boolean;
  /** Most actions committed together (default 64). */
  maxBatch?: number;
  /**
   * Units whose lock, intent and directory handles stay open and whose
   * documents stay cached (default 1,000; at most 4 open files each).
   */
  openUnits?: number;
  /** Player documents cached per unit (default 1,000). */
  cachedPlayers?: number;
  /** Where each unit's outbox goes after a commit or when a unit is opened with one (the event publisher). */
  outbox?: OutboxSink;
  /** Bounds of one unit's outbox (default 1,000 events, 1 MiB). */
  outboxLimits?: OutboxLimits;
}

/** The open handles and cached documents of one unit. */
interface OpenUnit extends CachedUnit {
  /** Inside a critical section (never closed then). */
  busy: boolean;
}

/** The state of a unit nobody changed yet. */
const empty = (): UnitState => ({ version: 0, world: null, player: null });

/**
 * The state files of all experiences under one directory.
 *
 * @example
 * ```ts
 * const store = new StateStore("./.state");
 * const unit = await store.unit("wylding-woods", "shared", "alice");
 * const state = await store.read(unit);
 * ```
 */
export class StateStore implements StateBackend {
  readonly stateDir: string;
  readonly #fsync: boolean;
  readonly #io: UnitIo;
  readonly #maxBatch: number;
  readonly #docs: UnitDocs;
  readonly #mutex = new KeyedMutex();
  readonly #queues = new UnitQueues<Pending>();
  /** Lock path -> open unit; units in a critical section are never evicted. */
  readonly #open: LruMap<string, OpenUnit>;
  readonly #sink: OutboxSink | undefined;
  readonly #limits: OutboxLimits;
  /** What is acknowledged, per unit (`.acked` files, written lazily). */
  readonly #acks: AckMarks;
  /** Units whose last commit dropped events past the outbox bound (logged once). */
  readonly #overflowing = new Set<string>();

  constructor(stateDir: string, opts: StateStoreOptions = {}) {
    this.stateDir = stateDir.replace(/\/+$/, "") || "/";
    this.#fsync = opts.fsync ?? true;
    this.#io = new UnitIo(this.#fsync);
    this.#maxBatch = opts.maxBatch ?? 64;
    this.#docs = new UnitDocs(this.#io, opts.cachedPlayers ?? 1000);
    this.#open = new LruMap<string, OpenUnit>({
      max: opts.openUnits ?? 1000,
      mayEvict: (u) => !u.busy,
      onEvict: closeHandles,
    });
    this.#sink = opts.outbox;
    this.#limits = opts.outboxLimits ?? DEFAULT_OUTBOX_LIMITS;
    this.#acks = new AckMarks();
  }

  /**
   * The unit a user acts on (`unitFor` under this store's `stateDir`).
   *
   * @example
   * ```ts
   * const unit = await store.unit("wylding-woods", "shared", "alice");
   * ```
   */
  unit(experience: string, model: StateModel, userId: string): Promise<Unit> {
    return unitFor(this.stateDir, experience, model, userId);
  }

  /**
   * A consistent view of a unit. Never writes: a committed intent left by a
   * dead writer is read in place of the files it replaces.
   *
   * @example
   * ```ts
   * const { version, world, player } = await store.read(unit);
   * ```
   */
  read(unit: Unit): Promise<UnitState> {
    return this.#mutex.run(unit.lock, async () => {
      for (let attempt = 0;; attempt++) {
        const u = this.#acquire(unit, false);
        if (!u) return empty();
        let locked = false;
        try {
          await u.lock.lock(false);
          locked = true;
          const c = this.#docs.valid(unit, u);
          if (c) return { version: c.version, world: c.world, player: this.#docs.player(unit, c) };
          if (attempt < 2 && !sameFile(unit.lock, u.lock)) {
            // Our lock file is not the unit's any more (deleted by hand): start over by path.
            u.lock.unlockSync();
            locked = false;
            this.#drop(unit.lock, u);
            continue;
          }
          const { state, outbox } = this.#docs.read(unit, u);
          // Opened from the files: events a dead writer left go out now.
          this.#handOver(unit, outbox);
          return state;
        } finally {
          if (locked) u.lock.unlockSync();
          this.#release(u);
        }
      }
    });
  }

  /**
   * Runs `decide` on the current state under the unit's locks and commits its
   * operations atomically (possibly together with other queued actions of
   * the same unit). `decide` must be pure and must not change the state it
   * is given (it is frozen): it may run twice. `opts.event` builds each
   * changed action's event, which the same commit writes into the unit's
   * outbox; the outbox goes to the sink once the commit is durable and
   * before the locks are released, so units hand over in version order.
   *
   * @example
   * ```ts
   * const c = await store.transact(unit, "alice", (s) => ({ base, world: ops, player: [], result: null }));
   * c.version; // the version this action made
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
      // The batch is cut once the locks are held, so it includes everything
      // that queued up while this writer waited for them.
      this.#queues.push(
        unit.lock,
        item,
        (queue) => this.#mutex.run(unit.lock, () => this.#lockedBatch(queue)),
      );
    });
  }

  /**
   * Replays a committed intent a dead writer left behind (start-up checks and
   * tests; every transaction also does this first). True when one was replayed.
   *
   * @example
   * ```ts
   * if (await store.recover(unit)) log("info", "replayed an intent");
   * ```
   */
  recover(unit: Unit): Promise<boolean> {
    return this.#mutex.run(unit.lock, async () => {
      const u = this.#acquire(unit, false);
      if (!u) return false;
      let locked = false;
      try {
        await u.lock.lock(true);
        locked = true;
        return await this.#recoverLocked(unit, u);
      } finally {
        if (locked) u.lock.unlockSync();
        this.#release(u);
      }
    });
  }

  /**
   * Closes the handles of units not in use and forgets their cached
   * documents (they are reopened and reread when used again).
   *
   * @example
   * ```ts
   * await store.close();
   * ```
   */
  async close(): Promise<void> {
    // A batch acknowledges before its directory fsyncs: let those finish.
    await this.#queues.settled();
    await this.#acks.flush();
    for (const [key, u] of this.#open) {
      if (!u.busy) this.#drop(key, u);
    }
  }

  /**
   * Records what JetStream acknowledged (see {@linkcode StateBackend.acked}):
   * kept in memory for the next commit and written lazily to the unit's
   * `.acked` file (never fsynced: losing it only means sending those events
   * again, and JetStream and streams drop the repeats).
   *
   * @example
   * ```ts
   * store.acked(unit.key, 42);
   * ```
   */
  acked(unitKey: string, version: number): void {
    this.#acks.record(unitKey, version);
  }

  /**
   * Hands every unit with unacknowledged events on disk to the sink (a
   * writer that died between its commit and its acknowledgements, or an
   * outage before a restart), recovering intents on the way.
   *
   * @example
   * ```ts
   * const units = await store.sweep();
   * ```
   */
  sweep(): Promise<number> {
    return sweepUnits(this.stateDir, async (dir) => {
      const unit = unitAt(dir);
      await this.recover(unit);
      // read() opens the unit and hands its outbox over; use the lock like any reader.
      this.#docsDrop(unit);
      await this.read(unit);
    });
  }

  /** Forgets cached documents of a unit so the next read comes from the files. */
  #docsDrop(unit: Unit): void {
    const u = this.#open.peek(unit.lock);
    if (u && !u.busy) u.cache = undefined;
  }

  /** Gives the sink what of a unit's outbox is not known to be acknowledged. */
  #handOver(unit: Unit, outbox: readonly WorldUpdateEvent[]): void {
    if (!this.#sink || outbox.length === 0) return;
    const acked = this.#acks.version(unit.key);
    const open = outbox.filter((e) => e.version > acked);
    if (open.length > 0) this.#sink.submit(unit.key, open);
  }

  /**
   * The unit's open handles, opening its lock file if needed (creating it if
   * `create`); undefined when it does not exist and `create` is false. The
   * unit is marked busy (not evictable) until {@linkcode StateStore.#release}.
   */
  #acquire(unit: Unit, create: boolean): OpenUnit | undefined {
    const key = unit.lock;
    let u = this.#open.get(key); // now the most recently used
    if (!u) {
      let lock: Deno.FsFile;
      try {
        lock = Deno.openSync(
          key,
          create ? { read: true, write: true, create: true } : { read: true },
        );
      } catch (e) {
        if (!create && e instanceof Deno.errors.NotFound) return undefined;
        throw e;
      }
      u = { lock, intentFresh: false, dirs: new Map(), busy: true };
      this.#open.set(key, u);
    }
    u.busy = true;
    return u;
  }

  /** Ends a critical section; closes the least recently used idle units over the limit. */
  #release(u: OpenUnit): void {
    u.busy = false;
    this.#open.prune();
  }

  #drop(key: string, u: OpenUnit): void {
    if (this.#open.peek(key) === u) this.#open.delete(key);
    closeHandles(u);
  }

  async #lockedBatch(queue: Pending[]): Promise<void> {
    let batch: Pending[] = [];
    let u: OpenUnit | undefined;
    let locked = false;
    try {
      const unit = queue[0]!.unit;
      let cache: Cached | undefined;
      for (let attempt = 0; !cache; attempt++) {
        u = this.#acquire(unit, false);
        if (!u) {
          // A unit nobody changed yet: actions that change nothing must leave
          // STATE_DIR untouched, so decide them before creating anything.
          const state = empty();
          const plans = queue.map((p) => {
            try {
              return p.decide(state);
            } catch {
              return undefined;
            }
          });
          if (plans.every((p) => p && noOps(p))) {
            for (const [i, p] of queue.splice(0, plans.length).entries()) {
              p.resolve(unchanged(plans[i]!, 0));
            }
            return;
          }
          await createDirDurably(unit.dir, this.stateDir, this.#fsync);
          u = this.#acquire(unit, true)!;
        }
        await u.lock.lock(true);
        locked = true;
        cache = this.#docs.valid(unit, u);
        if (cache) break;
        if (attempt < 2 && !sameFile(unit.lock, u.lock)) {
          // Our lock file is not the unit's any more (deleted by hand): start over by path.
          u.lock.unlockSync();
          locked = false;
          this.#release(u);
          this.#drop(unit.lock, u);
          u = undefined;
          continue;
        }
        cache = await this.#load(unit, u);
      }
      batch = queue.splice(0, this.#maxBatch);
      await this.#commitBatch(unit, u!, cache, batch);
    } catch (e) {
      if (u) u.cache = undefined;
      // Failing before the batch was cut (no lock, unreadable state) fails
      // everything waiting: retrying in a loop would fail the same way.
      for (const p of batch.length ? batch : queue.splice(0)) p.reject(e);
    } finally {
      if (u) {
        if (locked) u.lock.unlockSync();
        this.#release(u);
      }
    }
  }

  /** Replays a pending intent and reads the unit's world (exclusive lock held). */
  async #load(unit: Unit, u: OpenUnit): Promise<Cached> {
    u.cache = undefined;
    await this.#recoverLocked(unit, u);
    const c = this.#docs.load(unit, u);
    this.#acks.load(unit.key);
    // Opened from the files: events a dead writer left go out now, ahead of this batch's.
    this.#handOver(unit, c.outbox);
    return c;
  }

  async #commitBatch(unit: Unit, u: OpenUnit, cache: Cached, batch: Pending[]): Promise<void> {
    const b = decideBatch(batch, cache.version, cache.world, (pu) => this.#docs.player(pu, cache));
    if (b.changed.length === 0) return settle(b.done);
    // The events are part of the commit: built now, written with the state.
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
      // A change must not commit without its event: nothing of the batch is written.
      for (const p of batch) p.reject(error);
      return;
    }
    const next = nextOutbox(cache.outbox, this.#acks.version(unit.key), events, this.#limits);
    if (next.dropped.length > 0) this.#dropped(unit, next.dropped);
    else this.#overflowing.delete(unit.key);
    const files = batchFiles(unit, b, next.outbox);
    u.cache = undefined;
    const started = performance.now();
    const { finish } = await this.#io.commit(unit, u, { version: b.version, files });
    // Durable from here: acknowledge now, in version order, while the lock
    // is held. Nobody can see the files before the lock is released, and
    // by then `finish` has made the renames durable too.
    this.#sink?.submit(unit.key, next.outbox);
    settle(b.done);
    const complete = await finish();
    metrics.kbCommitDuration.observe({ state_model: unit.model }, performance.now() - started);
    metrics.kbCommits.inc(
      { experience: unit.experience, state_model: unit.model },
      b.changed.length,
    );
    // The files now hold exactly this: keep it for the next batch.
    if (complete) this.#docs.keep(u, cache, b, next.outbox);
  }

  /** Events past the outbox bounds: never delivered; streams that miss them send `resync` `gap`. */
  #dropped(unit: Unit, dropped: readonly WorldUpdateEvent[]): void {
    metrics.outboxDropped.inc({ experience: unit.experience }, dropped.length);
    // One line per unit until a commit fits again (the metric counts every event).
    if (this.#overflowing.has(unit.key)) return;
    this.#overflowing.add(unit.key);
    log("warn", "outbox full: oldest unacknowledged events dropped (watchers will resync)", {
      unit: unit.key,
      events: dropped.length,
      versions: `${dropped[0]!.version}-${dropped.at(-1)!.version}`,
      max_events: this.#limits.maxEvents,
      max_bytes: this.#limits.maxBytes,
    });
  }

  async #recoverLocked(unit: Unit, u: OpenUnit): Promise<boolean> {
    const text = this.#io.intentText(unit, u);
    if (text === "") return false;
    u.cache = undefined;
    const intent = parseIntent(text);
    let replayed = false;
    if (intent) {
      let version = 0;
      try {
        const current = readJson(`${unit.dir}/${unit.world}`);
        if (typeof current?.version === "number") version = current.version;
      } catch { /* unreadable: the intent replaces it */ }
      if (intent.version >= version) {
        await this.#io.replay(unit, u, intent.files);
        replayed = true;
      }
    }
    await this.#io.intentFile(unit, u).truncate(0);
    return replayed;
  }
}
