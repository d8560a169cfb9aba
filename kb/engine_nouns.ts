/**
 * Which items a command's noun phrases mean: words (with one-edit typo
 * tolerance), `all` / `all except X`, several phrases, pronouns (the last
 * things named) and ids an answered question filled in. Different things
 * that fit the words make a question whose answer the next input may give;
 * identical ones are taken lowest id first without asking. Also runs a
 * verb over several items, one after the other, and joins what happened.
 *
 * @module
 */
import type { Assumption, Command, Noun } from "./grammar.ts";
import { correctWords, matchPhrase } from "./match.ts";
import { countWord, listing, pluralOf } from "./prose.ts";
import { ambiguous, type Ctx, type Placed, type Step, unchanged } from "./engine_ctx.ts";

/**
 * What resolving a noun list gave: the items (and, with several phrases,
 * the answers for phrases that fit nothing), or a step to answer with instead.
 */
export type Resolved =
  | { items: Placed[]; assumed: Assumption[]; failed: Step[] }
  | { step: Step };

/** How a verb resolves its nouns. */
export interface NounOptions {
  command: Command;
  /** The command field the nouns are in ("objects", "object", "container", ...). */
  slot: string;
  /** "take", "put": for "I only understood you as far as wanting to take the lantern." */
  verbPhrase: string;
  /** What `all` means for this verb (default: the pool). */
  allPool?: Placed[];
  /** Said when `all` leaves nothing. */
  nothing: string;
  /** The step for words that fit nothing in the pool. */
  missing: (words: string[]) => Step;
}

/**
 * The items `nouns` mean among `pool`, or the step that answers instead (a
 * question, "not here", "I only understood you as far as ...").
 *
 * @example
 * ```ts
 * const r = resolveItems(ctx, cmd.objects, ctx.itemsHere(), opts);
 * if ("step" in r) return r.step;
 * ```
 */
export function resolveItems(
  ctx: Ctx,
  nouns: readonly Noun[],
  pool: Placed[],
  opts: NounOptions,
): Resolved {
  const items: Placed[] = [];
  const assumed: Assumption[] = [];
  const failed: Step[] = [];
  // With several phrases one that fits nothing is told, and the others still happen.
  const fail = (step: Step): Resolved | undefined => {
    if (nouns.length === 1) return { step };
    failed.push(step);
    return undefined;
  };
  for (const [index, n] of nouns.entries()) {
    if ("ids" in n) {
      const found = pool.filter((p) => n.ids.includes(p.id));
      if (!found.length) {
        const out = fail(gone(ctx, n.ids));
        if (out) return out;
      }
      items.push(...found);
    } else if ("pronoun" in n) {
      const ids = ctx.conversation.it ?? [];
      if (!ids.length) {
        return {
          step: unchanged({
            kind: "no_referent",
            summary: `I'm not sure what '${n.pronoun}' refers to.`,
            facts: { pronoun: n.pronoun },
          }),
        };
      }
      const found = pool.filter((p) => ids.includes(p.id));
      if (!found.length) {
        const out = fail(gone(ctx, ids));
        if (out) return out;
      }
      items.push(...(n.pronoun === "it" ? found.slice(0, 1) : found));
    } else if ("all" in n) {
      const excluded = new Set<string>();
      for (const x of n.except) {
        if (!("words" in x)) continue;
        const m = matchAll(ctx, x.words, pool);
        for (const p of m) excluded.add(p.id);
      }
      const found = (opts.allPool ?? pool).filter((p) => !excluded.has(p.id));
      if (!found.length) {
        return { step: unchanged({ kind: "nothing", summary: opts.nothing, facts: {} }) };
      }
      items.push(...found);
    } else {
      const vocab = vocabularyOf(ctx, pool);
      const { words, plural } = singular(ctx, n.words, vocab);
      const fixed = correctWords(ctx.exp, words, vocab);
      assumed.push(...fixed.assumed);
      const m = matchPhrase(ctx.exp, "item", fixed.words, pool);
      // "take the bottles": every one the words fit, no question.
      if (plural && m.kind !== "none") items.push(...matchAll(ctx, fixed.words, pool));
      else if (m.kind === "one") items.push(m.value);
      else if (m.kind === "ambiguous") {
        const step = ambiguous(ctx, m.options, n.words);
        step.pending = {
          command: opts.command,
          slot: opts.slot,
          index,
          candidates: m.options.map((o) => o.id),
        };
        return { step };
      } else {
        const out = fail(partial(ctx, fixed.words, pool, opts) ?? opts.missing(n.words));
        if (out) return out;
      }
    }
  }
  const seen = new Set<string>();
  const unique = items.filter((p) => !seen.has(p.id) && seen.add(p.id));
  if (unique.length === 0 && failed.length) {
    return {
      step: {
        ...failed[0]!,
        outcome: { ...failed[0]!.outcome, summary: failed.map((f) => f.outcome.summary).join(" ") },
      },
    };
  }
  return { items: unique, assumed, failed };
}

/**
 * A plural head noun ("bottles") read as its singular, and whether one was:
 * only for a word nothing here is called and whose singular something is.
 */
function singular(
  ctx: Ctx,
  words: string[],
  vocab: Set<string>,
): { words: string[]; plural: boolean } {
  const known = (w: string) => vocab.has(w) || ctx.exp.config.synonyms[w] !== undefined;
  const last = words[words.length - 1];
  if (!last || known(last)) return { words, plural: false };
  for (const stem of [last.replace(/ies$/, "y"), last.replace(/es$/, ""), last.replace(/s$/, "")]) {
    if (stem !== last && known(stem)) return { words: [...words.slice(0, -1), stem], plural: true };
  }
  return { words, plural: false };
}

/** Every candidate the words fit (for `except`: no question, all of them). */
function matchAll(ctx: Ctx, words: string[], pool: Placed[]): Placed[] {
  const m = matchPhrase(ctx.exp, "item", words, pool);
  // One match stands for the things identical to it (same name and detail), not its namesakes.
  if (m.kind === "one") {
    return pool.filter((p) => p.name === m.value.name && p.detail === m.value.detail);
  }
  return m.kind === "ambiguous" ? m.options : [];
}

/** Words of the candidates in reach, for typo correction and matching copies. */
function vocabularyOf(ctx: Ctx, pool: Placed[]): Set<string> {
  const set = new Set<string>();
  for (const p of pool) {
    for (const w of p.name.toLowerCase().split(/\s+/)) set.add(w);
    for (const w of ctx.content(p.id)?.aliases ?? []) set.add(w);
  }
  return set;
}

/** "I only understood you as far as wanting to take the brass lantern." */
function partial(ctx: Ctx, words: string[], pool: Placed[], opts: NounOptions): Step | undefined {
  for (let k = words.length - 1; k >= 1; k--) {
    const m = matchPhrase(ctx.exp, "item", words.slice(0, k), pool);
    if (m.kind !== "one") continue;
    const understood = `${opts.verbPhrase} ${ctx.the(m.value)}`;
    return unchanged({
      kind: "partial",
      summary: `I only understood you as far as wanting to ${understood}.`,
      facts: { understood, extra: words.slice(k).join(" ") },
    });
  }
  return undefined;
}

function gone(ctx: Ctx, ids: string[]): Step {
  const held = ctx.inventory().filter((p) => ids.includes(p.id));
  if (held.length) {
    return unchanged({
      kind: "already_have",
      summary: `You already have ${listing(held.map((p) => ctx.the(p)))}.`,
      facts: { ids },
    });
  }
  const here = ctx.itemsHere().filter((p) => ids.includes(p.id));
  if (here.length) {
    return unchanged({
      kind: "not_carrying",
      summary: `You are not carrying ${listing(here.map((p) => ctx.the(p)), "or")}.`,
      facts: { ids },
    });
  }
  const names = ids.map((id) => ctx.content(id)?.name ?? id);
  return unchanged({
    kind: "not_found",
    summary: `You can't see ${listing(names.map((n) => `the ${n}`), "or")} here any more.`,
    facts: { ids },
  });
}

/**
 * Runs `one` for each item in turn, each on the state the one before left,
 * and joins the results: one sentence when all did the same thing
 * (`merge`), else each result's own summary.
 *
 * @example
 * ```ts
 * return eachItem(ctx, items, (p) => takeOne(ctx, p), (ok) => `You take ${names(ok)}.`);
 * ```
 */
export function eachItem(
  ctx: Ctx,
  resolved: { items: Placed[]; failed: Step[] },
  one: (p: Placed) => Step,
  merge: (done: Placed[]) => string,
): Step {
  const { items, failed } = resolved;
  if (items.length === 1 && failed.length === 0) {
    const step = one(items[0]!);
    return { ...step, it: step.it ?? [items[0]!.id] };
  }
  const steps: Step[] = [];
  for (const p of items) {
    const step = one(p);
    ctx.apply(step);
    steps.push(step);
  }
  const world = steps.flatMap((s) => s.world);
  const player = steps.flatMap((s) => s.player);
  const kinds = new Set(steps.map((s) => s.outcome.kind));
  const allChanged = steps.every((s) => s.outcome.changed);
  const summary = [
    kinds.size === 1 && allChanged ? merge(items) : steps.map((s) => s.outcome.summary).join(" "),
    ...failed.map((s) => s.outcome.summary),
  ].join(" ");
  return {
    outcome: {
      kind: kinds.size === 1 ? [...kinds][0]! : "several",
      changed: world.length + player.length > 0,
      summary,
      facts: { objects: steps.map((s) => s.outcome.facts.item ?? s.outcome.facts) },
      needs_capable_model: steps.some((s) => s.outcome.needs_capable_model),
    },
    world,
    player,
    it: steps.flatMap((s, i) => s.it ?? [items[i]!.id]),
    applied: true,
  };
}

/**
 * Names for a merged sentence: each thing definite, things of one name
 * counted ("three dream bottles and the golden acorn").
 *
 * @example
 * ```ts
 * theItems(ctx, [bottle1, bottle2, acorn]); // "two dream bottles and the golden acorn"
 * ```
 */
export function theItems(ctx: Ctx, items: Placed[]): string {
  const groups = new Map<string, Placed[]>();
  for (const p of items) groups.set(p.name, [...(groups.get(p.name) ?? []), p]);
  return listing(
    [...groups.values()].map((g) =>
      g.length === 1
        ? ctx.the(g[0]!)
        : `${countWord(g.length)} ${
          pluralOf({ name: g[0]!.name, plural: ctx.content(g[0]!.id)?.plural })
        }`
    ),
  );
}

/**
 * Prefixes what the parser assumed: "(taking 'tkae' as 'take') You take ...".
 *
 * @example
 * ```ts
 * withAssumptions(step, [{ typed: "shel", meant: "shell" }]);
 * ```
 */
export function withAssumptions(step: Step, assumed: readonly Assumption[]): Step {
  if (!assumed.length) return step;
  const said = listing(assumed.map((a) => `'${a.typed}' as '${a.meant}'`));
  return {
    ...step,
    outcome: {
      ...step.outcome,
      summary: `(taking ${said}) ${step.outcome.summary}`,
      facts: { ...step.outcome.facts, assumed },
    },
  };
}
