/**
 * One state bucket of the `nats` backend as a KB sees it: the bucket, the
 * units of it this process cached, and the watch that keeps them current.
 *
 * - The watch starts once (concurrent callers share the start; none after
 *   `close`), and again after a failure, at most once a second.
 * - A cached unit is trusted only while the watch is fresh and no newer
 *   revision of it was seen: reads from the leader and the watch both raise
 *   the highest revision seen, and nothing older is ever cached.
 * - It knows which revisions this process wrote, so it can tell when
 *   another KB writes a unit too (`contended`), and it lets a writer wait
 *   until the watch shows a revision (`watched`): contending KBs then learn
 *   each new revision the same way, and none starves the others.
 *
 * @module
 */
import type { KvBucket, KvWatch } from "../../shared/bus/mod.ts";
import type { Clock } from "../../shared/clock.ts";
import { log } from "../../shared/log.ts";
import { LruMap } from "../../shared/lru.ts";
import { decodeUnit, type KvUnitDoc } from "./kv_unit.ts";

/** A unit's state as of a revision of its key (0: never written). */
export interface Entry {
  revision: number;
  doc: KvUnitDoc;
}

/** How long after the last sign of another writer a unit counts as contended (ms). */
const CONTENDED_MS = 2_000;

/**
 * The cached, watched units of one bucket.
 *
 * @example
 * ```ts
 * const wb = new WatchedBucket(bucket, clock, 1000);
 * wb.startWatch();
 * const entry = wb.trusted("world") ?? await readFromLeader();
 * ```
 */
export class WatchedBucket {
  readonly bucket: KvBucket;
  readonly #clock: Clock;
  readonly #cache: LruMap<string, Entry>;
  readonly #highest: LruMap<string, number>;
  readonly #watchedRev = new LruMap<string, number>({ max: 10_000 });
  readonly #own = new LruMap<string, number>({ max: 10_000 });
  readonly #foreignAt = new LruMap<string, number>({ max: 10_000 });
  readonly #waiters = new Map<string, { revision: number; done: () => void }[]>();
  #watch: KvWatch | undefined;
  #starting: Promise<void> | undefined;
  #retryAt = 0;
  #closed = false;

  constructor(bucket: KvBucket, clock: Clock, cachedUnits: number) {
    this.bucket = bucket;
    this.#clock = clock;
    this.#cache = new LruMap({ max: cachedUnits });
    this.#highest = new LruMap({ max: 10 * cachedUnits });
  }

  /** Starts the watch unless it runs, is starting, failed under a second ago, or the bucket closed. */
  startWatch(): void {
    if (this.#closed || this.#watch || this.#starting) return;
    if (this.#clock.now() < this.#retryAt) return;
    this.#starting = this.bucket.watch((c) => this.#changed(c.key, c.revision, c.value))
      .then(async (w) => {
        if (this.#closed) await w.close();
        else this.#watch = w;
      }, (e) => {
        this.#retryAt = this.#clock.now() + 1_000;
        log("warn", "state watch could not start; reading from the server until it does", {
          bucket: this.bucket.name,
          error: String(e),
        });
      }).finally(() => this.#starting = undefined);
  }

  /** The cached entry, if the watch vouches for it. */
  trusted(key: string): Entry | undefined {
    if (!this.#watch?.fresh()) return undefined;
    const e = this.#cache.get(key);
    if (!e || e.revision < (this.#highest.peek(key) ?? 0)) return undefined;
    return e;
  }

  /** Keeps an entry read from the leader or written here, unless something newer was seen. */
  remember(key: string, entry: Entry, wroteIt = false): void {
    if (wroteIt) this.#own.set(key, entry.revision);
    const highest = this.#highest.peek(key) ?? 0;
    if (entry.revision < highest) return; // a read behind what the watch showed
    if (entry.revision > highest) this.#highest.set(key, entry.revision);
    const cached = this.#cache.peek(key);
    if (!cached || cached.revision <= entry.revision) this.#cache.set(key, entry);
  }

  /** Forgets a cached unit (a write whose outcome is unknown). */
  forget(key: string): void {
    this.#cache.delete(key);
  }

  /** Marks that another KB writes this unit (a lost compare-and-set). */
  lost(key: string): void {
    this.#foreignAt.set(key, this.#clock.now());
  }

  /** Whether another KB wrote this unit lately. */
  contended(key: string): boolean {
    const at = this.#foreignAt.peek(key);
    return at !== undefined && this.#clock.now() - at < CONTENDED_MS;
  }

  /**
   * Waits (at most `ms`) until the watch has shown `key` at `revision` or
   * later; at once when it has, or when the watch is not fresh.
   */
  watched(key: string, revision: number, ms: number): Promise<void> {
    if ((this.#watchedRev.peek(key) ?? 0) >= revision || !this.#watch?.fresh()) {
      return Promise.resolve();
    }
    return new Promise<void>((resolve) => {
      const w = {
        revision,
        done: () => {
          this.#clock.clearTimeout(timer);
          resolve();
        },
      };
      const timer = this.#clock.setTimeout(() => {
        const list = this.#waiters.get(key)?.filter((x) => x !== w) ?? [];
        if (list.length > 0) this.#waiters.set(key, list);
        else this.#waiters.delete(key);
        resolve();
      }, ms);
      this.#waiters.set(key, [...(this.#waiters.get(key) ?? []), w]);
    });
  }

  /** Stops the watch (waiting for a start in progress). */
  async close(): Promise<void> {
    this.#closed = true;
    await this.#starting;
    await this.#watch?.close();
    this.#watch = undefined;
    for (const list of this.#waiters.values()) for (const w of list) w.done();
    this.#waiters.clear();
  }

  /** A change the watch saw: keep a cached unit current, remember the revision. */
  #changed(key: string, revision: number, value: Uint8Array): void {
    if (revision > (this.#highest.peek(key) ?? 0)) this.#highest.set(key, revision);
    if (revision > (this.#watchedRev.peek(key) ?? 0)) this.#watchedRev.set(key, revision);
    if (this.#own.peek(key) !== revision) this.#foreignAt.set(key, this.#clock.now());
    const cached = this.#cache.peek(key);
    if (cached && cached.revision < revision) {
      try {
        this.#cache.set(key, { revision, doc: decodeUnit(value) });
      } catch {
        this.#cache.delete(key);
      }
    }
    const waiting = this.#waiters.get(key);
    if (!waiting) return;
    const left = waiting.filter((w) => w.revision > revision);
    for (const w of waiting) if (w.revision <= revision) w.done();
    if (left.length > 0) this.#waiters.set(key, left);
    else this.#waiters.delete(key);
  }
}
