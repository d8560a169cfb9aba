/**
 * {@linkcode KvBucket} on JetStream KV (`@nats-io/kv`): the bucket is
 * created when missing (replicas from its spec), its replicas are updated
 * when an explicit count differs (one log line either way; `"auto"` never
 * shrinks a bucket because a node is down), reads go to the stream leader
 * (no direct gets: a replica may be behind), and every failure is a typed
 * {@linkcode BusError} (a lost compare-and-set is `wrong_revision`).
 *
 * Built by `NatsBus.kv`, which hands in its JetStream client and manager.
 *
 * @module
 */
import type { JetStreamClient, JetStreamManager, StreamConfig } from "@nats-io/jetstream";
import { type KV, Kvm } from "@nats-io/kv";
import { log } from "../log.ts";
import { jetStreamError } from "./jetstream_errors.ts";
import { openKvWatch } from "./jetstream_kv_watch.ts";
import type { KvBucket, KvBucketSpec, KvChange, KvEntry, KvWatch } from "./kv.ts";
import { BusError } from "./types.ts";

/** Bytes kept free under `max_payload` for the subject and headers of a write. */
const HEADER_ROOM = 4096;

/** What opening a bucket needs from the connection. */
export interface KvConnection {
  js: JetStreamClient;
  jsm: Promise<JetStreamManager>;
  /** A manager with a longer timeout, for creating and updating the bucket. */
  setupJsm?: Promise<JetStreamManager>;
  /** Servers in the connected server's cluster (1 outside one). */
  clusterSize: () => number;
  /** The server's `max_payload` (bytes). */
  maxPayload: () => number;
}

/** The replica count a spec asks for on a cluster of `servers`. */
function wantedReplicas(spec: KvBucketSpec, servers: number): number {
  if (spec.replicas === undefined || spec.replicas === "auto") return servers >= 3 ? 3 : 1;
  return spec.replicas;
}

/** Refuses to create or grow a bucket past the servers the connection sees. */
function checkServers(spec: KvBucketSpec, replicas: number, servers: number): void {
  if (replicas <= servers) return;
  throw new BusError(
    "rejected",
    `bucket ${spec.name}: ${replicas} replicas need a JetStream cluster of at least ${replicas} servers (the server reports ${servers}); set WORLD_REPLICAS lower or leave it unset`,
  );
}

/**
 * Opens (creating or updating) the bucket `spec` names.
 *
 * @example
 * ```ts
 * const kv = await openKvBucket({ js, jsm, clusterSize: () => 3, maxPayload: () => 1 << 20 }, { name: "gaia_state" });
 * ```
 */
export async function openKvBucket(conn: KvConnection, spec: KvBucketSpec): Promise<KvBucket> {
  const stream = `KV_${spec.name}`;
  const servers = conn.clusterSize();
  const replicas = wantedReplicas(spec, servers);
  try {
    const jsm = await (conn.setupJsm ?? conn.jsm);
    let current: StreamConfig | undefined;
    try {
      current = (await jsm.streams.info(stream)).config;
    } catch (e) {
      if (jetStreamError(e, "bucket info").code !== "stream_not_found") throw e;
    }
    const explicit = typeof spec.replicas === "number";
    if (!current || (explicit && (current.num_replicas || 1) < replicas)) {
      checkServers(spec, replicas, servers);
    }
    const kv = await new Kvm(conn.js).create(spec.name, {
      replicas,
      history: 1,
      allow_direct: false,
      ...(spec.ttlMs ? { ttl: spec.ttlMs } : {}),
    });
    if (!current) {
      log("info", "state bucket created", { bucket: spec.name, replicas });
    } else if (explicit && (current.num_replicas || 1) !== replicas) {
      // Only an explicit WORLD_REPLICAS changes a bucket: "auto" counts the
      // servers it can see now, and one node down must not shrink the copies.
      await jsm.streams.update(stream, { ...current, num_replicas: replicas });
      log("info", "state bucket replicas updated", {
        bucket: spec.name,
        replicas,
        was: current.num_replicas || 1,
      });
    }
    return new JetStreamKvBucket(spec, stream, kv, conn);
  } catch (e) {
    throw jetStreamError(e, `bucket ${spec.name} setup`);
  }
}

const encoder = new TextEncoder();
const bytes = (v: Uint8Array | string) => typeof v === "string" ? encoder.encode(v) : v;

/** One JetStream KV bucket. */
class JetStreamKvBucket implements KvBucket {
  readonly name: string;
  readonly #singleKey: boolean;
  readonly #stream: string;
  readonly #kv: KV;
  readonly #conn: KvConnection;

  constructor(spec: KvBucketSpec, stream: string, kv: KV, conn: KvConnection) {
    this.name = spec.name;
    this.#singleKey = spec.singleKey ?? false;
    this.#stream = stream;
    this.#kv = kv;
    this.#conn = conn;
  }

  get maxValueBytes(): number {
    return Math.max(0, this.#conn.maxPayload() - HEADER_ROOM);
  }

  async get(key: string): Promise<KvEntry | null> {
    try {
      const e = await this.#kv.get(key);
      if (!e || e.operation !== "PUT") return null;
      return { key, revision: e.revision, value: e.value };
    } catch (e) {
      throw jetStreamError(e, `get of ${key}`);
    }
  }

  async create(key: string, value: Uint8Array | string): Promise<number> {
    try {
      return await this.#kv.create(key, bytes(value));
    } catch (e) {
      throw jetStreamError(e, `create of ${key}`);
    }
  }

  async update(key: string, value: Uint8Array | string, revision: number): Promise<number> {
    try {
      if (!this.#singleKey) return await this.#kv.update(key, bytes(value), revision);
      // One key: its revision is the stream's last sequence, checked atomically.
      const ack = await this.#conn.js.publish(`$KV.${this.name}.${key}`, bytes(value), {
        expect: { lastSequence: revision },
      });
      return ack.seq;
    } catch (e) {
      throw jetStreamError(e, `update of ${key}`);
    }
  }

  async put(key: string, value: Uint8Array | string): Promise<number> {
    try {
      return await this.#kv.put(key, bytes(value));
    } catch (e) {
      throw jetStreamError(e, `put of ${key}`);
    }
  }

  async keys(): Promise<string[]> {
    // One stream-info request (the library's keys() waits for an idle
    // timeout on an empty bucket).
    const prefix = `$KV.${this.name}.`;
    try {
      const jsm = await this.#conn.jsm;
      const info = await jsm.streams.info(this.#stream, { subjects_filter: `${prefix}>` });
      return Object.keys(info.state.subjects ?? {}).map((s) => s.slice(prefix.length)).sort();
    } catch (e) {
      throw jetStreamError(e, `keys of ${this.name}`);
    }
  }

  watch(onChange: (change: KvChange) => void): Promise<KvWatch> {
    return openKvWatch({
      js: this.#conn.js,
      jsm: this.#conn.jsm,
      stream: this.#stream,
      prefix: `$KV.${this.name}.`,
      onChange,
    });
  }
}
