/**
 * Shared worlds that do not run out: copies of per-player items, and
 * respawning items that come back to their place. Time is lazy: a
 * respawning item away from its place is marked with the time it left
 * (`world.respawn.<item>`), and the first action at or after
 * `respawn_after` seconds puts a new copy back. No timer runs anywhere.
 *
 * @module
 */
import type { StateOperation } from "../shared/schema.ts";
import { joinPath } from "../shared/apply.ts";
import type { Ctx } from "./engine_ctx.ts";
import { baseId, initialRecord } from "./world.ts";

/**
 * Seconds a respawning item stays away when content does not say (five minutes).
 *
 * @example
 * ```ts
 * const after = (item.respawn_after ?? DEFAULT_RESPAWN_AFTER_S) * 1000;
 * ```
 */
export const DEFAULT_RESPAWN_AFTER_S = 300;

/**
 * A fresh copy id of an item and the operation that records it was used.
 *
 * @example
 * ```ts
 * const { id, op } = newCopy(ctx, "moonpetal"); // id "moonpetal_2"
 * ```
 */
export function newCopy(ctx: Ctx, base: string): { id: string; op: StateOperation } {
  const n = (ctx.world.instances?.[base] ?? 1) + 1;
  return {
    id: `${base}_${n}`,
    op: { operation: "update", path: "instances", data: { [base]: n } },
  };
}

/**
 * Whether taking or receiving this item hands the player a copy instead of
 * the thing itself: the original of a per-player item in a shared world.
 *
 * @example
 * ```ts
 * if (copiesFor(ctx, "moonpetal")) ...
 * ```
 */
export function copiesFor(ctx: Ctx, stateId: string): boolean {
  return ctx.shared && stateId === baseId(stateId) &&
    ctx.exp.items[stateId]?.availability === "per-player";
}

/**
 * Player operation that records a per-player item as taken by this player.
 *
 * @example
 * ```ts
 * claimOp("moonpetal"); // { operation: "update", path: "claimed", data: { moonpetal: true } }
 * ```
 */
export function claimOp(base: string): StateOperation {
  return { operation: "update", path: "claimed", data: { [base]: true } };
}

function homeHas(ctx: Ctx, base: string): boolean {
  const home = ctx.exp.items[base]?.location;
  const items = home ? ctx.world.locations[home]?.items ?? {} : {};
  return Object.keys(items).some((id) => baseId(id) === base);
}

function respawnOps(ctx: Ctx, base: string): StateOperation[] {
  const home = ctx.exp.items[base]!.location!;
  const { id, op } = newCopy(ctx, base);
  const ops: StateOperation[] = [
    op,
    {
      operation: "add",
      path: joinPath("locations", home, "items", id),
      data: { ...initialRecord(ctx.exp, base) },
    },
  ];
  if (ctx.world.respawn?.[base]) {
    ops.push({ operation: "remove", path: joinPath("respawn", base), data: {} });
  }
  return ops;
}

function respawning(ctx: Ctx): string[] {
  return Object.entries(ctx.exp.items)
    .filter(([, item]) => item.availability === "respawning" && item.location !== undefined)
    .map(([id]) => id);
}

/**
 * An item taken out of play (given away, used up) is back at its place at
 * once when it is respawning and its place is empty.
 *
 * @example
 * ```ts
 * list.push(...respawnNow(ctx, "lantern").map((op) => ["world", op]));
 * ```
 */
export function respawnNow(ctx: Ctx, stateId: string): StateOperation[] {
  const base = baseId(stateId);
  if (ctx.exp.items[base]?.availability !== "respawning") return [];
  if (ctx.exp.items[base]?.location === undefined || homeHas(ctx, base)) return [];
  return respawnOps(ctx, base);
}

/**
 * World operations, run before an action, that put back every respawning
 * item whose time away has passed. They are applied to the context already.
 *
 * @example
 * ```ts
 * const pre = dueRespawns(ctx);
 * ```
 */
export function dueRespawns(ctx: Ctx): StateOperation[] {
  const ops: StateOperation[] = [];
  for (const [base, mark] of Object.entries(ctx.world.respawn ?? {})) {
    const item = ctx.exp.items[base];
    const after = (item?.respawn_after ?? DEFAULT_RESPAWN_AFTER_S) * 1000;
    let list: StateOperation[] = [];
    if (item?.availability !== "respawning" || homeHas(ctx, base)) {
      list = [{ operation: "remove", path: joinPath("respawn", base), data: {} }];
    } else if (ctx.now - mark.since >= after) list = respawnOps(ctx, base);
    ctx.apply({ world: list, player: [] });
    ops.push(...list);
  }
  return ops;
}

/**
 * World operations, run after an action, that mark respawning items that
 * just left their place (with the time) and unmark those that are back.
 *
 * @example
 * ```ts
 * const post = awayMarks(ctx);
 * ```
 */
export function awayMarks(ctx: Ctx): StateOperation[] {
  const ops: StateOperation[] = [];
  for (const base of respawning(ctx)) {
    const marked = ctx.world.respawn?.[base] !== undefined;
    const home = homeHas(ctx, base);
    if (!home && !marked) {
      ops.push({ operation: "update", path: "respawn", data: { [base]: { since: ctx.now } } });
    } else if (home && marked) {
      ops.push({ operation: "remove", path: joinPath("respawn", base), data: {} });
    }
  }
  return ops;
}
