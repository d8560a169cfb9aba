/**
 * The Anthropic narrator: Messages API streaming through the official
 * `@anthropic-ai/sdk`. A fast model narrates recognised simple actions; the
 * capable model takes what the KB flags (`needs_capable_model`: not
 * understood, dialogue).
 *
 * Settings (from `narratorEnv`): `ANTHROPIC_API_KEY` (required),
 * `ANTHROPIC_BASE_URL`, `ANTHROPIC_FAST_MODEL` (default `claude-haiku-4-5`),
 * `ANTHROPIC_CAPABLE_MODEL` (default `claude-sonnet-4-5`),
 * `NARRATOR_MAX_TOKENS` (default 400), `NARRATOR_MAX_RETRIES` (default 1).
 *
 * @module
 */
import Anthropic from "@anthropic-ai/sdk";
import type { Outcome } from "../../shared/schema.ts";
import { AppError } from "../../shared/errors.ts";
import { SYSTEM_PROMPT, userPrompt } from "./prompt.ts";
import { intSetting, type NarrationInput, type Narrator, type NarratorEnv } from "./types.ts";

/** Default fast model. */
export const ANTHROPIC_DEFAULT_FAST_MODEL = "claude-haiku-4-5";
/** Default capable model. */
export const ANTHROPIC_DEFAULT_CAPABLE_MODEL = "claude-sonnet-4-5";

/**
 * Narrates with Claude.
 *
 * @example
 * ```ts
 * const narrator = AnthropicNarrator.fromEnv({ ANTHROPIC_API_KEY: key });
 * ```
 */
export class AnthropicNarrator implements Narrator {
  readonly kind = "anthropic" as const;
  readonly #client: Anthropic;
  readonly #fast: string;
  readonly #capable: string;
  readonly #maxTokens: number;

  constructor(
    client: Anthropic,
    models: { fast: string; capable: string },
    maxTokens: number,
  ) {
    this.#client = client;
    this.#fast = models.fast;
    this.#capable = models.capable;
    this.#maxTokens = maxTokens;
  }

  /** Builds the narrator from environment settings; throws when the API key is missing. */
  static fromEnv(env: NarratorEnv): AnthropicNarrator {
    const apiKey = env.ANTHROPIC_API_KEY;
    if (!apiKey) {
      throw new AppError("bad_settings", "NARRATOR=anthropic needs ANTHROPIC_API_KEY", 500);
    }
    const client = new Anthropic({
      apiKey,
      // Passed explicitly so the SDK never picks up a different process env.
      baseURL: env.ANTHROPIC_BASE_URL || "https://api.anthropic.com",
      maxRetries: intSetting(env, "NARRATOR_MAX_RETRIES", 1),
    });
    return new AnthropicNarrator(client, {
      fast: env.ANTHROPIC_FAST_MODEL || ANTHROPIC_DEFAULT_FAST_MODEL,
      capable: env.ANTHROPIC_CAPABLE_MODEL || ANTHROPIC_DEFAULT_CAPABLE_MODEL,
    }, intSetting(env, "NARRATOR_MAX_TOKENS", 400));
  }

  modelFor(outcome: Outcome): string {
    return outcome.needs_capable_model || outcome.kind === "not_understood"
      ? this.#capable
      : this.#fast;
  }

  async *narrate(input: NarrationInput, signal: AbortSignal): AsyncIterable<string> {
    const stream = await this.#client.messages.create({
      model: this.modelFor(input.outcome),
      max_tokens: this.#maxTokens,
      system: SYSTEM_PROMPT,
      messages: [{ role: "user", content: userPrompt(input) }],
      stream: true,
    }, { signal });
    for await (const event of stream) {
      if (event.type === "content_block_delta" && event.delta.type === "text_delta") {
        if (event.delta.text) yield event.delta.text;
      }
    }
  }
}
