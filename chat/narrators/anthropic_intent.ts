/**
 * The intent step over the Anthropic Messages API (tool use), through the
 * official `@anthropic-ai/sdk`: the fast model, one `act` tool with
 * `tool_choice: auto` (the model may decline), no parallel tool use, no
 * SDK retries (the step has its own time bound, `INTENT_TIMEOUT`).
 *
 * Not streamed: the command is needed whole before it can run, and a short
 * JSON answer arrives no later than its last stream chunk would.
 *
 * @module
 */
import Anthropic from "@anthropic-ai/sdk";
import { SettingsError } from "../../shared/errors.ts";
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
 * Claude as the intent model.
 *
 * @example
 * ```ts
 * const model = AnthropicIntent.fromSettings(loadSettings({ DEV: "1", NARRATOR: "anthropic", ANTHROPIC_API_KEY: key }));
 * const call = await model.act({ text, context }, signal);
 * ```
 */
export class AnthropicIntent implements IntentModel {
  readonly kind = "anthropic" as const;
  readonly model: string;
  readonly #client: Anthropic;

  constructor(client: Anthropic, model: string) {
    this.#client = client;
    this.model = model;
  }

  /** Builds it from the narrator's settings (key, base URL, fast model). */
  static fromSettings(s: NarratorSettings): AnthropicIntent {
    if (!s.ANTHROPIC_API_KEY) {
      throw new SettingsError(["ANTHROPIC_API_KEY"], "NARRATOR=anthropic needs ANTHROPIC_API_KEY");
    }
    const client = new Anthropic({
      apiKey: s.ANTHROPIC_API_KEY,
      baseURL: s.ANTHROPIC_BASE_URL,
      maxRetries: 0,
      // A backstop only: chat/intent.ts aborts at INTENT_TIMEOUT and counts it as a timeout.
      timeout: Math.min(s.INTENT_TIMEOUT + 1_000, 2 ** 31 - 1),
    });
    return new AnthropicIntent(client, s.ANTHROPIC_FAST_MODEL);
  }

  async act(req: IntentRequest, signal: AbortSignal): Promise<ToolCall | undefined> {
    const message = await this.#client.messages.create({
      model: this.model,
      max_tokens: MAX_TOKENS,
      system: INTENT_SYSTEM_PROMPT,
      tools: [{
        name: ACT_TOOL_NAME,
        description: ACT_TOOL_DESCRIPTION,
        input_schema: ACT_TOOL_PARAMETERS as unknown as Anthropic.Tool.InputSchema,
      }],
      tool_choice: { type: "auto", disable_parallel_tool_use: true },
      messages: [{ role: "user", content: intentUserPrompt(req) }],
    }, { signal });
    // `content` is checked: a compatible server may send something else.
    const blocks: unknown[] = Array.isArray(message?.content) ? message.content : [];
    for (const b of blocks) {
      const block = b as { type?: unknown; name?: unknown; input?: unknown };
      if (block?.type !== "tool_use") continue;
      return { name: typeof block.name === "string" ? block.name : "", arguments: block.input };
    }
    return undefined;
  }
}
