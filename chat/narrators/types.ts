/**
 * The narrator interface: turns a KB outcome into a stream of prose chunks.
 *
 * @module
 */
import type { Outcome, WorldUpdateEvent } from "../../shared/schema.ts";

/** Everything a narrator may use. */
export interface NarrationInput {
  /** What the player typed. */
  message: string;
  experience: string;
  /** What the KB decided (summary and facts). */
  outcome: Outcome;
  /** The events the action published (already sent to the client). */
  events: readonly WorldUpdateEvent[];
}

/**
 * A narrator. `narrate` yields text chunks and must stop promptly when
 * `signal` aborts (the client left, or the narrator stalled).
 *
 * @example
 * ```ts
 * for await (const chunk of narrator.narrate(input, signal)) send(chunk);
 * ```
 */
export interface Narrator {
  readonly kind: "offline" | "anthropic" | "openai";
  /** The model that will narrate this outcome (reported in `metadata.model`). */
  modelFor(outcome: Outcome): string;
  narrate(input: NarrationInput, signal: AbortSignal): AsyncIterable<string>;
}

/**
 * Splits prose into word-sized chunks with their trailing whitespace (about
 * what an LLM streams per token).
 *
 * @example
 * ```ts
 * tokenize("You look around."); // ["You ", "look ", "around."]
 * ```
 */
export function tokenize(text: string): string[] {
  return text.match(/\S+\s*/g) ?? [];
}
