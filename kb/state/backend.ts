/**
 * What the KB needs from its state storage, whatever keeps the state: the
 * unit an action touches, a consistent read, an atomic transaction and
 * shutdown. `StateStore` (files under `STATE_DIR`) implements it.
 *
 * @module
 */
import type { StateModel, StateOperation, WorldUpdateEvent } from "../../shared/schema.ts";
import type { Unit } from "./unit.ts";

/**
 * What a unit holds for one user; `null` where a document does not exist yet.
 * The documents are deep-frozen (they may be the store's cached copies).
 */
export interface UnitState {
  version: number;
  world: Record<string, unknown> | null;
  player: Record<string, unknown> | null;
}

/** What a transaction callback decides. */
export interface Plan<T> {
  /** The documents the operations apply to (the stored ones, or virtual ones for a new unit/player). */
  base: { world: Record<string, unknown>; player: Record<string, unknown> };
  world: StateOperation[];
  player: StateOperation[];
  result: T;
}

/** The result of {@linkcode StateBackend.transact}. */
export interface Commit<T> {
  result: T;
  changed: boolean;
  /** Version after this action (the current version when nothing changed). */
  version: number;
  /** ms since the epoch when the commit that holds this action began (0 when unchanged). */
  timestamp: number;
  world: StateOperation[];
  player: StateOperation[];
  /** The action's event, written into the same commit (changed actions with an event builder). */
  event?: WorldUpdateEvent;
}

/** What a changed action's event is built from (see {@linkcode TransactOptions.event}). */
export type CommitDraft<T> = Omit<Commit<T>, "event">;

/** Options of {@linkcode StateBackend.transact}. */
export interface TransactOptions<T> {
  /**
   * Builds the action's event once its version and timestamp are known and
   * before anything is written: the event is part of the commit (the unit's
   * outbox), so it survives a crash between the commit and its publishing.
   */
  event?: (draft: CommitDraft<T>) => WorldUpdateEvent;
}

/**
 * Where a backend hands a unit's outbox: every committed event of the unit
 * not known to be acknowledged by JetStream, in version order. Called after
 * each commit (in commit order, before the unit is released) and when a unit
 * is opened with events left in its outbox (after a crash, by any process).
 */
export interface OutboxSink {
  submit(unitKey: string, outbox: readonly WorldUpdateEvent[]): void;
}

/** Bounds of one unit's outbox; past them the oldest events are dropped (a gap streams report). */
export interface OutboxLimits {
  /** Most events kept (default 1,000). */
  maxEvents: number;
  /** Most bytes of event JSON kept (default 1 MiB). */
  maxBytes: number;
}

/**
 * A unit's state storage, as `Kb` uses it.
 *
 * @example
 * ```ts
 * const state: StateBackend = new StateStore("./.state");
 * const unit = await state.unit("wylding-woods", "shared", "alice");
 * const commit = await state.transact(unit, "alice", (s) => plan(s));
 * await state.close();
 * ```
 */
export interface StateBackend {
  /** The unit `userId` acts on in `experience`. */
  unit(experience: string, model: StateModel, userId: string): Promise<Unit>;
  /** A consistent view of a unit; never writes. */
  read(unit: Unit): Promise<UnitState>;
  /**
   * Runs `decide` on the current state under the unit's lock and commits its
   * operations atomically, with the action's event (`opts.event`) in the
   * unit's outbox. `decide` must be pure and must not change the state it is
   * given (it is frozen): it may run twice.
   */
  transact<T>(
    unit: Unit,
    userId: string,
    decide: (state: UnitState) => Plan<T>,
    opts?: TransactOptions<T>,
  ): Promise<Commit<T>>;
  /**
   * Records that every event of the unit up to `version` is acknowledged:
   * the next commit drops them from the outbox, and a process that opens the
   * unit later does not send them again.
   */
  acked(unitKey: string, version: number): void;
  /**
   * Finds units with events left in their outboxes (a crash, an outage
   * before a restart) and hands each to the sink. Runs in the background at
   * start; resolves with the number of units handed over.
   */
  sweep(): Promise<number>;
  /** Waits for commits still finishing and releases what idle units hold. */
  close(): Promise<void>;
}
