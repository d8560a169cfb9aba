/**
 * The offline narrator (default): deterministic prose built from the KB
 * outcome (its true `summary` plus the facts the engine gives: a location's
 * description, items, NPCs, other players and exits; an item's description;
 * an NPC's topics). No network, same input → same words.
 *
 * With pacing on (`deno task dev`), it imitates an LLM: a first-token delay
 * and a steady token rate, so the browser client shows realistic streaming.
 *
 * @module
 */
import type { Outcome } from "../../shared/schema.ts";
import type { NarratorSettings } from "../../shared/settings.ts";
import { type NarrationInput, type Narrator, tokenize } from "./types.ts";

/** Pacing of the offline narrator. */
export interface OfflinePacing {
  /** Delay before the first chunk (ms). */
  firstTokenMs: number;
  /** Delay between chunks (ms). */
  tokenMs: number;
}

/** Names of a list of `{name}` records (kb/engine_ctx.ts) or of plain strings (players, topics). */
function names(v: unknown): string[] {
  if (!Array.isArray(v)) return [];
  return v.map((x) => typeof x === "string" ? x : record(x)?.name)
    .filter((s): s is string => typeof s === "string" && s !== "");
}

/**
 * Exits as "north to Mossy Path" when the KB gives a direction, else their
 * names. Exits that carry `to` and `called` (how a sentence names the
 * place) name each destination once: "east or out to the storm beach".
 */
function exitNames(v: unknown): string[] {
  if (!Array.isArray(v)) return names(v).map((n) => `to ${n}`);
  const grouped = new Map<string, { dirs: string[]; called: string }>();
  for (const x of v) {
    const { direction, to, called } = (x ?? {}) as Record<string, unknown>;
    if (typeof direction !== "string" || typeof to !== "string" || typeof called !== "string") {
      grouped.clear();
      break;
    }
    const g = grouped.get(to) ?? { dirs: [], called };
    g.dirs.push(direction);
    grouped.set(to, g);
  }
  if (grouped.size) return [...grouped.values()].map((g) => `${list(g.dirs, "or")} to ${g.called}`);
  return v.map((x) => {
    const { direction, name } = record(x) ?? {};
    return typeof direction === "string" && typeof name === "string"
      ? `${direction} to ${name}`
      : undefined;
  }).filter((s): s is string => !!s);
}

/** "glowing mushroom" → "the glowing mushroom"; names with an article or a capital stay. */
function withArticle(name: string): string {
  return /^(a|an|the|some)\s/i.test(name) || /^\p{Lu}/u.test(name) ? name : `the ${name}`;
}

const NUMBER_WORDS = ["", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"];

/** "dream bottle" → "dream bottles"; regular English plurals only. */
function plural(name: string): string {
  if (/(s|x|z|ch|sh)$/i.test(name)) return `${name}es`;
  if (/[^aeiou]y$/i.test(name)) return `${name.slice(0, -1)}ies`;
  return `${name}s`;
}

/**
 * Names with articles, identical plain names counted: ["dream bottle",
 * "dream bottle", "lantern"] → ["two dream bottles", "the lantern"].
 * Names that carry their own article or a capital are listed as they are.
 * Items the KB gives with a `phrase` ("some driftwood") and a `plural` use them.
 */
function counted(
  items: string[],
  forms: Map<string, { phrase?: string; plural?: string }> = new Map(),
): string[] {
  const counts = new Map<string, number>();
  for (const n of items) counts.set(n, (counts.get(n) ?? 0) + 1);
  const out: string[] = [];
  for (const [name, n] of counts) {
    const form = forms.get(name);
    if (form?.phrase && n === 1) out.push(form.phrase);
    else if (form?.phrase) out.push(`${NUMBER_WORDS[n] ?? n} ${form.plural ?? plural(name)}`);
    else if (n === 1 || withArticle(name) === name) out.push(...Array(n).fill(withArticle(name)));
    else out.push(`${NUMBER_WORDS[n] ?? n} ${plural(name)}`);
  }
  return out;
}

/** The `phrase` and `plural` the KB gives items, by name. */
function formsOf(v: unknown): Map<string, { phrase?: string; plural?: string }> {
  const forms = new Map<string, { phrase?: string; plural?: string }>();
  for (const x of Array.isArray(v) ? v : []) {
    const o = record(x);
    if (typeof o?.name === "string" && typeof o.phrase === "string") {
      forms.set(o.name, {
        phrase: o.phrase,
        ...(typeof o.plural === "string" ? { plural: o.plural } : {}),
      });
    }
  }
  return forms;
}

/** Sentences start with a capital, whatever a name starts with. */
function capitalized(s: string): string {
  return s.charAt(0).toUpperCase() + s.slice(1);
}

/** Goals reached and an ending, as the KB's facts tell them. */
function progressLines(f: Record<string, unknown>): string[] {
  const out: string[] = [];
  const score = record(f.score);
  for (const g of Array.isArray(f.goals) ? f.goals : []) {
    const goal = record(g);
    if (typeof goal?.title !== "string") continue;
    const points = typeof goal.score === "number" ? ` (+${goal.score})` : "";
    out.push(`Goal reached: ${goal.title}${points}.`);
    if (typeof goal.message === "string") out.push(sentence(goal.message));
  }
  if (out.length && typeof score?.points === "number" && typeof score.max === "number") {
    out.push(`Your score is ${score.points} of ${score.max}.`);
  }
  const ending = record(f.ending);
  if (typeof ending?.title === "string") {
    out.push(`The end: ${ending.title}.`);
    if (typeof ending.text === "string") out.push(sentence(ending.text));
  }
  return out;
}

function list(items: string[], conj = "and"): string {
  if (items.length <= 1) return items.join("");
  return `${items.slice(0, -1).join(", ")} ${conj} ${items[items.length - 1]}`;
}

function sentence(s: string): string {
  const t = s.trim();
  if (!t) return "";
  return /[.!?…"')]$/.test(t) ? t : `${t}.`;
}

function record(v: unknown): Record<string, unknown> | undefined {
  return v && typeof v === "object" && !Array.isArray(v) ? v as Record<string, unknown> : undefined;
}

/**
 * The offline prose for an outcome: the KB's true summary, then what its
 * facts show (the location's description, items, NPCs, other players and
 * exits, as kb/engine_ctx.ts `describeLocation` gives them under
 * `facts.location`; a taken or examined item's description; an NPC's topics).
 *
 * @example
 * ```ts
 * offlineProse({ kind: "looked", changed: false, summary: "You are in the store.", facts: {}, needs_capable_model: false });
 * ```
 */
export function offlineProse(outcome: Outcome): string {
  const f = outcome.facts ?? {};
  if (Array.isArray(f.steps)) {
    // Chained commands: each one told in turn, then what they achieved.
    const told = f.steps.map((x) =>
      offlineProse({
        needs_capable_model: false,
        changed: false,
        summary: "",
        facts: {},
        kind: "",
        ...record(x),
      })
    );
    return [...told, ...progressLines(f)].filter(Boolean).join(" ");
  }
  // Some outcomes name the location by id only (a string): nothing to describe.
  const place = record(f.location) ?? {};
  const parts: string[] = [sentence(outcome.summary)];
  const add = (text: unknown) => {
    if (typeof text !== "string" || !text.trim()) return;
    if (!parts.some((p) => p.includes(text.trim()))) parts.push(sentence(text));
  };
  const described = outcome.kind !== "no_exit"; // a refused move only needs the ways out
  if (described) add(place.description);
  if (described && outcome.kind !== "inventory") {
    const items = counted(names(place.items), formsOf(place.items));
    if (items.length) parts.push(`You notice ${list(items)} here.`);
    const npcForms = formsOf(place.npcs);
    const npcs = names(place.npcs).map((n) => npcForms.get(n)?.phrase ?? n);
    if (npcs.length) {
      parts.push(capitalized(`${list(npcs)} ${npcs.length === 1 ? "is" : "are"} here.`));
    }
    const players = names(place.players);
    if (players.length) parts.push(`Also here: ${list(players)}.`);
  }
  const exits = exitNames(place.exits).map((e) =>
    e.startsWith("in to ") ? `into ${e.slice(6)}` : e
  );
  if (exits.length) parts.push(`From here you can go ${list(exits, "or")}.`);
  const item = record(f.item);
  if (item && (outcome.kind === "took" || outcome.kind === "examined")) add(item.description);
  const topics = names(f.topics);
  if (topics.length) parts.push(`You could ask about ${list(topics, "or")}.`);
  if (outcome.kind === "not_understood") {
    parts.push("Try look, go <place>, take <item>, drop <item> or inventory.");
  }
  parts.push(...progressLines(f));
  return parts.filter(Boolean).join(" ");
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  if (ms <= 0) return Promise.resolve();
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(signal.reason);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal.reason);
    };
    const timer = setTimeout(() => {
      signal.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    signal.addEventListener("abort", onAbort, { once: true });
  });
}

/**
 * The offline narrator.
 *
 * @example
 * ```ts
 * const narrator = new OfflineNarrator({ firstTokenMs: 350, tokenMs: 25 });
 * ```
 */
export class OfflineNarrator implements Narrator {
  readonly kind = "offline" as const;
  readonly #pacing: OfflinePacing | undefined;

  constructor(pacing?: OfflinePacing) {
    this.#pacing = pacing;
  }

  /**
   * Paced (`NARRATOR_PACING`) by `NARRATOR_FIRST_TOKEN_MS` and
   * `NARRATOR_TOKENS_PER_SEC`, or not at all.
   *
   * @example
   * ```ts
   * const narrator = OfflineNarrator.fromSettings(loadSettings({ DEV: "1", NARRATOR_PACING: "1" }));
   * ```
   */
  static fromSettings(s: NarratorSettings): OfflineNarrator {
    if (!s.NARRATOR_PACING) return new OfflineNarrator();
    return new OfflineNarrator({
      firstTokenMs: s.NARRATOR_FIRST_TOKEN_MS,
      tokenMs: Math.round(1000 / s.NARRATOR_TOKENS_PER_SEC),
    });
  }

  modelFor(_outcome: Outcome): string {
    return "offline";
  }

  async *narrate(input: NarrationInput, signal: AbortSignal): AsyncIterable<string> {
    const tokens = tokenize(offlineProse(input.outcome));
    for (let i = 0; i < tokens.length; i++) {
      if (signal.aborted) return;
      if (this.#pacing) {
        await sleep(i === 0 ? this.#pacing.firstTokenMs : this.#pacing.tokenMs, signal);
      }
      yield tokens[i]!;
    }
  }
}
