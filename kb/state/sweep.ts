/**
 * Finding units of the files backend that hold unacknowledged events, for
 * the start-up sweep (`StateStore.sweep`): every unit directory whose
 * `.intent` is not empty (a writer died mid-commit) or whose `world.json`
 * outbox is not empty. The outbox comes right after the version in
 * `world.json`, so an empty one shows in its first bytes and most units
 * cost one small read.
 *
 * @module
 */

const EMPTY_OUTBOX = /^\{"version":\d{1,15},(?:"outbox":\[\],)?"world":/;

/** Whether a unit directory may hold unacknowledged events (or a pending intent). */
export function mayHoldEvents(dir: string): boolean {
  try {
    if ((Deno.statSync(`${dir}/.intent`).size ?? 0) > 0) return true;
  } catch { /* no intent file */ }
  let head: string;
  try {
    const file = Deno.openSync(`${dir}/world.json`, { read: true });
    try {
      const buf = new Uint8Array(64);
      const n = file.readSync(buf) ?? 0;
      head = new TextDecoder().decode(buf.subarray(0, n));
    } finally {
      file.close();
    }
  } catch {
    return false; // no world.json: nothing was ever committed here
  }
  return !EMPTY_OUTBOX.test(head);
}

/**
 * Calls `visit` for every unit directory under `stateDir` that may hold
 * unacknowledged events (shared experiences and isolated players' worlds),
 * a few at a time. Resolves with how many were visited.
 *
 * @example
 * ```ts
 * const n = await sweepUnits("./.state", (dir) => store.openAndHandOver(dir));
 * ```
 */
export async function sweepUnits(
  stateDir: string,
  visit: (dir: string) => Promise<void>,
): Promise<number> {
  const root = `${stateDir}/experiences`;
  const dirs: string[] = [];
  for (const exp of listDirs(root)) {
    const dir = `${root}/${exp}`;
    if (mayHoldEvents(dir)) dirs.push(dir);
    for (const player of listDirs(`${dir}/players`)) {
      const pdir = `${dir}/players/${player}`;
      if (mayHoldEvents(pdir)) dirs.push(pdir);
    }
  }
  let next = 0;
  const worker = async () => {
    while (next < dirs.length) await visit(dirs[next++]!);
  };
  await Promise.all(Array.from({ length: Math.min(4, dirs.length) }, worker));
  return dirs.length;
}

function listDirs(dir: string): string[] {
  try {
    return [...Deno.readDirSync(dir)].filter((e) => e.isDirectory).map((e) => e.name).sort();
  } catch {
    return [];
  }
}
