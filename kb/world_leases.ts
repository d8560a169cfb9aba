/**
 * World leases: how KBs with the `files` backend refuse to split one world
 * between two hosts. Each experience has a lease in JetStream KV
 * (`gaia_lease_<experience>`, its only key `holder`: the holder's
 * `STATE_DIR` identity and until when it holds it). A KB claims every
 * experience it serves at start and renews its leases every third of the
 * TTL; a lease whose holder stopped renewing expires and the next KB takes
 * it. A KB sharing the holder's `STATE_DIR` has the same identity and
 * holds it too (one host, one truth: as today).
 *
 * Only positive knowledge refuses: a world is refused when its lease names
 * another identity that is still within its TTL. With NATS down the leases
 * cannot be read, and a KB keeps acting on what it held (the files backend
 * works without NATS; nobody can take a lease meanwhile either).
 *
 * Claims are compare-and-set updates of a bucket with one key, which
 * nats-server checks atomically in a cluster (`shared/bus/kv.ts`).
 *
 * @module
 */
import { BusError, type KvBucket } from "../shared/bus/mod.ts";
import { type Clock, systemClock, type TimerHandle } from "../shared/clock.ts";
import { log } from "../shared/log.ts";
import { fileNameFor } from "../shared/subjects.ts";

/** The key of an experience's lease in its bucket. */
const HOLDER_KEY = "holder";

/** Options of {@linkcode WorldLeases}. */
export interface WorldLeasesOptions {
  /** Opens a lease bucket (one key, compare-and-set on the stream: `NatsBus.kv`). */
  openBucket: (name: string) => Promise<KvBucket>;
  /** This KB's `STATE_DIR` identity. */
  identity: string;
  /** The experiences this KB serves (claimed at each renewal). */
  experiences: () => string[];
  /** Called when this KB starts or stops holding an experience. */
  onChange?: (experience: string, held: boolean) => void;
  /** How long a lease lasts without renewal (ms, default 15 s); renewed every third of it. */
  ttlMs?: number;
  clock?: Clock;
  /** Wall time for the lease's expiry, shared by hosts (default `Date.now`). */
  now?: () => number;
}

interface Holder {
  identity?: string;
  /** ms since the epoch. */
  until?: number;
}

/** A world another KB holds. */
export interface LeaseConflict {
  experience: string;
  /** The holder's `STATE_DIR` identity. */
  held_by: string;
}

/**
 * The leases of one KB process.
 *
 * @example
 * ```ts
 * const leases = new WorldLeases({ openBucket, identity, experiences: () => ["wylding-woods"] });
 * await leases.start();
 * if (!leases.mayAct("wylding-woods")) refuse();
 * await leases.close();
 * ```
 */
export class WorldLeases {
  readonly #opts: WorldLeasesOptions;
  readonly #ttlMs: number;
  readonly #clock: Clock;
  readonly #now: () => number;
  readonly #buckets = new Map<string, Promise<KvBucket>>();
  readonly #held = new Set<string>();
  readonly #conflicts = new Map<string, string>();
  #timer: TimerHandle | undefined;
  #round: Promise<void> = Promise.resolve();
  #closed = false;

  constructor(opts: WorldLeasesOptions) {
    this.#opts = opts;
    this.#ttlMs = opts.ttlMs ?? 15_000;
    this.#clock = opts.clock ?? systemClock;
    this.#now = opts.now ?? Date.now;
  }

  /** Claims every experience once, then keeps renewing. */
  async start(): Promise<void> {
    this.#round = this.#claimAll();
    await this.#round;
    this.#schedule();
  }

  /** Whether this KB may act on `experience`: false only when another identity holds its lease. */
  mayAct(experience: string): boolean {
    return !this.#conflicts.has(experience);
  }

  /** Whether this KB holds `experience`'s lease (so it answers that world's requests). */
  holds(experience: string): boolean {
    return this.#held.has(experience);
  }

  /** The worlds other KBs hold, for `/health`. */
  conflicts(): LeaseConflict[] {
    return [...this.#conflicts].map(([experience, held_by]) => ({ experience, held_by }));
  }

  /**
   * Stops renewing. The leases are not given up: another process on the
   * same `STATE_DIR` may still serve them; they expire after the TTL.
   */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#clock.clearTimeout(this.#timer);
    await this.#round;
  }

  #schedule(): void {
    if (this.#closed) return;
    this.#timer = this.#clock.setTimeout(() => {
      this.#round = this.#claimAll().finally(() => this.#schedule());
    }, this.#ttlMs / 3);
  }

  async #claimAll(): Promise<void> {
    await Promise.all(this.#opts.experiences().map((exp) => this.#claim(exp)));
  }

  async #bucket(experience: string): Promise<KvBucket> {
    let p = this.#buckets.get(experience);
    if (!p) {
      p = (async () => {
        const bucket = await this.#opts.openBucket(`gaia_lease_${await fileNameFor(experience)}`);
        // Unclaimed: every claim is then an update, checked atomically.
        await bucket.create(HOLDER_KEY, "{}").catch((e) => {
          if (!(e instanceof BusError && e.code === "wrong_revision")) throw e;
        });
        return bucket;
      })();
      this.#buckets.set(experience, p);
      p.catch(() => this.#buckets.delete(experience));
    }
    return await p;
  }

  async #claim(experience: string): Promise<void> {
    if (this.#closed) return;
    try {
      const bucket = await this.#bucket(experience);
      for (let attempt = 0; attempt < 3; attempt++) {
        const e = await bucket.get(HOLDER_KEY);
        const h = parse(e?.value);
        const now = this.#now();
        const mine = h.identity === this.#opts.identity;
        if (!mine && h.identity && (h.until ?? 0) > now) {
          return this.#conflict(experience, h.identity);
        }
        try {
          const holder = JSON.stringify({
            identity: this.#opts.identity,
            until: now + this.#ttlMs,
          });
          await bucket.update(HOLDER_KEY, holder, e!.revision);
          return this.#hold(experience);
        } catch (err) {
          // Another process renewed or claimed first: look again.
          if (!(err instanceof BusError && err.code === "wrong_revision")) throw err;
        }
      }
    } catch (e) {
      // NATS down or JetStream failing: keep what we knew (see the module doc).
      log("debug", "world lease not renewed", { experience, error: String(e) });
    }
  }

  #hold(experience: string): void {
    if (this.#conflicts.delete(experience)) {
      log("info", "world lease taken: this KB now serves the world", { experience });
    }
    if (this.#held.has(experience)) return;
    this.#held.add(experience);
    this.#opts.onChange?.(experience, true);
  }

  #conflict(experience: string, holder: string): void {
    if (this.#conflicts.get(experience) !== holder) {
      log(
        "error",
        "world held by a KB with another STATE_DIR: this KB refuses it (two files backends would split the world; use STATE_BACKEND=nats for many hosts)",
        { experience, held_by: holder, identity: this.#opts.identity },
      );
    }
    this.#conflicts.set(experience, holder);
    if (this.#held.delete(experience)) this.#opts.onChange?.(experience, false);
  }
}

function parse(value: Uint8Array | undefined): Holder {
  if (!value) return {};
  try {
    const v = JSON.parse(new TextDecoder().decode(value));
    return typeof v === "object" && v !== null ? v : {};
  } catch {
    return {};
  }
}
