/**
 * Reading back what a stream retained: the seam replay is built on. A bus
 * with JetStream offers one per stream (`Bus.history`); the
 * in-process bus offers none, and callers answer "cannot replay" instead.
 *
 * The interface is what replay needs and nothing more: make sure the
 * stream exists with our settings, know its last sequence (the cut that
 * makes several readers agree on where "now" is) and its oldest stored
 * time, and read one subject in stream order from a time up to the cut, in
 * batches, so a slow caller paces the read.
 *
 * @module
 */
/**
 * A retained stream, as we want it. The one place its settings are named:
 * add a field here and in `jetstreamConfig` (`jetstream_history.ts`).
 */
export interface HistoryStreamSpec {
  /** Stream name. */
  name: string;
  /** Subjects the stream stores. */
  subjects: string[];
  /** How long a message is kept (ms); 0 keeps it until a size limit removes it. */
  maxAgeMs: number;
  /**
   * Copies kept in a cluster; default 1. `"auto"`: 3 when the account has at
   * least 3 JetStream servers (tried, and 1 when the servers refuse 3).
   */
  replicas?: number | "auto";
}

/** Where a stream stands now. */
export interface HistoryState {
  /** Sequence of the last message stored (0 when none): a replay's cut. */
  lastSeq: number;
  /** Messages stored now. */
  messages: number;
  /** Wall-clock time the oldest stored message was stored; undefined when empty. */
  firstStoredMs: number | undefined;
}

/** One stored message. */
export interface StoredMessage {
  /** Stream sequence: the order the server stored messages in, over all subjects. */
  readonly seq: number;
  readonly subject: string;
  readonly data: Uint8Array;
}

/** Options of {@linkcode EventHistory.read}. */
export interface HistoryReadOptions {
  /** Start with the first message stored at or after this time (ms since epoch). */
  startMs: number;
  /** Stop after this stream sequence (see {@linkcode HistoryState.lastSeq}). */
  cut: number;
  /** Messages fetched per round trip; default 256. */
  batch?: number;
}

/**
 * One subject read in stream order. Holds server resources until
 * {@linkcode HistoryReader.close}.
 */
export interface HistoryReader {
  /**
   * Messages left to read, counted when the reader opened: at least what
   * {@linkcode HistoryReader.next} will still return (it may count some past the cut).
   */
  readonly pending: number;
  /** The next message up to the cut, or undefined at the end. Rejects with a `BusError`. */
  next(): Promise<StoredMessage | undefined>;
  /** Releases the reader (idempotent; never throws). */
  close(): void;
}

/**
 * A retained stream of events.
 *
 * @example
 * ```ts
 * const history = bus.history(worldUpdatesStream({ retentionMs: 3_600_000 }));
 * if (history) {
 *   await history.ensure();
 *   const { lastSeq } = await history.state();
 *   const reader = await history.read(userSubject("alice"), { startMs: 0, cut: lastSeq });
 *   try {
 *     for (let m = await reader.next(); m; m = await reader.next()) handle(m);
 *   } finally {
 *     reader.close();
 *   }
 * }
 * ```
 */
export interface EventHistory {
  /** The stream's name. */
  readonly stream: string;
  /**
   * Creates the stream, or updates it where it differs from the spec. Done
   * once: later calls share the first success (a failure is retried), unless
   * `again` says the stream was found missing since (deleted at run time).
   * Rejects with a `BusError`.
   */
  ensure(opts?: { again?: boolean }): Promise<void>;
  /** The stream's state now. Rejects with a `BusError` (`stream_not_found` when it is gone). */
  state(): Promise<HistoryState>;
  /** Opens an ordered read of one subject. Rejects with a `BusError`. */
  read(subject: string, opts: HistoryReadOptions): Promise<HistoryReader>;
}
