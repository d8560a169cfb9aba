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
 * 2. replay a committed `.intent` left by a writer that died;
 * 3. take everything queued by then as one batch (group commit): each action
 *    decides on the state left by the one before it, and its operations are
 *    applied with `applyOperations`; each changing action gets its own version;
 * 4. write a write-ahead intent holding the full new content of every file
 *    the batch touches, fsync it (the commit point), then replace each file
 *    by temp file + fsync + rename, fsync the directories, empty the intent.
 *
 * Readers take a shared lock and read a committed intent in place of the
 * files it would replace, so a read never writes and never sees half a commit.
 *
 * @module
 */
import type { StateOperation } from "../shared/schema.ts";
import { metrics } from "../shared/metrics.ts";
import { log } from "../shared/log.ts";
import { applyOperations } from "../shared/apply.ts";
import { fileNameFor } from "../shared/subjects.ts";
import {
  dirOf,
  encodeIntent,
  exists,
  type Intent,
  KeyedMutex,
  parseIntent,
  readJson,
  syncDir,
  writeSynced,
} from "./durable.ts";

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

/** What a unit holds for one user; `null` where a file does not exist yet. */
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
}

interface Pending {
  unit: Unit;
  userId: string;
  decide: (state: UnitState) => Plan<unknown>;
  onCommit?: (commit: Commit<unknown>) => void;
  resolve: (c: Commit<unknown>) => void;
  reject: (e: unknown) => void;
}

interface PlayerDoc {
  userId: string;
  player: Record<string, unknown> | null;
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
  readonly stateDir: string;
  readonly #fsync: boolean;
  readonly #maxBatch: number;
  readonly #mutex = new KeyedMutex();
  readonly #queues = new Map<string, Pending[]>();

  constructor(stateDir: string, opts: StateStoreOptions = {}) {
    this.stateDir = stateDir.replace(/\/+$/, "") || "/";
    this.#fsync = opts.fsync ?? true;
    this.#maxBatch = opts.maxBatch ?? 64;
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
      let lockFile: Deno.FsFile;
      try {
        lockFile = await Deno.open(unit.lock, { read: true });
      } catch (e) {
        if (e instanceof Deno.errors.NotFound) return { version: 0, world: null, player: null };
        throw e;
      }
      try {
        await lockFile.lock(false);
        const w = await readJson(`${unit.dir}/${unit.world}`);
        const p = await readJson(`${unit.dir}/${unit.player}`);
        const state: UnitState = {
          version: typeof w?.version === "number" ? w.version : 0,
          world: (w?.world as Record<string, unknown> | undefined) ?? null,
          player: (p?.player as Record<string, unknown> | undefined) ?? null,
        };
        const intent = await parseIntent(await this.#intentText(unit));
        if (!intent || intent.version < state.version) return state;
        const iw = intent.files[unit.world];
        const ip = intent.files[unit.player];
        return {
          version: intent.version,
          world: iw ? JSON.parse(iw).world : state.world,
          player: ip ? JSON.parse(ip).player : state.player,
        };
      } finally {
        lockFile.close();
      }
    });
  }

  /**
   * Runs `decide` on the current state under the unit's locks and commits its
   * operations atomically (possibly together with other queued actions of
   * the same unit). `decide` must be pure: it may run twice. `onCommit` runs
   * after the commit is durable and before the locks are released, in
   * version order (events published there leave in order).
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
      void this.#drain(unit.lock);
    });
  }

  /**
   * Replays a committed intent a dead writer left behind (start-up checks and
   * tests; every transaction also does this first). True when one was replayed.
   */
  recover(unit: Unit): Promise<boolean> {
    return this.#mutex.run(unit.lock, async () => {
      if (!(await exists(unit.lock))) return false;
      const lockFile = await Deno.open(unit.lock, { read: true, write: true });
      try {
        await lockFile.lock(true);
        return await this.#recoverLocked(unit);
      } finally {
        lockFile.close();
      }
    });
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
    let lockFile: Deno.FsFile | undefined;
    try {
      const unit = queue[0]!.unit;
      if (!(await exists(unit.lock))) {
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
        await Deno.mkdir(unit.dir, { recursive: true });
      }
      lockFile = await Deno.open(unit.lock, { read: true, write: true, create: true });
      await lockFile.lock(true);
      await this.#recoverLocked(unit);
      batch = queue.splice(0, this.#maxBatch);
      await this.#commitBatch(unit, batch);
    } catch (e) {
      // Failing before the batch was cut (no lock, unreadable state) fails
      // everything waiting: retrying in a loop would fail the same way.
      for (const p of batch.length ? batch : queue.splice(0)) p.reject(e);
    } finally {
      lockFile?.close();
    }
  }

  async #commitBatch(unit: Unit, batch: Pending[]): Promise<void> {
    const doc = await readJson(`${unit.dir}/${unit.world}`);
    let version = typeof doc?.version === "number" ? doc.version : 0;
    let world = (doc?.world as Record<string, unknown> | undefined) ?? null;
    const players = new Map<string, PlayerDoc>();
    const done: Array<{ p: Pending; commit?: Commit<unknown>; error?: unknown }> = [];
    for (const p of batch) {
      try {
        let pd = players.get(p.unit.player);
        if (!pd) {
          const raw = await readJson(`${unit.dir}/${p.unit.player}`);
          pd = {
            userId: p.userId,
            player: (raw?.player as Record<string, unknown>) ?? null,
            dirty: false,
          };
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
      const started = performance.now();
      await this.#commit(unit, { version, files });
      const timestamp = performance.timeOrigin + performance.now();
      metrics.kbCommitDuration.observe({ state_model: unit.model }, performance.now() - started);
      metrics.kbCommits.inc(
        { experience: unit.experience, state_model: unit.model },
        changed.length,
      );
      for (const d of changed) {
        d.commit!.timestamp = timestamp;
        try {
          d.p.onCommit?.(d.commit!);
        } catch { /* a listener's failure does not undo a durable commit */ }
      }
    }
    for (const d of done) d.error === undefined ? d.p.resolve(d.commit!) : d.p.reject(d.error);
  }

  /** The intent text; "" when there is none (missing, or emptied after its commit finished). */
  async #intentText(unit: Unit): Promise<string> {
    try {
      return await Deno.readTextFile(unit.intent);
    } catch (e) {
      if (e instanceof Deno.errors.NotFound) return "";
      throw e;
    }
  }

  async #recoverLocked(unit: Unit): Promise<boolean> {
    const text = await this.#intentText(unit);
    if (text === "") return false;
    const intent = await parseIntent(text);
    let replayed = false;
    if (intent) {
      const current = await readJson(`${unit.dir}/${unit.world}`).catch(() => null);
      const version = typeof current?.version === "number" ? current.version : 0;
      if (intent.version >= version) {
        await this.#replace(unit, intent.files);
        replayed = true;
      }
    }
    await Deno.truncate(unit.intent, 0);
    return replayed;
  }

  async #commit(unit: Unit, intent: Intent): Promise<void> {
    // The intent file is emptied, not removed, after each commit, so its
    // directory entry only needs an fsync the first time.
    const fresh = !(await exists(unit.intent));
    await writeSynced(unit.intent, await encodeIntent(intent), this.#fsync);
    if (fresh) await syncDir(unit.dir, this.#fsync);
    // The synced intent is the commit point: from here on the action has
    // happened. If replacing the files fails (disk full), the intent stays
    // and is replayed under the lock by the next reader or writer, so the
    // action is reported as committed rather than failed.
    try {
      await this.#replace(unit, intent.files);
      // Not fsynced: if this is lost, the same intent is replayed, which is a no-op.
      await Deno.truncate(unit.intent, 0);
    } catch (e) {
      log("error", "state files not replaced after a durable intent; it will be replayed", {
        dir: unit.dir,
        version: intent.version,
        error: String(e),
      });
    }
  }

  async #replace(unit: Unit, files: Record<string, string>): Promise<void> {
    const dirs = new Set<string>();
    await Promise.all(
      Object.entries(files).map(async ([rel, text]) => {
        const path = `${unit.dir}/${rel}`;
        const dir = dirOf(path);
        if (dir !== unit.dir) await Deno.mkdir(dir, { recursive: true });
        // One writer per unit at a time (we hold the lock), so a fixed temp name is safe.
        await writeSynced(`${path}.tmp`, text, this.#fsync);
        await Deno.rename(`${path}.tmp`, path);
        dirs.add(dir);
      }),
    );
    await Promise.all([...dirs].map((dir) => syncDir(dir, this.#fsync)));
  }
}
