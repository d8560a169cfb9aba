/**
 * {@linkcode EventHistory} over JetStream: a stream created or updated from
 * its {@linkcode HistoryStreamSpec}, and one ordered consumer per subject
 * read. nats-server 2.9 has no multi-filter consumers, so a caller that needs
 * several subjects opens one reader each and merges them by stream sequence.
 *
 * Built by `NatsBus.history`, which hands in its one JetStream client and
 * manager; this module never sees the connection.
 *
 * @module
 */
import {
  type Consumer,
  DiscardPolicy,
  JetStreamApiError,
  type JetStreamClient,
  type JetStreamManager,
  RetentionPolicy,
  StorageType,
  type StreamConfig,
} from "@nats-io/jetstream";
import { log } from "../log.ts";
import type {
  EventHistory,
  HistoryReader,
  HistoryReadOptions,
  HistoryState,
  HistoryStreamSpec,
  StoredMessage,
} from "./history.ts";
import { jetStreamError } from "./jetstream_errors.ts";
import { BusError } from "./types.ts";

/** Messages pulled per fetch unless the caller says otherwise. */
const DEFAULT_BATCH = 256;
/** A reader's consumer is removed by the server this long after its last use (ms). */
const READER_IDLE_MS = 30_000;

/**
 * The stream settings we own, from the spec: compared with the server's on
 * start and set when they differ. Everything else is left as an operator set it.
 */
function ownedConfig(spec: HistoryStreamSpec, replicas: number) {
  return {
    subjects: spec.subjects,
    max_age: Math.round(spec.maxAgeMs * 1e6), // nanoseconds
    num_replicas: replicas,
  };
}

/** Replicas an `"auto"` spec asks for first. */
const AUTO_REPLICAS = 3;

/**
 * JetStream's "not enough servers" refusals: replicas on a server outside a
 * cluster (10074), or more replicas than servers that can take them (10005).
 */
function tooFewServers(e: unknown): boolean {
  return e instanceof JetStreamApiError && (e.code === 10074 || e.code === 10005);
}

/** Fixed when the stream is created (JetStream cannot change storage or retention later). */
const CREATE_ONLY: Partial<StreamConfig> = {
  storage: StorageType.File,
  retention: RetentionPolicy.Limits,
  discard: DiscardPolicy.Old,
};

/** Names of owned settings whose server value differs from ours. */
function differences(current: StreamConfig, owned: ReturnType<typeof ownedConfig>): string[] {
  const out: string[] = [];
  const sorted = (a: string[]) => [...a].sort().join(" ");
  if (sorted(current.subjects ?? []) !== sorted(owned.subjects)) out.push("subjects");
  if (current.max_age !== owned.max_age) out.push("max_age");
  if ((current.num_replicas || 1) !== owned.num_replicas) out.push("num_replicas");
  return out;
}

/**
 * The JetStream-backed history of one stream.
 *
 * @example
 * ```ts
 * // Inside NatsBus: one client and one manager for every history.
 * const history = new JetStreamHistory(spec, js, jsmPromise);
 * await history.ensure();
 * ```
 */
export class JetStreamHistory implements EventHistory {
  readonly stream: string;
  readonly #spec: HistoryStreamSpec;
  readonly #js: JetStreamClient;
  readonly #jsm: Promise<JetStreamManager>;
  #ready: Promise<void> | undefined;

  readonly #clusterSize: () => number;

  /** `clusterSize`: servers in the connected server's cluster (1 outside one). */
  constructor(
    spec: HistoryStreamSpec,
    js: JetStreamClient,
    jsm: Promise<JetStreamManager>,
    clusterSize: () => number = () => 1,
  ) {
    this.stream = spec.name;
    this.#spec = spec;
    this.#js = js;
    this.#jsm = jsm;
    this.#clusterSize = clusterSize;
  }

  ensure(opts: { again?: boolean } = {}): Promise<void> {
    if (opts.again) this.#ready = undefined;
    this.#ready ??= this.#createOrUpdate().catch((e) => {
      this.#ready = undefined; // retried by the next call
      throw jetStreamError(e, `stream ${this.stream} setup`);
    });
    return this.#ready;
  }

  async #createOrUpdate(): Promise<void> {
    const jsm = await this.#jsm;
    const auto = this.#spec.replicas === "auto";
    const servers = this.#clusterSize();
    // A standalone 2.9 server accepts an update to more replicas and then
    // drops the stream on its next restart: never ask one for more than 1.
    const wanted = auto
      ? (servers >= AUTO_REPLICAS ? AUTO_REPLICAS : 1)
      : (this.#spec.replicas as number | undefined) ?? 1;
    if (wanted > servers) {
      throw new BusError(
        "rejected",
        `stream ${this.stream}: ${wanted} replicas need a JetStream cluster of at least ${wanted} servers (the server reports ${servers}); set WORLD_REPLICAS lower or leave it unset`,
      );
    }
    let current: StreamConfig | undefined;
    try {
      current = (await jsm.streams.info(this.stream)).config;
    } catch (e) {
      if (jetStreamError(e, "stream info").code !== "stream_not_found") throw e;
    }
    // "auto" asks for 3 and settles for 1 where the servers cannot hold 3.
    for (const replicas of auto && wanted > 1 ? [wanted, 1] : [wanted]) {
      const owned = ownedConfig(this.#spec, replicas);
      const fields = {
        stream: this.stream,
        max_age_ms: this.#spec.maxAgeMs,
        replicas,
        ...(auto ? { replicas_setting: "auto" } : {}),
      };
      try {
        if (!current) {
          await jsm.streams.add({ name: this.stream, ...CREATE_ONLY, ...owned });
          log("info", "stream created", fields);
          return;
        }
        const changed = differences(current, owned);
        if (changed.length === 0) return;
        await jsm.streams.update(this.stream, { ...current, ...owned });
        log("info", "stream settings updated", { ...fields, changed });
        return;
      } catch (e) {
        if (!(auto && replicas !== 1 && tooFewServers(e))) throw e;
      }
    }
  }

  async state(): Promise<HistoryState> {
    try {
      const { state } = await (await this.#jsm).streams.info(this.stream);
      return {
        lastSeq: state.last_seq,
        messages: state.messages,
        firstStoredMs: state.messages > 0 ? Date.parse(state.first_ts) : undefined,
      };
    } catch (e) {
      throw jetStreamError(e, `stream ${this.stream} info`);
    }
  }

  async read(subject: string, opts: HistoryReadOptions): Promise<HistoryReader> {
    try {
      const consumer = await this.#js.consumers.get(this.stream, {
        filter_subjects: subject,
        opt_start_time: new Date(Math.max(0, opts.startMs)).toISOString(),
        inactive_threshold: READER_IDLE_MS,
      });
      const pending = (await consumer.info(true)).num_pending;
      return new SubjectReader(consumer, pending, opts.cut, opts.batch ?? DEFAULT_BATCH, subject);
    } catch (e) {
      throw jetStreamError(e, `read of ${subject}`);
    }
  }
}

/** One subject's ordered consumer, fetched in batches up to the cut. */
class SubjectReader implements HistoryReader {
  readonly #consumer: Consumer;
  readonly #cut: number;
  readonly #batch: number;
  readonly #subject: string;
  #remaining: number;
  #buffer: StoredMessage[] = [];
  #closed = false;

  constructor(consumer: Consumer, pending: number, cut: number, batch: number, subject: string) {
    this.#consumer = consumer;
    this.#remaining = pending;
    this.#cut = cut;
    this.#batch = batch;
    this.#subject = subject;
  }

  get pending(): number {
    return this.#remaining + this.#buffer.length;
  }

  async next(): Promise<StoredMessage | undefined> {
    try {
      while (this.#buffer.length === 0 && this.#remaining > 0 && !this.#closed) {
        const batch = await this.#consumer.fetch({
          max_messages: Math.min(this.#remaining, this.#batch),
          expires: 2_000,
        });
        let got = 0;
        for await (const m of batch) {
          got++;
          this.#buffer.push({ seq: m.seq, subject: m.subject, data: m.data });
        }
        this.#remaining = got === 0 ? 0 : this.#remaining - got; // 0: expired under us
      }
    } catch (e) {
      throw jetStreamError(e, `read of ${this.#subject}`);
    }
    const head = this.#buffer.shift();
    if (head && head.seq > this.#cut) {
      this.#buffer = [];
      this.#remaining = 0;
      return undefined;
    }
    return head;
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#buffer = [];
    this.#consumer.delete().catch(() => {});
  }
}
