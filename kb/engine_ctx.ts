/**
 * What every verb of the engine shares: the decision context (what is here,
 * what the player carries, how to describe it), the working copy of state
 * that chained commands and several objects advance step by step, and the
 * result builders.
 *
 * @module
 */
import type { Outcome, StateOperation } from "../shared/schema.ts";
import { applyOperations } from "../shared/apply.ts";
import type { Experience, Item } from "./content.ts";
import { hiddenFrom, holds, varied, type View } from "./conditions.ts";
import { type Candidate, compareIds, matchPhrase } from "./match.ts";
import { calledName, definite, indefinite, listing } from "./prose.ts";
import { baseId, type ItemRecord, type PlayerState, type WorldState } from "./world.ts";
import { type Placed, type Step, unchanged } from "./engine_steps.ts";

export {
  addOp,
  changed,
  notCarrying,
  type PendingQuestion,
  type Placed,
  removeOp,
  type Step,
  type Tagged,
  unchanged,
} from "./engine_steps.ts";

/** What the engine needs to decide one action. */
export interface EngineInput {
  exp: Experience;
  world: WorldState;
  player: PlayerState;
  userId: string;
  message: string;
  /** The time of the action (ms since the epoch): respawns are decided from it. */
  now: number;
}

/**
 * The decision: an outcome and the operations per scope (both empty when
 * nothing in the game changed), plus the player-scope operations that only
 * keep the conversation (last command, last things named, a question asked).
 */
export interface EngineResult {
  outcome: Outcome;
  world: StateOperation[];
  player: StateOperation[];
  context: StateOperation[];
}

/** An NPC in the player's location, with what it holds. */
export interface NpcHere extends Candidate {
  has: Record<string, ItemRecord>;
}

/**
 * Shared context of one decision. `world` and `player` start as the input
 * and are copied on the first {@linkcode Ctx.apply}, so the input is never
 * written and each step sees the state the one before it left.
 *
 * @example
 * ```ts
 * const ctx = new Ctx(input);
 * ctx.itemsHere().map((p) => p.id);
 * ```
 */
export class Ctx implements View {
  world: WorldState;
  player: PlayerState;
  /** The conversation as it stands after the steps so far (the profile's is the one before). */
  readonly conversation: NonNullable<PlayerState["context"]>;
  #own = false;

  constructor(readonly input: EngineInput) {
    this.world = input.world;
    this.player = input.player;
    this.conversation = structuredClone(input.player.context ?? {});
  }
  get exp(): Experience {
    return this.input.exp;
  }
  get userId(): string {
    return this.input.userId;
  }
  get now(): number {
    return this.input.now;
  }
  get loc(): string {
    return this.player.location;
  }
  /** Whether this is a shared world (copies, claims and per-player exits apply). */
  get shared(): boolean {
    return this.exp.config.state.model === "shared";
  }

  /** Applies a step's operations to the working state. */
  apply(ops: { world: StateOperation[]; player: StateOperation[] }): void {
    if (ops.world.length === 0 && ops.player.length === 0) return;
    if (!this.#own) {
      this.world = structuredClone(this.world);
      this.player = structuredClone(this.player);
      this.#own = true;
    }
    applyOperations(this.world as unknown as Record<string, unknown>, ops.world);
    applyOperations(this.player as unknown as Record<string, unknown>, ops.player);
  }

  /** The content of an item in state (copies share their original's). */
  content(id: string): Item | undefined {
    return this.exp.items[baseId(id)];
  }

  itemsHere(): Placed[] {
    const items = this.world.locations[this.loc]?.items ?? {};
    return this.#placed(items, "world", ["locations", this.loc, "items"]);
  }

  inventory(): Placed[] {
    return this.#placed(this.player.inventory, "player", ["inventory"]);
  }

  npcsHere(): NpcHere[] {
    return Object.entries(this.world.npcs)
      .filter(([, n]) => n.location === this.loc)
      .map(([id, n]) => ({ id, name: n.name, has: n.has }))
      .sort((a, b) => compareIds(a.id, b.id));
  }

  /** Open exits of a location for this player: the world's and their own. */
  exitsOf(locId: string): Record<string, { to: string }> {
    return { ...this.world.locations[locId]?.exits, ...this.player.exits?.[locId] };
  }

  /** "a brass lantern", "some driftwood". */
  a(p: Candidate): string {
    const c = this.content(p.id);
    return indefinite({ name: p.name, article: c?.article });
  }

  /** "the brass lantern". */
  the(p: Candidate): string {
    const c = this.content(p.id);
    return definite({ name: p.name, article: c?.article });
  }

  /** How a sentence names a location ("the storm beach"). */
  called(locId: string): string {
    const content = this.exp.locations[locId];
    const name = this.world.locations[locId]?.name ?? content?.name ?? locId;
    return calledName({ name, called: content?.called });
  }

  /** An NPC's description, greeting and topics as they are for this player now. */
  npcText(npcId: string) {
    const npc = this.exp.npcs[npcId];
    const variant = npc?.variants.find((v) => holds(this, v.when));
    return {
      description: variant?.description ?? npc?.description ?? npcId,
      greeting: variant?.greeting ?? npc?.greeting ?? "",
      topics: { ...npc?.topics, ...variant?.topics } as Record<string, string>,
    };
  }

  describeItem(p: Placed) {
    const content = this.content(p.id);
    const contents = p.rec.contents && p.rec.state?.open !== false
      ? this.#visible(p.rec.contents).map(([id, r]) => ({ id, name: r.name }))
      : undefined;
    return {
      id: p.id,
      name: p.name,
      phrase: this.a(p),
      description: content
        ? varied(this, content.description, content.variants)
        : `It is ${this.a(p)}.`,
      ...(content?.plural ? { plural: content.plural } : {}),
      ...(p.inside ? { inside: p.inside } : {}),
      ...(contents ? { contents } : {}),
      ...(p.rec.state ? { state: p.rec.state } : {}),
    };
  }

  describeLocation(locId: string) {
    const state = this.world.locations[locId];
    const content = this.exp.locations[locId];
    const exits = Object.entries(this.exitsOf(locId)).map(([direction, e]) => ({
      direction,
      to: e.to,
      name: this.world.locations[e.to]?.name ?? e.to,
      called: this.called(e.to),
    }));
    const items = this.#visible(state?.items ?? {}).map(([id, r]) => ({
      id,
      name: r.name,
      phrase: this.a({ id, name: r.name }),
      ...(this.content(id)?.plural ? { plural: this.content(id)!.plural } : {}),
      ...(r.contents && r.state?.open !== false
        ? { contents: this.#visible(r.contents).map(([cid, c]) => ({ id: cid, name: c.name })) }
        : {}),
      ...(r.state ? { state: r.state } : {}),
    }));
    const npcs = Object.entries(this.world.npcs).filter(([, n]) => n.location === locId)
      .map(([id, n]) => ({
        id,
        name: n.name,
        phrase: indefinite({ name: n.name, article: this.exp.npcs[id]?.article }),
      }));
    const players = Object.entries(this.world.players ?? {})
      .filter(([id, p]) => id !== this.userId && p.location === locId)
      .map(([, p]) => p.name).sort();
    return {
      id: locId,
      name: state?.name ?? content?.name ?? locId,
      called: this.called(locId),
      preposition: content?.preposition ?? "in",
      description: content ? varied(this, content.description, content.variants) : "",
      exits,
      items,
      npcs,
      players,
    };
  }

  #visible(items: Record<string, ItemRecord>): Array<[string, ItemRecord]> {
    return Object.entries(items).filter(([id]) => !hiddenFrom(this, id));
  }

  #placed(items: Record<string, ItemRecord>, scope: Placed["scope"], base: string[]): Placed[] {
    const out: Placed[] = [];
    const detail = (id: string, rec: ItemRecord) =>
      `${this.content(id)?.description ?? ""}|${JSON.stringify(rec.state ?? {})}`;
    for (const [id, rec] of this.#visible(items)) {
      const segments = [...base, id];
      out.push({ id, name: rec.name, detail: detail(id, rec), rec, scope, segments });
      // A closed container keeps its contents out of reach.
      if (rec.state?.open === false) continue;
      for (const [cid, child] of this.#visible(rec.contents ?? {})) {
        out.push({
          id: cid,
          name: child.name,
          detail: detail(cid, child),
          rec: child,
          scope,
          segments: [...segments, "contents", cid],
          inside: id,
        });
      }
    }
    return out;
  }
}

/**
 * The question asked when words fit several different things, naming each
 * by what tells it apart ("the blue dream bottle or the amber dream bottle").
 *
 * @example
 * ```ts
 * ambiguous(ctx, [brassKey, ironKey], ["key"]); // "Which do you mean: the brass key or the iron key?"
 * ```
 */
export function ambiguous(ctx: Ctx, options: Candidate[], query: string[]): Step {
  const labels = distinguish(ctx, options);
  return unchanged({
    kind: "ambiguous",
    summary: `Which do you mean: ${listing(labels.map((l) => `the ${l}`), "or")}?`,
    facts: {
      query: query.join(" "),
      candidates: options.map(({ id, name }, i) => ({ id, name, label: labels[i] })),
    },
  });
}

/** Names that tell candidates apart: an adjective the others lack, before the name. */
function distinguish(ctx: Ctx, options: Candidate[]): string[] {
  const adjectives = options.map((o) => ctx.content(o.id)?.adjectives ?? []);
  return options.map((o, i) => {
    if (options.filter((x) => x.name === o.name).length === 1) return o.name;
    const own = adjectives[i]!.find((a) =>
      !o.name.split(" ").includes(a) &&
      adjectives.every((other, j) => j === i || !other.includes(a))
    );
    return own ? `${own} ${o.name}` : o.name;
  });
}

/**
 * "You don't see any X here."
 *
 * @example
 * ```ts
 * if (m.kind === "none") return notHere(ctx, words);
 * ```
 */
export function notHere(ctx: Ctx, object: string[]): Step {
  const query = object.join(" ");
  return unchanged({
    kind: "not_found",
    summary: `You don't see any ${query} here.`,
    facts: { query, location: ctx.loc },
  });
}

/**
 * The NPC here that the words mean, or the result to return when there is none (or several).
 *
 * @example
 * ```ts
 * const npc = findNpc(ctx, ["woander"]);
 * if ("outcome" in npc) return npc;
 * ```
 */
export function findNpc(ctx: Ctx, words: string[]): NpcHere | Step {
  const m = matchPhrase(ctx.exp, "npc", words, ctx.npcsHere());
  if (m.kind === "one") return m.value;
  if (m.kind === "ambiguous") return ambiguous(ctx, m.options, words);
  const query = words.join(" ");
  return unchanged({
    kind: "no_one",
    summary: `There is no ${query} here.`,
    facts: { query, location: ctx.loc },
  });
}
