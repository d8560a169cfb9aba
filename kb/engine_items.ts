/**
 * Verbs that move items: take, drop, put, give, each over one or several
 * objects (`take all except the lantern`, `drop pebble and acorn`).
 *
 * @module
 */
import { joinPath } from "../shared/apply.ts";
import type { Command } from "./grammar.ts";
import { nounPhrase } from "./grammar.ts";
import { matchPhrase } from "./match.ts";
import {
  addOp,
  changed,
  type Ctx,
  findNpc,
  notCarrying,
  notHere,
  type NpcHere,
  type Placed,
  removeOp,
  type Step,
  type Tagged,
  unchanged,
} from "./engine_ctx.ts";
import { eachItem, resolveItems, theItems, withAssumptions } from "./engine_nouns.ts";
import { claimOp, copiesFor, newCopy, respawnNow } from "./engine_world.ts";
import { baseId } from "./world.ts";

type Verb<V extends Command["verb"]> = Command & { verb: V };

/** Where a held or present container is, and what it holds (reachable only when open). */
function containerPool(ctx: Ctx, box: Placed): Placed[] {
  return [...ctx.itemsHere(), ...ctx.inventory()].filter((p) => p.inside === box.id);
}

/**
 * The `take` verb: one or several items, `all` (what can be carried here),
 * `from` a container.
 *
 * @example
 * ```ts
 * take(ctx, { verb: "take", objects: [{ all: true, except: [] }] });
 * ```
 */
export function take(ctx: Ctx, cmd: Verb<"take">): Step {
  let pool = ctx.itemsHere();
  let allPool = pool.filter((p) => !p.inside && ctx.content(p.id)?.portable !== false);
  let nothing = "There is nothing here to take.";
  if (cmd.from) {
    const r = resolveItems(ctx, [cmd.from], [...ctx.itemsHere(), ...ctx.inventory()], {
      command: cmd,
      slot: "from",
      verbPhrase: "take things from",
      nothing,
      missing: (w) => notHere(ctx, w),
    });
    if ("step" in r) return r.step;
    const box = r.items[0]!;
    if (!box.rec.contents) return cannotHold(ctx, box);
    if (box.rec.state?.open === false) return closed(ctx, box);
    pool = containerPool(ctx, box);
    allPool = pool;
    nothing = `There is nothing ${ctx.content(box.id)?.surface ? "on" : "in"} ${ctx.the(box)}.`;
  }
  const r = resolveItems(ctx, cmd.objects, pool, {
    command: cmd,
    slot: "objects",
    verbPhrase: "take",
    allPool,
    nothing,
    missing: (words) => takeMissing(ctx, words),
  });
  if ("step" in r) return r.step;
  const step = eachItem(ctx, r, (p) => takeOne(ctx, p), (ok) => `You take ${theItems(ctx, ok)}.`);
  return withAssumptions(step, r.assumed);
}

function takeMissing(ctx: Ctx, words: string[]): Step {
  const npc = matchPhrase(ctx.exp, "npc", words, ctx.npcsHere());
  if (npc.kind === "one") {
    return unchanged({
      kind: "cannot_take",
      summary: `You can't take ${npc.value.name}.`,
      facts: { npc: npc.value.id },
    });
  }
  const held = matchPhrase(ctx.exp, "item", words, ctx.inventory());
  if (held.kind === "one") {
    return unchanged({
      kind: "already_have",
      summary: `You already have ${ctx.the(held.value)}.`,
      facts: { item: ctx.describeItem(held.value) },
    });
  }
  return notHere(ctx, words);
}

function takeOne(ctx: Ctx, v: Placed): Step {
  if (v.scope === "player" && !v.inside) {
    return unchanged({
      kind: "already_have",
      summary: `You already have ${ctx.the(v)}.`,
      facts: { item: ctx.describeItem(v) },
    });
  }
  if (ctx.content(v.id)?.portable === false) {
    return unchanged({
      kind: "cannot_take",
      summary: `${capital(ctx.the(v))} won't budge.`,
      facts: { item: ctx.describeItem(v) },
    });
  }
  const container = v.inside
    ? [...ctx.itemsHere(), ...ctx.inventory()].find((p) => p.id === v.inside)
    : undefined;
  const from = container ? ` from ${ctx.the(container)}` : "";
  const facts = { item: ctx.describeItem(v), location: ctx.loc };
  if (copiesFor(ctx, v.id)) {
    // Each player takes their own; the original stays for the next one.
    const copy = newCopy(ctx, v.id);
    const step = changed("took", `You take ${ctx.the(v)}${from}.`, { ...facts, copy: copy.id }, [
      ["world", copy.op],
      ["player", addOp(["inventory", copy.id], v.rec)],
      ["player", claimOp(v.id)],
    ]);
    return { ...step, it: [copy.id] };
  }
  return changed("took", `You take ${ctx.the(v)}${from}.`, facts, [
    [v.scope, removeOp(v)],
    ["player", addOp(["inventory", v.id], v.rec)],
  ]);
}

/**
 * The `drop` verb.
 *
 * @example
 * ```ts
 * drop(ctx, { verb: "drop", objects: [{ words: ["lantern"] }] });
 * ```
 */
export function drop(ctx: Ctx, cmd: Verb<"drop">): Step {
  const inv = ctx.inventory();
  const r = resolveItems(ctx, cmd.objects, inv, {
    command: cmd,
    slot: "objects",
    verbPhrase: "drop",
    allPool: inv.filter((p) => !p.inside),
    nothing: "You are carrying nothing.",
    missing: (w) => notCarrying(w),
  });
  if ("step" in r) return r.step;
  const step = eachItem(ctx, r, (v) =>
    changed("dropped", `You drop ${ctx.the(v)}.`, {
      item: ctx.describeItem(v),
      location: ctx.loc,
    }, [
      ["player", removeOp(v)],
      ["world", addOp(["locations", ctx.loc, "items", v.id], v.rec)],
    ]), (ok) => `You drop ${theItems(ctx, ok)}.`);
  return withAssumptions(step, r.assumed);
}

/**
 * The `put` verb: `put X in Y`, `put X on Y` (a surface), several objects.
 *
 * @example
 * ```ts
 * put(ctx, { verb: "put", objects: [{ words: ["pebble"] }], container: { words: ["basket"] }, on: false });
 * ```
 */
export function put(ctx: Ctx, cmd: Verb<"put">): Step {
  const inv = ctx.inventory();
  const c = resolveItems(ctx, [cmd.container], [...inv, ...ctx.itemsHere()], {
    command: cmd,
    slot: "container",
    verbPhrase: "put things in",
    nothing: "Put it in what?",
    missing: (w) => notHere(ctx, w),
  });
  if ("step" in c) return c.step;
  const box = c.items[0]!;
  const r = resolveItems(ctx, cmd.objects, inv, {
    command: cmd,
    slot: "objects",
    verbPhrase: "put",
    allPool: inv.filter((p) => !p.inside && p.id !== box.id),
    nothing: "You are carrying nothing to put there.",
    missing: (w) => notCarrying(w),
  });
  if ("step" in r) return r.step;
  const where = ctx.content(box.id)?.surface ? "on" : "in";
  const step = eachItem(
    ctx,
    r,
    (item) => putOne(ctx, item, box.id),
    (ok) => `You put ${theItems(ctx, ok)} ${where} ${ctx.the(box)}.`,
  );
  return withAssumptions(step, r.assumed);
}

function putOne(ctx: Ctx, item: Placed, boxId: string): Step {
  // The container as it is now (an earlier object may have changed it).
  const box = [...ctx.inventory(), ...ctx.itemsHere()].find((p) => p.id === boxId)!;
  if (item.id === box.id) {
    return unchanged({
      kind: "invalid",
      summary: `You can't put ${ctx.the(item)} inside itself.`,
      facts: { item: item.id },
    });
  }
  if (!box.rec.contents) return cannotHold(ctx, box);
  // One level of containers only (content allows no deeper): a container put
  // in another would hide what it holds from every command.
  if (item.rec.contents) {
    return unchanged({
      kind: "invalid",
      summary: `${capital(ctx.the(item))} won't fit in ${ctx.the(box)}.`,
      facts: { item: item.id, container: box.id },
    });
  }
  if (box.rec.state?.open === false) return closed(ctx, box);
  if (item.inside === box.id) {
    return unchanged({
      kind: "already_there",
      summary: `${capital(ctx.the(item))} is already in ${ctx.the(box)}.`,
      facts: { item: item.id },
    });
  }
  const where = ctx.content(box.id)?.surface ? "on" : "in";
  return changed("put", `You put ${ctx.the(item)} ${where} ${ctx.the(box)}.`, {
    item: ctx.describeItem(item),
    container: { id: box.id, name: box.name },
  }, [["player", removeOp(item)], [
    box.scope,
    addOp([...box.segments, "contents", item.id], item.rec),
  ]]);
}

function cannotHold(ctx: Ctx, box: Placed): Step {
  return unchanged({
    kind: "not_container",
    summary: `${capital(ctx.the(box))} can't hold anything.`,
    facts: { container: ctx.describeItem(box) },
  });
}

/**
 * "The sea chest is closed."
 *
 * @example
 * ```ts
 * if (box.rec.state?.open === false) return closed(ctx, box);
 * ```
 */
export function closed(ctx: Ctx, box: Placed): Step {
  return unchanged({
    kind: "container_closed",
    summary: `${capital(ctx.the(box))} is closed.`,
    facts: { item: ctx.describeItem(box) },
  });
}

/**
 * The first letter in upper case (the engine's sentences often start with a name).
 *
 * @example
 * ```ts
 * capital("the lamp is lit."); // "The lamp is lit."
 * ```
 */
export function capital(s: string): string {
  return s.charAt(0).toUpperCase() + s.slice(1);
}

/**
 * The `give` verb: trades, per-player progress, rewards (a copy each for
 * per-player rewards in a shared world), exits opened for everyone or for
 * the giver only.
 *
 * @example
 * ```ts
 * give(ctx, { verb: "give", objects: [{ words: ["moonpetal"] }], npc: ["woander"] });
 * ```
 */
export function give(ctx: Ctx, cmd: Verb<"give">): Step {
  if (cmd.npc.length === 0) {
    // "give woander the moonpetal": the first words that name an NPC here,
    // the rest the item carried.
    const object = (cmd.objects[0] as { words?: string[] }).words ?? [];
    for (let i = 1; i < object.length; i++) {
      const who = matchPhrase(ctx.exp, "npc", object.slice(0, i), ctx.npcsHere());
      const what = nounPhrase(object.slice(i));
      if (who.kind === "one" && what.length > 0) {
        return give(ctx, { ...cmd, objects: [{ words: what }], npc: object.slice(0, i) });
      }
    }
    return unchanged({ kind: "incomplete", summary: "Give it to whom?", facts: { wanted: "npc" } });
  }
  const r = resolveItems(ctx, cmd.objects, ctx.inventory(), {
    command: cmd,
    slot: "objects",
    verbPhrase: "give",
    allPool: ctx.inventory().filter((p) => !p.inside),
    nothing: "You are carrying nothing.",
    missing: (w) => notCarrying(w),
  });
  if ("step" in r) return r.step;
  const npc = findNpc(ctx, cmd.npc);
  if ("outcome" in npc) return npc;
  const step = eachItem(
    ctx,
    r,
    (item) => giveOne(ctx, item, npc),
    (ok) => `You give ${theItems(ctx, ok)} to ${npc.name}.`,
  );
  return withAssumptions(step, r.assumed);
}

function giveOne(ctx: Ctx, item: Placed, npc: NpcHere): Step {
  const base = baseId(item.id);
  const content = ctx.exp.npcs[npc.id];
  const want = content?.wants[base];
  const npcFacts = { id: npc.id, name: npc.name };
  if (!want) {
    return unchanged({
      kind: "refused",
      summary: `You offer ${ctx.the(item)} to ${npc.name}. ${content?.refusal ?? ""}`.trim(),
      facts: { npc: npcFacts, item: ctx.describeItem(item), reply: content?.refusal ?? "" },
    });
  }
  if (ctx.player.given?.[npc.id]?.[base]) {
    return unchanged({
      kind: "refused",
      summary: `You offer ${ctx.the(item)} to ${npc.name}. ${want.again}`,
      facts: { npc: npcFacts, item: ctx.describeItem(item), reply: want.again, again: true },
    });
  }
  const list: Tagged = [
    ["player", removeOp(item)],
    ["world", addOp(["npcs", npc.id, "has", item.id], item.rec)],
    ["player", { operation: "update", path: joinPath("given", npc.id), data: { [base]: true } }],
  ];
  if (want.set_flags.length) {
    const data = Object.fromEntries(want.set_flags.map((f) => [f, true]));
    list.push(["player", { operation: "update", path: "flags", data }]);
  }
  const facts: Record<string, unknown> = {
    npc: npcFacts,
    item: ctx.describeItem(item),
    reply: want.reply,
  };
  const unlock = want.unlock;
  const exit = unlock ? ctx.exp.locations[unlock.location]?.exits[unlock.direction] : undefined;
  if (unlock && typeof exit === "object" && !ctx.exitsOf(unlock.location)[unlock.direction]) {
    // "player" opens the way for the giver only, so the puzzle waits for the next player.
    const mine = unlock.for === "player" && ctx.shared;
    list.push([mine ? "player" : "world", {
      operation: "add",
      path: mine
        ? joinPath("exits", unlock.location, unlock.direction)
        : joinPath("locations", unlock.location, "exits", unlock.direction),
      data: { to: exit.to },
    }]);
    facts.unlocked = { location: unlock.location, direction: unlock.direction, to: exit.to };
  }
  const reward = want.reward ? npc.has[want.reward] : undefined;
  if (want.reward && reward) {
    if (copiesFor(ctx, want.reward)) {
      const copy = newCopy(ctx, want.reward);
      list.push(["world", copy.op], ["player", addOp(["inventory", copy.id], reward)]);
      list.push(["player", claimOp(want.reward)]);
    } else {
      list.push(["world", removeOp({ segments: ["npcs", npc.id, "has", want.reward] })]);
      list.push(["player", addOp(["inventory", want.reward], reward)]);
    }
    facts.reward = { id: want.reward, name: reward.name };
  }
  list.push(...respawnNow(ctx, item.id).map((op): Tagged[number] => ["world", op]));
  return changed("gave", `You give ${ctx.the(item)} to ${npc.name}. ${want.reply}`, facts, list);
}
