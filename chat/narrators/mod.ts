/**
 * Narrator selection (`NARRATOR`): `offline`, `anthropic` or `openai`.
 *
 * Variables read from `narratorEnv` (all optional unless noted):
 * - offline: `NARRATOR_FIRST_TOKEN_MS`, `NARRATOR_TOKENS_PER_SEC` (pacing only)
 * - anthropic: `ANTHROPIC_API_KEY` (required), `ANTHROPIC_BASE_URL`,
 *   `ANTHROPIC_FAST_MODEL`, `ANTHROPIC_CAPABLE_MODEL`
 * - openai: `OPENAI_BASE_URL`, `OPENAI_API_KEY`, `OPENAI_MODEL`, `OPENAI_CAPABLE_MODEL`
 * - both remote: `NARRATOR_MAX_TOKENS` (400), `NARRATOR_MAX_RETRIES` (1)
 * - all: `NARRATOR_TIMEOUT` (stall timeout between chunks, e.g. `20s`; default 20 s)
 *
 * @module
 */
import { parseDuration } from "../../shared/settings.ts";
import { AnthropicNarrator } from "./anthropic.ts";
import { OfflineNarrator } from "./offline.ts";
import { OpenAINarrator } from "./openai.ts";
import type { Narrator, NarratorEnv } from "./types.ts";

export type { NarrationInput, Narrator, NarratorEnv } from "./types.ts";
export { OfflineNarrator, offlineProse } from "./offline.ts";
export { AnthropicNarrator } from "./anthropic.ts";
export { OpenAINarrator } from "./openai.ts";

/** Default stall timeout of a narrator (no chunk for this long → `error`). */
export const DEFAULT_NARRATOR_TIMEOUT_MS = 20_000;

/**
 * Builds the configured narrator.
 *
 * @example
 * ```ts
 * const narrator = createNarrator("openai", false, { OPENAI_BASE_URL: "http://127.0.0.1:8080/v1" });
 * ```
 */
export function createNarrator(
  kind: "offline" | "anthropic" | "openai",
  paced: boolean,
  env: NarratorEnv = {},
): Narrator {
  switch (kind) {
    case "anthropic":
      return AnthropicNarrator.fromEnv(env);
    case "openai":
      return OpenAINarrator.fromEnv(env);
    default:
      return OfflineNarrator.fromEnv(paced, env);
  }
}

/**
 * The stall timeout from `NARRATOR_TIMEOUT` (a duration such as `20s` or ms;
 * unset or empty: 20 s). Throws on a value that is not a duration, is 0 or
 * less, or is longer than a timer can wait.
 *
 * @example
 * ```ts
 * narratorTimeoutMs({ NARRATOR_TIMEOUT: "5s" }); // 5000
 * ```
 */
export function narratorTimeoutMs(env: NarratorEnv = {}): number {
  const raw = env.NARRATOR_TIMEOUT?.trim();
  if (!raw) return DEFAULT_NARRATOR_TIMEOUT_MS;
  const ms = parseDuration(raw);
  if (!(ms > 0 && ms <= 2 ** 31 - 1)) {
    throw new Error(`NARRATOR_TIMEOUT must be more than 0 and at most 24 days (got ${raw})`);
  }
  return ms;
}
