/**
 * What the KB needs from its state storage, whatever keeps the state: the
 * unit an action touches, a consistent read, an atomic transaction and
 * shutdown. `StateStore` (files under `STATE_DIR`) implements it.
 *
 * @module
 */
import type { StateModel, StateOperation } from "../../shared/schema.ts";
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
  /** ms since the epoch, taken right after the commit became durable (0 when unchanged). */
  timestamp: number;
  world: StateOperation[];
  player: StateOperation[];
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
   * operations atomically. `decide` must be pure and must not change the
   * state it is given (it is frozen): it may run twice. `onCommit` runs once
   * the commit is durable and before the unit is released, in version order
   * (events published there leave in order).
   */
  transact<T>(
    unit: Unit,
    userId: string,
    decide: (state: UnitState) => Plan<T>,
    onCommit?: (commit: Commit<T>) => void,
  ): Promise<Commit<T>>;
  /** Waits for commits still finishing and releases what idle units hold. */
  close(): Promise<void>;
}
