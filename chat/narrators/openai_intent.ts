/**
 * The intent step over OpenAI-compatible chat completions (function
 * calling), through the official `openai` SDK, so Ollama, vLLM and
 * llama.cpp servers work too: `OPENAI_MODEL`, one `act` function with
 * `tool_choice: "auto"` (the model may decline), no SDK retries (the step
 * has its own time bound, `INTENT_TIMEOUT`).
 *
 * Not streamed: the command is needed whole before it can run, and
 * non-streamed tool calls are what OpenAI-compatible servers support best.
 *
 * @module
 */
import OpenAI from "openai";
import type { NarratorSettings } from "../../shared/settings.ts";
import {
  ACT_TOOL_DESCRIPTION,
  ACT_TOOL_NAME,
  ACT_TOOL_PARAMETERS,
  INTENT_SYSTEM_PROMPT,
  intentUserPrompt,
} from "./intent_prompt.ts";
import type { IntentModel, IntentRequest, ToolCall } from "./types.ts";

/** Room for one tool call with a short command. */
const MAX_TOKENS = 128;

/**
 * An OpenAI-compatible model as the intent model.
 *
 * @example
 * ```ts
 * const model = OpenAIIntent.fromSettings(loadSettings({ DEV: "1", NARRATOR: "openai", OPENAI_BASE_URL: url }));
 * const call = await model.act({ text, context }, signal);
 * ```
 */
export class OpenAIIntent implements IntentModel {
  readonly kind = "openai" as const;
  readonly model: string;
  readonly #client: OpenAI;

  constructor(client: OpenAI, model: string) {
    this.#client = client;
    this.model = model;
  }

  /** Builds it from the narrator's settings (base URL, key, `OPENAI_MODEL`). */
  static fromSettings(s: NarratorSettings): OpenAIIntent {
    const client = new OpenAI({
      apiKey: s.OPENAI_API_KEY ?? "unused",
      baseURL: s.OPENAI_BASE_URL,
      organization: null,
      project: null,
      maxRetries: 0,
      // A backstop only: chat/intent.ts aborts at INTENT_TIMEOUT and counts it as a timeout.
      timeout: Math.min(s.INTENT_TIMEOUT + 1_000, 2 ** 31 - 1),
    });
    return new OpenAIIntent(client, s.OPENAI_MODEL);
  }

  async act(req: IntentRequest, signal: AbortSignal): Promise<ToolCall | undefined> {
    const completion = await this.#client.chat.completions.create({
      model: this.model,
      max_tokens: MAX_TOKENS,
      messages: [
        { role: "system", content: INTENT_SYSTEM_PROMPT },
        { role: "user", content: intentUserPrompt(req) },
      ],
      tools: [{
        type: "function",
        function: {
          name: ACT_TOOL_NAME,
          description: ACT_TOOL_DESCRIPTION,
          parameters: ACT_TOOL_PARAMETERS as unknown as Record<string, unknown>,
        },
      }],
      tool_choice: "auto",
    }, { signal });
    // Some compatible servers leave out `choices` or `tool_calls`: that is no call.
    const calls: unknown[] = completion?.choices?.[0]?.message?.tool_calls ?? [];
    const call = calls[0] as
      | { type?: unknown; function?: { name?: unknown; arguments?: unknown } }
      | undefined;
    if (!call) return undefined;
    const fn = call.function;
    return { name: typeof fn?.name === "string" ? fn.name : "", arguments: fn?.arguments };
  }
}
