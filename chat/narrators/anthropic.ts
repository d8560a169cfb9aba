/**
 * The Anthropic narrator: Messages API streaming through the official
 * `@anthropic-ai/sdk`. A fast model narrates recognised simple actions; the
 * capable model takes what the KB flags (`needs_capable_model`: not
 * understood, dialogue).
 *
 * Settings (validated by shared/settings.ts): `ANTHROPIC_API_KEY` (required),
 * `ANTHROPIC_BASE_URL`, `ANTHROPIC_FAST_MODEL`, `ANTHROPIC_CAPABLE_MODEL`,
 * `NARRATOR_MAX_TOKENS`, `NARRATOR_MAX_RETRIES`.
 *
 * @module
 */
import Anthropic from "@anthropic-ai/sdk";
import type { Outcome } from "../../shared/schema.ts";
import { SettingsError } from "../../shared/errors.ts";
import type { NarratorSettings } from "../../shared/settings.ts";
import { SYSTEM_PROMPT, userPrompt } from "./prompt.ts";
import type { NarrationInput, Narrator } from "./types.ts";

/**
 * Narrates with Claude.
 *
 * @example
 * ```ts
 * const narrator = AnthropicNarrator.fromSettings(loadSettings({ DEV: "1", NARRATOR: "anthropic", ANTHROPIC_API_KEY: key }));
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

  /** Builds the narrator from the settings; the API key is required (settings check it at start). */
  static fromSettings(s: NarratorSettings): AnthropicNarrator {
    if (!s.ANTHROPIC_API_KEY) {
      throw new SettingsError(["ANTHROPIC_API_KEY"], "NARRATOR=anthropic needs ANTHROPIC_API_KEY");
    }
    const client = new Anthropic({
      apiKey: s.ANTHROPIC_API_KEY,
      // Passed explicitly so the SDK never picks up a different process env.
      baseURL: s.ANTHROPIC_BASE_URL,
      maxRetries: s.NARRATOR_MAX_RETRIES,
    });
    return new AnthropicNarrator(client, {
      fast: s.ANTHROPIC_FAST_MODEL,
      capable: s.ANTHROPIC_CAPABLE_MODEL,
    }, s.NARRATOR_MAX_TOKENS);
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
