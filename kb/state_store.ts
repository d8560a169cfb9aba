/**
 * Crash-safe, contention-safe state files (see `kb/STATE.md` for the why).
 *
 * A *unit* is what one lock guards and one version counts: a shared
 * experience's world (with all its players' profiles), or one player's view
 * of an isolated experience. Changes of a unit:
 *
 * 1. queue per unit in process; the first in the queue takes the in-process
 *    mutex, then an exclusive `Deno.FsFile.lock` on the unit's `.lock` file,
 *    a file that is never renamed or replaced (locking a file that is then
 *    replaced by rename lets waiters hold a lock on a dead inode and lose
 *    updates);
 * 2. use the documents cached from this process's last commit or read if
 *    `world.json` still carries their version and no intent is pending
 *    (every commit, by any process, rewrites `world.json` with a higher
 *    version); otherwise replay a committed `.intent` left by a writer that
 *    died and read the files;
 * 3. take everything queued by then as one batch (group commit): each action
 *    decides on the state left by the one before it, and its operations are
 *    applied with `applyOperations`; each changing action gets its own version;
 * 4. write a write-ahead intent holding the full new content of every file
 *    the batch touches and each file's temp copy, fsync them all together
 *    (the intent's fsync is the commit point), rename the temp files over
 *    the files, fsync the directories, empty the intent.
 *
 * Readers take a shared lock and read a committed intent in place of the
 * files it would replace, so a read never writes and never sees half a commit.
 *
 * The lock, intent and directory handles of recently used units stay open
 * (an LRU of `openUnits`), so a warm commit opens only its temp files. The
 * file operations of a commit are in `unit_files.ts`; locking, batching and
 * caching stay together here (longer than our usual file) because their
 * invariants depend on each other and are checked against `STATE.md` as one.
 *
 * @module
 */
import type { StateOperation } from "../shared/schema.ts";
import { metrics } from "../shared/metrics.ts";
import { applyOperations } from "../shared/apply.ts";
import { fileNameFor } from "../shared/subjects.ts";
import {
  deepFreeze,
  dirOf,
  KeyedMutex,
  parseIntent,
  peekVersion,
  readJson,
  syncDir,
} from "./durable.ts";
import { type Cached, closeUnit, type OpenUnit, settleAll, UnitIo } from "./unit_files.ts";

/** The files of one lock unit. All paths are under the store's `stateDir`. */
export interface Unit {
  /** Directory of the lock and intent files. */
  readonly dir: string;
  readonly lock: string;
  readonly intent: string;
  /** `{version, world}`, relative to `dir`. */
  readonly world: string;
  /** `{user_id, player}` of the acting user, relative to `dir`. */
  readonly player: string;
  /** Metric labels: the catalog's experience id and its state model. */
  readonly experience: string;
  readonly model: "shared" | "isolated";
}

/**
 * What a unit holds for one user; `null` where a file does not exist yet.
 * The documents are deep-frozen (they may be the store's cached copies).
 */
export interface UnitState {
  version: number;
  world: Record<string, unknown> | null;
  player: Record<string, unknown> | null;
}

/** What a transaction callback decides. */
export interface Plan<T> {
  /** The documents the operations apply to (the stored ones, or virtual ones for a new unit/player). */
  base: { world: Record<string, unknown>; player: Record<string, unknown> };
  world: StateOperation[];
  player: StateOperation[];
  result: T;
}

/** The result of {@linkcode StateStore.transact}. */
export interface Commit<T> {
  result: T;
  changed: boolean;
  /** Version after this action (the current version when nothing changed). */
  version: number;
  /** ms since the epoch, taken right after the commit became durable (0 when unchanged). */
  timestamp: number;
  world: StateOperation[];
  player: StateOperation[];
}

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
}

interface Pending {
  unit: Unit;
  userId: string;
  decide: (state: UnitState) => Plan<unknown>;
  onCommit?: (commit: Commit<unknown>) => void;
  resolve: (c: Commit<unknown>) => void;
  reject: (e: unknown) => void;
}

type Doc = Record<string, unknown>;

interface PlayerDoc {
  userId: string;
  player: Doc | null;
  dirty: boolean;
}

const noOps = (p: Plan<unknown>) => p.world.length === 0 && p.player.length === 0;
const unchanged = (p: Plan<unknown>, version: number): Commit<unknown> => ({
  result: p.result,
  changed: false,
  version,
  timestamp: 0,
  world: [],
  player: [],
});

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
export class StateStore {
  readonly #draining = new Set<Promise<void>>();
  readonly stateDir: string;
  readonly #fsync: boolean;
  readonly #io: UnitIo;
  readonly #maxBatch: number;
  readonly #maxOpen: number;
  readonly #maxPlayers: number;
  readonly #mutex = new KeyedMutex();
  readonly #queues = new Map<string, Pending[]>();
  /** Lock path -> open unit, least recently used first. */
  readonly #open = new Map<string, OpenUnit>();

  constructor(stateDir: string, opts: StateStoreOptions = {}) {
    this.stateDir = stateDir.replace(/\/+$/, "") || "/";
    this.#fsync = opts.fsync ?? true;
    this.#io = new UnitIo(this.#fsync);
    this.#maxBatch = opts.maxBatch ?? 64;
    this.#maxOpen = Math.max(1, opts.openUnits ?? 1000);
    this.#maxPlayers = Math.max(1, opts.cachedPlayers ?? 1000);
  }

  /**
   * The unit a user acts on. Names come from `fileNameFor`, so ids such as
   * `../x` stay one safe file name inside `stateDir`.
   */
  async unit(experience: string, model: "shared" | "isolated", userId: string): Promise<Unit> {
    const expDir = `${this.stateDir}/experiences/${await fileNameFor(experience)}`;
    const user = await fileNameFor(userId);
    const dir = model === "shared" ? expDir : `${expDir}/players/${user}`;
    const player = model === "shared" ? `players/${user}.json` : "player.json";
    return {
      dir,
      lock: `${dir}/.lock`,
      intent: `${dir}/.intent`,
      world: "world.json",
      player,
      experience,
      model,
    };
  }

  /**
   * A consistent view of a unit. Never writes: a committed intent left by a
   * dead writer is read in place of the files it replaces.
   */
  read(unit: Unit): Promise<UnitState> {
    return this.#mutex.run(unit.lock, async () => {
      for (let attempt = 0;; attempt++) {
        const u = this.#acquire(unit, false);
        if (!u) return { version: 0, world: null, player: null };
        let locked = false;
        try {
          await u.lock.lock(false);
          locked = true;
          const c = this.#valid(unit, u);
          if (c) return { version: c.version, world: c.world, player: this.#player(unit, c) };
          if (attempt < 2 && !this.#sameLock(unit, u)) {
            // Our lock file is not the unit's any more (deleted by hand): start over by path.
            u.lock.unlockSync();
            locked = false;
            this.#drop(unit.lock, u);
            continue;
          }
          return this.#readFiles(unit, u);
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
   * is given (it is frozen): it may run twice. `onCommit` runs after the
   * commit is durable and before the locks are released, in version order
   * (events published there leave in order).
   */
  transact<T>(
    unit: Unit,
    userId: string,
    decide: (state: UnitState) => Plan<T>,
    onCommit?: (commit: Commit<T>) => void,
  ): Promise<Commit<T>> {
    return new Promise<Commit<T>>((resolve, reject) => {
      const item = { unit, userId, decide, onCommit, resolve, reject } as Pending;
      const queue = this.#queues.get(unit.lock);
      if (queue) return void queue.push(item);
      this.#queues.set(unit.lock, [item]);
      const drained = this.#drain(unit.lock);
      this.#draining.add(drained);
      drained.finally(() => this.#draining.delete(drained));
    });
  }

  /**
   * Replays a committed intent a dead writer left behind (start-up checks and
   * tests; every transaction also does this first). True when one was replayed.
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
   * store.close();
   * ```
   */
  async close(): Promise<void> {
    // A batch acknowledges before its directory fsyncs: let those finish.
    while (this.#draining.size > 0) await Promise.allSettled([...this.#draining]);
    for (const [key, u] of this.#open) {
      if (!u.busy) this.#drop(key, u);
    }
  }

  /**
   * The unit's open handles, opening its lock file if needed (creating it if
   * `create`); undefined when it does not exist and `create` is false. The
   * unit is marked busy until {@linkcode StateStore.#release}.
   */
  #acquire(unit: Unit, create: boolean): OpenUnit | undefined {
    const key = unit.lock;
    let u = this.#open.get(key);
    if (u) {
      this.#open.delete(key); // re-inserted below: most recently used
    } else {
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
      u = { lock, intentFresh: false, dirs: new Map(), busy: false };
    }
    this.#open.set(key, u);
    u.busy = true;
    return u;
  }

  /** Ends a critical section; closes the least recently used idle units over the limit. */
  #release(u: OpenUnit): void {
    u.busy = false;
    if (this.#open.size <= this.#maxOpen) return;
    for (const [key, o] of this.#open) {
      if (this.#open.size <= this.#maxOpen) break;
      if (!o.busy) this.#drop(key, o);
    }
  }

  #drop(key: string, u: OpenUnit): void {
    if (this.#open.get(key) === u) this.#open.delete(key);
    closeUnit(u);
  }

  /**
   * Whether the open lock file is still the one at the unit's path (it is
   * never replaced; this catches a unit directory deleted by hand).
   */
  #sameLock(unit: Unit, u: OpenUnit): boolean {
    try {
      const onDisk = Deno.statSync(unit.lock);
      const open = u.lock.statSync();
      return onDisk.ino === open.ino && onDisk.dev === open.dev;
    } catch (e) {
      if (e instanceof Deno.errors.NotFound) return false;
      throw e;
    }
  }

  /** The cached documents if they are still what is on disk (see {@linkcode Cached}); call with a lock held. */
  #valid(unit: Unit, u: OpenUnit): Cached | undefined {
    const c = u.cache;
    if (!c) return undefined;
    // The lock check catches a unit directory deleted and recreated by another
    // process up to the same version: its files are not the ones we cached.
    if (
      this.#io.intentSize(unit, u) === 0 &&
      peekVersion(`${unit.dir}/${unit.world}`) === c.version &&
      this.#sameLock(unit, u)
    ) {
      return c;
    }
    u.cache = undefined;
    return undefined;
  }

  /** A player's document from the cache, read from disk (under the lock) on a miss. */
  #player(unit: Unit, c: Cached): Doc | null {
    const players = c.players;
    let doc = players.get(unit.player);
    if (doc !== undefined) {
      players.delete(unit.player);
    } else {
      const raw = readJson(`${unit.dir}/${unit.player}`);
      doc = deepFreeze((raw?.player as Doc | undefined) ?? null);
    }
    players.set(unit.player, doc);
    if (players.size > this.#maxPlayers) players.delete(players.keys().next().value!);
    return doc;
  }

  /** Reads the files (a committed intent in place of the ones it replaces), under the shared lock. */
  #readFiles(unit: Unit, u: OpenUnit): UnitState {
    const w = readJson(`${unit.dir}/${unit.world}`);
    const p = readJson(`${unit.dir}/${unit.player}`);
    const state: UnitState = {
      version: typeof w?.version === "number" ? w.version : 0,
      world: deepFreeze((w?.world as Doc | undefined) ?? null),
      player: deepFreeze((p?.player as Doc | undefined) ?? null),
    };
    const text = this.#io.intentText(unit, u);
    if (text === "") {
      // No commit in flight: this is the unit as of its version, worth caching.
      if (state.version > 0) {
        u.cache = {
          version: state.version,
          world: state.world,
          players: new Map([[unit.player, state.player]]),
        };
      }
      return state;
    }
    const intent = parseIntent(text);
    if (!intent || intent.version < state.version) return state;
    const iw = intent.files[unit.world];
    const ip = intent.files[unit.player];
    return {
      version: intent.version,
      world: iw ? deepFreeze(JSON.parse(iw).world) : state.world,
      player: ip ? deepFreeze(JSON.parse(ip).player) : state.player,
    };
  }

  async #drain(key: string): Promise<void> {
    const queue = this.#queues.get(key)!;
    while (queue.length > 0) {
      // The batch is cut once the locks are held, so it includes everything
      // that queued up while this writer waited for them.
      await this.#mutex.run(key, () => this.#lockedBatch(queue)).catch(() => {});
    }
    this.#queues.delete(key);
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
          const empty = { version: 0, world: null, player: null };
          const plans = queue.map((p) => {
            try {
              return p.decide(empty);
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
          await this.#createDir(unit.dir);
          u = this.#acquire(unit, true)!;
        }
        await u.lock.lock(true);
        locked = true;
        cache = this.#valid(unit, u);
        if (cache) break;
        if (attempt < 2 && !this.#sameLock(unit, u)) {
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

  /** Creates a unit directory and makes the new entries durable (once per unit). */
  async #createDir(dir: string): Promise<void> {
    await Deno.mkdir(dir, { recursive: true });
    const parents: string[] = [];
    for (let d = dirOf(dir); d.length >= this.stateDir.length && d !== ""; d = dirOf(d)) {
      parents.push(d);
    }
    await settleAll(parents.map((d) => syncDir(d, this.#fsync)));
  }

  /** Replays a pending intent and reads the unit's world (exclusive lock held). */
  async #load(unit: Unit, u: OpenUnit): Promise<Cached> {
    u.cache = undefined;
    await this.#recoverLocked(unit, u);
    const doc = readJson(`${unit.dir}/${unit.world}`);
    const c: Cached = {
      version: typeof doc?.version === "number" ? doc.version : 0,
      world: deepFreeze((doc?.world as Doc | undefined) ?? null),
      players: new Map(),
    };
    if (c.version > 0) u.cache = c;
    return c;
  }

  async #commitBatch(unit: Unit, u: OpenUnit, cache: Cached, batch: Pending[]): Promise<void> {
    let version = cache.version;
    let world = cache.world;
    const players = new Map<string, PlayerDoc>();
    const done: Array<{ p: Pending; commit?: Commit<unknown>; error?: unknown }> = [];
    for (const p of batch) {
      try {
        let pd = players.get(p.unit.player);
        if (!pd) {
          pd = { userId: p.userId, player: this.#player(p.unit, cache), dirty: false };
          players.set(p.unit.player, pd);
        }
        const plan = p.decide({ version, world, player: pd.player });
        if (noOps(plan)) {
          done.push({ p, commit: unchanged(plan, version) });
          continue;
        }
        // Apply to copies so a failing operation leaves the batch's state as it was.
        const nextWorld = structuredClone(plan.base.world);
        applyOperations(nextWorld, plan.world);
        let nextPlayer = pd.player;
        if (plan.player.length > 0) {
          nextPlayer = structuredClone(plan.base.player);
          applyOperations(nextPlayer, plan.player);
        }
        world = nextWorld;
        pd.player = nextPlayer;
        pd.dirty ||= plan.player.length > 0;
        version++;
        const commit = {
          result: plan.result,
          changed: true,
          version,
          timestamp: 0,
          world: plan.world,
          player: plan.player,
        };
        done.push({ p, commit });
      } catch (error) {
        done.push({ p, error });
      }
    }
    const changed = done.filter((d) => d.commit?.changed);
    if (changed.length > 0) {
      const files: Record<string, string> = { [unit.world]: JSON.stringify({ version, world }) };
      for (const [rel, pd] of players) {
        if (pd.dirty) files[rel] = JSON.stringify({ user_id: pd.userId, player: pd.player });
      }
      u.cache = undefined;
      const started = performance.now();
      const { finish } = await this.#io.commit(unit, u, { version, files });
      // Durable from here: acknowledge now, in version order, while the lock
      // is held. Nobody can see the files before the lock is released, and
      // by then `finish` has made the renames durable too.
      const timestamp = performance.timeOrigin + performance.now();
      for (const d of changed) {
        d.commit!.timestamp = timestamp;
        try {
          d.p.onCommit?.(d.commit!);
        } catch { /* a listener's failure does not undo a durable commit */ }
      }
      for (const d of done) d.error === undefined ? d.p.resolve(d.commit!) : d.p.reject(d.error);
      const complete = await finish();
      metrics.kbCommitDuration.observe({ state_model: unit.model }, performance.now() - started);
      metrics.kbCommits.inc(
        { experience: unit.experience, state_model: unit.model },
        changed.length,
      );
      if (complete) {
        // The files now hold exactly this: keep it for the next batch.
        for (const [rel, pd] of players) {
          if (!pd.dirty) continue;
          cache.players.delete(rel);
          cache.players.set(rel, deepFreeze(pd.player));
        }
        while (cache.players.size > this.#maxPlayers) {
          cache.players.delete(cache.players.keys().next().value!);
        }
        u.cache = { version, world: deepFreeze(world), players: cache.players };
      }
      return;
    }
    for (const d of done) d.error === undefined ? d.p.resolve(d.commit!) : d.p.reject(d.error);
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
        await this.#io.replace(unit, u, intent.files);
        replayed = true;
      }
    }
    await this.#io.intentFile(unit, u).truncate(0);
    return replayed;
  }
}
