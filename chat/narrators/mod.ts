/**
 * Narrator selection (`NARRATOR`): `offline`, `anthropic` or `openai`, built
 * from the typed settings (shared/settings.ts validates every narrator
 * variable at start; nothing here reads the environment):
 * - offline: `NARRATOR_PACING`, `NARRATOR_FIRST_TOKEN_MS`, `NARRATOR_TOKENS_PER_SEC`
 * - anthropic: `ANTHROPIC_API_KEY`, `ANTHROPIC_BASE_URL`, `ANTHROPIC_FAST_MODEL`,
 *   `ANTHROPIC_CAPABLE_MODEL`
 * - openai: `OPENAI_BASE_URL`, `OPENAI_API_KEY`, `OPENAI_MODEL`, `OPENAI_CAPABLE_MODEL`
 * - both remote: `NARRATOR_MAX_TOKENS`, `NARRATOR_MAX_RETRIES`
 * - all: `NARRATOR_TIMEOUT` (the stall timeout, applied by chat/narrative.ts)
 *
 * The remote narrators' providers also serve the intent step
 * ({@linkcode createIntentModel}: `act` tool calls with the fast model).
 *
 * @module
 */
import type { NarratorSettings } from "../../shared/settings.ts";
import { AnthropicNarrator } from "./anthropic.ts";
import { AnthropicIntent } from "./anthropic_intent.ts";
import { OfflineNarrator } from "./offline.ts";
import { OpenAINarrator } from "./openai.ts";
import { OpenAIIntent } from "./openai_intent.ts";
import type { IntentModel, Narrator } from "./types.ts";

export type { IntentModel, IntentRequest, NarrationInput, Narrator, ToolCall } from "./types.ts";
export { AnthropicIntent } from "./anthropic_intent.ts";
export { OpenAIIntent } from "./openai_intent.ts";
export { OfflineNarrator, offlineProse } from "./offline.ts";
export { AnthropicNarrator } from "./anthropic.ts";
export { OpenAINarrator } from "./openai.ts";

/**
 * Builds the configured narrator.
 *
 * @example
 * ```ts
 * const narrator = createNarrator(loadSettings({ DEV: "1", NARRATOR: "openai", OPENAI_BASE_URL: url }));
 * ```
 */
export function createNarrator(s: NarratorSettings): Narrator {
  switch (s.NARRATOR) {
    case "anthropic":
      return AnthropicNarrator.fromSettings(s);
    case "openai":
      return OpenAINarrator.fromSettings(s);
    default:
      return OfflineNarrator.fromSettings(s);
  }
}

/**
 * The model of the intent step for the configured narrator: none with the
 * offline narrator (nothing changes there) or with `INTENT_RATE=0`.
 *
 * @example
 * ```ts
 * const model = createIntentModel(loadSettings({ DEV: "1", NARRATOR: "openai", OPENAI_BASE_URL: url }));
 * ```
 */
export function createIntentModel(s: NarratorSettings): IntentModel | undefined {
  if (s.INTENT_RATE <= 0) return undefined;
  switch (s.NARRATOR) {
    case "anthropic":
      return AnthropicIntent.fromSettings(s);
    case "openai":
      return OpenAIIntent.fromSettings(s);
    default:
      return undefined;
  }
}
