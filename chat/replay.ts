/**
 * Replay of missed world updates from JetStream.
 *
 * A stream `WORLD_UPDATES` over `world.updates.>` (file storage, `max_age` =
 * `WORLD_RETENTION`) keeps what the KB publishes with plain core publishes.
 * A reader asks for "everything on these subjects after event id X" (or
 * "stored since time T"). nats-server 2.9 has no multi-filter consumers, so we
 * read each subject with its own ordered consumer and merge by stream
 * sequence, which is the order the server received the publishes in.
 *
 * Event ids are ULIDs, so an id tells us roughly when it was stored: the
 * consumers start a little before that time and skip through the id itself.
 * If the id is not there, it is older than retention (or never existed) and
 * the caller must `resync`.
 *
 * Replay is pulled in batches as the caller iterates, so a slow client paces
 * the read and memory stays at one batch per subject.
 *
 * @module
 */
import {
  type Consumer,
  DiscardPolicy,
  jetstream,
  type JetStreamClient,
  jetstreamManager,
  RetentionPolicy,
  StorageType,
} from "@nats-io/jetstream";
import { decodeTime } from "ulid";
import type { Bus } from "../shared/bus.ts";
import { NatsBus } from "../shared/bus.ts";
import { WORLD_UPDATES_PREFIX } from "../shared/subjects.ts";
import { log } from "../shared/log.ts";
import { decodeWorldUpdate, type HubEvent } from "./hub.ts";

/** Name of the JetStream stream that retains world updates. */
export const WORLD_STREAM = "WORLD_UPDATES";

/** How far before an id's ULID time the consumers start (clock skew between KB and NATS). */
const SKEW_MS = 5_000;
/** More missed events than this is answered with `resync` instead of a replay. */
const DEFAULT_MAX_REPLAY = 10_000;
/** Concurrent consumer set-ups per process (a NATS restart makes every stream catch up at once). */
const MAX_CONCURRENT = 8;
/** Messages pulled per fetch. */
const BATCH = 256;

/** Where a replay starts: after a known event id, or from a point in time. */
export type ReplayFrom = { afterId: string } | { sinceMs: number };

/** Why a client must refetch state instead of replaying. */
export type ResyncReason =
  | "beyond_retention"
  | "unknown_event_id"
  | "too_many_missed"
  | "replay_unavailable";

/** One replay item: a missed event, or (only ever first and alone) a resync. */
export type ReplayItem = { kind: "event"; hubEvent: HubEvent } | {
  kind: "resync";
  reason: ResyncReason;
};

/** Reads missed events. */
export interface Replayer {
  readonly available: boolean;
  /**
   * Missed events on `subjects`, merged by stream sequence. Stop iterating to
   * release the consumers. Throws when NATS is unreachable.
   */
  replay(subjects: string[], from: ReplayFrom): AsyncIterable<ReplayItem>;
}

/**
 * Decodes the millisecond timestamp of a ULID, or `undefined` for a string
 * that is not a ULID.
 *
 * @example
 * ```ts
 * ulidTime(newEventId()); // ≈ Date.now()
 * ulidTime("../x"); // undefined
 * ```
 */
export function ulidTime(id: string): number | undefined {
  if (!/^[0-9A-HJKMNP-TV-Z]{26}$/i.test(id)) return undefined;
  try {
    return decodeTime(id.toUpperCase());
  } catch {
    return undefined;
  }
}

class Semaphore {
  #free: number;
  #waiting: (() => void)[] = [];
  constructor(n: number) {
    this.#free = n;
  }
  async run<T>(fn: () => Promise<T>): Promise<T> {
    if (this.#free > 0) this.#free--;
    else await new Promise<void>((r) => this.#waiting.push(r));
    try {
      return await fn();
    } finally {
      const next = this.#waiting.shift();
      if (next) next();
      else this.#free++;
    }
  }
}

/** No replay (in-process bus): every request is answered with `resync`. */
class UnavailableReplayer implements Replayer {
  readonly available = false;
  async *replay(): AsyncIterable<ReplayItem> {
    yield { kind: "resync", reason: "replay_unavailable" };
  }
}

interface Stored {
  seq: number;
  hubEvent: HubEvent;
}

/**
 * One subject's ordered consumer, read in batches up to the stream sequence
 * `cut`. Every reader of one replay shares the cut: what is stored after it
 * reaches the caller's live subscription (attached before the cut was
 * taken), so no event can fall between two readers' ends.
 */
class SubjectReader {
  readonly #consumer: Consumer;
  readonly #cut: number;
  #remaining: number;
  #buffer: Stored[] = [];

  private constructor(consumer: Consumer, pending: number, cut: number) {
    this.#consumer = consumer;
    this.#remaining = pending;
    this.#cut = cut;
  }

  static async open(
    js: JetStreamClient,
    subject: string,
    startMs: number,
    cut: number,
  ): Promise<SubjectReader> {
    const consumer = await js.consumers.get(WORLD_STREAM, {
      filter_subjects: subject,
      opt_start_time: new Date(Math.max(0, startMs)).toISOString(),
      inactive_threshold: 30_000,
    });
    return new SubjectReader(consumer, (await consumer.info(true)).num_pending, cut);
  }

  get pending(): number {
    return this.#remaining + this.#buffer.length;
  }

  async next(): Promise<Stored | undefined> {
    while (this.#buffer.length === 0 && this.#remaining > 0) {
      const batch = await this.#consumer.fetch({
        max_messages: Math.min(this.#remaining, BATCH),
        expires: 2_000,
      });
      let got = 0;
      for await (const m of batch) {
        got++;
        const hubEvent = decodeWorldUpdate(m.subject, m.data);
        if (hubEvent) this.#buffer.push({ seq: m.seq, hubEvent });
      }
      this.#remaining = got === 0 ? 0 : this.#remaining - got; // 0: expired under us
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
    this.#consumer.delete().catch(() => {});
  }
}

/** {@linkcode Replayer} over JetStream. */
class JetStreamReplayer implements Replayer {
  readonly available = true;
  readonly #bus: NatsBus;
  readonly #js: JetStreamClient;
  readonly #retentionMs: number;
  readonly #maxEvents: number;
  readonly #limit = new Semaphore(MAX_CONCURRENT);
  #ready: Promise<void> | undefined;

  constructor(bus: NatsBus, retentionMs: number, maxEvents: number) {
    this.#bus = bus;
    this.#js = jetstream(bus.nc);
    this.#retentionMs = retentionMs;
    this.#maxEvents = maxEvents;
  }

  /** Creates or updates the stream; retried on the next replay when it fails. */
  ensureStream(): Promise<void> {
    this.#ready ??= this.#createOrUpdate().catch((e) => {
      this.#ready = undefined;
      throw e;
    });
    return this.#ready;
  }

  async #createOrUpdate(): Promise<void> {
    const jsm = await jetstreamManager(this.#bus.nc, { checkAPI: false });
    const maxAge = Math.round(this.#retentionMs * 1e6); // nanoseconds
    const subjects = [`${WORLD_UPDATES_PREFIX}.>`];
    try {
      const info = await jsm.streams.info(WORLD_STREAM);
      if (info.config.max_age !== maxAge) {
        await jsm.streams.update(WORLD_STREAM, { ...info.config, max_age: maxAge, subjects });
        log("info", "world stream retention updated", { max_age_ms: this.#retentionMs });
      }
    } catch (e) {
      if ((e as { code?: number }).code !== 10059 && !String(e).includes("not found")) throw e;
      await jsm.streams.add({
        name: WORLD_STREAM,
        subjects,
        storage: StorageType.File,
        retention: RetentionPolicy.Limits,
        discard: DiscardPolicy.Old,
        max_age: maxAge,
        num_replicas: 1,
      });
      log("info", "world stream created", { stream: WORLD_STREAM, max_age_ms: this.#retentionMs });
    }
  }

  async *replay(subjects: string[], from: ReplayFrom): AsyncIterable<ReplayItem> {
    let startMs: number;
    if ("afterId" in from) {
      const t = ulidTime(from.afterId);
      if (t === undefined) {
        yield { kind: "resync", reason: "unknown_event_id" };
        return;
      }
      startMs = t - SKEW_MS;
    } else {
      startMs = from.sinceMs;
    }
    const readers: SubjectReader[] = [];
    try {
      await this.#limit.run(async () => {
        await this.ensureStream();
        const jsm = await jetstreamManager(this.#bus.nc, { checkAPI: false });
        const cut = (await jsm.streams.info(WORLD_STREAM)).state.last_seq;
        for (const s of subjects) {
          readers.push(await SubjectReader.open(this.#js, s, startMs, cut));
        }
      });
      if (readers.reduce((n, r) => n + r.pending, 0) > this.#maxEvents) {
        yield { kind: "resync", reason: "too_many_missed" };
        return;
      }
      let found = !("afterId" in from);
      const heads = await Promise.all(readers.map((r) => r.next()));
      for (;;) {
        let at = -1;
        for (let i = 0; i < heads.length; i++) {
          if (heads[i] && (at < 0 || heads[i]!.seq < heads[at]!.seq)) at = i;
        }
        if (at < 0) break;
        const { hubEvent } = heads[at]!;
        heads[at] = await readers[at]!.next();
        if (found) yield { kind: "event", hubEvent };
        else if ("afterId" in from && hubEvent.event.id === from.afterId) found = true;
      }
      if (!found && "afterId" in from) {
        yield { kind: "resync", reason: await this.#whyMissing(from.afterId) };
      }
    } finally {
      for (const r of readers) r.close();
    }
  }

  async #whyMissing(id: string): Promise<"beyond_retention" | "unknown_event_id"> {
    const t = ulidTime(id)!;
    if (t < Date.now() - this.#retentionMs) return "beyond_retention";
    try {
      // Within retention by age, but older than anything stored (stream purged or recreated).
      const jsm = await jetstreamManager(this.#bus.nc, { checkAPI: false });
      const info = await jsm.streams.info(WORLD_STREAM);
      const firstMs = Date.parse(info.state.first_ts);
      if (info.state.messages > 0 && t < firstMs - SKEW_MS) return "beyond_retention";
    } catch { /* fall through: we only know we do not have it */ }
    return "unknown_event_id";
  }
}

/** Options of {@linkcode createReplayer}. */
export interface ReplayerOptions {
  retentionMs: number;
  /** Largest replay before answering `too_many_missed` (default 10,000). */
  maxEvents?: number;
}

/**
 * A replayer for the bus: JetStream over NATS (creating or updating the
 * stream now; a failure is logged and retried on first use), unavailable
 * in process.
 *
 * @example
 * ```ts
 * const replayer = await createReplayer(bus, { retentionMs: 3_600_000 });
 * for await (const item of replayer.replay([userSubject("alice")], { afterId })) handle(item);
 * ```
 */
export async function createReplayer(bus: Bus, opts: ReplayerOptions): Promise<Replayer> {
  if (!(bus instanceof NatsBus)) return new UnavailableReplayer();
  const r = new JetStreamReplayer(bus, opts.retentionMs, opts.maxEvents ?? DEFAULT_MAX_REPLAY);
  try {
    await r.ensureStream();
  } catch (e) {
    log("warn", "world stream setup failed; will retry on first replay", { error: String(e) });
  }
  return r;
}
