/**
 * Summaries of latency samples: nearest-rank percentiles, rounded for the
 * record, and ratios to a floor.
 *
 * @module
 */

/** Median, p90, p99 and max of a sample, in the sample's unit (ms here). */
export interface Summary {
  n: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
  mean: number;
}

/** Rounds to 3 significant decimals (keeps sub-ms figures readable). */
export function round(x: number): number {
  if (!Number.isFinite(x)) return x;
  const a = Math.abs(x);
  const d = a >= 100 ? 1 : a >= 10 ? 2 : 3;
  return Math.round(x * 10 ** d) / 10 ** d;
}

/**
 * Nearest-rank percentile of a sorted array.
 *
 * @example
 * ```ts
 * percentile([1, 2, 3, 4], 0.5); // 2
 * ```
 */
export function percentile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]!;
}

/**
 * Summarises a sample (NaN values are dropped).
 *
 * @example
 * ```ts
 * summarize([1.2, 0.8, 3.1]).p99; // 3.1
 * ```
 */
export function summarize(values: readonly number[]): Summary {
  const s = values.filter((v) => Number.isFinite(v)).sort((a, b) => a - b);
  const mean = s.reduce((a, b) => a + b, 0) / (s.length || 1);
  return {
    n: s.length,
    p50: round(percentile(s, 0.5)),
    p90: round(percentile(s, 0.9)),
    p99: round(percentile(s, 0.99)),
    max: round(s[s.length - 1] ?? NaN),
    mean: round(mean),
  };
}

/** `value / floor`, rounded to one decimal; NaN when either is missing. */
export function ratio(value: number, floor: number): number {
  if (!Number.isFinite(value) || !Number.isFinite(floor) || floor <= 0) return NaN;
  return Math.round((value / floor) * 10) / 10;
}

/**
 * Least-squares slope of y over x (e.g. RSS bytes per open stream).
 *
 * @example
 * ```ts
 * slope([0, 1, 2], [10, 12, 14]); // 2
 * ```
 */
export function slope(xs: readonly number[], ys: readonly number[]): number {
  const n = xs.length;
  if (n < 2) return NaN;
  const mx = xs.reduce((a, b) => a + b, 0) / n;
  const my = ys.reduce((a, b) => a + b, 0) / n;
  let num = 0;
  let den = 0;
  for (let i = 0; i < n; i++) {
    num += (xs[i]! - mx) * (ys[i]! - my);
    den += (xs[i]! - mx) ** 2;
  }
  return den === 0 ? NaN : num / den;
}

/** Sleeps `ms`. */
export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Resolves when `cond()` is true (polled every `everyMs`), or false after `timeoutMs`. */
export async function waitUntil(
  cond: () => boolean,
  timeoutMs: number,
  everyMs = 2,
): Promise<boolean> {
  const deadline = performance.now() + timeoutMs;
  while (!cond()) {
    if (performance.now() > deadline) return false;
    await sleep(everyMs);
  }
  return true;
}
