/**
 * The version sequence of one world as a stream delivers it: every version
 * once, in order, and a gap noticed instead of skipped (DESIGN.md guarantee 9).
 *
 * A world stream follows one unit: a shared experience's world (every change
 * bumps its version, on the experience subject and, for the player's own
 * actions, the user subject), or one player's isolated world (the user
 * subject). Its versions are contiguous, so anything else is one of:
 *
 * - a version already delivered (a republish after a crash, a second copy
 *   in JetStream after the duplicate window): dropped;
 * - a version ahead of the next one: held until the missing ones arrive
 *   (JetStream may store a retried event after a later one), or until the
 *   caller gives up on them ({@linkcode VersionOrder.skipGap}) and tells the
 *   client to refetch (`resync` with reason `gap`).
 *
 * @module
 */

/**
 * In-order, exactly-once delivery of one version sequence, with a bounded
 * hold for items that arrive ahead of their turn.
 *
 * @example
 * ```ts
 * const order = new VersionOrder<string>();
 * order.offer(5, "e5"); // ["e5"]  (the first version sets the start)
 * order.offer(7, "e7"); // []      (held: 6 is missing)
 * order.offer(6, "e6"); // ["e6", "e7"]
 * order.offer(6, "e6"); // []      (delivered already)
 * ```
 */
export class VersionOrder<T> {
  #last: number | undefined;
  /** Versions ahead of a gap (made at the first one: most streams never hold anything). */
  #held: Map<number, T> | undefined;
  readonly #maxHeld: number;

  /** `maxHeld`: most items held ahead of a gap before {@linkcode overflowing} says so (default 1,024). */
  constructor(opts: { last?: number; maxHeld?: number } = {}) {
    this.#last = opts.last;
    this.#maxHeld = opts.maxHeld ?? 1024;
  }

  /** The last version delivered (undefined before the first). */
  get last(): number | undefined {
    return this.#last;
  }

  /** Whether items are held behind a missing version. */
  get gapped(): boolean {
    return (this.#held?.size ?? 0) > 0;
  }

  /** Whether the hold is full: the caller should give up on the gap. */
  get overflowing(): boolean {
    return (this.#held?.size ?? 0) >= this.#maxHeld;
  }

  /** The first missing version while {@linkcode gapped}. */
  get missing(): number | undefined {
    return this.gapped && this.#last !== undefined ? this.#last + 1 : undefined;
  }

  /** Sets where the sequence stands without delivering anything (a replay's anchor). */
  anchor(version: number): void {
    if (this.#last === undefined || version > this.#last) this.#last = version;
    const held = this.#held;
    if (held) { for (const v of [...held.keys()]) if (v <= version) held.delete(v); }
  }

  /** Offers one item; returns what can be delivered now, in version order. */
  offer(version: number, item: T): T[] {
    if (this.#last === undefined || version === this.#last + 1) {
      this.#last = version;
      // The common case, once per stream per event: nothing held, nothing to drain.
      return this.gapped ? [item, ...this.#drain()] : [item];
    }
    if (version <= this.#last || this.#held?.has(version)) return [];
    (this.#held ??= new Map()).set(version, item);
    return [];
  }

  /**
   * Gives up on the missing versions: returns the held items in order (the
   * sequence continues after the highest).
   */
  skipGap(): T[] {
    const held = this.#held;
    if (!held) return [];
    const versions = [...held.keys()].sort((a, b) => a - b);
    const out = versions.map((v) => held.get(v)!);
    held.clear();
    if (versions.length > 0) this.#last = versions.at(-1);
    return out;
  }

  #drain(): T[] {
    const out: T[] = [];
    for (;;) {
      const want = this.#last! + 1;
      const next = this.#held?.get(want);
      if (next === undefined) return out;
      this.#held!.delete(want);
      this.#last = want;
      out.push(next);
    }
  }
}
