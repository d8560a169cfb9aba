/**
 * How long a world stream waits for a missing version before it gives up
 * with `resync` (`gap`).
 *
 * A version can be committed and still be missing from JetStream for a
 * while: its publish went to a stream leader that died, and the KB resends
 * it once the new leader answers (seconds during an election). A catch-up
 * that runs in that window finds the later versions and not this one.
 * Giving up at once would cost every watcher a snapshot refetch for an event
 * that is on its way, so the stream holds what came after the gap, waits,
 * looks once more, and only then says `gap`.
 *
 * Stages: `idle` (no gap, or one not seen yet), `waiting` (a catch-up left
 * a gap; the timer runs; live events may still fill it), `last_look` (the
 * timer fired with the gap still open; one more catch-up runs, and a gap
 * after it is given up).
 *
 * @module
 */
import { type Clock, systemClock, type TimerHandle } from "../shared/clock.ts";

/** Default wait before a last look (ms): longer than a JetStream leader election takes. */
export const GAP_WAIT_MS = 5_000;

/** What a stream does when a catch-up ends with a version still missing. */
export type GapDecision = "hold" | "skip";

/**
 * One stream's patience with its current gap.
 *
 * @example
 * ```ts
 * const patience = new GapPatience({ waitMs: 5_000, onLastLook: () => stream.catchUp() });
 * // a catch-up ended and versions are still missing:
 * if (patience.afterCatchUp() === "skip") stream.skipGap();
 * // a live event filled the gap:
 * patience.filled();
 * ```
 */
export class GapPatience {
  readonly #waitMs: number;
  readonly #clock: Clock;
  readonly #onLastLook: () => void;
  #stage: "idle" | "waiting" | "last_look" = "idle";
  #timer: TimerHandle | undefined;

  /** `onLastLook` runs when the wait is over: it should start one more catch-up. */
  constructor(opts: { waitMs?: number; clock?: Clock; onLastLook: () => void }) {
    this.#waitMs = opts.waitMs ?? GAP_WAIT_MS;
    this.#clock = opts.clock ?? systemClock;
    this.#onLastLook = opts.onLastLook;
  }

  /** Whether no catch-up has been asked for the current gap yet (ask one). */
  get idle(): boolean {
    return this.#stage === "idle";
  }

  /**
   * A catch-up ended with a version still missing: `hold` the versions after
   * it (the first time: the timer starts) or `skip` the gap (after the last look).
   */
  afterCatchUp(): GapDecision {
    if (this.#stage === "last_look" || this.#waitMs <= 0) {
      this.filled();
      return "skip";
    }
    if (this.#stage === "idle") {
      this.#stage = "waiting";
      this.#timer = this.#clock.setTimeout(() => {
        this.#timer = undefined;
        this.#stage = "last_look";
        this.#onLastLook();
      }, this.#waitMs);
    }
    return "hold";
  }

  /** The gap is gone (filled, skipped, or the sequence restarted): back to idle. */
  filled(): void {
    this.#clock.clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#stage = "idle";
  }
}
