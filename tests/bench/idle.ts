/**
 * Idle streams' memory, measured the same way for the server and the relay
 * floor: a full GC in the child after each step of opened streams, then the
 * RSS of its whole process tree and its V8 heap; per-stream figures at 1,000
 * and at the full count.
 *
 * @module
 */
import { type Figure, valueFigure } from "./figures.ts";
import { type Child, memoryAfterGc } from "./procs.ts";
import { sleep, slope } from "./stats.ts";

/** Memory of a child after a full GC with `n` idle streams open. */
export interface IdlePoint {
  streams: number;
  /** RSS of the child's process tree (bytes). */
  rss: number;
  /** The child's V8 heap in use (bytes). */
  heap: number;
}

/**
 * Memory of a child per idle stream while `open(k)` adds streams in steps:
 * after each step (and before the first) a full GC in the child, then its
 * process tree's RSS and its heap. Per stream at N = (point N − baseline) / N;
 * `slope` is the least-squares RSS growth per stream over all points.
 *
 * @example
 * ```ts
 * const r = await idleMemory(server, [1000, 1000], (k) => watchers.add(port, signer, k));
 * ```
 */
export async function idleMemory(
  child: Child,
  steps: number[],
  open: (k: number) => Promise<void>,
  settleMs = 500,
): Promise<{ points: IdlePoint[]; slope: number }> {
  const read = async (streams: number): Promise<IdlePoint> => {
    await sleep(settleMs);
    const m = await memoryAfterGc(child);
    return { streams, rss: m.rssTree, heap: m.heapUsed };
  };
  const points = [await read(0)];
  let total = 0;
  for (const k of steps) {
    await open(k);
    total += k;
    points.push(await read(total));
  }
  return {
    points,
    slope: slope(points.map((p) => p.streams), points.map((p) => p.rss)),
  };
}

/**
 * RSS and heap per stream at `n` streams (KiB), from {@linkcode idleMemory}'s points.
 *
 * @example
 * ```ts
 * const at = perStreamAt(r.points, 10_000); // { rssKib, heapKib }
 * ```
 */
export function perStreamAt(
  points: IdlePoint[],
  n: number,
): { rssKib: number; heapKib: number } | undefined {
  const base = points[0];
  const at = points.find((p) => p.streams === n);
  if (!base || !at || n === 0) return undefined;
  return { rssKib: (at.rss - base.rss) / n / 1024, heapKib: (at.heap - base.heap) / n / 1024 };
}

/**
 * The figures of an idle-memory run: `<prefix>.rss.<n>` and `<prefix>.heap.<n>`
 * (KiB per stream) at 1,000 and at the full count, each compared with the
 * floor's figure of the same name under `floorPrefix`, and `<prefix>.rss`,
 * the slope over every step.
 *
 * @example
 * ```ts
 * figures.push(...idleFigures("connections", "connections", "server", r, {}, "floor.relay"));
 * ```
 */
export function idleFigures(
  prefix: string,
  group: string,
  who: string,
  r: { points: IdlePoint[]; slope: number },
  conditions: Record<string, unknown>,
  floorPrefix?: string,
): Figure[] {
  const held = r.points[r.points.length - 1]?.streams ?? 0;
  const cond = {
    ...conditions,
    measured: "after a full GC in the process; RSS of its whole process tree",
    points_kib: r.points.map((
      p,
    ) => [p.streams, Math.round(p.rss / 1024), Math.round(p.heap / 1024)]),
  };
  const floor = (id: string) => floorPrefix ? { floor: `${floorPrefix}.${id}` } : {};
  const out: Figure[] = [
    valueFigure(
      `${prefix}.rss`,
      group,
      `${who}: RSS per idle stream, slope to ${held}`,
      "KiB",
      r.slope / 1024,
      cond,
      floor("rss"),
    ),
  ];
  for (const n of [...new Set([1000, held])]) {
    const at = perStreamAt(r.points, n);
    if (!at) continue;
    out.push(
      valueFigure(
        `${prefix}.rss.${n}`,
        group,
        `${who}: RSS per idle stream at ${n}`,
        "KiB",
        at.rssKib,
        cond,
        floor(`rss.${n}`),
      ),
      valueFigure(
        `${prefix}.heap.${n}`,
        group,
        `${who}: heap per idle stream at ${n}`,
        "KiB",
        at.heapKib,
        cond,
        floor(`heap.${n}`),
      ),
    );
  }
  return out;
}
