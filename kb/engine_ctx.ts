/**
 * What every verb of the engine shares: the decision context (what is here,
 * what the player carries, how to describe it) and the result builders.
 *
 * @module
 */
import type { Outcome, StateOperation } from "../shared/schema.ts";
import { joinPath } from "../shared/apply.ts";
import type { Experience } from "./content.ts";
import { type Candidate, compareIds, matchPhrase } from "./match.ts";
import type { ItemRecord, PlayerState, WorldState } from "./world.ts";

/** What the engine needs to decide one action. */
export interface EngineInput {
  exp: Experience;
  world: WorldState;
  player: PlayerState;
  userId: string;
  message: string;
}

/** The decision: an outcome and the operations per scope (both empty when nothing changed). */
export interface EngineResult {
  outcome: Outcome;
  world: StateOperation[];
  player: StateOperation[];
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

/** An NPC in the player's location, with what it holds. */
export interface NpcHere extends Candidate {
  has: Record<string, ItemRecord>;
}

/**
 * Shared context of one decision: what is here, what the player carries,
 * and how to describe both for a narrator.
 *
 * @example
 * ```ts
 * const ctx = new Ctx(input);
 * ctx.itemsHere().map((p) => p.id);
 * ```
 */
export class Ctx {
  constructor(readonly input: EngineInput) {}
  get exp() {
    return this.input.exp;
  }
  get loc() {
    return this.input.player.location;
  }

  itemsHere(): Placed[] {
    const items = this.input.world.locations[this.loc]?.items ?? {};
    return placed(items, "world", ["locations", this.loc, "items"]);
  }

  inventory(): Placed[] {
    return placed(this.input.player.inventory, "player", ["inventory"]);
  }

  npcsHere(): NpcHere[] {
    return Object.entries(this.input.world.npcs)
      .filter(([, n]) => n.location === this.loc)
      .map(([id, n]) => ({ id, name: n.name, has: n.has }))
      .sort((a, b) => compareIds(a.id, b.id));
  }

  describeItem(p: Placed) {
    const contents = p.rec.contents
      ? Object.entries(p.rec.contents).map(([id, r]) => ({ id, name: r.name }))
      : undefined;
    return {
      id: p.id,
      name: p.name,
      description: this.exp.items[p.id]?.description ?? `It is ${article(p.name)}.`,
      ...(p.inside ? { inside: p.inside } : {}),
      ...(contents ? { contents } : {}),
    };
  }

  describeLocation(locId: string) {
    const { world, userId } = this.input;
    const state = world.locations[locId];
    const content = this.exp.locations[locId];
    const exits = Object.entries(state?.exits ?? {}).map(([direction, e]) => ({
      direction,
      to: e.to,
      name: world.locations[e.to]?.name ?? e.to,
    }));
    const items = Object.entries(state?.items ?? {}).map(([id, r]) => ({
      id,
      name: r.name,
      ...(r.contents
        ? { contents: Object.entries(r.contents).map(([cid, c]) => ({ id: cid, name: c.name })) }
        : {}),
    }));
    const npcs = Object.entries(world.npcs).filter(([, n]) => n.location === locId)
      .map(([id, n]) => ({ id, name: n.name }));
    const players = Object.entries(world.players ?? {})
      .filter(([id, p]) => id !== userId && p.location === locId)
      .map(([, p]) => p.name).sort();
    return {
      id: locId,
      name: state?.name ?? content?.name ?? locId,
      description: content?.description ?? "",
      exits,
      items,
      npcs,
      players,
    };
  }
}

function placed(
  items: Record<string, ItemRecord>,
  scope: Placed["scope"],
  base: string[],
): Placed[] {
  const out: Placed[] = [];
  for (const [id, rec] of Object.entries(items)) {
    const segments = [...base, id];
    out.push({ id, name: rec.name, rec, scope, segments });
    for (const [cid, child] of Object.entries(rec.contents ?? {})) {
      out.push({
        id: cid,
        name: child.name,
        rec: child,
        scope,
        segments: [...segments, "contents", cid],
        inside: id,
      });
    }
  }
  return out;
}

/**
 * The name with its indefinite article.
 *
 * @example
 * ```ts
 * article("acorn"); // "an acorn"
 * ```
 */
export function article(name: string): string {
  return /^[aeiou]/i.test(name) ? `an ${name}` : `a ${name}`;
}

/**
 * Joins names for prose.
 *
 * @example
 * ```ts
 * listing(["a lantern", "a pebble", "an acorn"]); // "a lantern, a pebble and an acorn"
 * ```
 */
export function listing(names: string[]): string {
  if (names.length <= 1) return names.join("");
  return `${names.slice(0, -1).join(", ")} and ${names[names.length - 1]}`;
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
): EngineResult => ({
  outcome: { needs_capable_model: false, ...o, changed: false },
  world: [],
  player: [],
});

/**
 * Asks which of several different things the player meant.
 *
 * @example
 * ```ts
 * ambiguous([brassKey, ironKey], ["key"]); // "Which do you mean: the brass key or the iron key?"
 * ```
 */
export function ambiguous(options: Candidate[], query: string[]): EngineResult {
  const names = options.map((o) => `the ${o.name}`);
  return unchanged({
    kind: "ambiguous",
    summary: `Which do you mean: ${names.slice(0, -1).join(", ")} or ${names[names.length - 1]}?`,
    facts: { query: query.join(" "), candidates: options.map(({ id, name }) => ({ id, name })) },
  });
}

/**
 * The operation that removes an item from where it is.
 *
 * @example
 * ```ts
 * removeOp(lanternHere); // { operation: "remove", path: "locations.woods-edge.items.lantern", data: {} }
 * ```
 */
export const removeOp = (p: Placed): StateOperation => ({
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

function ops(
  list: Array<[Placed["scope"], StateOperation]>,
): { world: StateOperation[]; player: StateOperation[] } {
  return {
    world: list.filter(([s]) => s === "world").map(([, o]) => o),
    player: list.filter(([s]) => s === "player").map(([, o]) => o),
  };
}

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
  list: Array<[Placed["scope"], StateOperation]>,
): EngineResult {
  return {
    outcome: { kind, changed: true, summary, facts, needs_capable_model: false },
    ...ops(list),
  };
}

/**
 * "You don't see any X here."
 *
 * @example
 * ```ts
 * if (m.kind === "none") return notHere(ctx, words);
 * ```
 */
export function notHere(ctx: Ctx, object: string[]): EngineResult {
  const query = object.join(" ");
  return unchanged({
    kind: "not_found",
    summary: `You don't see any ${query} here.`,
    facts: { query, location: ctx.loc },
  });
}

/**
 * "You are not carrying any X."
 *
 * @example
 * ```ts
 * if (m.kind === "none") return notCarrying(words);
 * ```
 */
export function notCarrying(object: string[]): EngineResult {
  const query = object.join(" ");
  return unchanged({
    kind: "not_carrying",
    summary: `You are not carrying any ${query}.`,
    facts: { query },
  });
}

/**
 * The NPC here that the words mean, or the result to return when there is none (or several).
 *
 * @example
 * ```ts
 * const npc = findNpc(ctx, ["woander"]);
 * if ("outcome" in npc) return npc;
 * ```
 */
export function findNpc(ctx: Ctx, words: string[]): NpcHere | EngineResult {
  const m = matchPhrase(ctx.exp, "npc", words, ctx.npcsHere());
  if (m.kind === "one") return m.value;
  if (m.kind === "ambiguous") return ambiguous(m.options, words);
  const query = words.join(" ");
  return unchanged({
    kind: "no_one",
    summary: `There is no ${query} here.`,
    facts: { query, location: ctx.loc },
  });
}
