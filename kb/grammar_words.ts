/**
 * The words the grammar knows (directions, filler, pronouns, verbs), how
 * a sentence becomes words, how noun phrases are read (`all except X`,
 * `X and Y`, pronouns), and the help text that lists the command forms.
 *
 * @module
 */
import type { Direction } from "./content.ts";

/**
 * Short and long direction words, all mapped to a {@linkcode Direction}.
 *
 * @example
 * ```ts
 * DIRECTION_WORDS["ne"]; // "northeast"
 * ```
 */
// No prototype: player words such as "constructor" must not find Object's properties.
export const DIRECTION_WORDS: Readonly<Record<string, Direction>> = Object.assign(
  Object.create(null),
  {
    n: "north",
    s: "south",
    e: "east",
    w: "west",
    ne: "northeast",
    nw: "northwest",
    se: "southeast",
    sw: "southwest",
    u: "up",
    d: "down",
    north: "north",
    south: "south",
    east: "east",
    west: "west",
    northeast: "northeast",
    northwest: "northwest",
    southeast: "southeast",
    southwest: "southwest",
    up: "up",
    down: "down",
    in: "in",
    inside: "in",
    out: "out",
    outside: "out",
  },
);

/**
 * Words that never select a thing: articles, determiners, politeness.
 *
 * @example
 * ```ts
 * FILLER.has("the"); // true
 * ```
 */
export const FILLER = new Set([
  "the",
  "a",
  "an",
  "some",
  "my",
  "your",
  "this",
  "that",
  "these",
  "those",
  "any",
  "please",
]);

/**
 * Words that mean the last things named.
 *
 * @example
 * ```ts
 * PRONOUNS.has("them"); // true
 * ```
 */
export const PRONOUNS = new Set(["it", "them", "him", "her"]);
/**
 * Words that mean every thing a verb can act on here.
 *
 * @example
 * ```ts
 * ALL_WORDS.has("everything"); // true
 * ```
 */
export const ALL_WORDS = new Set(["all", "everything", "both"]);
/**
 * Words that mean the player ("x me").
 *
 * @example
 * ```ts
 * SELF_WORDS.has("myself"); // true
 * ```
 */
export const SELF_WORDS = new Set(["me", "myself", "self"]);

/**
 * Every word that starts a command, for typo correction of the first word.
 *
 * @example
 * ```ts
 * VERB_WORDS.includes("take"); // true
 * ```
 */
export const VERB_WORDS = [
  "look",
  "examine",
  "inspect",
  "study",
  "check",
  "describe",
  "read",
  "search",
  "walk",
  "enter",
  "move",
  "head",
  "climb",
  "take",
  "grab",
  "pick",
  "drop",
  "discard",
  "place",
  "insert",
  "give",
  "offer",
  "hand",
  "talk",
  "speak",
  "chat",
  "greet",
  "hello",
  "inventory",
  "help",
  "commands",
  "wait",
  "exits",
  "score",
  "points",
  "again",
  "open",
  "close",
  "shut",
  "lock",
  "unlock",
  "light",
  "ignite",
  "kindle",
  "extinguish",
  "douse",
  "snuff",
  "pour",
  "fill",
  "apply",
];

/** A noun phrase: words, `all` (with exceptions), a pronoun, or ids already resolved. */
export type Noun =
  | { words: string[] }
  | { all: true; except: Noun[] }
  | { pronoun: string }
  | { ids: string[] };

/**
 * Lower-cases, strips punctuation and splits into words (hyphens separate
 * words too, so "dream-bottle-2" and "dream bottle 2" read the same).
 *
 * @example
 * ```ts
 * tokenize("Take the Dream-Bottle!"); // ["take", "the", "dream", "bottle"]
 * ```
 */
export function tokenize(text: string): string[] {
  return text.toLowerCase().normalize("NFC").replace(/['\u2019]/g, "").replace(
    /[^\p{L}\p{N}\s]+/gu,
    " ",
  ).split(/\s+/)
    .filter((w) => w.length > 0);
}

/**
 * A noun phrase without filler words.
 *
 * @example
 * ```ts
 * nounPhrase(["the", "blue", "bottle"]); // ["blue", "bottle"]
 * ```
 */
export function nounPhrase(words: string[]): string[] {
  return words.filter((w) => !FILLER.has(w));
}

/**
 * Splits words at the first separator.
 *
 * @example
 * ```ts
 * splitAt(["pebble", "in", "basket"], ["in"]); // [["pebble"], ["basket"]]
 * ```
 */
export function splitAt(words: string[], seps: string[]): [string[], string[]] | undefined {
  const i = words.findIndex((w) => seps.includes(w));
  if (i < 0) return undefined;
  return [words.slice(0, i), words.slice(i + 1)];
}

/**
 * One noun phrase: a pronoun, `all`/`everything` (with `except`/`but`), or words.
 *
 * @example
 * ```ts
 * noun(["all", "except", "lamp"]); // { all: true, except: [{ words: ["lamp"] }] }
 * ```
 */
export function noun(words: string[]): Noun | undefined {
  const np = nounPhrase(words);
  if (np.length === 0) return undefined;
  if (np.length === 1 && PRONOUNS.has(np[0]!)) return { pronoun: np[0]! };
  if (ALL_WORDS.has(np[0]!)) {
    const except = splitAt(np.slice(1), ["except", "but", "apart"]);
    const rest = except ? except[1].filter((w) => w !== "from") : [];
    return { all: true, except: nounList(rest) };
  }
  return { words: np };
}

/**
 * Several noun phrases joined by `and` (commas become `and` before parsing).
 *
 * @example
 * ```ts
 * nounList(["lamp", "and", "pebble"]); // [{ words: ["lamp"] }, { words: ["pebble"] }]
 * ```
 */
export function nounList(words: string[]): Noun[] {
  const np = nounPhrase(words);
  if (np.length && ALL_WORDS.has(np[0]!)) {
    const one = noun(np);
    return one ? [one] : [];
  }
  const out: Noun[] = [];
  let part: string[] = [];
  for (const w of [...np, "and"]) {
    if (w !== "and") {
      part.push(w);
      continue;
    }
    const n = noun(part);
    if (n) out.push(n);
    part = [];
  }
  return out;
}

/**
 * One line per command form, for `help`.
 *
 * @example
 * ```ts
 * HELP_LINES.join("\n");
 * ```
 */
export const HELP_LINES: readonly string[] = [
  "look (l), examine (x) <thing>, look in / search <container>, read <thing>, x me",
  "go <direction or place>, or just north/south/east/west/up/down/in/out (n, s, e, w, u, d); exits",
  "take (get, grab, pick up) <item>, drop (put down) <item>; all, all except <item>, <item> and <item>",
  "put <item> in/on <container>, give <item> to <someone>",
  "open/close <thing>, lock/unlock <thing> with <key>, light/extinguish <thing>, use <item> on <thing>",
  "talk to <someone>, ask <someone> about <topic>",
  "inventory (i), score, wait (z), again (g), help; it/them for the last thing named",
  "chain commands with '.' or 'then': n. e. take bottle",
];
