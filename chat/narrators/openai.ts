/**
 * The OpenAI-compatible narrator: chat-completions streaming through the
 * official `openai` SDK, with a configurable base URL so it also talks to
 * Ollama, vLLM and llama.cpp servers.
 *
 * Settings (validated by shared/settings.ts): `OPENAI_BASE_URL`,
 * `OPENAI_API_KEY` (local servers accept any value; unset sends `unused`),
 * `OPENAI_MODEL`, `OPENAI_CAPABLE_MODEL`, `NARRATOR_MAX_TOKENS`,
 * `NARRATOR_MAX_RETRIES`.
 *
 * @module
 */
import OpenAI from "openai";
import type { Outcome } from "../../shared/schema.ts";
import type { NarratorSettings } from "../../shared/settings.ts";
import { SYSTEM_PROMPT, userPrompt } from "./prompt.ts";
import type { NarrationInput, Narrator } from "./types.ts";

/**
 * Narrates with an OpenAI-compatible chat-completions endpoint.
 *
 * @example
 * ```ts
 * const narrator = OpenAINarrator.fromSettings(loadSettings({
 *   DEV: "1", NARRATOR: "openai", OPENAI_BASE_URL: "http://127.0.0.1:11434/v1", OPENAI_MODEL: "llama3.2",
 * }));
 * ```
 */
export class OpenAINarrator implements Narrator {
  readonly kind = "openai" as const;
  readonly #client: OpenAI;
  readonly #model: string;
  readonly #capable: string;
  readonly #maxTokens: number;

  constructor(client: OpenAI, models: { model: string; capable: string }, maxTokens: number) {
    this.#client = client;
    this.#model = models.model;
    this.#capable = models.capable;
    this.#maxTokens = maxTokens;
  }

  /** Builds the narrator from the settings. */
  static fromSettings(s: NarratorSettings): OpenAINarrator {
    const client = new OpenAI({
      apiKey: s.OPENAI_API_KEY ?? "unused",
      // Passed explicitly so the SDK never picks up a different process env.
      baseURL: s.OPENAI_BASE_URL,
      organization: null,
      project: null,
      maxRetries: s.NARRATOR_MAX_RETRIES,
    });
    return new OpenAINarrator(
      client,
      { model: s.OPENAI_MODEL, capable: s.OPENAI_CAPABLE_MODEL },
      s.NARRATOR_MAX_TOKENS,
    );
  }

  modelFor(outcome: Outcome): string {
    return outcome.needs_capable_model || outcome.kind === "not_understood"
      ? this.#capable
      : this.#model;
  }

  async *narrate(input: NarrationInput, signal: AbortSignal): AsyncIterable<string> {
    const stream = await this.#client.chat.completions.create({
      model: this.modelFor(input.outcome),
      max_tokens: this.#maxTokens,
      stream: true,
      messages: [
        { role: "system", content: SYSTEM_PROMPT },
        { role: "user", content: userPrompt(input) },
      ],
    }, { signal });
    for await (const chunk of stream) {
      // Some OpenAI-compatible servers send chunks without `choices` (usage, keep-alive).
      const text = chunk.choices?.[0]?.delta?.content;
      if (text) yield text;
    }
  }
}
