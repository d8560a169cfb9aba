/**
 * English for the engine's sentences: articles (a/an/the/some, proper
 * names), plurals and counts ("four dream bottles"), lists, capitals,
 * location names inside sentences ("You are on the storm beach") and exit
 * lists that name each destination once.
 *
 * @module
 */

/** Something with a name and an optional declared article ("" = a proper name). */
export interface Named {
  name: string;
  article?: string;
  plural?: string;
}

const NUMBER_WORDS = [
  "no",
  "one",
  "two",
  "three",
  "four",
  "five",
  "six",
  "seven",
  "eight",
  "nine",
  "ten",
  "eleven",
  "twelve",
];

/**
 * The number as a word up to twelve, else digits.
 *
 * @example
 * ```ts
 * countWord(4); // "four"
 * ```
 */
export function countWord(n: number): string {
  return NUMBER_WORDS[n] ?? String(n);
}

/** Words that start with a vowel letter but a consonant sound, and the reverse. */
const A_BEFORE = /^(one|once|uni|use|usu|eu|ewe|u[bcfhjkqrstn][aeiou])/i;
const AN_BEFORE = /^(hour|honest|honou?r|heir)/i;

/**
 * The article an item gets by default: "an" before a vowel sound, else "a";
 * none for a name that starts with a capital (a proper name).
 *
 * @example
 * ```ts
 * defaultArticle("oak counter"); // "an"
 * ```
 */
export function defaultArticle(name: string): string {
  if (/^\p{Lu}/u.test(name)) return "";
  if (AN_BEFORE.test(name)) return "an";
  if (A_BEFORE.test(name)) return "a";
  return /^[aeiou]/i.test(name) ? "an" : "a";
}

/**
 * "a brass lantern", "an oak counter", "some driftwood", "Woander's ledger".
 *
 * @example
 * ```ts
 * indefinite({ name: "driftwood", article: "some" }); // "some driftwood"
 * ```
 */
export function indefinite(thing: Named): string {
  const article = thing.article ?? defaultArticle(thing.name);
  return article ? `${article} ${thing.name}` : thing.name;
}

/**
 * "the brass lantern"; proper names stay as they are.
 *
 * @example
 * ```ts
 * definite({ name: "Old Tam", article: "" }); // "Old Tam"
 * ```
 */
export function definite(thing: Named): string {
  const article = thing.article ?? defaultArticle(thing.name);
  return article === "" ? thing.name : `the ${thing.name}`;
}

/**
 * The plural of a name: the declared one, else regular English on the last word.
 *
 * @example
 * ```ts
 * pluralOf({ name: "dream bottle" }); // "dream bottles"
 * ```
 */
export function pluralOf(thing: Named): string {
  if (thing.plural) return thing.plural;
  const name = thing.name;
  if (/(s|x|z|ch|sh)$/i.test(name)) return `${name}es`;
  if (/[^aeiou]y$/i.test(name)) return `${name.slice(0, -1)}ies`;
  return `${name}s`;
}

/**
 * Joins phrases: "a, b and c".
 *
 * @example
 * ```ts
 * listing(["a lantern", "a pebble", "an acorn"]); // "a lantern, a pebble and an acorn"
 * ```
 */
export function listing(phrases: readonly string[], conj = "and"): string {
  if (phrases.length <= 1) return phrases.join("");
  return `${phrases.slice(0, -1).join(", ")} ${conj} ${phrases[phrases.length - 1]}`;
}

/**
 * Indefinite phrases with things of the same name counted, in first-seen order.
 *
 * @example
 * ```ts
 * counted([bottle, bottle, counter]); // ["two dream bottles", "an oak counter"]
 * ```
 */
export function counted(things: readonly Named[]): string[] {
  const groups = new Map<string, { thing: Named; n: number }>();
  for (const t of things) {
    const g = groups.get(t.name);
    if (g) g.n++;
    else groups.set(t.name, { thing: t, n: 1 });
  }
  return [...groups.values()].map(({ thing, n }) =>
    n === 1 ? indefinite(thing) : `${countWord(n)} ${pluralOf(thing)}`
  );
}

/**
 * The first letter in upper case.
 *
 * @example
 * ```ts
 * capitalize("a grey cat is here."); // "A grey cat is here."
 * ```
 */
export function capitalize(text: string): string {
  return text.replace(/^(\P{L}*)(\p{L})/u, (_, pre: string, c: string) => pre + c.toUpperCase());
}

/**
 * How a sentence names a location: the author's `called`, else "the" and
 * the name in lower case ("Grass Dunes" → "the grass dunes"; a name that
 * starts with "The" keeps the rest as written).
 *
 * @example
 * ```ts
 * calledName({ name: "Storm Beach" }); // "the storm beach"
 * ```
 */
export function calledName(loc: { name: string; called?: string }): string {
  if (loc.called) return loc.called;
  const m = /^the\s+(.*)$/i.exec(loc.name);
  return m ? `the ${m[1]}` : `the ${loc.name.toLowerCase()}`;
}

/** One way out, for prose. */
export interface ExitPhrase {
  direction: string;
  to: string;
  /** The destination as a sentence names it. */
  called: string;
}

/**
 * The ways out, each destination once: "north to the grass dunes, or east
 * or out to the storm beach".
 *
 * @example
 * ```ts
 * exitList([{ direction: "east", to: "beach", called: "the storm beach" }]); // "east to the storm beach"
 * ```
 */
export function exitList(exits: readonly ExitPhrase[]): string {
  const byPlace = new Map<string, { dirs: string[]; called: string }>();
  for (const e of exits) {
    const g = byPlace.get(e.to);
    if (g) g.dirs.push(e.direction);
    else byPlace.set(e.to, { dirs: [e.direction], called: e.called });
  }
  const parts = [...byPlace.values()].map((g) =>
    g.dirs.length === 1 && g.dirs[0] === "in"
      ? `into ${g.called}`
      : `${listing(g.dirs, "or")} to ${g.called}`
  );
  // "or" between destinations; a comma before it once a destination has several ways.
  if (parts.length <= 1) return parts.join("");
  const multi = [...byPlace.values()].some((g) => g.dirs.length > 1);
  const last = parts[parts.length - 1];
  return `${parts.slice(0, -1).join(", ")}${multi ? "," : ""} or ${last}`;
}
