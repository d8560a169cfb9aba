/**
 * The narrator interface: turns a KB outcome into a stream of prose chunks.
 *
 * @module
 */
import type { IntentContext, Outcome, WorldUpdateEvent } from "../../shared/schema.ts";

/** Everything a narrator may use. */
export interface NarrationInput {
  /** What the player typed. */
  message: string;
  /** The command the intent step ran for it, when the grammar did not understand the message. */
  understoodAs?: string;
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

/** What the intent step asks a model: the player's text and what they can see. */
export interface IntentRequest {
  text: string;
  context: IntentContext;
}

/** The model's call of the `act` tool, as it came (arguments not yet checked). */
export interface ToolCall {
  name: string;
  /** Anthropic: the parsed `input`; OpenAI: the `arguments` string. */
  arguments: unknown;
}

/**
 * A model that maps free-form text to one command through the `act` tool
 * (chat/intent.ts checks the answer and runs it like a typed command).
 *
 * @example
 * ```ts
 * const call = await model.act({ text: "grab a bottle?", context }, signal);
 * if (call?.name === "act") console.log(call.arguments);
 * ```
 */
export interface IntentModel {
  readonly kind: "anthropic" | "openai";
  /** The model asked (the fast tier). */
  readonly model: string;
  /** One request; resolves the first tool call, or undefined when the model called none. */
  act(request: IntentRequest, signal: AbortSignal): Promise<ToolCall | undefined>;
}
