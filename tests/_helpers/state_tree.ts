/**
 * Fingerprints of a state directory: every file's content by relative path,
 * for "bad input changed nothing" comparisons.
 *
 * @module
 */
import { eventually } from "./eventually.ts";
import { ACKED_FILE } from "../../kb/state/ack_marks.ts";

/**
 * Every file under `dir` (relative path -> content; directories as `path/`
 * -> ""). A missing `dir` is an empty tree. A unit's `.acked` mark is left
 * out: it is the publisher's progress (written lazily, up to 200 ms after
 * JetStream acknowledged an earlier action), not state a request changes.
 *
 * @example
 * ```ts
 * assert.deepEqual(await tree(stateDir), before);
 * ```
 */
export async function tree(dir: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  async function walk(d: string, rel: string) {
    let entries: Deno.DirEntry[];
    try {
      entries = await Array.fromAsync(Deno.readDir(d));
    } catch (e) {
      if (e instanceof Deno.errors.NotFound) return;
      throw e;
    }
    for (const e of entries) {
      if (e.name === ACKED_FILE) continue;
      const r = rel ? `${rel}/${e.name}` : e.name;
      if (e.isDirectory) {
        out[`${r}/`] = "";
        await walk(`${d}/${e.name}`, r);
      } else out[r] = await Deno.readTextFile(`${d}/${e.name}`);
    }
  }
  await walk(dir, "");
  return out;
}

/**
 * {@linkcode tree} once every commit has finished: an action is answered
 * when it is durable, and its `.intent` is emptied just after.
 *
 * @example
 * ```ts
 * const before = await settledTree(stateDir);
 * ```
 */
export function settledTree(dir: string): Promise<Record<string, string>> {
  return eventually(async () => {
    const t = await tree(dir);
    return Object.entries(t).every(([k, v]) => !k.endsWith(".intent") || v === "") && t;
  }, { timeoutMs: 2_000, what: `the commits under ${dir} to finish` });
}
