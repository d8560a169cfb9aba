/**
 * Verbs that move items: take, drop, put, give.
 *
 * @module
 */
import type { StateOperation } from "../shared/schema.ts";
import { joinPath } from "../shared/apply.ts";
import { nounPhrase } from "./grammar.ts";
import { matchPhrase } from "./match.ts";
import {
  addOp,
  ambiguous,
  changed,
  type Ctx,
  type EngineResult,
  findNpc,
  notCarrying,
  notHere,
  type Placed,
  removeOp,
  unchanged,
} from "./engine_ctx.ts";

/**
 * The `take` verb.
 *
 * @example
 * ```ts
 * take(ctx, ["dream", "bottle"]); // took dream-bottle-1 (lowest id of equals)
 * ```
 */
export function take(ctx: Ctx, object: string[]): EngineResult {
  const m = matchPhrase(ctx.exp, "item", object, ctx.itemsHere());
  if (m.kind === "ambiguous") return ambiguous(m.options, object);
  if (m.kind === "none") {
    const npc = matchPhrase(ctx.exp, "npc", object, ctx.npcsHere());
    if (npc.kind === "one") {
      return unchanged({
        kind: "cannot_take",
        summary: `You can't take ${npc.value.name}.`,
        facts: { npc: npc.value.id },
      });
    }
    const held = matchPhrase(ctx.exp, "item", object, ctx.inventory());
    if (held.kind === "one") {
      return unchanged({
        kind: "already_have",
        summary: `You already have the ${held.value.name}.`,
        facts: { item: ctx.describeItem(held.value) },
      });
    }
    return notHere(ctx, object);
  }
  const v = m.value;
  if (ctx.exp.items[v.id]?.portable === false) {
    return unchanged({
      kind: "cannot_take",
      summary: `The ${v.name} won't budge.`,
      facts: { item: ctx.describeItem(v) },
    });
  }
  const from = v.inside
    ? ` from the ${ctx.input.world.locations[ctx.loc]!.items[v.inside]!.name}`
    : "";
  return changed("took", `You take the ${v.name}${from}.`, {
    item: ctx.describeItem(v),
    location: ctx.loc,
  }, [
    ["world", removeOp(v)],
    ["player", addOp(["inventory", v.id], v.rec)],
  ]);
}

/**
 * The `drop` verb.
 *
 * @example
 * ```ts
 * drop(ctx, ["lantern"]);
 * ```
 */
export function drop(ctx: Ctx, object: string[]): EngineResult {
  const m = matchPhrase(ctx.exp, "item", object, ctx.inventory());
  if (m.kind === "ambiguous") return ambiguous(m.options, object);
  if (m.kind === "none") return notCarrying(object);
  const v = m.value;
  return changed("dropped", `You drop the ${v.name}.`, {
    item: ctx.describeItem(v),
    location: ctx.loc,
  }, [
    ["player", removeOp(v)],
    ["world", addOp(["locations", ctx.loc, "items", v.id], v.rec)],
  ]);
}

/**
 * The `put` verb.
 *
 * @example
 * ```ts
 * put(ctx, ["pebble"], ["basket"]);
 * ```
 */
export function put(ctx: Ctx, object: string[], container: string[]): EngineResult {
  const inv = ctx.inventory();
  const m = matchPhrase(ctx.exp, "item", object, inv);
  if (m.kind === "ambiguous") return ambiguous(m.options, object);
  if (m.kind === "none") return notCarrying(object);
  const item = m.value;
  const c = matchPhrase(
    ctx.exp,
    "item",
    container,
    [...inv, ...ctx.itemsHere()].filter((p) => p.id !== item.id),
  );
  if (c.kind === "ambiguous") return ambiguous(c.options, container);
  if (c.kind === "none") {
    if (matchPhrase(ctx.exp, "item", container, [item]).kind === "one") {
      return unchanged({
        kind: "invalid",
        summary: `You can't put the ${item.name} inside itself.`,
        facts: { item: item.id },
      });
    }
    return notHere(ctx, container);
  }
  const box = c.value;
  // One level of containers only (content allows no deeper): a container put
  // in another would hide what it holds from every command.
  if (item.rec.contents && box.rec.contents) {
    return unchanged({
      kind: "invalid",
      summary: `The ${item.name} won't fit in the ${box.name}.`,
      facts: { item: item.id, container: box.id },
    });
  }
  if (!box.rec.contents) {
    return unchanged({
      kind: "not_container",
      summary: `The ${box.name} can't hold anything.`,
      facts: { container: ctx.describeItem(box) },
    });
  }
  if (box.inside === item.id) {
    return unchanged({
      kind: "invalid",
      summary: `The ${box.name} is already inside the ${item.name}.`,
      facts: { item: item.id },
    });
  }
  if (item.inside === box.id) {
    return unchanged({
      kind: "already_there",
      summary: `The ${item.name} is already in the ${box.name}.`,
      facts: { item: item.id },
    });
  }
  return changed("put", `You put the ${item.name} in the ${box.name}.`, {
    item: ctx.describeItem(item),
    container: { id: box.id, name: box.name },
  }, [["player", removeOp(item)], [
    box.scope,
    addOp([...box.segments, "contents", item.id], item.rec),
  ]]);
}

/**
 * The `give` verb.
 *
 * @example
 * ```ts
 * give(ctx, ["moonpetal"], ["woander"]); // may unlock an exit or hand over a reward
 * ```
 */
export function give(ctx: Ctx, object: string[], npcWords: string[]): EngineResult {
  if (npcWords.length === 0) {
    // "give woander the moonpetal": the first words that name an NPC here,
    // the rest the item carried.
    for (let i = 1; i < object.length; i++) {
      const who = matchPhrase(ctx.exp, "npc", object.slice(0, i), ctx.npcsHere());
      const what = nounPhrase(object.slice(i));
      if (who.kind === "one" && what.length > 0) return give(ctx, what, object.slice(0, i));
    }
    return unchanged({
      kind: "incomplete",
      summary: "Give it to whom?",
      facts: { wanted: "npc" },
    });
  }
  const m = matchPhrase(ctx.exp, "item", object, ctx.inventory());
  if (m.kind === "ambiguous") return ambiguous(m.options, object);
  if (m.kind === "none") return notCarrying(object);
  const npc = findNpc(ctx, npcWords);
  if ("outcome" in npc) return npc;
  const item = m.value;
  const content = ctx.exp.npcs[npc.id];
  const want = content?.wants[item.id];
  const npcFacts = { id: npc.id, name: npc.name };
  if (!want) {
    return unchanged({
      kind: "refused",
      summary: `You offer the ${item.name} to ${npc.name}. ${content?.refusal ?? ""}`.trim(),
      facts: { npc: npcFacts, item: ctx.describeItem(item), reply: content?.refusal ?? "" },
      needs_capable_model: false,
    });
  }
  const list: Array<[Placed["scope"], StateOperation]> = [
    ["player", removeOp(item)],
    ["world", addOp(["npcs", npc.id, "has", item.id], item.rec)],
  ];
  const facts: Record<string, unknown> = {
    npc: npcFacts,
    item: ctx.describeItem(item),
    reply: want.reply,
  };
  const unlock = want.unlock;
  const exit = unlock ? ctx.exp.locations[unlock.location]?.exits[unlock.direction] : undefined;
  if (
    unlock && typeof exit === "object" &&
    !ctx.input.world.locations[unlock.location]?.exits[unlock.direction]
  ) {
    list.push(["world", {
      operation: "add",
      path: joinPath("locations", unlock.location, "exits", unlock.direction),
      data: { to: exit.to },
    }]);
    facts.unlocked = { location: unlock.location, direction: unlock.direction, to: exit.to };
  }
  const reward = want.reward ? npc.has[want.reward] : undefined;
  if (want.reward && reward) {
    list.push(["world", {
      operation: "remove",
      path: joinPath("npcs", npc.id, "has", want.reward),
      data: {},
    }]);
    list.push(["player", addOp(["inventory", want.reward], reward)]);
    facts.reward = { id: want.reward, name: reward.name };
  }
  return changed("gave", `You give the ${item.name} to ${npc.name}. ${want.reply}`, facts, list);
}
