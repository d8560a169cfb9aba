/**
 * Arrival bookkeeping shared by the GAIA and relay clients: per event id,
 * when each client got it (to find the last delivery of a fan-out), or, in
 * rate mode, just every delivery's commit→arrival latency.
 *
 * @module
 */

/** Collects arrivals of events at many streams. */
export class ArrivalTracker {
  /** id → arrival times (one per stream that got it). */
  readonly arrivals = new Map<string, number[]>();
  /** Every delivery counted since creation. */
  delivered = 0;
  /** Arrival time of the latest delivery. */
  lastAt = 0;
  #latencies: number[] | undefined;
  #watch: { id: string; n: number; resolve: () => void } | undefined;

  /** One delivery of event `id`, committed (or published) at `committed`, arrived `at`. */
  record(id: string, committed: number, at: number): void {
    this.delivered++;
    if (at > this.lastAt) this.lastAt = at;
    if (this.#latencies) {
      this.#latencies.push(at - committed);
      return;
    }
    let list = this.arrivals.get(id);
    if (!list) this.arrivals.set(id, list = []);
    list.push(at);
    const w = this.#watch;
    if (w && w.id === id && list.length >= w.n) {
      this.#watch = undefined;
      w.resolve();
    }
  }

  /** Rate mode: keep only latencies from now until {@linkcode stopLatencies}. */
  startLatencies(): void {
    this.#latencies = [];
    this.arrivals.clear();
  }

  /** Ends rate mode; returns the latencies collected. */
  stopLatencies(): number[] {
    const l = this.#latencies ?? [];
    this.#latencies = undefined;
    return l;
  }

  /** Resolves when `n` streams have `id`, or after `timeoutMs`; returns and forgets the arrivals. */
  async take(id: string, n: number, timeoutMs: number): Promise<number[]> {
    if ((this.arrivals.get(id)?.length ?? 0) < n) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(() => {
          this.#watch = undefined;
          resolve();
        }, timeoutMs);
        this.#watch = {
          id,
          n,
          resolve: () => {
            clearTimeout(timer);
            resolve();
          },
        };
      });
    }
    const list = this.arrivals.get(id) ?? [];
    this.arrivals.delete(id);
    return list;
  }

  /** Forgets arrivals of events nobody asked for (e.g. set-up moves). */
  clear(): void {
    this.arrivals.clear();
  }
}
