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

/** Exits as "north to Mossy Path" (the engine's `{direction, name}`). */
function exitNames(v: unknown): string[] {
  if (!Array.isArray(v)) return [];
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
 */
function counted(items: string[]): string[] {
  const counts = new Map<string, number>();
  for (const n of items) counts.set(n, (counts.get(n) ?? 0) + 1);
  const out: string[] = [];
  for (const [name, n] of counts) {
    const own = withArticle(name) === name;
    if (n === 1 || own) out.push(...Array(n).fill(withArticle(name)));
    else out.push(`${NUMBER_WORDS[n] ?? n} ${plural(name)}`);
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
  // Some outcomes name the location by id only (a string): nothing to describe.
  const place = record(f.location) ?? {};
  const parts: string[] = [sentence(outcome.summary)];
  const add = (text: unknown) => {
    if (typeof text !== "string" || !text.trim()) return;
    if (!parts.some((p) => p.includes(text.trim()))) parts.push(sentence(text));
  };
  if (outcome.kind !== "no_exit") { // a refused move only needs the ways out
    add(place.description);
    const items = counted(names(place.items));
    if (items.length) parts.push(`You notice ${list(items)} here.`);
    const npcs = names(place.npcs);
    if (npcs.length) parts.push(`${list(npcs)} ${npcs.length === 1 ? "is" : "are"} here.`);
    const players = names(place.players);
    if (players.length) parts.push(`Also here: ${list(players)}.`);
  }
  const exits = exitNames(place.exits);
  if (exits.length) parts.push(`From here you can go ${list(exits, "or")}.`);
  const item = record(f.item);
  if (item && (outcome.kind === "took" || outcome.kind === "examined")) add(item.description);
  const topics = names(f.topics);
  if (topics.length) parts.push(`You could ask about ${list(topics, "or")}.`);
  if (outcome.kind === "not_understood") {
    parts.push("Try look, go <place>, take <item>, drop <item> or inventory.");
  }
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
