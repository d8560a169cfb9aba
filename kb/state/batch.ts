/**
 * Group commit, the pure part: the actions queued on one unit, and how one
 * batch of them is decided in order, each on the state the one before it
 * left, into the new documents and the files a commit writes. The store runs
 * it under the unit's locks (`store.ts`).
 *
 * @module
 */
import { applyOperations } from "../../shared/apply.ts";
import type { WorldUpdateEvent } from "../../shared/schema.ts";
import type { Commit, CommitDraft, Plan, UnitState } from "./backend.ts";
import { outboxJson } from "./outbox.ts";
import type { Unit } from "./unit.ts";

type Doc = Record<string, unknown>;

/** One queued action of {@linkcode StateStore.transact}. */
export interface Pending {
  unit: Unit;
  userId: string;
  decide: (state: UnitState) => Plan<unknown>;
  /** Builds the action's event (written into the commit's outbox). */
  event?: (draft: CommitDraft<unknown>) => WorldUpdateEvent;
  resolve: (c: Commit<unknown>) => void;
  reject: (e: unknown) => void;
}

/** A player's document as the batch leaves it. */
export interface PlayerDoc {
  userId: string;
  player: Doc | null;
  /** Changed by the batch: its file is written. */
  dirty: boolean;
}

/** What one action of a batch came to: its commit, or the error it fails alone with. */
export interface Decided {
  p: Pending;
  commit?: Commit<unknown>;
  error?: unknown;
}

/** A decided batch: the unit's documents after it, and each action's outcome. */
export interface DecidedBatch {
  version: number;
  world: Doc | null;
  /** Player file (relative) -> its document after the batch. */
  players: Map<string, PlayerDoc>;
  done: Decided[];
  /** The actions that changed something (each got its own version). */
  changed: Decided[];
}

/**
 * Whether a plan changes nothing.
 *
 * @example
 * ```ts
 * if (noOps(plan)) resolve(unchanged(plan, version));
 * ```
 */
export const noOps = (p: Plan<unknown>): boolean => p.world.length === 0 && p.player.length === 0;

/**
 * The commit of an action that changed nothing.
 *
 * @example
 * ```ts
 * const commit = unchanged(plan, 7); // { changed: false, version: 7, ... }
 * ```
 */
export const unchanged = (p: Plan<unknown>, version: number): Commit<unknown> => ({
  result: p.result,
  changed: false,
  version,
  timestamp: 0,
  world: [],
  player: [],
});

/**
 * Decides a batch in order, starting from the unit's documents as of
 * `version`. An action that throws (in `decide` or applying its operations)
 * fails alone and leaves the state as the action before it left it.
 * `playerOf` gives a player's stored document the first time the batch
 * needs it.
 *
 * @example
 * ```ts
 * const b = decideBatch(batch, cache.version, cache.world, (unit) => readPlayer(unit));
 * if (b.changed.length > 0) await commit(unit, { version: b.version, files: batchFiles(unit, b) });
 * ```
 */
export function decideBatch(
  batch: readonly Pending[],
  version: number,
  world: Doc | null,
  playerOf: (unit: Unit) => Doc | null,
): DecidedBatch {
  const players = new Map<string, PlayerDoc>();
  const done: Decided[] = [];
  for (const p of batch) {
    try {
      let pd = players.get(p.unit.player);
      if (!pd) {
        pd = { userId: p.userId, player: playerOf(p.unit), dirty: false };
        players.set(p.unit.player, pd);
      }
      const plan = p.decide({ version, world, player: pd.player });
      if (noOps(plan)) {
        done.push({ p, commit: unchanged(plan, version) });
        continue;
      }
      // Apply to copies so a failing operation leaves the batch's state as it was.
      const nextWorld = structuredClone(plan.base.world);
      applyOperations(nextWorld, plan.world);
      let nextPlayer = pd.player;
      if (plan.player.length > 0) {
        nextPlayer = structuredClone(plan.base.player);
        applyOperations(nextPlayer, plan.player);
      }
      world = nextWorld;
      pd.player = nextPlayer;
      pd.dirty ||= plan.player.length > 0;
      version++;
      const commit = {
        result: plan.result,
        changed: true,
        version,
        timestamp: 0,
        world: plan.world,
        player: plan.player,
      };
      done.push({ p, commit });
    } catch (error) {
      done.push({ p, error });
    }
  }
  return { version, world, players, done, changed: done.filter((d) => d.commit?.changed) };
}

/**
 * The files a decided batch writes, relative to the unit directory: the
 * world with the unit's outbox (every commit bumps its version; the outbox
 * comes second so a start-up sweep can tell an empty one from the first
 * bytes) and each changed player.
 *
 * @example
 * ```ts
 * const files = batchFiles(unit, decided, outbox); // { "world.json": "...", "players/alice.json": "..." }
 * ```
 */
export function batchFiles(
  unit: Unit,
  b: DecidedBatch,
  outbox: readonly WorldUpdateEvent[],
): Record<string, string> {
  const files: Record<string, string> = { [unit.world]: worldDocument(b.version, outbox, b.world) };
  for (const [rel, pd] of b.players) {
    if (pd.dirty) files[rel] = JSON.stringify({ user_id: pd.userId, player: pd.player });
  }
  return files;
}

/**
 * The text of `world.json`: `{"version":n,"outbox":[...],"world":{...}}`, in
 * that order (the version first for the cache check, the outbox second for
 * the start-up sweep). The outbox's events are serialised once each and
 * reused, so a long outbox (an outage) costs a copy per commit, not a
 * stringify.
 *
 * @example
 * ```ts
 * worldDocument(3, [], { n: 1 }); // '{"version":3,"outbox":[],"world":{"n":1}}'
 * ```
 */
export function worldDocument(
  version: number,
  outbox: readonly WorldUpdateEvent[],
  world: Doc | null,
): string {
  return `{"version":${version},"outbox":${outboxJson(outbox)},"world":${JSON.stringify(world)}}`;
}

/**
 * Answers every action of a batch: its commit, or its own error.
 *
 * @example
 * ```ts
 * settle(decided.done);
 * ```
 */
export function settle(done: readonly Decided[]): void {
  for (const d of done) d.error === undefined ? d.p.resolve(d.commit!) : d.p.reject(d.error);
}
