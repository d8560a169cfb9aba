/**
 * The OpenAI-compatible narrator: chat-completions streaming through the
 * official `openai` SDK, with a configurable base URL so it also talks to
 * Ollama, vLLM and llama.cpp servers.
 *
 * Settings (from `narratorEnv`): `OPENAI_BASE_URL` (default
 * `https://api.openai.com/v1`), `OPENAI_API_KEY` (local servers accept any
 * value; default `unused`), `OPENAI_MODEL` (default `gpt-4o-mini`),
 * `OPENAI_CAPABLE_MODEL` (default: `OPENAI_MODEL`), `NARRATOR_MAX_TOKENS`
 * (default 400), `NARRATOR_MAX_RETRIES` (default 1).
 *
 * @module
 */
import OpenAI from "openai";
import type { Outcome } from "../../shared/schema.ts";
import { SYSTEM_PROMPT, userPrompt } from "./prompt.ts";
import { intSetting, type NarrationInput, type Narrator, type NarratorEnv } from "./types.ts";

/** Default model. */
export const OPENAI_DEFAULT_MODEL = "gpt-4o-mini";

/**
 * Narrates with an OpenAI-compatible chat-completions endpoint.
 *
 * @example
 * ```ts
 * const narrator = OpenAINarrator.fromEnv({ OPENAI_BASE_URL: "http://127.0.0.1:11434/v1", OPENAI_MODEL: "llama3.2" });
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

  /** Builds the narrator from environment settings. */
  static fromEnv(env: NarratorEnv): OpenAINarrator {
    const client = new OpenAI({
      apiKey: env.OPENAI_API_KEY || "unused",
      // Passed explicitly so the SDK never picks up a different process env.
      baseURL: env.OPENAI_BASE_URL || "https://api.openai.com/v1",
      organization: null,
      project: null,
      maxRetries: intSetting(env, "NARRATOR_MAX_RETRIES", 1),
    });
    const model = env.OPENAI_MODEL || OPENAI_DEFAULT_MODEL;
    return new OpenAINarrator(
      client,
      { model, capable: env.OPENAI_CAPABLE_MODEL || model },
      intSetting(env, "NARRATOR_MAX_TOKENS", 400),
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
