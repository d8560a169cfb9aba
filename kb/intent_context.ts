/**
 * The visible context of a command the grammar did not understand: what
 * chat's intent step may show a model so it can say which command the
 * player meant (shared/schema.ts `IntentContextSchema`). Built from the
 * engine's own view of the player's location, so it names exactly what a
 * `look` and `inventory` would: open exits, items and their contents, NPCs
 * and other players here, what the player carries. Never hidden state:
 * locked exits, what NPCs hold and other locations stay out.
 *
 * @module
 */
import type { IntentContext } from "../shared/schema.ts";
import { Ctx, type EngineInput } from "./engine_ctx.ts";
import { HELP_LINES } from "./grammar.ts";

/** Bounds of the schema: a reply over them would be refused by chat. */
const MAX_ENTRIES = 64;
const MAX_NAME = 200;

const name = (s: string) => s.slice(0, MAX_NAME);
const bounded = <T>(list: T[]) => list.slice(0, MAX_ENTRIES);

interface Named {
  name: string;
  contents?: { name: string }[];
}

function things(list: Named[]): IntentContext["items"] {
  return bounded(list).map((i) => ({
    name: name(i.name),
    ...(i.contents ? { contents: bounded(i.contents.map((c) => name(c.name))) } : {}),
  }));
}

/**
 * The context of the player's current location, as the engine sees it.
 *
 * @example
 * ```ts
 * const context = intentContext({ exp, world, player, userId: "alice", message: "grab a bottle?" });
 * context.items.map((i) => i.name); // ["dream bottle", ...]
 * ```
 */
export function intentContext(input: EngineInput): IntentContext {
  const ctx = new Ctx(input);
  const here = ctx.describeLocation(ctx.loc);
  const inventory = Object.values(input.player.inventory).map((r) => ({
    name: r.name,
    ...(r.contents ? { contents: Object.values(r.contents).map((c) => ({ name: c.name })) } : {}),
  }));
  return {
    verbs: [...HELP_LINES],
    location: name(here.name),
    exits: bounded(here.exits).map((e) => ({ direction: name(e.direction), to: name(e.name) })),
    items: things(here.items),
    npcs: bounded(here.npcs.map((n) => name(n.name))),
    players: bounded(here.players.map(name)),
    inventory: things(inventory),
  };
}
