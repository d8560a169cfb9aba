/**
 * Data-driven verbs: open/close, lock/unlock with keys, light/extinguish,
 * read, use X on Y, and looking inside things. What each item allows, what
 * it needs and what it does are declared per item in content
 * (`openable`, `lightable`, `text`, `uses`); the engine stays a pure
 * function from state and command to operations.
 *
 * @module
 */
import type { StateOperation } from "../shared/schema.ts";
import { joinPath } from "../shared/apply.ts";
import { holds } from "./conditions.ts";
import type { ItemEffect } from "./content.ts";
import type { Assumption, Command, Noun } from "./grammar.ts";
import { counted, listing } from "./prose.ts";
import {
  changed,
  type Ctx,
  notCarrying,
  notHere,
  type Placed,
  removeOp,
  type Step,
  type Tagged,
  unchanged,
} from "./engine_ctx.ts";
import { capital, closed } from "./engine_items.ts";
import { resolveItems, withAssumptions } from "./engine_nouns.ts";
import { respawnNow } from "./engine_world.ts";
import { baseId } from "./world.ts";

type Verb<V extends Command["verb"]> = Command & { verb: V };

/** One thing in reach (here or carried), or the step that answers instead. */
function one(
  ctx: Ctx,
  cmd: Command,
  slot: string,
  noun: Noun,
  verbPhrase: string,
  pool = [...ctx.itemsHere(), ...ctx.inventory()],
): { item: Placed; assumed: Assumption[] } | Step {
  const r = resolveItems(ctx, [noun], pool, {
    command: cmd,
    slot,
    verbPhrase,
    nothing: `What do you want to ${verbPhrase}?`,
    missing: (w) => notHere(ctx, w),
  });
  if ("step" in r) return r.step;
  return { item: r.items[0]!, assumed: r.assumed };
}

/** The operations of an effect (flags) and whether its requirement holds. */
function effect(ctx: Ctx, e: ItemEffect | undefined): { ok: boolean; ops: Tagged } {
  if (e?.requires && !holds(ctx, e.requires)) return { ok: false, ops: [] };
  const ops: Tagged = [];
  if (e?.set_flags.length) {
    const data = Object.fromEntries(e.set_flags.map((f) => [f, true]));
    ops.push(["player", { operation: "update", path: "flags", data }]);
  }
  for (const f of e?.clear_flags ?? []) {
    ops.push(["player", { operation: "remove", path: joinPath("flags", f), data: {} }]);
  }
  return { ok: true, ops };
}

function stateOp(p: Placed, data: Record<string, boolean>): Tagged[number] {
  return [p.scope, { operation: "update", path: joinPath(...p.segments, "state"), data }];
}

/** The exits this item is the door of, at the player's location. */
function doorExits(ctx: Ctx, p: Placed): Array<[string, string]> {
  const exits = ctx.exp.locations[ctx.loc]?.exits ?? {};
  return Object.entries(exits).flatMap(([dir, e]) =>
    typeof e === "object" && e.door === baseId(p.id) ? [[dir, e.to] as [string, string]] : []
  );
}

function refuse(kind: string, summary: string, p: Placed, ctx: Ctx): Step {
  return unchanged({ kind, summary, facts: { item: ctx.describeItem(p) } });
}

/**
 * `open` and `close`.
 *
 * @example
 * ```ts
 * openClose(ctx, { verb: "open", object: { words: ["door"] } });
 * ```
 */
export function openClose(ctx: Ctx, cmd: Verb<"open" | "close">): Step {
  const found = one(ctx, cmd, "object", cmd.object, cmd.verb);
  if ("outcome" in found) return found;
  const p = found.item;
  const spec = ctx.content(p.id)?.openable;
  const opening = cmd.verb === "open";
  if (!spec) return refuse("cannot", `You can't ${cmd.verb} ${ctx.the(p)}.`, p, ctx);
  const isOpen = p.rec.state?.open === true;
  if (opening === isOpen) {
    return refuse(
      "already",
      `${capital(ctx.the(p))} is already ${opening ? "open" : "closed"}.`,
      p,
      ctx,
    );
  }
  if (opening && p.rec.state?.locked && cmd.verb === "open" && cmd.key) {
    // "open the door with the key": unlock it, then open it.
    const unlocked = lockUnlock(ctx, { verb: "unlock", object: { ids: [p.id] }, key: cmd.key });
    if (!unlocked.outcome.changed) return unlocked;
    ctx.apply(unlocked);
    const opened = openClose(ctx, { verb: "open", object: { ids: [p.id] } });
    if (!opened.applied) ctx.apply(opened);
    return {
      ...opened,
      outcome: {
        ...opened.outcome,
        summary: `${unlocked.outcome.summary} ${opened.outcome.summary}`,
      },
      world: [...unlocked.world, ...opened.world],
      player: [...unlocked.player, ...opened.player],
      applied: true,
    };
  }
  if (opening && p.rec.state?.locked) {
    return refuse("locked", `${capital(ctx.the(p))} is locked.`, p, ctx);
  }
  const rule = opening ? spec.on_open : spec.on_close;
  const e = effect(ctx, rule);
  if (!e.ok) return refuse("refused", rule?.refusal ?? "Nothing happens.", p, ctx);
  const list: Tagged = [stateOp(p, { open: opening }), ...e.ops];
  for (const [dir, to] of doorExits(ctx, p)) {
    const path = joinPath("locations", ctx.loc, "exits", dir);
    list.push([
      "world",
      opening
        ? { operation: "add", path, data: { to } }
        : removeOp({ segments: ["locations", ctx.loc, "exits", dir] }),
    ]);
  }
  let summary = rule?.text ?? `You ${cmd.verb} ${ctx.the(p)}.`;
  if (opening && p.rec.contents) summary += ` ${insideSentence(ctx, p, true)}`;
  const step = changed(opening ? "opened" : "closed", summary, { item: ctx.describeItem(p) }, list);
  return withAssumptions({ ...step, it: [p.id] }, found.assumed);
}

/**
 * `lock X with K` and `unlock X with K` (the key is found among what the
 * player carries when not named).
 *
 * @example
 * ```ts
 * lockUnlock(ctx, { verb: "unlock", object: { words: ["door"] }, key: { words: ["key"] } });
 * ```
 */
export function lockUnlock(ctx: Ctx, cmd: Verb<"lock" | "unlock">): Step {
  const found = one(ctx, cmd, "object", cmd.object, cmd.verb);
  if ("outcome" in found) return found;
  const p = found.item;
  const spec = ctx.content(p.id)?.openable;
  const locking = cmd.verb === "lock";
  if (!spec?.key) return refuse("cannot", `You can't ${cmd.verb} ${ctx.the(p)}.`, p, ctx);
  if (locking === (p.rec.state?.locked === true)) {
    return refuse(
      "already",
      `${capital(ctx.the(p))} is already ${locking ? "locked" : "unlocked"}.`,
      p,
      ctx,
    );
  }
  if (locking && p.rec.state?.open) {
    return refuse("open", `You have to close ${ctx.the(p)} first.`, p, ctx);
  }
  const inv = ctx.inventory();
  let key: Placed | undefined;
  if (cmd.key) {
    const r = resolveItems(ctx, [cmd.key], inv, {
      command: cmd,
      slot: "key",
      verbPhrase: `${cmd.verb} ${ctx.the(p)} with`,
      nothing: "With what?",
      missing: (w) => notCarrying(w),
    });
    if ("step" in r) return r.step;
    key = r.items[0]!;
    if (baseId(key.id) !== spec.key) {
      return refuse("wrong_key", `${capital(ctx.the(key))} doesn't fit ${ctx.the(p)}.`, p, ctx);
    }
  } else {
    key = inv.find((k) => baseId(k.id) === spec.key);
    if (!key) {
      return refuse("no_key", `You have nothing to ${cmd.verb} ${ctx.the(p)} with.`, p, ctx);
    }
  }
  const summary = `You ${cmd.verb} ${ctx.the(p)} with ${ctx.the(key)}.`;
  const step = changed(locking ? "locked" : "unlocked", summary, {
    item: ctx.describeItem(p),
    key: { id: key.id, name: key.name },
  }, [stateOp(p, { locked: locking })]);
  return withAssumptions({ ...step, it: [p.id] }, found.assumed);
}

/**
 * `light` and `extinguish`.
 *
 * @example
 * ```ts
 * lightOut(ctx, { verb: "light", object: { words: ["lamp"] } });
 * ```
 */
export function lightOut(ctx: Ctx, cmd: Verb<"light" | "extinguish">): Step {
  const found = one(ctx, cmd, "object", cmd.object, cmd.verb);
  if ("outcome" in found) return found;
  const p = found.item;
  const spec = ctx.content(p.id)?.lightable;
  const lighting = cmd.verb === "light";
  if (!spec) return refuse("cannot", `You can't ${cmd.verb} ${ctx.the(p)}.`, p, ctx);
  if (lighting === (p.rec.state?.lit === true)) {
    return refuse(
      "already",
      `${capital(ctx.the(p))} is already ${lighting ? "lit" : "out"}.`,
      p,
      ctx,
    );
  }
  const rule = lighting ? spec.on_light : spec.on_extinguish;
  const e = effect(ctx, rule);
  if (!e.ok) return refuse("refused", rule?.refusal ?? "Nothing happens.", p, ctx);
  const summary = rule?.text ?? `You ${cmd.verb} ${ctx.the(p)}.`;
  const step = changed(lighting ? "lit" : "extinguished", summary, { item: ctx.describeItem(p) }, [
    stateOp(p, { lit: lighting }),
    ...e.ops,
  ]);
  return withAssumptions({ ...step, it: [p.id] }, found.assumed);
}

/**
 * `read`: the item's `text`, else its description.
 *
 * @example
 * ```ts
 * read(ctx, { verb: "read", object: { words: ["logbook"] } });
 * ```
 */
export function read(ctx: Ctx, cmd: Verb<"read">): Step {
  const found = one(ctx, cmd, "object", cmd.object, "read");
  if ("outcome" in found) return found;
  const p = found.item;
  const item = ctx.describeItem(p);
  const text = ctx.content(p.id)?.text ?? item.description;
  const step = unchanged({ kind: "read", summary: text, facts: { item, text } });
  return withAssumptions({ ...step, it: [p.id] }, found.assumed);
}

/**
 * `use X on Y` (and `use X` when it has one use within reach).
 *
 * @example
 * ```ts
 * use(ctx, { verb: "use", object: { words: ["oil"] }, target: { words: ["lamp"] } });
 * ```
 */
export function use(ctx: Ctx, cmd: Verb<"use">): Step {
  const found = one(ctx, cmd, "object", cmd.object, "use");
  if ("outcome" in found) return found;
  const p = found.item;
  const uses = ctx.content(p.id)?.uses ?? {};
  const reach = [...ctx.itemsHere(), ...ctx.inventory()].filter((x) => x.id !== p.id);
  let target: Placed | undefined;
  if (cmd.target) {
    const t = one(ctx, cmd, "target", cmd.target, `use ${ctx.the(p)} on`, reach);
    if ("outcome" in t) return t;
    target = t.item;
  } else {
    const usable = reach.filter((x) => baseId(x.id) in uses);
    if (usable.length !== 1) {
      return unchanged({
        kind: "incomplete",
        summary: `What do you want to use ${ctx.the(p)} on?`,
        facts: { wanted: "target" },
      });
    }
    target = usable[0]!;
  }
  const rule = uses[baseId(target.id)];
  if (!rule && ctx.content(target.id)?.openable?.key === baseId(p.id)) {
    // "use the key on the door": the key's own use.
    const verb = target.rec.state?.locked ? "unlock" : "lock";
    return lockUnlock(ctx, { verb, object: { ids: [target.id] }, key: { ids: [p.id] } });
  }
  if (!rule) {
    return unchanged({
      kind: "no_effect",
      summary: `Using ${ctx.the(p)} on ${ctx.the(target)} does nothing.`,
      facts: { item: ctx.describeItem(p), target: ctx.describeItem(target) },
    });
  }
  const e = effect(ctx, rule);
  if (!e.ok) return refuse("refused", rule.refusal ?? "Nothing happens.", p, ctx);
  const list: Tagged = [...e.ops];
  if (rule.consume) {
    list.push([p.scope, removeOp(p)]);
    list.push(
      ...respawnNow(ctx, p.id).map((op): [Placed["scope"], StateOperation] => ["world", op]),
    );
  }
  if (list.length === 0) {
    // A use that changes nothing is still told, and is still a use.
    return unchanged({
      kind: "used",
      summary: rule.text ?? `You use ${ctx.the(p)} on ${ctx.the(target)}.`,
      facts: { item: ctx.describeItem(p), target: ctx.describeItem(target) },
    });
  }
  const step = changed("used", rule.text ?? `You use ${ctx.the(p)} on ${ctx.the(target)}.`, {
    item: ctx.describeItem(p),
    target: ctx.describeItem(target),
    ...(rule.consume ? { consumed: p.id } : {}),
  }, list);
  return withAssumptions({ ...step, it: [target.id] }, found.assumed);
}

/** "In the wicker basket you see a moonpetal." / "The basket is empty." */
function insideSentence(ctx: Ctx, p: Placed, afterOpening = false): string {
  const where = ctx.content(p.id)?.surface ? "On" : "In";
  const inside = [...ctx.itemsHere(), ...ctx.inventory()].filter((x) => x.inside === p.id);
  if (afterOpening && p.rec.state?.open === false) {
    // Opened in this very step: its contents are in the record.
    const recs = Object.entries(p.rec.contents ?? {});
    if (!recs.length) return `${capital(ctx.the(p))} is empty.`;
    return `${where} ${ctx.the(p)} you see ${
      listing(counted(recs.map(([id, r]) => ({ name: r.name, article: ctx.content(id)?.article }))))
    }.`;
  }
  if (!inside.length) {
    return ctx.content(p.id)?.surface
      ? `There is nothing on ${ctx.the(p)}.`
      : `${capital(ctx.the(p))} is empty.`;
  }
  const phrases = counted(
    inside.map((x) => ({
      name: x.name,
      article: ctx.content(x.id)?.article,
      plural: ctx.content(x.id)?.plural,
    })),
  );
  return `${where} ${ctx.the(p)} you see ${listing(phrases)}.`;
}

/**
 * `look in X` / `search X`: what a container holds.
 *
 * @example
 * ```ts
 * search(ctx, { verb: "search", object: { words: ["basket"] } });
 * ```
 */
export function search(ctx: Ctx, cmd: Verb<"search">): Step {
  const found = one(ctx, cmd, "object", cmd.object, "look in");
  if ("outcome" in found) return found;
  const p = found.item;
  if (!p.rec.contents) {
    return unchanged({
      kind: "searched",
      summary: `You find nothing of interest in ${ctx.the(p)}.`,
      facts: { item: ctx.describeItem(p) },
    });
  }
  if (p.rec.state?.open === false) return closed(ctx, p);
  const step = unchanged({
    kind: "searched",
    summary: insideSentence(ctx, p),
    facts: { item: ctx.describeItem(p) },
  });
  return withAssumptions({ ...step, it: [p.id] }, found.assumed);
}
