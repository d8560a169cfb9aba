/**
 * Summary figures of measured values (latencies) for test output.
 *
 * @module
 */

/**
 * Median, p99 (nearest rank) and maximum.
 *
 * @example
 * ```ts
 * const { p50, p99, max } = percentiles([1, 2, 3]);
 * ```
 */
export function percentiles(values: number[]): { p50: number; p99: number; max: number } {
  const s = [...values].sort((a, b) => a - b);
  const at = (q: number) => s[Math.min(s.length - 1, Math.ceil(q * s.length) - 1)] ?? NaN;
  return { p50: at(0.5), p99: at(0.99), max: s[s.length - 1] ?? NaN };
}
