/**
 * A key-value bucket with compare-and-set writes, as the KB's `nats` state
 * backend needs it: read a key with its revision, create a key that does
 * not exist, update a key only if it is still at the revision it was read
 * at, and watch every change. `NatsBus.kv` opens one on JetStream KV
 * (`jetstream_kv.ts`); nothing here names nats.js.
 *
 * A write that loses its compare-and-set fails with {@linkcode BusError}
 * code `wrong_revision` (JetStream error 10071) and stores nothing.
 *
 * @module
 */

/** One stored value and its revision (the bucket stream's sequence: strictly increasing per key). */
export interface KvEntry {
  key: string;
  revision: number;
  value: Uint8Array;
}

/** What a watcher reports for every change after it started. */
export type KvChange = KvEntry;

/** Settings of a bucket, from which `NatsBus.kv` creates or updates it. */
export interface KvBucketSpec {
  /** Bucket name (`[-\w]+`); its stream is `KV_<name>`. */
  name: string;
  /** Copies kept in a cluster (`WORLD_REPLICAS`); default `"auto"`: 3 with ≥ 3 servers, else 1. */
  replicas?: number | "auto";
  /** Entries expire this long after their last write (ms); default never (leases use one). */
  ttlMs?: number;
  /**
   * The bucket holds one key: `update` then compares the bucket stream's
   * last sequence (which is that key's revision) instead of the key's own.
   * nats-server checks the stream's atomically in a cluster; the per-key
   * check is not atomic there before 2.9.21 (nats-server#4320: concurrent
   * writes from one revision can all win).
   */
  singleKey?: boolean;
}

/** A running watch of a bucket (see {@linkcode KvBucket.watch}). */
export interface KvWatch {
  /**
   * True while the watch heard the server (a change or a heartbeat) within
   * its freshness window: what it has delivered is current up to that lag.
   * False while its consumer is lost (the node holding it died) and until it
   * is reopened and heard again.
   */
  fresh(): boolean;
  /** Stops the watch; idempotent. */
  close(): Promise<void>;
}

/**
 * A key-value bucket.
 *
 * @example
 * ```ts
 * const kv = await bus.kv({ name: "gaia_state", replicas: 3 });
 * const e = await kv.get("w.wylding-woods");
 * const rev = e ? await kv.update(e.key, next, e.revision) : await kv.create("w.wylding-woods", next);
 * ```
 */
export interface KvBucket {
  readonly name: string;
  /** Largest value the server accepts (its `max_payload`, bytes), less room for headers. */
  readonly maxValueBytes: number;
  /** The key's current value as the stream leader has it, or null when the key does not exist. */
  get(key: string): Promise<KvEntry | null>;
  /** Stores a key that must not exist yet; resolves with its revision (`wrong_revision` if it exists). */
  create(key: string, value: Uint8Array | string): Promise<number>;
  /** Stores a key that must still be at `revision`; resolves with the new one (`wrong_revision` otherwise). */
  update(key: string, value: Uint8Array | string, revision: number): Promise<number>;
  /** Stores a key whatever its revision (leases); resolves with the new revision. */
  put(key: string, value: Uint8Array | string): Promise<number>;
  /** Every key in the bucket (start-up sweeps, migrations). */
  keys(): Promise<string[]>;
  /**
   * Calls `onChange` for writes after now, in revision order; see
   * {@linkcode KvWatch}. After the watch lost its consumer and reopened it,
   * each key changed meanwhile comes at its latest revision (the bucket keeps
   * one value per key): enough for a cache, not a log of every write.
   */
  watch(onChange: (change: KvChange) => void): Promise<KvWatch>;
}
