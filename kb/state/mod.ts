/**
 * The KB's state storage: crash-safe, contention-safe state files under
 * `STATE_DIR` (`kb/STATE.md` says why each step is there). The rest of the
 * KB uses only what is exported here.
 *
 * - `backend.ts`: {@linkcode StateBackend}, what the KB needs from any storage
 * - `unit.ts`: what a unit is and where its files live
 * - `store.ts`: {@linkcode StateStore} (locking, group commit, caching)
 * - `kv_store.ts`, `kv_unit.ts`: {@linkcode KvStore}, the `nats` backend
 *   (a JetStream KV key per unit, compare-and-set, a watched cache)
 * - `identity.ts`: the identity of a `STATE_DIR` (world leases compare it)
 * - `copy.ts`: copying units between the backends (`deno task state:copy`)
 * - `batch.ts`: deciding one batch of queued actions
 * - `commit.ts`: the durable multi-file commit and its replay
 * - `intent.ts`: the write-ahead intent codec
 * - `files.ts`: file primitives; `mutex.ts`: the in-process keyed mutex
 *
 * @example
 * ```ts
 * import { type StateBackend, StateStore } from "./state/mod.ts";
 * const state: StateBackend = new StateStore("./.state");
 * const unit = await state.unit("wylding-woods", "shared", "alice");
 * const { version } = await state.read(unit);
 * ```
 *
 * @module
 */
export type {
  Commit,
  CommitDraft,
  OutboxLimits,
  OutboxSink,
  Plan,
  StateBackend,
  TransactOptions,
  UnitState,
} from "./backend.ts";
export { DEFAULT_OUTBOX_LIMITS } from "./outbox.ts";
export { KvStore, type KvStoreOptions } from "./kv_store.ts";
export { stateIdentity } from "./identity.ts";
export { copyFilesToNats, copyNatsToFiles, type CopyReport } from "./copy.ts";
export { StateStore, type StateStoreOptions } from "./store.ts";
export { type Unit, unitAt, unitFor } from "./unit.ts";
