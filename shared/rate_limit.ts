/**
 * A keyed token bucket: `rate` tokens per second up to `burst`, one bucket
 * per key (user id), idle buckets forgotten so memory stays bounded.
 *
 * @module
 */

/** Result of {@linkcode TokenBucket.take}. */
export type TakeResult = { ok: true } | { ok: false; retryAfterMs: number };

/**
 * Per-key token buckets.
 *
 * @example
 * ```ts
 * const limiter = new TokenBucket({ rate: 10, burst: 20 });
 * const r = limiter.take(userId);
 * if (!r.ok) throw new AppError("rate_limited", "slow down", 429);
 * ```
 */
export class TokenBucket {
  readonly rate: number;
  readonly burst: number;
  readonly #maxKeys: number;
  #buckets = new Map<string, { tokens: number; at: number }>();
  readonly #now: () => number;

  constructor(opts: { rate: number; burst: number; maxKeys?: number; now?: () => number }) {
    this.rate = opts.rate;
    this.burst = opts.burst;
    this.#maxKeys = opts.maxKeys ?? 100_000;
    this.#now = opts.now ?? (() => performance.now());
  }

  /** Takes one token for `key`, or says how long until one is available. */
  take(key: string): TakeResult {
    if (this.rate <= 0) return { ok: true };
    const now = this.#now();
    const b = this.#buckets.get(key);
    let tokens = this.burst;
    if (b) {
      tokens = Math.min(this.burst, b.tokens + ((now - b.at) / 1000) * this.rate);
      this.#buckets.delete(key); // re-insert keeps the map in least-recently-used order
    } else if (this.#buckets.size >= this.#maxKeys) {
      // A full bucket is what a forgotten key would get back anyway.
      const oldest = this.#buckets.keys().next().value;
      if (oldest !== undefined) this.#buckets.delete(oldest);
    }
    if (tokens < 1) {
      this.#buckets.set(key, { tokens, at: now });
      return { ok: false, retryAfterMs: Math.ceil(((1 - tokens) / this.rate) * 1000) };
    }
    this.#buckets.set(key, { tokens: tokens - 1, at: now });
    return { ok: true };
  }
}
