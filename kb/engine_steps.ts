/**
 * What one command's result is made of (the outcome, operations by scope,
 * what the conversation learns) and the builders every verb uses. Pure
 * data: nothing here reads the world.
 *
 * @module
 */
import type { Outcome, StateOperation } from "../shared/schema.ts";
import { joinPath } from "../shared/apply.ts";
import type { Command } from "./grammar.ts";
import type { Candidate } from "./match.ts";
import type { ItemRecord } from "./world.ts";

/** A question the engine asked, answered by the next input. */
export interface PendingQuestion {
  command: Command;
  /** Which noun of the command the answer fills. */
  slot: string;
  index?: number;
  candidates: string[];
}

/** The result of one command. */
export interface Step {
  outcome: Outcome;
  world: StateOperation[];
  player: StateOperation[];
  /** What `it` and `them` mean from now on. */
  it?: string[];
  pending?: PendingQuestion;
  /** Its operations are already applied to the context (several objects, one by one). */
  applied?: boolean;
}

/**
 * An item somewhere the player can reach, with the path it lives at.
 *
 * @example
 * ```ts
 * const p: Placed = ctx.itemsHere()[0]; // p.segments: ["locations", "woods-edge", "items", "lantern"]
 * ```
 */
export interface Placed extends Candidate {
  rec: ItemRecord;
  scope: "world" | "player";
  segments: string[];
  /** Container id when the item is inside one. */
  inside?: string;
}

/**
 * A result that changes nothing.
 *
 * @example
 * ```ts
 * return unchanged({ kind: "looked", summary: "You look around.", facts: {} });
 * ```
 */
export const unchanged = (
  o: Omit<Outcome, "changed" | "needs_capable_model"> & { needs_capable_model?: boolean },
): Step => ({
  outcome: { needs_capable_model: false, ...o, changed: false },
  world: [],
  player: [],
});

/**
 * The operation that removes an item from where it is.
 *
 * @example
 * ```ts
 * removeOp(lanternHere); // { operation: "remove", path: "locations.woods-edge.items.lantern", data: {} }
 * ```
 */
export const removeOp = (p: { segments: string[] }): StateOperation => ({
  operation: "remove",
  path: joinPath(...p.segments),
  data: {},
});
/**
 * The operation that puts an item record at a path.
 *
 * @example
 * ```ts
 * addOp(["inventory", "lantern"], { name: "brass lantern" });
 * ```
 */
export const addOp = (segments: string[], rec: ItemRecord): StateOperation => ({
  operation: "add",
  path: joinPath(...segments),
  data: { ...rec },
});

/** Operations tagged by the scope they change. */
export type Tagged = Array<[Placed["scope"], StateOperation]>;

/**
 * A result that changes state with operations tagged by scope.
 *
 * @example
 * ```ts
 * return changed("took", "You take the lantern.", facts, [["world", remove], ["player", add]]);
 * ```
 */
export function changed(
  kind: string,
  summary: string,
  facts: Record<string, unknown>,
  list: Tagged,
): Step {
  return {
    outcome: { kind, changed: true, summary, facts, needs_capable_model: false },
    world: list.filter(([s]) => s === "world").map(([, o]) => o),
    player: list.filter(([s]) => s === "player").map(([, o]) => o),
  };
}

/**
 * "You are not carrying any X."
 *
 * @example
 * ```ts
 * if (m.kind === "none") return notCarrying(words);
 * ```
 */
export function notCarrying(object: string[]): Step {
  const query = object.join(" ");
  return unchanged({
    kind: "not_carrying",
    summary: `You are not carrying any ${query}.`,
    facts: { query },
  });
}
