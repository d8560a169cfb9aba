/**
 * Per-unit queues of actions for both state backends: the first action of
 * an idle unit starts its drain, later ones join the queue and go in the
 * next batch the drain takes, and `close()` can wait for every drain.
 *
 * @module
 */

/**
 * Queues by unit key, each drained by one loop at a time.
 *
 * @example
 * ```ts
 * const queues = new UnitQueues<Pending>();
 * queues.push(unit.key, item, async (queue) => {
 *   const batch = queue.splice(0, 64); // one batch: commit it, settle its items
 * });
 * await queues.settled(); // at close
 * ```
 */
export class UnitQueues<T> {
  readonly #queues = new Map<string, T[]>();
  readonly #draining = new Set<Promise<void>>();

  /**
   * Queues `item` under `key`. The first item of an idle key starts a drain
   * that calls `step` until the queue is empty; `step` takes what it
   * commits from the queue and settles those items itself (a rejection of
   * `step` is ignored: the items are its to reject). A push that joins a
   * running drain does not use its own `step`.
   */
  push(key: string, item: T, step: (queue: T[]) => Promise<void>): void {
    const queue = this.#queues.get(key);
    if (queue) {
      queue.push(item);
      return;
    }
    const fresh = [item];
    this.#queues.set(key, fresh);
    const drained = this.#drain(key, fresh, step);
    this.#draining.add(drained);
    drained.finally(() => this.#draining.delete(drained));
  }

  /** Resolves once every drain has finished (those started meanwhile too). */
  async settled(): Promise<void> {
    while (this.#draining.size > 0) await Promise.allSettled([...this.#draining]);
  }

  async #drain(key: string, queue: T[], step: (queue: T[]) => Promise<void>): Promise<void> {
    while (queue.length > 0) await step(queue).catch(() => {});
    // In the same turn as the last check: an item pushed later starts a new drain.
    this.#queues.delete(key);
  }
}
