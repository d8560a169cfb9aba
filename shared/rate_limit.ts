/**
 * A keyed token bucket: `rate` tokens per second up to `burst`, one bucket
 * per key (user id), idle buckets forgotten so memory stays bounded.
 *
 * @module
 */
import { type Clock, systemClock } from "./clock.ts";
import { LruMap } from "./lru.ts";

/** Result of {@linkcode TokenBucket.take}. */
export type TakeResult = { ok: true } | { ok: false; retryAfterMs: number };

/**
 * Per-key token buckets. Time comes from `clock` (default: the system's),
 * so a test refills a bucket with `ManualClock.advance` instead of sleeping.
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
  /** Least recently used first; a forgotten key comes back with a full bucket. */
  readonly #buckets: LruMap<string, { tokens: number; at: number }>;
  readonly #clock: Pick<Clock, "now">;

  constructor(opts: { rate: number; burst: number; maxKeys?: number; clock?: Pick<Clock, "now"> }) {
    this.rate = opts.rate;
    this.burst = opts.burst;
    this.#buckets = new LruMap({ max: opts.maxKeys ?? 100_000 });
    this.#clock = opts.clock ?? systemClock;
  }

  /** Takes one token for `key`, or says how long until one is available. */
  take(key: string): TakeResult {
    if (this.rate <= 0) return { ok: true };
    const now = this.#clock.now();
    let b = this.#buckets.get(key); // now the most recently used
    if (b) {
      b.tokens = Math.min(this.burst, b.tokens + ((now - b.at) / 1000) * this.rate);
      b.at = now;
    } else {
      b = { tokens: this.burst, at: now };
      this.#buckets.set(key, b);
    }
    if (b.tokens < 1) {
      return { ok: false, retryAfterMs: Math.ceil(((1 - b.tokens) / this.rate) * 1000) };
    }
    b.tokens -= 1;
    return { ok: true };
  }
}
