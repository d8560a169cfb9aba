/**
 * The durable multi-file commit of a unit and its replay, on the handles kept
 * open with the unit: intent and temp copies fsynced together (the commit
 * point), renames, directory fsyncs, intent emptied (`kb/STATE.md`, "Atomic
 * multi-file commit"). Locking, batching and caching are `store.ts`.
 *
 * @module
 */
import { log } from "../../shared/log.ts";
import {
  dirOf,
  readAllSync,
  readTextOrUndefined,
  settleAll,
  syncDir,
  writeAllSync,
  writeNew,
} from "./files.ts";
import { encodeIntent, type Intent } from "./intent.ts";
import type { Unit } from "./unit.ts";

/** The handles of one unit kept open between its critical sections. */
export interface UnitHandles {
  readonly lock: Deno.FsFile;
  /** Opened by the first writer or recovery; readers read by path. */
  intent?: Deno.FsFile;
  /** This process created `.intent`: its directory entry is synced with the first intent. */
  intentFresh: boolean;
  /** Directory -> handle, for fsync after renames. */
  readonly dirs: Map<string, Deno.FsFile>;
}

/** A temp copy of one file of a commit, written and not yet renamed in. */
export interface Temp {
  path: string;
  tmp: string;
  file: Deno.FsFile;
}

const encoder = new TextEncoder();

/**
 * Closes every handle of a unit (those already closed are skipped).
 *
 * @example
 * ```ts
 * closeHandles(openUnit);
 * ```
 */
export function closeHandles(u: UnitHandles): void {
  for (const f of [u.lock, u.intent, ...u.dirs.values()]) {
    try {
      f?.close();
    } catch { /* already closed */ }
  }
}

/**
 * File operations on units, with fsync on or off (benchmarks of the disk
 * floor turn it off; the server never does).
 *
 * @example
 * ```ts
 * const io = new UnitIo(true);
 * const { finish } = await io.commit(unit, openUnit, { version, files });
 * ```
 */
export class UnitIo {
  readonly #fsync: boolean;

  constructor(fsync: boolean) {
    this.#fsync = fsync;
  }

  /** The unit's intent file, opened (and created) on first use by a writer. */
  intentFile(unit: Unit, u: UnitHandles): Deno.FsFile {
    if (u.intent) return u.intent;
    try {
      u.intent = Deno.openSync(unit.intent, { read: true, write: true });
    } catch (e) {
      if (!(e instanceof Deno.errors.NotFound)) throw e;
      u.intent = Deno.openSync(unit.intent, { read: true, write: true, create: true });
      u.intentFresh = true;
    }
    return u.intent;
  }

  /** The intent's size; 0 when there is none (the cache check's "no commit pending"). */
  intentSize(unit: Unit, u: UnitHandles): number {
    if (u.intent) return u.intent.statSync().size;
    try {
      return Deno.statSync(unit.intent).size;
    } catch (e) {
      if (e instanceof Deno.errors.NotFound) return 0;
      throw e;
    }
  }

  /** The intent text; "" when there is none (missing, or emptied after its commit finished). */
  intentText(unit: Unit, u: UnitHandles): string {
    if (u.intent) return u.intent.statSync().size === 0 ? "" : readAllSync(u.intent);
    return readTextOrUndefined(unit.intent) ?? "";
  }

  /** fsyncs a file (unless fsync is off). */
  sync(file: Deno.FsFile): Promise<void> {
    return this.#fsync ? file.sync() : Promise.resolve();
  }

  /** fsyncs a directory through a handle kept open with the unit. */
  syncDir(u: UnitHandles, dir: string): Promise<void> {
    if (!this.#fsync) return Promise.resolve();
    let d = u.dirs.get(dir);
    if (!d) {
      d = Deno.openSync(dir, { read: true });
      u.dirs.set(dir, d);
    }
    return d.sync();
  }

  /** Writes `<file>.tmp` for every file (creating missing directories); the caller fsyncs and closes them. */
  writeTemps(unit: Unit, files: Record<string, string>): Temp[] {
    const temps: Temp[] = [];
    try {
      for (const [rel, text] of Object.entries(files)) {
        const path = `${unit.dir}/${rel}`;
        // One writer per unit at a time (we hold the lock), so a fixed temp name is safe.
        temps.push({ path, tmp: `${path}.tmp`, file: writeNew(`${path}.tmp`, text) });
      }
    } catch (e) {
      for (const t of temps) t.file.close();
      throw e;
    }
    return temps;
  }

  /** fsyncs the directories of renamed files. */
  async syncDirs(u: UnitHandles, temps: Temp[]): Promise<void> {
    const dirs = new Set(temps.map((t) => dirOf(t.path)));
    await settleAll([...dirs].map((d) => this.syncDir(u, d)));
  }

  /** Renames every temp file over its file; all have finished when this returns or throws. */
  async renameAll(temps: Temp[]): Promise<void> {
    await settleAll(temps.map((t) => Deno.rename(t.tmp, t.path)));
  }

  /**
   * Makes the intent durable (the commit point) together with the temp
   * copies of the files and renames those in. Returns `finish`, which makes
   * the renames durable and empties the intent; it resolves to false when
   * that failed and the intent stays to be replayed. Throws only when the
   * commit point was not reached (the intent is then withdrawn).
   */
  async commit(
    unit: Unit,
    u: UnitHandles,
    intent: Intent,
  ): Promise<{ finish: () => Promise<boolean> }> {
    const file = this.intentFile(unit, u);
    const fresh = u.intentFresh;
    // Round 1: the intent and the temp copies of the files are written, then
    // fsynced together. The temp files are not visible yet, so only the
    // intent's fsync matters for the commit: it is the commit point. The
    // intent file is empty here (checked or recovered under this lock).
    file.seekSync(0, Deno.SeekMode.Start);
    let temps: Temp[];
    try {
      writeAllSync(file, encoder.encode(encodeIntent(intent)));
      temps = this.writeTemps(unit, intent.files);
    } catch (e) {
      this.withdraw(file);
      throw e;
    }
    let synced: PromiseSettledResult<void>[];
    try {
      synced = await Promise.allSettled([
        this.sync(file),
        // The intent file is emptied, not removed, after each commit, so its
        // directory entry only needs an fsync the first time.
        fresh ? syncDir(unit.dir, this.#fsync) : Promise.resolve(),
        ...temps.map((t) => this.sync(t.file)),
      ]);
    } finally {
      for (const t of temps) t.file.close();
    }
    const notCommitted = synced.slice(0, 2).find((r) => r.status === "rejected");
    if (notCommitted) {
      // The intent may not be durable: withdraw it so the batch, reported as
      // failed, is not replayed either.
      this.withdraw(file);
      throw (notCommitted as PromiseRejectedResult).reason;
    }
    if (fresh) u.intentFresh = false;
    // The synced intent is the commit point: from here on the action has
    // happened. If replacing the files fails (disk full), the intent stays
    // and is replayed under the lock by the next reader or writer, so the
    // action is reported as committed rather than failed.
    const failed = (e: unknown) => {
      log("error", "state files not replaced after a durable intent; it will be replayed", {
        dir: unit.dir,
        version: intent.version,
        error: String(e),
      });
      return false;
    };
    try {
      const tempFailed = synced.slice(2).find((r) => r.status === "rejected");
      if (tempFailed) throw (tempFailed as PromiseRejectedResult).reason;
      // Each temp file is durable before it is renamed in. Renames (and the
      // truncate below) wait on the file system journal, so they run off the
      // main thread.
      await this.renameAll(temps);
    } catch (e) {
      return { finish: () => Promise.resolve(failed(e)) };
    }
    return {
      finish: async () => {
        try {
          // Round 2: the renames are durable once the directories are synced.
          await this.syncDirs(u, temps);
          // Not fsynced: if this is lost, the same intent is replayed, which is a no-op.
          await file.truncate(0);
          return true;
        } catch (e) {
          return failed(e);
        }
      },
    };
  }

  /** Empties an intent that did not reach its commit point, so it is never replayed. */
  withdraw(file: Deno.FsFile): void {
    try {
      file.truncateSync(0);
    } catch { /* the next writer discards it as torn or replays it */ }
  }

  /** Replaces files with their intent content, durably (recovery replays an intent so). */
  async replay(unit: Unit, u: UnitHandles, files: Record<string, string>): Promise<void> {
    const temps = this.writeTemps(unit, files);
    try {
      await settleAll(temps.map((t) => this.sync(t.file)));
    } finally {
      for (const t of temps) t.file.close();
    }
    await this.renameAll(temps);
    await this.syncDirs(u, temps);
  }
}
