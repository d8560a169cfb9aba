/**
 * A small deterministic PRNG (mulberry32): random tests print their seed,
 * and a failure replays from it.
 *
 * @module
 */

/**
 * A generator of numbers in [0, 1) from `seed`.
 *
 * @example
 * ```ts
 * const random = rng(Number(Deno.env.get("CRASH_SEED") ?? 42));
 * const pick = <T>(xs: T[]) => xs[Math.floor(random() * xs.length)]!;
 * ```
 */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6D2B79F5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
