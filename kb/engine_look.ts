/**
 * Verbs that look and move: look, go, exits, examine (things, people,
 * places, yourself), talk and ask, inventory, wait.
 *
 * @module
 */
import type { StateOperation } from "../shared/schema.ts";
import { joinPath } from "../shared/apply.ts";
import { DIRECTION_WORDS, tokenize } from "./grammar.ts";
import type { Command } from "./grammar.ts";
import type { Direction } from "./content.ts";
import { matchPhrase } from "./match.ts";
import { capitalize, counted, exitList, listing } from "./prose.ts";
import {
  ambiguous,
  changed,
  type Ctx,
  findNpc,
  notHere,
  type Placed,
  type Step,
  unchanged,
} from "./engine_ctx.ts";
import { resolveItems, withAssumptions } from "./engine_nouns.ts";
import { capital } from "./engine_items.ts";
import type { ItemRecord } from "./world.ts";

/**
 * `look`: "You are on the storm beach." with the place in the facts.
 *
 * @example
 * ```ts
 * look(ctx).outcome.summary; // "You are on the storm beach."
 * ```
 */
export function look(ctx: Ctx): Step {
  const location = ctx.describeLocation(ctx.loc);
  return unchanged({
    kind: "looked",
    summary: `You are ${location.preposition} ${location.called}.`,
    facts: { location },
  });
}

/**
 * `exits`: the ways out, each destination once.
 *
 * @example
 * ```ts
 * exits(ctx).outcome.summary; // "You can go north to the mossy path."
 * ```
 */
export function exits(ctx: Ctx): Step {
  const { exits } = ctx.describeLocation(ctx.loc);
  return unchanged({
    kind: "exits",
    summary: exits.length ? `You can go ${exitList(exits)}.` : "There is no way out of here.",
    facts: { ways: exits },
  });
}

/** Why an exit content declares is closed for this player, if it is. */
function blockedBy(ctx: Ctx, dir: string): string | undefined {
  const exit = ctx.exp.locations[ctx.loc]?.exits[dir as Direction];
  if (typeof exit !== "object" || ctx.exitsOf(ctx.loc)[dir]) return undefined;
  if (exit.locked !== undefined) return exit.locked;
  if (exit.door !== undefined) {
    const door = ctx.world.locations[ctx.loc]?.items[exit.door];
    const the = ctx.the({ id: exit.door, name: door?.name ?? exit.door });
    return `${capital(the)} is ${door?.state?.locked ? "locked" : "closed"}.`;
  }
  return undefined;
}

/**
 * `go`: by direction or by the name of a place next to this one.
 *
 * @example
 * ```ts
 * go(ctx, ["north"]);
 * ```
 */
export function go(ctx: Ctx, target: string[]): Step {
  const open = ctx.exitsOf(ctx.loc);
  const declared = Object.keys(ctx.exp.locations[ctx.loc]?.exits ?? {});
  const closedDirs = declared.filter((d) => blockedBy(ctx, d) !== undefined);
  const direction = target.length === 1 ? DIRECTION_WORDS[target[0]!] : undefined;
  let dir: string | undefined = direction;
  if (!dir) {
    const options = [
      ...Object.entries(open),
      ...closedDirs.map((d) => {
        const e = ctx.exp.locations[ctx.loc]!.exits[d as Direction];
        return [d, { to: typeof e === "string" ? e : e!.to }] as const;
      }),
    ].map(([d, e]) => ({ id: e.to, name: ctx.world.locations[e.to]?.name ?? e.to, d }));
    const m = matchPhrase(ctx.exp, "location", target, options);
    if (m.kind === "one") dir = m.value.d;
    else if (m.kind === "ambiguous") return ambiguous(ctx, m.options, target);
  }
  const exit = dir ? open[dir] : undefined;
  if (dir && exit) {
    const to = exit.to;
    const location = ctx.describeLocation(to);
    const list: Array<["world" | "player", StateOperation]> = [["player", {
      operation: "update",
      path: "",
      data: { location: to },
    }]];
    if (ctx.world.players) {
      list.push(["world", {
        operation: "update",
        path: joinPath("players", ctx.userId),
        data: { location: to },
      }]);
    }
    const way = dir === "in" ? "into" : `${dir} to`;
    return changed("moved", `You go ${way} ${location.called}.`, {
      from: ctx.loc,
      direction: dir,
      location,
    }, list);
  }
  const why = dir ? blockedBy(ctx, dir) : undefined;
  if (why) {
    return unchanged({
      kind: "blocked",
      summary: why,
      facts: { direction: dir, location: ctx.loc },
    });
  }
  const where = direction ?? target.join(" ");
  return unchanged({
    kind: "no_exit",
    summary: `You can't go ${where} from here.`,
    facts: { query: target.join(" "), location: ctx.describeLocation(ctx.loc) },
  });
}

/** A sentence about an item's state and contents, after its description. */
function stateSentence(ctx: Ctx, p: Placed): string {
  const s = p.rec.state;
  const parts: string[] = [];
  const spec = ctx.content(p.id);
  if (s?.lit !== undefined && spec?.lightable) parts.push(s.lit ? "It is lit." : "It is not lit.");
  if (s?.open !== undefined && spec?.openable) {
    parts.push(s.open ? "It is open." : s.locked ? "It is closed and locked." : "It is closed.");
  }
  if (p.rec.contents && s?.open !== false) {
    const inside = Object.entries(p.rec.contents).map(([id, r]) => ({
      name: r.name,
      article: ctx.content(id)?.article,
      plural: ctx.content(id)?.plural,
    }));
    if (inside.length) {
      parts.push(`${spec?.surface ? "On" : "In"} it you see ${listing(counted(inside))}.`);
    }
  }
  return parts.join(" ");
}

function examineOne(ctx: Ctx, p: Placed): Step {
  const item = ctx.describeItem(p);
  const extra = stateSentence(ctx, p);
  return unchanged({
    kind: "examined",
    summary: extra ? `${item.description} ${extra}` : item.description,
    facts: { item, held: p.scope === "player" },
  });
}

/**
 * `examine`: items (several at once), else a person here, else the place.
 *
 * @example
 * ```ts
 * examine(ctx, { verb: "examine", objects: [{ words: ["lantern"] }] });
 * ```
 */
export function examine(ctx: Ctx, cmd: Command & { verb: "examine" }): Step {
  const first = cmd.objects[0];
  if (cmd.objects.length === 1 && first && "words" in first) {
    const other = examineOther(ctx, first.words);
    if (other) return other;
  }
  const r = resolveItems(ctx, cmd.objects, [...ctx.itemsHere(), ...ctx.inventory()], {
    command: cmd,
    slot: "objects",
    verbPhrase: "examine",
    nothing: "There is nothing here to examine.",
    missing: (w) => notHere(ctx, w),
  });
  if ("step" in r) return r.step;
  const steps = r.items.map((p) => examineOne(ctx, p));
  if (steps.length === 1 && r.failed.length === 0) {
    return withAssumptions({ ...steps[0]!, it: [r.items[0]!.id] }, r.assumed);
  }
  return withAssumptions({
    outcome: {
      kind: "examined",
      changed: false,
      summary: [
        ...steps.map((s, i) => `${capitalize(ctx.the(r.items[i]!))}: ${s.outcome.summary}`),
        ...r.failed.map((s) => s.outcome.summary),
      ].join(" "),
      facts: { objects: steps.map((s) => s.outcome.facts.item) },
      needs_capable_model: false,
    },
    world: [],
    player: [],
    it: r.items.map((p) => p.id),
  }, r.assumed);
}

/** A person or the place itself, when no item here fits the words. */
function examineOther(ctx: Ctx, words: string[]): Step | undefined {
  const reach = [...ctx.itemsHere(), ...ctx.inventory()];
  if (matchPhrase(ctx.exp, "item", words, reach).kind !== "none") return undefined;
  const npc = matchPhrase(ctx.exp, "npc", words, ctx.npcsHere());
  if (npc.kind === "one") {
    const { description } = ctx.npcText(npc.value.id);
    return {
      ...unchanged({
        kind: "examined",
        summary: description,
        facts: { npc: { id: npc.value.id, name: npc.value.name, description } },
      }),
      it: [npc.value.id],
    };
  }
  const place = matchPhrase(ctx.exp, "location", words, [{
    id: ctx.loc,
    name: ctx.describeLocation(ctx.loc).name,
  }]);
  if (place.kind === "one" || ["room", "around", "here"].includes(words.join(" "))) {
    return look(ctx);
  }
  return undefined;
}

/**
 * `x me`: who you are and what you carry.
 *
 * @example
 * ```ts
 * me(ctx).outcome.summary; // "You are alice, on the storm beach. You are carrying nothing."
 * ```
 */
export function me(ctx: Ctx): Step {
  const here = ctx.describeLocation(ctx.loc);
  return unchanged({
    kind: "examined_self",
    summary: `You are ${ctx.player.name}, ${here.preposition} ${here.called}. ${
      inventory(ctx).outcome.summary
    }`,
    facts: { name: ctx.player.name, location: ctx.loc, score: ctx.player.score ?? 0 },
  });
}

/**
 * `talk to X` and `ask X about Y`, with what the NPC says as it is for this player now.
 *
 * @example
 * ```ts
 * talk(ctx, ["woander"], ["moonpetal"]);
 * ```
 */
export function talk(ctx: Ctx, words: string[], topic?: string[]): Step {
  const npc = findNpc(ctx, words);
  if ("outcome" in npc) return npc;
  const text = ctx.npcText(npc.id);
  const npcFacts = { id: npc.id, name: npc.name, description: text.description };
  if (!topic) {
    return {
      ...unchanged({
        kind: "talked",
        summary: `You talk to ${npc.name}. ${text.greeting}`.trim(),
        facts: { npc: npcFacts, greeting: text.greeting, topics: Object.keys(text.topics) },
        needs_capable_model: true,
      }),
      it: [npc.id],
    };
  }
  // Plurals match singulars ("acorn" asks about "acorns").
  const stem = (w: string) => w.length > 3 ? w.replace(/s$/, "") : w;
  const said = new Set(topic.map((w) => stem(ctx.exp.config.synonyms[w] ?? w)));
  let best: { key: string; score: number } | undefined;
  for (const key of Object.keys(text.topics).sort()) {
    const score = tokenize(key).filter((w) => said.has(stem(w))).length;
    if (score > 0 && (!best || score > best.score)) best = { key, score };
  }
  const query = topic.join(" ");
  return unchanged({
    kind: "answered",
    summary: best
      ? `You ask ${npc.name} about ${best.key}. ${text.topics[best.key]}`
      : `You ask ${npc.name} about ${query}, but get no answer.`,
    facts: {
      npc: npcFacts,
      topic: best?.key ?? query,
      known: best !== undefined,
      answer: best ? text.topics[best.key] : null,
    },
    needs_capable_model: true,
  });
}

/**
 * `inventory`: what you carry, identical things counted ("two dream bottles").
 *
 * @example
 * ```ts
 * inventory(ctx).outcome.summary; // "You are carrying a brass lantern and some driftwood."
 * ```
 */
export function inventory(ctx: Ctx): Step {
  const entries = Object.entries(ctx.player.inventory);
  const items = entries.map(([id, r]) => ({
    id,
    name: r.name,
    phrase: ctx.a({ id, name: r.name }),
    ...(r.contents
      ? { contents: Object.entries(r.contents).map(([cid, c]) => ({ id: cid, name: c.name })) }
      : {}),
  }));
  const full = ([, r]: [string, ItemRecord]) => Object.keys(r.contents ?? {}).length > 0;
  const plain = entries.filter((e) => !full(e)).map(([id, r]) => ({
    name: r.name,
    article: ctx.content(id)?.article,
    plural: ctx.content(id)?.plural,
  }));
  const holding = entries.filter(full).map(([id, r]) => {
    const inside = Object.entries(r.contents!).map(([cid, c]) => ({
      name: c.name,
      article: ctx.content(cid)?.article,
      plural: ctx.content(cid)?.plural,
    }));
    return `${ctx.a({ id, name: r.name })} holding ${listing(counted(inside))}`;
  });
  const phrases = [...counted(plain), ...holding];
  const summary = phrases.length
    ? `You are carrying ${listing(phrases)}.`
    : "You are carrying nothing.";
  return unchanged({ kind: "inventory", summary, facts: { items } });
}

/**
 * `wait`: time passes (respawns due by now happen, as on any action).
 *
 * @example
 * ```ts
 * wait().outcome.summary; // "Time passes."
 * ```
 */
export function wait(): Step {
  return unchanged({ kind: "waited", summary: "Time passes.", facts: {} });
}
