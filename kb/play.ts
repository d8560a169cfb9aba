/**
 * Between the store and the engine: turns what a unit holds into the
 * engine's input and the engine's result into the plan the store commits
 * (creating a player lazily, starting a profile afresh after a reset,
 * keeping the conversation only for players who exist), builds a player's
 * snapshot view, and plans a reset. Pure.
 *
 * A reset puts the world back to its content's start with a new epoch; in
 * a shared world the players' profiles are not touched: a profile of an
 * older epoch counts as fresh from then on (lazily, on its next read or
 * action), so a reset writes one file however many players there are.
 *
 * @module
 */
import type { IntentContext } from "../shared/schema.ts";
import { intentContext } from "./intent_context.ts";
import type { Outcome, StateModel, StateOperation } from "../shared/schema.ts";
import { joinPath } from "../shared/apply.ts";
import { varied } from "./conditions.ts";
import type { Experience } from "./content.ts";
import { decide } from "./engine.ts";
import { maxScore } from "./engine_goals.ts";
import {
  creationOps,
  initialWorld,
  isStale,
  newPlayer,
  PlayerStateSchema,
  type WorldState,
  WorldStateSchema,
} from "./world.ts";

type Doc = Record<string, unknown>;

/** What a unit holds for one user (`null`: no file yet). */
export interface Stored {
  world: Doc | null;
  player: Doc | null;
}

/** What the store commits: the documents the operations apply to, and the operations. */
export interface ActionPlan {
  base: { world: Doc; player: Doc };
  world: StateOperation[];
  player: StateOperation[];
  result: Outcome;
  /** For a command the grammar did not understand: what the player can see (chat's intent step). */
  intent?: IntentContext;
}

function epochOf(world: Doc): number {
  return typeof world.epoch === "number" ? world.epoch : 0;
}

/** The player as they count now: their profile, or a fresh one (new player, or a reset since). */
function currentPlayer(exp: Experience, world: Doc, stored: Doc | null, userId: string) {
  const fresh = stored === null || isStale(world, stored);
  return { fresh, player: fresh ? newPlayer(exp, userId, epochOf(world)) : stored };
}

/**
 * Plans one action of `userId`.
 *
 * @example
 * ```ts
 * const plan = planAction(exp, state, "alice", "take lantern", Date.now());
 * ```
 */
export function planAction(
  exp: Experience,
  state: Stored,
  userId: string,
  message: string,
  now: number,
): ActionPlan {
  const model = exp.config.state.model;
  const world = state.world ?? initialWorld(exp) as unknown as Doc;
  const { fresh, player } = currentPlayer(exp, world, state.player, userId);
  const input = {
    exp,
    world: WorldStateSchema.parse(world),
    player: PlayerStateSchema.parse(player),
    userId,
    message,
    now,
  };
  const result = decide(input);
  let worldOps = result.world;
  let playerOps = result.player;
  // The conversation is kept for players who exist: a newcomer's look writes nothing.
  if (!fresh || worldOps.length + playerOps.length > 0) {
    playerOps = [...playerOps, ...result.context];
  }
  if (fresh && worldOps.length + playerOps.length > 0) {
    const created = creationOps(exp, userId, model, {
      epoch: epochOf(world),
      ...(state.player ? { stale: state.player } : {}),
    });
    worldOps = [...created.world, ...worldOps];
    playerOps = [...created.player, ...playerOps];
  }
  return {
    base: { world, player: state.player ?? player as unknown as Doc },
    world: worldOps,
    player: playerOps,
    result: result.outcome,
    ...(result.outcome.kind === "not_understood" ? { intent: intentContext(input) } : {}),
  };
}

/**
 * What `GET /world/state` shows a player: the world, their profile as it
 * counts now, and the content's text no delta carries (each location's
 * description as content writes it, the most points the goals give), so
 * applying events to a snapshot gives the next snapshot exactly.
 *
 * @example
 * ```ts
 * const { world, player, descriptions } = snapshotView(exp, state, "alice");
 * ```
 */
export function snapshotView(exp: Experience, state: Stored, userId: string) {
  const world = state.world ?? initialWorld(exp) as unknown as Doc;
  const { player } = currentPlayer(exp, world, state.player, userId);
  return {
    world,
    player: player as Doc,
    descriptions: {
      locations: Object.fromEntries(
        Object.entries(exp.locations).map(([id, loc]) => [id, loc.description]),
      ),
      max_score: maxScore(exp),
    },
  };
}

/**
 * Each location's description as it reads for this player now (content
 * varies descriptions with state: a door opened, a lamp lit), for
 * `GET /world/describe`; a client fetches it after a change.
 *
 * @example
 * ```ts
 * describeFor(exp, state, "alice")["woanders-store"]; // "... the back doorway stands open ..."
 * ```
 */
export function describeFor(
  exp: Experience,
  state: Stored,
  userId: string,
): Record<string, string> {
  const world = state.world ?? initialWorld(exp) as unknown as Doc;
  const { player } = currentPlayer(exp, world, state.player, userId);
  const view = {
    exp,
    world: WorldStateSchema.parse(world),
    player: PlayerStateSchema.parse(player),
  };
  return Object.fromEntries(
    Object.entries(exp.locations).map((
      [id, loc],
    ) => [id, varied(view, loc.description, loc.variants)]),
  );
}

/**
 * Plans a reset of one world: the world back to its content's start with
 * the next epoch (every key the fresh world lacks removed), and, in an
 * isolated world, the player's profile afresh too (it is in the same unit).
 *
 * @example
 * ```ts
 * const plan = planReset(exp, state, "alice");
 * ```
 */
export function planReset(exp: Experience, state: Stored, userId: string): ActionPlan {
  const model: StateModel = exp.config.state.model;
  const world = state.world ?? initialWorld(exp) as unknown as Doc;
  const epoch = epochOf(world) + 1;
  const fresh: WorldState = { ...initialWorld(exp), epoch };
  const worldOps: StateOperation[] = Object.keys(world).filter((k) => !(k in fresh))
    .map((k) => ({ operation: "remove", path: joinPath(k), data: {} }));
  worldOps.push({ operation: "update", path: "", data: { ...fresh } });
  const playerOps: StateOperation[] = model === "isolated" && state.player
    ? creationOps(exp, userId, model, { epoch, stale: state.player }).player
    : [];
  return {
    base: { world, player: state.player ?? newPlayer(exp, userId) as unknown as Doc },
    world: worldOps,
    player: playerOps,
    result: {
      kind: "reset",
      changed: true,
      summary: "The world is back as it began.",
      facts: { epoch, state_model: model },
      needs_capable_model: false,
    },
  };
}
