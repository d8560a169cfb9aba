/**
 * Replay of missed world updates, on the bus's {@linkcode EventHistory} of
 * the world-updates stream (`shared/bus/streams.ts`; over NATS, a JetStream
 * stream over `world.updates.>` with `max_age` = `WORLD_RETENTION`, which
 * keeps what the KB publishes). The in-process bus keeps no history: every
 * replay is answered with `resync` (`replay_unavailable`).
 *
 * A reader asks for "everything on these subjects after event id X" (or
 * "stored since time T"). The history reads one subject at a time, so we
 * open one reader per subject and merge by stream sequence, which is the
 * order the server received the publishes in.
 *
 * Event ids are ULIDs, so an id tells us roughly when it was stored: the
 * readers start a little before that time and read through the id itself,
 * which is handed over as the replay's `anchor` (its version is where the
 * caller's sequence stands). Events stored before the anchor come too,
 * marked: JetStream may hold a later version before an earlier one (a
 * publish retried after a failure), and only the caller's version order can
 * tell which of them the client still lacks. If the id is not there, it is
 * older than retention (or never existed) and the caller must `resync`.
 *
 * Replay is pulled in batches as the caller iterates, so a slow client paces
 * the read and memory stays at one batch per subject.
 *
 * @module
 */
import { decodeTime } from "ulid";
import {
  type Bus,
  type EventHistory,
  type HistoryReader,
  worldUpdatesStream,
} from "../shared/bus/mod.ts";
import { log } from "../shared/log.ts";
import { decodeWorldUpdate, type HubEvent } from "./hub.ts";

/** How far before an id's ULID time the readers start (clock skew between KB and NATS). */
const SKEW_MS = 5_000;
/** More missed events than this is answered with `resync` instead of a replay. */
const DEFAULT_MAX_REPLAY = 10_000;
/** Concurrent reader set-ups per process (a NATS restart makes every stream catch up at once). */
const MAX_CONCURRENT = 8;

/**
 * How recent an event id must be for "not in the stream" to mean "not stored
 * yet": a client saw it live while JetStream had not acknowledged it (a
 * leader election, a retried publish). Older ids are unknown or expired.
 */
const IN_FLIGHT_MS = 30_000;

/**
 * The id to replay from is recent but not in the stream yet: the KB is still
 * getting it acknowledged. Try again shortly.
 */
export class NotStoredYetError extends Error {
  readonly code = "not_stored_yet";
  constructor(id: string) {
    super(`event ${id} is not stored yet`);
    this.name = "NotStoredYetError";
  }
}

/** Where a replay starts: after a known event id, or from a point in time. */
export type ReplayFrom = { afterId: string } | { sinceMs: number };

/** Why a client must refetch state instead of replaying. */
export type ResyncReason =
  | "beyond_retention"
  | "unknown_event_id"
  | "too_many_missed"
  | "replay_unavailable";

/**
 * One replay item: a stored event (`beforeAnchor` while the id replayed from
 * has not been read yet), the anchor (the event with that id, once), or
 * (only ever last) a resync.
 */
export type ReplayItem =
  | { kind: "event"; hubEvent: HubEvent; beforeAnchor: boolean }
  | { kind: "anchor"; hubEvent: HubEvent }
  | { kind: "resync"; reason: ResyncReason };

/** Reads missed events. */
export interface Replayer {
  /**
   * Missed events on `subjects`, merged by stream sequence. Stop iterating (or
   * abort `signal`: the stream closed) to release the readers. Throws (a
   * `BusError`) when the history cannot be read.
   */
  replay(subjects: string[], from: ReplayFrom, signal?: AbortSignal): AsyncIterable<ReplayItem>;
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

/** At most `n` callers at once; a caller whose signal aborts while it waits leaves the queue. */
class Semaphore {
  #free: number;
  #waiting: { go: () => void; signal?: AbortSignal }[] = [];
  constructor(n: number) {
    this.#free = n;
  }
  async run<T>(fn: () => Promise<T>, signal?: AbortSignal): Promise<T> {
    signal?.throwIfAborted();
    if (this.#free > 0) this.#free--;
    else {
      await new Promise<void>((go, stop) => {
        const entry = { go, signal };
        this.#waiting.push(entry);
        signal?.addEventListener("abort", () => {
          const at = this.#waiting.indexOf(entry);
          if (at >= 0) this.#waiting.splice(at, 1);
          stop(signal.reason);
        }, { once: true });
      });
    }
    try {
      return await fn();
    } finally {
      const next = this.#waiting.shift();
      if (next) next.go();
      else this.#free++;
    }
  }
}

/** No replay (in-process bus): every request is answered with `resync`. */
class UnavailableReplayer implements Replayer {
  async *replay(): AsyncIterable<ReplayItem> {
    yield { kind: "resync", reason: "replay_unavailable" };
  }
}

interface Stored {
  seq: number;
  hubEvent: HubEvent;
}

/** The next valid world update of a reader (invalid ones are logged and skipped). */
async function nextEvent(reader: HistoryReader): Promise<Stored | undefined> {
  for (let m = await reader.next(); m; m = await reader.next()) {
    const hubEvent = decodeWorldUpdate(m.subject, m.data);
    if (hubEvent) return { seq: m.seq, hubEvent };
  }
  return undefined;
}

/**
 * {@linkcode Replayer} over an {@linkcode EventHistory}. Every reader of one
 * replay shares one cut (the stream's last sequence when the replay starts):
 * what is stored after it reaches the caller's live subscription (attached
 * before the cut was taken), so no event can fall between two readers' ends.
 */
class HistoryReplayer implements Replayer {
  readonly #history: EventHistory;
  readonly #retentionMs: number;
  readonly #maxEvents: number;
  readonly #limit = new Semaphore(MAX_CONCURRENT);

  constructor(history: EventHistory, retentionMs: number, maxEvents: number) {
    this.#history = history;
    this.#retentionMs = retentionMs;
    this.#maxEvents = maxEvents;
  }

  async *replay(
    subjects: string[],
    from: ReplayFrom,
    signal?: AbortSignal,
  ): AsyncIterable<ReplayItem> {
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
    const readers: HistoryReader[] = [];
    try {
      // A stream that closed while it waited for a slot (or for JetStream) gives it up.
      await this.#limit.run(async () => {
        await this.#history.ensure();
        signal?.throwIfAborted();
        const cut = (await this.#history.state()).lastSeq;
        for (const s of subjects) {
          signal?.throwIfAborted();
          readers.push(await this.#history.read(s, { startMs, cut }));
        }
      }, signal);
      if (readers.reduce((n, r) => n + r.pending, 0) > this.#maxEvents) {
        yield { kind: "resync", reason: "too_many_missed" };
        return;
      }
      let found = !("afterId" in from);
      const heads = await Promise.all(readers.map(nextEvent));
      for (;;) {
        let at = -1;
        for (let i = 0; i < heads.length; i++) {
          if (heads[i] && (at < 0 || heads[i]!.seq < heads[at]!.seq)) at = i;
        }
        if (at < 0) break;
        const { hubEvent } = heads[at]!;
        signal?.throwIfAborted();
        heads[at] = await nextEvent(readers[at]!);
        if (!found && "afterId" in from && hubEvent.event.id === from.afterId) {
          found = true;
          yield { kind: "anchor", hubEvent };
        } else {
          yield { kind: "event", hubEvent, beforeAnchor: !found };
        }
      }
      if (!found && "afterId" in from) {
        // Seen live, not stored yet: the publisher is still retrying it.
        const t = ulidTime(from.afterId)!;
        if (t > Date.now() - Math.min(IN_FLIGHT_MS, this.#retentionMs)) {
          throw new NotStoredYetError(from.afterId);
        }
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
      const { firstStoredMs } = await this.#history.state();
      if (firstStoredMs !== undefined && t < firstStoredMs - SKEW_MS) return "beyond_retention";
    } catch { /* fall through: we only know we do not have it */ }
    return "unknown_event_id";
  }
}

/** Options of {@linkcode createReplayer}. */
export interface ReplayerOptions {
  retentionMs: number;
  /** Replicas of the world stream (`WORLD_REPLICAS`; default `"auto"`). */
  replicas?: number | "auto";
  /** Largest replay before answering `too_many_missed` (default 10,000). */
  maxEvents?: number;
}

/**
 * A replayer for the bus: over its history of the world-updates stream
 * (creating or updating the stream now; a failure is logged and retried on
 * first use), or unavailable when the bus keeps no history (in process).
 *
 * @example
 * ```ts
 * const replayer = await createReplayer(bus, { retentionMs: 3_600_000 });
 * for await (const item of replayer.replay([userSubject("alice")], { afterId })) handle(item);
 * ```
 */
export async function createReplayer(bus: Bus, opts: ReplayerOptions): Promise<Replayer> {
  const history = bus.history(
    worldUpdatesStream({ retentionMs: opts.retentionMs, replicas: opts.replicas }),
  );
  if (!history) return new UnavailableReplayer();
  try {
    await history.ensure();
  } catch (e) {
    log("warn", "world stream setup failed; will retry on first replay", { error: String(e) });
  }
  return new HistoryReplayer(history, opts.retentionMs, opts.maxEvents ?? DEFAULT_MAX_REPLAY);
}
