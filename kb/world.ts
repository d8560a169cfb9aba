/**
 * The shape of live state (what `world` and `player` of a snapshot hold), how
 * a fresh world is built from content, and the operations that create a
 * player lazily.
 *
 * World layout (every id is one escaped path segment):
 * ```
 * locations.<loc> = { name, exits: { <dir>: { to } }, items: { <item>: ItemRecord } }
 * npcs.<npc>      = { name, location, has: { <item>: ItemRecord } }
 * players.<user>  = { name, location }            (shared worlds only: presence)
 * ItemRecord      = { name, contents?: { <item>: ItemRecord } }   (contents iff container)
 * ```
 * Player: `{ name, location, inventory: { <item>: ItemRecord } }`.
 *
 * Every item is in exactly one place: a location, a container, an NPC's
 * `has` or one player's inventory.
 *
 * @module
 */
import { z } from "zod";
import type { StateModel, StateOperation } from "../shared/schema.ts";
import { joinPath } from "../shared/apply.ts";
import type { Experience } from "./content.ts";

/** One item as stored in state. */
export interface ItemRecord {
  name: string;
  contents?: Record<string, ItemRecord>;
}

const ItemRecordSchema: z.ZodType<ItemRecord> = z.lazy(() =>
  z.object({ name: z.string(), contents: z.record(z.string(), ItemRecordSchema).optional() })
);

/**
 * A location as stored in state.
 *
 * @example
 * ```ts
 * LocationStateSchema.parse(world.locations["woods-edge"]);
 * ```
 */
export const LocationStateSchema = z.object({
  name: z.string(),
  exits: z.record(z.string(), z.object({ to: z.string() })),
  items: z.record(z.string(), ItemRecordSchema),
});

/**
 * Live world state (validated on every read so a corrupt file fails loudly).
 *
 * @example
 * ```ts
 * const world = WorldStateSchema.parse(JSON.parse(text).world);
 * ```
 */
export const WorldStateSchema = z.object({
  locations: z.record(z.string(), LocationStateSchema),
  npcs: z.record(
    z.string(),
    z.object({
      name: z.string(),
      location: z.string(),
      has: z.record(z.string(), ItemRecordSchema),
    }),
  ),
  players: z.record(z.string(), z.object({ name: z.string(), location: z.string() })).optional(),
});
/** Live world state. */
export type WorldState = z.infer<typeof WorldStateSchema>;

/**
 * A player's profile.
 *
 * @example
 * ```ts
 * const player = PlayerStateSchema.parse(doc.player);
 * ```
 */
export const PlayerStateSchema = z.object({
  name: z.string(),
  location: z.string(),
  inventory: z.record(z.string(), ItemRecordSchema),
});
/** A player's profile. */
export type PlayerState = z.infer<typeof PlayerStateSchema>;

function record(exp: Experience, id: string): ItemRecord {
  const item = exp.items[id]!;
  if (!item.container) return { name: item.name };
  const contents: Record<string, ItemRecord> = {};
  for (const [childId, child] of Object.entries(exp.items)) {
    if (child.inside === id) contents[childId] = record(exp, childId);
  }
  return { name: item.name, contents };
}

/**
 * The world as content describes it before anyone played.
 *
 * @example
 * ```ts
 * const world = initialWorld(exp); // world.locations["woods-edge"].items.lantern
 * ```
 */
export function initialWorld(exp: Experience): WorldState {
  const locations: WorldState["locations"] = {};
  for (const [id, loc] of Object.entries(exp.locations)) {
    const exits: Record<string, { to: string }> = {};
    for (const [dir, exit] of Object.entries(loc.exits)) {
      if (typeof exit === "string") exits[dir] = { to: exit };
      else if (exit && exit.locked === undefined) exits[dir] = { to: exit.to };
    }
    locations[id] = { name: loc.name, exits, items: {} };
  }
  const npcs: WorldState["npcs"] = {};
  for (const [id, npc] of Object.entries(exp.npcs)) {
    npcs[id] = { name: npc.name, location: npc.location, has: {} };
  }
  for (const [id, item] of Object.entries(exp.items)) {
    if (item.location !== undefined) locations[item.location]!.items[id] = record(exp, id);
    if (item.held_by !== undefined) npcs[item.held_by]!.has[id] = record(exp, id);
  }
  const world: WorldState = { locations, npcs };
  if (exp.config.state.model === "shared") world.players = {};
  return world;
}

/**
 * The profile of a player who has not acted yet (a virtual view: creating it
 * is a state change that waits for the player's first changing action).
 *
 * @example
 * ```ts
 * newPlayer(exp, "alice"); // { name: "alice", location: "woods-edge", inventory: {} }
 * ```
 */
export function newPlayer(exp: Experience, userId: string): PlayerState {
  return { name: userId, location: exp.config.start, inventory: {} };
}

/**
 * Operations that create a player: the profile, and in shared worlds the
 * presence entry others see. Prepended to the first changing action's
 * operations so that one event both creates the player and acts.
 *
 * @example
 * ```ts
 * const { world, player } = creationOps(exp, "alice", "shared");
 * ```
 */
export function creationOps(
  exp: Experience,
  userId: string,
  model: StateModel,
): { world: StateOperation[]; player: StateOperation[] } {
  const profile = newPlayer(exp, userId);
  const player: StateOperation[] = [{ operation: "update", path: "", data: { ...profile } }];
  const world: StateOperation[] = model === "shared"
    ? [{
      operation: "add",
      path: joinPath("players", userId),
      data: { name: profile.name, location: profile.location },
    }]
    : [];
  return { world, player };
}
