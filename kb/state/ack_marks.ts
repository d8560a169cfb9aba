/**
 * What JetStream has acknowledged, per unit of the files backend: kept in
 * memory for the next commit (which drops those events from the outbox) and
 * in the unit's `.acked` file (the version, as text) for whichever process
 * opens the unit next. The file is written lazily and never fsynced: losing
 * it only means that events are sent once more, and JetStream (by
 * `Nats-Msg-Id`) and world streams (by version) drop repeats.
 *
 * @module
 */
import { type Clock, systemClock, type TimerHandle } from "../../shared/clock.ts";
import { LruMap } from "../../shared/lru.ts";
import { readTextOrUndefined } from "./files.ts";

/** Name of the marker file in a unit directory. */
export const ACKED_FILE = ".acked";

/**
 * Acknowledged versions of units, keyed by unit directory.
 *
 * @example
 * ```ts
 * const marks = new AckMarks();
 * marks.record("/state/experiences/wylding-woods", 12);
 * marks.version("/state/experiences/wylding-woods"); // 12
 * await marks.flush(); // writes .acked files now
 * ```
 */
export class AckMarks {
  readonly #versions = new LruMap<string, number>({ max: 10_000 });
  readonly #dirty = new Map<string, number>();
  readonly #clock: Clock;
  readonly #delayMs: number;
  #timer: TimerHandle | undefined;
  #writing: Promise<void> = Promise.resolve();

  /** `delayMs`: how long records gather before one write per unit (default 200 ms). */
  constructor(opts: { clock?: Clock; delayMs?: number } = {}) {
    this.#clock = opts.clock ?? systemClock;
    this.#delayMs = opts.delayMs ?? 200;
  }

  /** The highest acknowledged version this process knows of (0: none). */
  version(dir: string): number {
    return this.#versions.get(dir) ?? 0;
  }

  /** Reads the unit's marker file into memory (when it knows more than memory does). */
  load(dir: string): void {
    let text: string | undefined;
    try {
      text = readTextOrUndefined(`${dir}/${ACKED_FILE}`);
    } catch {
      return; // unreadable: events are sent again, which is safe
    }
    const v = Number(text?.trim());
    if (Number.isSafeInteger(v) && v > this.version(dir)) this.#versions.set(dir, v);
  }

  /** Records an acknowledgement; the file follows within `delayMs`. */
  record(dir: string, version: number): void {
    if (version <= this.version(dir)) return;
    this.#versions.set(dir, version);
    this.#dirty.set(dir, version);
    this.#timer ??= this.#clock.setTimeout(() => {
      this.#timer = undefined;
      this.#writing = this.#writing.then(() => this.#write());
    }, this.#delayMs);
  }

  /** Writes every pending marker now (shutdown, tests). */
  async flush(): Promise<void> {
    this.#clock.clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#writing = this.#writing.then(() => this.#write());
    await this.#writing;
  }

  async #write(): Promise<void> {
    const batch = [...this.#dirty];
    this.#dirty.clear();
    await Promise.all(batch.map(async ([dir, v]) => {
      try {
        await Deno.writeTextFile(`${dir}/${ACKED_FILE}`, String(v));
      } catch { /* the unit is gone or unwritable: events are sent again, which is safe */ }
    }));
  }
}
