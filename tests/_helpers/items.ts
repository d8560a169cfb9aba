/**
 * Item counting over state documents, to check that every item is in
 * exactly one place (crash tests).
 *
 * @module
 */

interface ItemRec {
  name: string;
  contents?: Record<string, ItemRec>;
}

/**
 * Adds every item id of a map of item records (nested contents included) to `counts`.
 *
 * @example
 * ```ts
 * const counts = new Map<string, number>();
 * countItems(player.inventory, counts);
 * ```
 */
export function countItems(
  items: Record<string, ItemRec> | undefined,
  counts: Map<string, number>,
): void {
  for (const [id, rec] of Object.entries(items ?? {})) {
    counts.set(id, (counts.get(id) ?? 0) + 1);
    countItems(rec.contents, counts);
  }
}

/**
 * Counts the items of a world document: in locations and held by NPCs.
 *
 * @example
 * ```ts
 * countWorldItems(doc.world, counts);
 * ```
 */
export function countWorldItems(world: Record<string, unknown>, counts: Map<string, number>): void {
  const w = world as {
    locations: Record<string, { items: Record<string, ItemRec> }>;
    npcs: Record<string, { has: Record<string, ItemRec> }>;
  };
  for (const loc of Object.values(w.locations)) countItems(loc.items, counts);
  for (const npc of Object.values(w.npcs)) countItems(npc.has, counts);
}
