/**
 * Noun-phrase matching: which of the things in scope a player's words mean.
 *
 * Rules (deterministic, so the same words in the same world always pick the
 * same thing):
 * - synonyms from content map words first ("vial" -> "bottle");
 * - words no thing in the whole experience knows are ignored, so unknown
 *   adjectives ("take the shiny bottle") do not block a match;
 * - every remaining word must belong to the candidate (name, alias,
 *   adjective or id part);
 * - candidates whose name's last word (its head noun) was said win;
 * - a tie between identical things (same name and same `detail`: copies of
 *   one item, or items content describes alike) picks the lowest id in
 *   natural order ("dream-bottle-2" before "dream-bottle-10"); any other tie
 *   is ambiguous and the engine asks which one;
 * - copies (`lantern_2`) use the words of the item they copy.
 *
 * @module
 */
import type { Experience } from "./content.ts";
import { type Assumption, tokenize } from "./grammar.ts";
import { correction } from "./typo.ts";
import { baseId } from "./world.ts";

/** A thing the player may mean. */
export interface Candidate {
  id: string;
  name: string;
  /** Things of one name are told apart by this (their description and state). */
  detail?: string;
}

/** Result of matching words against candidates. */
export type Match<C extends Candidate> =
  | { kind: "one"; value: C }
  | { kind: "none" }
  | { kind: "ambiguous"; options: C[] };

interface Vocab {
  known: Set<string>;
  words: Map<string, Set<string>>;
}

const cache = new WeakMap<Experience, Vocab>();

function addAll(set: Set<string>, texts: readonly string[]) {
  for (const t of texts) for (const w of tokenize(t)) set.add(w);
}

function vocabulary(exp: Experience): Vocab {
  const hit = cache.get(exp);
  if (hit) return hit;
  const words = new Map<string, Set<string>>();
  const known = new Set<string>();
  const add = (key: string, texts: readonly string[]) => {
    const set = new Set<string>();
    addAll(set, texts);
    words.set(key, set);
    for (const w of set) known.add(w);
  };
  for (const [id, it] of Object.entries(exp.items)) {
    add(`item:${id}`, [id, it.name, ...it.aliases, ...it.adjectives]);
  }
  for (const [id, npc] of Object.entries(exp.npcs)) {
    add(`npc:${id}`, [id, npc.name, ...npc.aliases]);
  }
  for (const [id, loc] of Object.entries(exp.locations)) {
    add(`location:${id}`, [id, loc.name, ...loc.aliases]);
  }
  const v = { known, words };
  cache.set(exp, v);
  return v;
}

/** Words of one candidate: from content when it has it, else from its live name. */
function wordsOf(exp: Experience, kind: string, c: Candidate): Set<string> {
  const fromContent = vocabulary(exp).words.get(`${kind}:${kind === "item" ? baseId(c.id) : c.id}`);
  if (fromContent) return fromContent;
  const set = new Set<string>();
  addAll(set, [c.id, c.name]);
  return set;
}

/**
 * Applies the experience's synonyms and drops words nothing in it knows.
 *
 * @example
 * ```ts
 * significantWords(exp, ["shiny", "vial"]); // ["bottle"]
 * ```
 */
export function significantWords(
  exp: Experience,
  phrase: readonly string[],
  extra: ReadonlySet<string> = new Set(),
): string[] {
  const { known } = vocabulary(exp);
  // A synonym stands in for a word the content does not use itself: "tin"
  // means the sardines, except where "tin" names something (the tin bucket).
  return phrase.map((w) => known.has(w) ? w : exp.config.synonyms[w] ?? w)
    .filter((w) => known.has(w) || extra.has(w));
}

/**
 * Reads words one edit from exactly one word of the experience (or of
 * `extra`) as that word; words it already knows, and synonyms, stay.
 *
 * @example
 * ```ts
 * correctWords(exp, ["shel"]); // { words: ["shell"], assumed: [{ typed: "shel", meant: "shell" }] }
 * ```
 */
export function correctWords(
  exp: Experience,
  phrase: readonly string[],
  extra: ReadonlySet<string> = new Set(),
): { words: string[]; assumed: Assumption[] } {
  const { known } = vocabulary(exp);
  const assumed: Assumption[] = [];
  const words = phrase.map((w) => {
    if (known.has(w) || extra.has(w) || exp.config.synonyms[w] !== undefined) return w;
    const meant = correction(w, [...known, ...extra]);
    if (!meant) return w;
    assumed.push({ typed: w, meant });
    return meant;
  });
  return { words, assumed };
}

// One collator for every comparison: `localeCompare` with options builds a new one per call.
const ID_ORDER = new Intl.Collator("en", { numeric: true });

/**
 * Natural order of ids: numbers compare by value.
 *
 * @example
 * ```ts
 * ["dream-bottle-10", "dream-bottle-2"].sort(compareIds); // 2 before 10
 * ```
 */
export function compareIds(a: string, b: string): number {
  return ID_ORDER.compare(a, b);
}

/**
 * Picks the candidate the words mean (see the module rules).
 *
 * @example
 * ```ts
 * const m = matchPhrase(exp, "item", ["dream", "bottle"], itemsHere);
 * if (m.kind === "one") take(m.value);
 * ```
 */
export function matchPhrase<C extends Candidate>(
  exp: Experience,
  kind: "item" | "npc" | "location",
  phrase: readonly string[],
  candidates: readonly C[],
): Match<C> {
  const vocabs = candidates.map((c) => wordsOf(exp, kind, c));
  const extra = new Set(vocabs.flatMap((v) => [...v]));
  const words = significantWords(exp, phrase, extra);
  if (words.length === 0) return { kind: "none" };
  const scored: Array<{ c: C; score: number }> = [];
  for (const [i, c] of candidates.entries()) {
    const vocab = vocabs[i]!;
    if (!words.every((w) => vocab.has(w))) continue;
    const nameWords = tokenize(c.name);
    const head = nameWords[nameWords.length - 1];
    const score = (head !== undefined && words.includes(head) ? 2 : 0) +
      (nameWords.every((w) => words.includes(w)) ? 1 : 0);
    scored.push({ c, score });
  }
  if (scored.length === 0) return { kind: "none" };
  const best = Math.max(...scored.map((s) => s.score));
  const top = scored.filter((s) => s.score === best).map((s) => s.c).sort((a, b) =>
    compareIds(a.id, b.id)
  );
  const same = (c: C) => c.name === top[0]!.name && (c.detail ?? "") === (top[0]!.detail ?? "");
  if (top.length === 1 || top.every(same)) {
    return { kind: "one", value: top[0]! };
  }
  return { kind: "ambiguous", options: top };
}
