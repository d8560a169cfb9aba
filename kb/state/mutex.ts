/**
 * The in-process half of a unit's locking: writers and readers of one unit
 * in this process queue here in arrival order before they take the flock.
 *
 * @module
 */

/**
 * Runs callbacks one at a time per key, in arrival order.
 *
 * @example
 * ```ts
 * const mutex = new KeyedMutex();
 * await mutex.run("/state/x/.lock", async () => { ... });
 * ```
 */
export class KeyedMutex {
  #tails = new Map<string, Promise<void>>();

  /** Runs `fn` once every earlier caller with the same key has finished. */
  async run<T>(key: string, fn: () => Promise<T>): Promise<T> {
    const prev = this.#tails.get(key) ?? Promise.resolve();
    let release!: () => void;
    const mine = new Promise<void>((r) => release = r);
    const tail = prev.then(() => mine);
    this.#tails.set(key, tail);
    await prev;
    try {
      return await fn();
    } finally {
      release();
      if (this.#tails.get(key) === tail) this.#tails.delete(key);
    }
  }
}
