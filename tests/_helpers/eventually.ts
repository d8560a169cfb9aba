/**
 * Waiting in tests: {@linkcode eventually} polls until a condition holds (a
 * socket close reaching nats-server, a process writing a log line, a stream
 * delivering its events); {@linkcode delay} is only for waits that are the
 * point of a test (how long a load phase runs, when a crash strikes).
 * Timers of our own code are never slept for: they run on an injected
 * `ManualClock` (`shared/clock.ts`).
 *
 * @module
 */

/** Options of {@linkcode eventually}. */
export interface EventuallyOptions {
  /** Give up after this long (ms, default 5,000). */
  timeoutMs?: number;
  /** What is awaited, for the timeout message; a function is called at timeout. */
  what?: string | (() => string);
  /** Pause between attempts (ms, default 10). */
  intervalMs?: number;
}

/**
 * Calls `fn` until it returns a truthy value (which is returned) or the
 * timeout passes; an attempt that throws counts as "not yet", and the last
 * error is the timeout's `cause`.
 *
 * @example
 * ```ts
 * await eventually(() => bus.status() === "connected", { what: "the bus reconnected" });
 * const leader = await eventually(() => cluster.streamLeader("KIT"), { timeoutMs: 10_000 });
 * ```
 */
export async function eventually<T>(
  fn: () => T | Promise<T>,
  opts: EventuallyOptions = {},
): Promise<Exclude<T, false | 0 | "" | null | undefined>> {
  const timeoutMs = opts.timeoutMs ?? 5_000;
  const deadline = performance.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await fn();
      if (value) return value as Exclude<T, false | 0 | "" | null | undefined>;
      lastError = undefined;
    } catch (e) {
      lastError = e;
    }
    if (performance.now() >= deadline) {
      const what = typeof opts.what === "function" ? opts.what() : opts.what ?? "a condition";
      const why = lastError === undefined ? "" : ` (last attempt: ${lastError})`;
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${why}`, {
        cause: lastError,
      });
    }
    await delay(opts.intervalMs ?? 10);
  }
}

/**
 * Resolves after `ms`. Only for waits that are the point of a test (let a
 * load run for a while, kill a child at a random instant); to wait for
 * something to happen use {@linkcode eventually}.
 *
 * @example
 * ```ts
 * await delay(20 + random() * 300); // then SIGKILL the child mid-play
 * ```
 */
export function delay(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
