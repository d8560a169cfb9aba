/**
 * File primitives of the state store: whole-file reads and writes, the
 * version peek of the cache check, directory fsync, and the frozen documents
 * the store hands out.
 *
 * Small reads, writes, opens, renames and stats are synchronous on purpose:
 * on a local disk they take a few microseconds, while each asynchronous file
 * operation costs a thread-pool round trip (~35-50 µs here). Only what can
 * block for long (fsync, waiting for a lock) is asynchronous.
 *
 * @module
 */
import { AppError } from "../../shared/errors.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/**
 * The directory part of a path.
 *
 * @example
 * ```ts
 * dirOf("/a/b/c.json"); // "/a/b"
 * ```
 */
export const dirOf = (path: string): string => path.slice(0, path.lastIndexOf("/"));

/**
 * A file's text, or undefined when it does not exist.
 *
 * @example
 * ```ts
 * const text = readTextOrUndefined(`${dir}/.intent`) ?? "";
 * ```
 */
export function readTextOrUndefined(path: string): string | undefined {
  try {
    return Deno.readTextFileSync(path);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return undefined;
    throw e;
  }
}

/**
 * A JSON file as an object, or null when the file does not exist. A file that
 * does not parse is an `AppError` `state_corrupt` (never silently reset).
 *
 * @example
 * ```ts
 * const doc = readJson(`${dir}/world.json`);
 * ```
 */
export function readJson(path: string): Record<string, unknown> | null {
  const text = readTextOrUndefined(path);
  if (text === undefined) return null;
  try {
    return JSON.parse(text);
  } catch {
    throw new AppError("state_corrupt", `state file ${path} does not parse`, 500);
  }
}

const VERSION_PREFIX = /^\{"version":(\d{1,15})[,}]/;

/**
 * The version at the start of a `world.json` (`{"version":n,...`, as the store
 * writes it) from its first bytes, without reading or parsing the rest: 0 when
 * the file does not exist, NaN when it does not start that way.
 *
 * @example
 * ```ts
 * if (peekVersion(`${dir}/world.json`) === cached.version) useCache();
 * ```
 */
export function peekVersion(path: string): number {
  let file: Deno.FsFile;
  try {
    file = Deno.openSync(path, { read: true });
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return 0;
    throw e;
  }
  const buf = new Uint8Array(32);
  let n: number | null;
  try {
    n = file.readSync(buf);
  } finally {
    file.close();
  }
  const m = VERSION_PREFIX.exec(decoder.decode(buf.subarray(0, n ?? 0)));
  return m ? Number(m[1]) : NaN;
}

/**
 * Writes all of `bytes` at the file's current position.
 *
 * @example
 * ```ts
 * writeAllSync(file, new TextEncoder().encode(text));
 * ```
 */
export function writeAllSync(file: Deno.FsFile, bytes: Uint8Array): void {
  let off = 0;
  while (off < bytes.length) off += file.writeSync(bytes.subarray(off));
}

/**
 * The whole content of an open file, read from its start.
 *
 * @example
 * ```ts
 * const text = readAllSync(intentFile);
 * ```
 */
export function readAllSync(file: Deno.FsFile): string {
  const size = file.statSync().size;
  const buf = new Uint8Array(size);
  file.seekSync(0, Deno.SeekMode.Start);
  let off = 0;
  while (off < size) {
    const n = file.readSync(buf.subarray(off));
    if (n === null || n === 0) break;
    off += n;
  }
  return decoder.decode(buf.subarray(0, off));
}

/**
 * Creates (or truncates) `path` and writes `text` to it, creating its
 * directory if missing. The caller fsyncs and closes the returned file.
 *
 * @example
 * ```ts
 * const file = writeNew(`${path}.tmp`, text);
 * ```
 */
export function writeNew(path: string, text: string): Deno.FsFile {
  const opts = { write: true, create: true, truncate: true };
  let file: Deno.FsFile;
  try {
    file = Deno.openSync(path, opts);
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound)) throw e;
    Deno.mkdirSync(dirOf(path), { recursive: true });
    file = Deno.openSync(path, opts);
  }
  try {
    writeAllSync(file, encoder.encode(text));
  } catch (e) {
    file.close();
    throw e;
  }
  return file;
}

/**
 * fsyncs a directory so renames and new entries in it are durable.
 *
 * @example
 * ```ts
 * await syncDir("/state/experiences/wylding-woods", true);
 * ```
 */
export async function syncDir(dir: string, fsync: boolean): Promise<void> {
  if (!fsync) return;
  const d = Deno.openSync(dir, { read: true });
  try {
    await d.sync();
  } finally {
    d.close();
  }
}

/**
 * Deep-freezes a JSON document, so a cached copy cannot be changed by
 * accident (a write throws instead of silently corrupting the cache).
 *
 * @example
 * ```ts
 * const world = deepFreeze(JSON.parse(text));
 * ```
 */
export function deepFreeze<T>(value: T): T {
  if (typeof value === "object" && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value)) deepFreeze(v);
  }
  return value;
}

/**
 * Like `Promise.all`, but waits for every operation before throwing the
 * first failure (no file operation may still run once the lock is released).
 *
 * @example
 * ```ts
 * await settleAll(dirs.map((d) => syncDir(d, true)));
 * ```
 */
export async function settleAll(ops: Promise<void>[]): Promise<void> {
  const failed = (await Promise.allSettled(ops)).find((r) => r.status === "rejected");
  if (failed) throw (failed as PromiseRejectedResult).reason;
}

/**
 * Whether the open `file` is still the file at `path` (same inode and
 * device); false when nothing is at `path`.
 *
 * @example
 * ```ts
 * if (!sameFile(unit.lock, openLock)) reopen(); // the unit was deleted by hand
 * ```
 */
export function sameFile(path: string, file: Deno.FsFile): boolean {
  try {
    const onDisk = Deno.statSync(path);
    const open = file.statSync();
    return onDisk.ino === open.ino && onDisk.dev === open.dev;
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return false;
    throw e;
  }
}

/**
 * Creates `dir` with its missing parents and fsyncs every parent down from
 * `root`, so the new entries survive a power loss.
 *
 * @example
 * ```ts
 * await createDirDurably("/state/experiences/x/players/alice", "/state", true);
 * ```
 */
export async function createDirDurably(dir: string, root: string, fsync: boolean): Promise<void> {
  await Deno.mkdir(dir, { recursive: true });
  const parents: string[] = [];
  for (let d = dirOf(dir); d.length >= root.length && d !== ""; d = dirOf(d)) parents.push(d);
  await settleAll(parents.map((d) => syncDir(d, fsync)));
}
