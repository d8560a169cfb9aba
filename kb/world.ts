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
 * epoch           = n   (bumped by a reset: profiles of an older epoch count as fresh)
 * instances.<item> = n  (the last copy number handed out: copies are "<item>_<n>")
 * respawn.<item>  = { since }   (a respawning item away from its place since, ms)
 * ItemRecord      = { name, contents?: {...}, state?: { open?, locked?, lit? } }
 * ```
 * (`contents` iff the item holds things.) Player: `{ name, location,
 * inventory, epoch?, flags?, given?, claimed?, exits?, goals?, score?,
 * ending?, context? }`: everything a player's progress and conversation
 * need, so a shared world keeps it per player.
 *
 * Every item is in exactly one place: a location, a container, an NPC's
 * `has` or one player's inventory. Copies of respawning and per-player
 * items are items of their own (`lantern_2`), in one place each; a
 * per-player item's original stays where it is, hidden from players who
 * took theirs (`claimed`).
 *
 * @module
 */
import { z } from "zod";
import type { StateModel, StateOperation } from "../shared/schema.ts";
import { joinPath } from "../shared/apply.ts";
import type { Experience } from "./content.ts";

/**
 * The content id of an item in state: copies are `<id>_<n>`.
 *
 * @example
 * ```ts
 * baseId("lantern_2"); // "lantern"
 * ```
 */
export function baseId(stateId: string): string {
  return stateId.replace(/_\d+$/, "");
}

/** The states data-driven verbs keep on an item. */
export interface ItemStates {
  open?: boolean;
  locked?: boolean;
  lit?: boolean;
}

/** One item as stored in state. */
export interface ItemRecord {
  name: string;
  contents?: Record<string, ItemRecord>;
  state?: ItemStates;
}

const ItemRecordSchema: z.ZodType<ItemRecord> = z.lazy(() =>
  z.object({
    name: z.string(),
    contents: z.record(z.string(), ItemRecordSchema).optional(),
    state: z.object({
      open: z.boolean().optional(),
      locked: z.boolean().optional(),
      lit: z.boolean().optional(),
    }).optional(),
  })
);

const Exits = z.record(z.string(), z.object({ to: z.string() }));

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
  epoch: z.number().int().optional(),
  instances: z.record(z.string(), z.number().int()).optional(),
  respawn: z.record(z.string(), z.object({ since: z.number() })).optional(),
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
  /** The world's reset epoch this profile belongs to (absent: 0). */
  epoch: z.number().int().optional(),
  /** Puzzle flags of this player. */
  flags: z.record(z.string(), z.literal(true)).optional(),
  /** Wanted items this player gave: `given.<npc>.<item>`. */
  given: z.record(z.string(), z.record(z.string(), z.literal(true))).optional(),
  /** Per-player items this player has taken their copy of (by content id). */
  claimed: z.record(z.string(), z.literal(true)).optional(),
  /** Exits open for this player only: `exits.<location>.<direction> = { to }`. */
  exits: z.record(z.string(), Exits).optional(),
  /** Goals reached. */
  goals: z.record(z.string(), z.literal(true)).optional(),
  score: z.number().int().optional(),
  /** The ending this player reached. */
  ending: z.object({ id: z.string(), title: z.string(), text: z.string() }).optional(),
  /** Conversation: the last command (for `again`), the last things named (for `it`), a question asked. */
  context: z.object({
    last: z.record(z.string(), z.unknown()).optional(),
    it: z.array(z.string()).optional(),
    pending: z.object({
      command: z.record(z.string(), z.unknown()),
      slot: z.string(),
      index: z.number().int().optional(),
      candidates: z.array(z.string()),
    }).optional(),
  }).optional(),
});
/** A player's profile. */
export type PlayerState = z.infer<typeof PlayerStateSchema>;

/**
 * An item's record as content starts it (its contents, its open/locked/lit state).
 *
 * @example
 * ```ts
 * initialRecord(exp, "sea-chest"); // { name: "sea chest", contents: { logbook: ... }, state: { open: false } }
 * ```
 */
export function initialRecord(exp: Experience, id: string): ItemRecord {
  const item = exp.items[id]!;
  const rec: ItemRecord = { name: item.name };
  if (item.container || item.surface) {
    const contents: Record<string, ItemRecord> = {};
    for (const [childId, child] of Object.entries(exp.items)) {
      if (child.inside === id) contents[childId] = initialRecord(exp, childId);
    }
    rec.contents = contents;
  }
  if (item.openable || item.lightable) {
    rec.state = {
      ...(item.openable ? { open: item.openable.open, locked: item.openable.locked } : {}),
      ...(item.lightable ? { lit: item.lightable.lit } : {}),
    };
  }
  return rec;
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
      else if (exit?.door !== undefined) {
        if (exp.items[exit.door]?.openable?.open) exits[dir] = { to: exit.to };
      } else if (exit && exit.locked === undefined) exits[dir] = { to: exit.to };
    }
    locations[id] = { name: loc.name, exits, items: {} };
  }
  const npcs: WorldState["npcs"] = {};
  for (const [id, npc] of Object.entries(exp.npcs)) {
    npcs[id] = { name: npc.name, location: npc.location, has: {} };
  }
  for (const [id, item] of Object.entries(exp.items)) {
    if (item.location !== undefined) locations[item.location]!.items[id] = initialRecord(exp, id);
    if (item.held_by !== undefined) npcs[item.held_by]!.has[id] = initialRecord(exp, id);
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
export function newPlayer(exp: Experience, userId: string, epoch = 0): PlayerState {
  const player: PlayerState = { name: userId, location: exp.config.start, inventory: {} };
  if (epoch) player.epoch = epoch;
  return player;
}

/**
 * Whether a stored profile belongs to an older epoch of the world (a reset
 * happened since), so the player starts afresh.
 *
 * @example
 * ```ts
 * if (isStale(world, player)) player = newPlayer(exp, userId, world.epoch);
 * ```
 */
export function isStale(world: { epoch?: number }, player: { epoch?: unknown }): boolean {
  return (typeof player.epoch === "number" ? player.epoch : 0) !== (world.epoch ?? 0);
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
  opts: { epoch?: number; stale?: Record<string, unknown> } = {},
): { world: StateOperation[]; player: StateOperation[] } {
  const profile = newPlayer(exp, userId, opts.epoch);
  // A profile from before a reset: every key the fresh one lacks goes.
  const player: StateOperation[] = Object.keys(opts.stale ?? {})
    .filter((k) => !(k in profile))
    .map((k) => ({ operation: "remove", path: joinPath(k), data: {} }));
  player.push({ operation: "update", path: "", data: { ...profile } });
  const world: StateOperation[] = model === "shared"
    ? [{
      operation: "add",
      path: joinPath("players", userId),
      data: { name: profile.name, location: profile.location },
    }]
    : [];
  return { world, player };
}
