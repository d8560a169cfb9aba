/**
 * Evaluates content conditions (goals, endings, state-dependent text,
 * requirements of verbs) against the world and one player. Pure.
 *
 * @module
 */
import type { Experience } from "./content.ts";
import type { Condition } from "./content_game.ts";
import { baseId, type ItemRecord, type PlayerState, type WorldState } from "./world.ts";

/** What a condition looks at: the content, the world and the acting player. */
export interface View {
  exp: Experience;
  world: WorldState;
  player: PlayerState;
}

/**
 * Whether the original of a per-player item is hidden from this player
 * (they took their copy already). Copies (`moonpetal_3`) are never hidden.
 *
 * @example
 * ```ts
 * if (hiddenFrom(view, "moonpetal")) continue;
 * ```
 */
export function hiddenFrom(v: View, stateId: string): boolean {
  if (v.exp.config.state.model !== "shared" || baseId(stateId) !== stateId) return false;
  return v.exp.items[stateId]?.availability === "per-player" &&
    v.player.claimed?.[stateId] === true;
}

/** Each record with its id, the records inside it included. */
function* records(items: Record<string, ItemRecord> | undefined): Generator<[string, ItemRecord]> {
  for (const [id, rec] of Object.entries(items ?? {})) {
    yield [id, rec];
    yield* records(rec.contents);
  }
}

function anyRecord(
  v: View,
  items: Record<string, ItemRecord> | undefined,
  item: string,
  test: (r: ItemRecord) => boolean = () => true,
): boolean {
  for (const [id, rec] of records(items)) {
    if (baseId(id) === item && !hiddenFrom(v, id) && test(rec)) return true;
  }
  return false;
}

const STATE_TESTS: Record<string, (r: ItemRecord) => boolean> = {
  open: (r) => r.state?.open === true,
  closed: (r) => r.state?.open === false,
  locked: (r) => r.state?.locked === true,
  unlocked: (r) => r.state?.locked === false,
  lit: (r) => r.state?.lit === true,
  unlit: (r) => r.state?.lit === false,
};

function itemIs(v: View, item: string, state: string): boolean {
  const test = STATE_TESTS[state]!;
  if (anyRecord(v, v.player.inventory, item, test)) return true;
  if (anyRecord(v, v.world.locations[v.player.location]?.items, item, test)) return true;
  // A unique item is the same thing wherever it is; copies count only within reach.
  if ((v.exp.items[item]?.availability ?? "unique") !== "unique") return false;
  for (const loc of Object.values(v.world.locations)) {
    if (anyRecord(v, loc.items, item, test)) return true;
  }
  return Object.values(v.world.npcs).some((n) => anyRecord(v, n.has, item, test));
}

/**
 * Whether the condition holds: every key it gives must.
 *
 * @example
 * ```ts
 * holds(view, { holds: "lantern", not_flag: "dreamed" });
 * ```
 */
export function holds(v: View, c: Condition | undefined): boolean {
  if (!c) return true;
  const p = v.player;
  if (c.flag !== undefined && p.flags?.[c.flag] !== true) return false;
  if (c.not_flag !== undefined && p.flags?.[c.not_flag] === true) return false;
  if (c.holds !== undefined && !anyRecord(v, p.inventory, c.holds)) return false;
  if (c.at !== undefined && p.location !== c.at) return false;
  if (c.item_at) {
    const here = v.world.locations[c.item_at.location]?.items;
    if (!anyRecord(v, here, c.item_at.item)) return false;
  }
  if (c.exit_open) {
    const { location, direction } = c.exit_open;
    const open = v.world.locations[location]?.exits[direction] ?? p.exits?.[location]?.[direction];
    if (!open) return false;
  }
  if (c.given && p.given?.[c.given.npc]?.[c.given.item] !== true) return false;
  if (c.item_is && !itemIs(v, c.item_is.item, c.item_is.state)) return false;
  if (c.goal !== undefined && p.goals?.[c.goal] !== true) return false;
  if (c.score_at_least !== undefined && (p.score ?? 0) < c.score_at_least) return false;
  if (c.all && !c.all.every((x) => holds(v, x))) return false;
  if (c.any && !c.any.some((x) => holds(v, x))) return false;
  if (c.not && holds(v, c.not)) return false;
  return true;
}

/**
 * The text of the first variant whose condition holds, else the default.
 *
 * @example
 * ```ts
 * varied(view, loc.description, loc.variants);
 * ```
 */
export function varied(
  v: View,
  fallback: string,
  variants: readonly { when: Condition; description: string }[],
): string {
  return variants.find((x) => holds(v, x.when))?.description ?? fallback;
}
