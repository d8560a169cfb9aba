/**
 * The prompt both LLM narrators send: a fixed system prompt and the KB
 * outcome as JSON. The model narrates only what the KB decided; it never
 * decides game state.
 *
 * @module
 */
import type { NarrationInput } from "./types.ts";

/** System prompt of the LLM narrators. */
export const SYSTEM_PROMPT =
  "You are the narrator of a text adventure. The game engine has already decided what happened; " +
  "you receive its outcome as JSON (kind, summary, facts). Narrate it to the player in the second " +
  "person, in two to four vivid sentences. Describe only what the facts support: never invent " +
  "items, exits, characters or state changes, and never contradict the summary. If the command " +
  "was not understood, say so in character and suggest what the player could try.";

/**
 * The user turn: the player's command and the engine's outcome.
 *
 * @example
 * ```ts
 * const content = userPrompt({ message: "look", experience: "wylding-woods", outcome, events: [] });
 * ```
 */
export function userPrompt(input: NarrationInput): string {
  return JSON.stringify({
    experience: input.experience,
    player_command: input.message,
    // The command the player's words were understood as (the intent step), which the outcome is of.
    ...(input.understoodAs ? { understood_as: input.understoodAs } : {}),
    outcome: {
      kind: input.outcome.kind,
      changed: input.outcome.changed,
      summary: input.outcome.summary,
      facts: input.outcome.facts,
    },
  });
}
