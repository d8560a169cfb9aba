/**
 * The game engine: a pure function from (content, world, player, sentence)
 * to a typed outcome plus the state operations that carry it out. The store
 * applies exactly these operations (with `applyOperations`), and the same
 * operations go out in the event, so deltas reproduce state by construction.
 *
 * @module
 */
import type { StateOperation } from "../shared/schema.ts";
import { joinPath } from "../shared/apply.ts";
import { DIRECTION_WORDS, HELP_LINES, parseCommand, tokenize } from "./grammar.ts";
import { matchPhrase } from "./match.ts";
import {
  ambiguous,
  article,
  changed,
  Ctx,
  type EngineInput,
  type EngineResult,
  findNpc,
  listing,
  notHere,
  type Placed,
  unchanged,
} from "./engine_ctx.ts";
import { drop, give, put, take } from "./engine_items.ts";

export type { EngineInput, EngineResult } from "./engine_ctx.ts";

function look(ctx: Ctx): EngineResult {
  const location = ctx.describeLocation(ctx.loc);
  return unchanged({
    kind: "looked",
    summary: `You are in ${location.name}.`,
    facts: { location },
  });
}

function go(ctx: Ctx, target: string[]): EngineResult {
  const { world, userId } = ctx.input;
  const here = world.locations[ctx.loc];
  const locked = Object.entries(ctx.exp.locations[ctx.loc]?.exits ?? {})
    .filter(([dir, e]) => typeof e === "object" && e.locked !== undefined && !here?.exits[dir]);
  const direction = target.length === 1 ? DIRECTION_WORDS[target[0]!] : undefined;
  let dir: string | undefined = direction;
  if (!dir) {
    const options = [
      ...Object.entries(here?.exits ?? {}).map(([d, e]) => ({
        id: e.to,
        name: world.locations[e.to]?.name ?? e.to,
        d,
      })),
      ...locked.map(([d, e]) => {
        const to = (e as { to: string }).to;
        return { id: to, name: ctx.exp.locations[to]?.name ?? to, d };
      }),
    ];
    const m = matchPhrase(ctx.exp, "location", target, options);
    if (m.kind === "one") dir = m.value.d;
    else if (m.kind === "ambiguous") return ambiguous(m.options, target);
  }
  const exit = dir ? here?.exits[dir] : undefined;
  if (dir && exit) {
    const to = exit.to;
    const location = ctx.describeLocation(to);
    const list: Array<[Placed["scope"], StateOperation]> = [["player", {
      operation: "update",
      path: "",
      data: { location: to },
    }]];
    if (world.players) {
      list.push(["world", {
        operation: "update",
        path: joinPath("players", userId),
        data: { location: to },
      }]);
    }
    return changed("moved", `You go ${dir} to ${location.name}.`, {
      from: ctx.loc,
      direction: dir,
      location,
    }, list);
  }
  const lockedExit = locked.find(([d]) => d === dir);
  if (lockedExit) {
    const message = (lockedExit[1] as { locked: string }).locked;
    return unchanged({
      kind: "blocked",
      summary: message,
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

function examine(ctx: Ctx, object: string[]): EngineResult {
  const m = matchPhrase(ctx.exp, "item", object, [...ctx.itemsHere(), ...ctx.inventory()]);
  if (m.kind === "ambiguous") return ambiguous(m.options, object);
  if (m.kind === "one") {
    const item = ctx.describeItem(m.value);
    return unchanged({
      kind: "examined",
      summary: item.description,
      facts: { item, held: m.value.scope === "player" },
    });
  }
  const npc = matchPhrase(ctx.exp, "npc", object, ctx.npcsHere());
  if (npc.kind === "one") {
    const description = ctx.exp.npcs[npc.value.id]?.description ?? npc.value.name;
    return unchanged({
      kind: "examined",
      summary: description,
      facts: { npc: { id: npc.value.id, name: npc.value.name, description } },
    });
  }
  const place = matchPhrase(ctx.exp, "location", object, [{
    id: ctx.loc,
    name: ctx.describeLocation(ctx.loc).name,
  }]);
  if (place.kind === "one" || ["room", "around", "here"].includes(object.join(" "))) {
    return look(ctx);
  }
  return notHere(ctx, object);
}

function talk(ctx: Ctx, words: string[], topic?: string[]): EngineResult {
  const npc = findNpc(ctx, words);
  if ("outcome" in npc) return npc;
  const content = ctx.exp.npcs[npc.id];
  const npcFacts = { id: npc.id, name: npc.name, description: content?.description ?? npc.name };
  if (!topic) {
    return unchanged({
      kind: "talked",
      summary: `You talk to ${npc.name}. ${content?.greeting ?? ""}`.trim(),
      facts: {
        npc: npcFacts,
        greeting: content?.greeting ?? "",
        topics: Object.keys(content?.topics ?? {}),
      },
      needs_capable_model: true,
    });
  }
  // Plurals match singulars ("acorn" asks about "acorns").
  const stem = (w: string) => w.length > 3 ? w.replace(/s$/, "") : w;
  const said = new Set(topic.map((w) => stem(ctx.exp.config.synonyms[w] ?? w)));
  let best: { key: string; score: number } | undefined;
  for (const key of Object.keys(content?.topics ?? {}).sort()) {
    const score = tokenize(key).filter((w) => said.has(stem(w))).length;
    if (score > 0 && (!best || score > best.score)) best = { key, score };
  }
  const query = topic.join(" ");
  return unchanged({
    kind: "answered",
    summary: best
      ? `You ask ${npc.name} about ${best.key}. ${content!.topics[best.key]}`
      : `You ask ${npc.name} about ${query}, but get no answer.`,
    facts: {
      npc: npcFacts,
      topic: best?.key ?? query,
      known: best !== undefined,
      answer: best ? content!.topics[best.key] : null,
    },
    needs_capable_model: true,
  });
}

function inventory(ctx: Ctx): EngineResult {
  const items = Object.entries(ctx.input.player.inventory).map(([id, r]) => ({
    id,
    name: r.name,
    ...(r.contents
      ? { contents: Object.entries(r.contents).map(([cid, c]) => ({ id: cid, name: c.name })) }
      : {}),
  }));
  const summary = items.length
    ? `You are carrying ${listing(items.map((i) => article(i.name)))}.`
    : "You are carrying nothing.";
  return unchanged({ kind: "inventory", summary, facts: { items } });
}

/**
 * Decides one action. Pure: reads nothing but its input, writes nothing.
 *
 * @example
 * ```ts
 * const { outcome, world, player } = decide({ exp, world, player, userId: "alice", message: "take lantern" });
 * ```
 */
export function decide(input: EngineInput): EngineResult {
  const ctx = new Ctx(input);
  const cmd = parseCommand(input.message);
  switch (cmd.verb) {
    case "look":
      return look(ctx);
    case "examine":
      return examine(ctx, cmd.object);
    case "go":
      return go(ctx, cmd.target);
    case "take":
      return take(ctx, cmd.object);
    case "drop":
      return drop(ctx, cmd.object);
    case "put":
      return put(ctx, cmd.object, cmd.container);
    case "give":
      return give(ctx, cmd.object, cmd.npc);
    case "talk":
      return talk(ctx, cmd.npc);
    case "ask":
      return talk(ctx, cmd.npc, cmd.topic);
    case "inventory":
      return inventory(ctx);
    case "help":
      return unchanged({
        kind: "help",
        summary: "You can look, move, take, drop, put, give, talk and ask.",
        facts: { commands: HELP_LINES },
      });
    case "incomplete":
      return unchanged({
        kind: "incomplete",
        summary: cmd.question,
        facts: { wanted: cmd.wanted },
      });
    case "unknown":
      return unchanged({
        kind: "not_understood",
        summary: "That is not something this world understands.",
        facts: { text: input.message.slice(0, 500) },
        needs_capable_model: true,
      });
  }
}
