/**
 * File primitives of the state store: a keyed in-process mutex, synced
 * writes, directory fsync, and the write-ahead intent format.
 *
 * @module
 */
import { AppError } from "../shared/errors.ts";

const encoder = new TextEncoder();

/**
 * Runs callbacks one at a time per key, in arrival order.
 *
 * @example
 * ```ts
 * const mutex = new KeyedMutex();
 * await mutex.run("/state/x/.lock", async () => { ... });
 * ```
 */
export class KeyedMutex {
  #tails = new Map<string, Promise<void>>();

  /** Runs `fn` once every earlier caller with the same key has finished. */
  async run<T>(key: string, fn: () => Promise<T>): Promise<T> {
    const prev = this.#tails.get(key) ?? Promise.resolve();
    let release!: () => void;
    const mine = new Promise<void>((r) => release = r);
    const tail = prev.then(() => mine);
    this.#tails.set(key, tail);
    await prev;
    try {
      return await fn();
    } finally {
      release();
      if (this.#tails.get(key) === tail) this.#tails.delete(key);
    }
  }
}

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
 * Whether a path exists (without following a final symlink).
 *
 * @example
 * ```ts
 * if (!(await exists(unit.lock))) return unchanged;
 * ```
 */
export async function exists(path: string): Promise<boolean> {
  try {
    await Deno.lstat(path);
    return true;
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return false;
    throw e;
  }
}

/**
 * A JSON file as an object, or null when the file does not exist. A file that
 * does not parse is an `AppError` `state_corrupt` (never silently reset).
 *
 * @example
 * ```ts
 * const doc = await readJson(`${dir}/world.json`);
 * ```
 */
export async function readJson(path: string): Promise<Record<string, unknown> | null> {
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return null;
    throw e;
  }
  try {
    return JSON.parse(text);
  } catch {
    throw new AppError("state_corrupt", `state file ${path} does not parse`, 500);
  }
}

/**
 * Writes a whole file (create or truncate) and optionally fsyncs it.
 *
 * @example
 * ```ts
 * await writeSynced(`${path}.tmp`, text, true);
 * ```
 */
export async function writeSynced(path: string, text: string, fsync: boolean): Promise<void> {
  const file = await Deno.open(path, { write: true, create: true, truncate: true });
  try {
    const bytes = encoder.encode(text);
    let off = 0;
    while (off < bytes.length) off += await file.write(bytes.subarray(off));
    if (fsync) await file.sync();
  } finally {
    file.close();
  }
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
  const d = await Deno.open(dir, { read: true });
  try {
    await d.sync();
  } finally {
    d.close();
  }
}

/** A write-ahead intent: the full new content of every file of one commit. */
export interface Intent {
  version: number;
  /** Path relative to the unit directory -> new content. */
  files: Record<string, string>;
}

/** Relative paths an intent may name: our own state files, nothing else. */
const SAFE_REL = /^(players\/)?[A-Za-z0-9_-]+\.json$/;

async function sha256(text: string): Promise<string> {
  const d = await crypto.subtle.digest("SHA-256", encoder.encode(text));
  return Array.from(new Uint8Array(d), (b) => b.toString(16).padStart(2, "0")).join("");
}

/**
 * Serialises an intent with a checksum, so a torn write is recognisable.
 *
 * @example
 * ```ts
 * await writeSynced(unit.intent, await encodeIntent({ version, files }), true);
 * ```
 */
export async function encodeIntent(intent: Intent): Promise<string> {
  const body = JSON.stringify(intent);
  return JSON.stringify({ body, sum: await sha256(body) });
}

/**
 * The intent in `text` if it is complete and names only state files;
 * undefined for "" (no intent) and for a torn or foreign one.
 *
 * @example
 * ```ts
 * const intent = await parseIntent(await Deno.readTextFile(unit.intent));
 * ```
 */
export async function parseIntent(text: string): Promise<Intent | undefined> {
  if (text === "") return undefined;
  try {
    const { body, sum } = JSON.parse(text) as { body: unknown; sum: unknown };
    if (typeof body !== "string" || sum !== await sha256(body)) return undefined;
    const intent = JSON.parse(body) as Intent;
    if (typeof intent.version !== "number") return undefined;
    if (Object.keys(intent.files).some((rel) => !SAFE_REL.test(rel))) return undefined;
    return intent;
  } catch {
    return undefined;
  }
}
