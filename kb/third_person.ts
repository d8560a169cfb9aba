/**
 * The line other players read when someone's action changes the world:
 * the outcome's second-person summary ("You take the dream bottle.") told
 * in the third person ("ada takes the dream bottle"). Pure.
 *
 * Only the summary's first sentence is used (what follows is often an NPC's
 * reply or a description meant for the actor), and only when it starts with
 * "You ": content-written text ("The door swings open as you ...") would
 * read wrongly, so such outcomes get a plain line from their kind instead.
 *
 * @module
 */
import type { Outcome } from "../shared/schema.ts";

/** Verbs that do not take a plain `-s`. */
const IRREGULAR: Record<string, string> = {
  are: "is",
  have: "has",
  go: "goes",
  do: "does",
  can: "can",
  "can't": "can't",
  cannot: "cannot",
  will: "will",
  "won't": "won't",
  must: "must",
};

/** "take" → "takes", "reach" → "reaches", "carry" → "carries". */
function thirdPersonVerb(verb: string): string {
  const lower = verb.toLowerCase();
  if (IRREGULAR[lower]) return IRREGULAR[lower]!;
  if (/(s|sh|ch|x|z|o)$/.test(lower)) return `${verb}es`;
  if (/[^aeiou]y$/.test(lower)) return `${verb.slice(0, -1)}ies`;
  return `${verb}s`;
}

/** What an outcome kind reads as when its summary cannot be retold. */
const KIND_VERBS: Record<string, string> = {
  took: "takes",
  dropped: "drops",
  put: "puts away",
  gave: "gives away",
  opened: "opens",
  closed: "closes",
  locked: "locks",
  unlocked: "unlocks",
  lit: "lights",
  extinguished: "puts out",
  used: "uses",
  moved: "moves on",
};

const MAX_LINE = 200;

function firstSentence(text: string): string {
  const m = /^(.+?[.!?])(\s|$)/s.exec(text.trim());
  return (m ? m[1]! : text.trim()).replace(/[.!]$/, "");
}

function clip(line: string): string {
  const chars = [...line];
  return chars.length <= MAX_LINE ? line : `${chars.slice(0, MAX_LINE - 1).join("")}…`;
}

/**
 * The third-person line of a changed outcome by player `name`, or
 * `undefined` when there is nothing to tell (an unchanged outcome).
 *
 * @example
 * ```ts
 * thirdPersonLine({ kind: "took", changed: true, summary: "You take the dream bottle.", facts: {}, needs_capable_model: false }, "ada");
 * // "ada takes the dream bottle"
 * ```
 */
export function thirdPersonLine(outcome: Outcome, name: string): string | undefined {
  if (outcome.kind === "reset") return "the world is back as it began";
  const sentence = firstSentence(outcome.summary);
  const m = /^You (\S+)(.*)$/s.exec(sentence);
  if (m) {
    const rest = m[2]!
      .replace(/\byourself\b/g, "themselves")
      .replace(/\byour\b/g, "their")
      .replace(/\bYour\b/g, "Their")
      .replace(/\byou\b/g, "them");
    return clip(`${name} ${thirdPersonVerb(m[1]!)}${rest}`);
  }
  const item = (outcome.facts.item as { name?: unknown } | undefined)?.name;
  const verb = KIND_VERBS[outcome.kind];
  if (verb && typeof item === "string") return clip(`${name} ${verb} ${item}`);
  if (verb) return clip(`${name} ${verb}`);
  return clip(`${name} does something`);
}
