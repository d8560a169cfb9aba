/**
 * Time as a dependency: components that wait (backoffs, TTLs, refill rates)
 * take a {@linkcode Clock}, so tests move time forward instead of sleeping.
 *
 * @module
 */

/** A pending timer of a {@linkcode Clock} (opaque to callers). */
export type TimerHandle = ReturnType<typeof setTimeout> | number;

/** What a component needs of time. */
export interface Clock {
  /** Milliseconds on a monotonic scale (like `performance.now()`). */
  now(): number;
  /** Calls `fn` after `ms`; returns a handle for {@linkcode Clock.clearTimeout}. */
  setTimeout(fn: () => void, ms: number): TimerHandle;
  clearTimeout(handle: TimerHandle | undefined): void;
}

/**
 * The real clock.
 *
 * @example
 * ```ts
 * const started = systemClock.now();
 * const t = systemClock.setTimeout(() => console.log("later"), 100);
 * systemClock.clearTimeout(t);
 * ```
 */
export const systemClock: Clock = {
  now: () => performance.now(),
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (h) => clearTimeout(h as ReturnType<typeof setTimeout>),
};

/**
 * A clock that moves only when told: timers due by the new time run in
 * order inside {@linkcode ManualClock.advance}.
 *
 * @example
 * ```ts
 * const clock = new ManualClock();
 * clock.setTimeout(() => console.log("fired"), 1000);
 * clock.advance(1000); // "fired"
 * ```
 */
export class ManualClock implements Clock {
  #now: number;
  #next = 1;
  readonly #timers = new Map<number, { at: number; fn: () => void }>();

  constructor(start = 0) {
    this.#now = start;
  }

  now(): number {
    return this.#now;
  }

  setTimeout(fn: () => void, ms: number): TimerHandle {
    const id = this.#next++;
    this.#timers.set(id, { at: this.#now + Math.max(0, ms), fn });
    return id;
  }

  clearTimeout(handle: TimerHandle | undefined): void {
    if (typeof handle === "number") this.#timers.delete(handle);
  }

  /** Number of timers not yet run. */
  get pending(): number {
    return this.#timers.size;
  }

  /** Moves time forward by `ms`, running every timer that falls due, earliest first. */
  advance(ms: number): void {
    const until = this.#now + ms;
    for (;;) {
      let due: [number, { at: number; fn: () => void }] | undefined;
      for (const entry of this.#timers) {
        if (entry[1].at <= until && (!due || entry[1].at < due[1].at)) due = entry;
      }
      if (!due) break;
      this.#timers.delete(due[0]);
      this.#now = Math.max(this.#now, due[1].at);
      due[1].fn();
    }
    this.#now = until;
  }
}
