/**
 * The intent step: when the grammar did not understand a command and a
 * remote narrator is configured, ask the fast model once, with the one tool
 * `act` (`{command: string}`) and only what the player can see (the KB's
 * `not_understood` reply carries it), which command the player meant.
 *
 * The model never writes state: its answer is only a command, checked here
 * (one line, at most {@linkcode MAX_COMMAND_CHARS} characters), which chat
 * then sends to the KB like a typed one, where the grammar accepts it or
 * not. Each call is bounded in time (`INTENT_TIMEOUT`: then the request is
 * aborted) and by a per-user budget (`INTENT_RATE`/`INTENT_BURST`); every
 * way it can fail (no tool call, malformed arguments, an HTTP error, a
 * stall) ends in "not mapped", and the player gets today's not-understood
 * narration.
 *
 * @module
 */
import { z } from "zod";
import { log } from "../shared/log.ts";
import { metrics } from "../shared/metrics.ts";
import { TokenBucket } from "../shared/rate_limit.ts";
import type { IntentContext } from "../shared/schema.ts";
import type { NarratorSettings } from "../shared/settings.ts";
import { withTimeout } from "../shared/timeout.ts";
import { createIntentModel } from "./narrators/mod.ts";
import { ACT_TOOL_NAME } from "./narrators/intent_prompt.ts";
import type { IntentModel } from "./narrators/types.ts";

/** Longest command accepted from the model (a typed command is rarely a tenth of it). */
export const MAX_COMMAND_CHARS = 200;

/** How an intent call ended (the `result` label of `intent_calls_total`). */
export type IntentResult =
  /** The model's command ran and the grammar understood it. */
  | "mapped"
  /** The model's command was not understood either (or repeated the text). */
  | "not_understood"
  /** The model called no tool. */
  | "declined"
  /** A tool call that is not `act` with one single-line command. */
  | "invalid"
  /** No answer within `INTENT_TIMEOUT`. */
  | "timeout"
  /** The request failed (HTTP error, connection, a body the SDK could not read), or the KB refused the command. */
  | "failed";

/** The step's answer for one message. */
export type IntentAnswer =
  | { kind: "mapped"; command: string }
  | { kind: "unmapped"; reason: IntentResult | "rate_limited" };

/**
 * Counts one intent call's final result.
 *
 * @example
 * ```ts
 * countIntent("mapped");
 * ```
 */
export function countIntent(result: IntentResult): void {
  metrics.intentCalls.inc({ result });
}

const ActArgumentsSchema = z.object({
  command: z.string().trim().min(1).max(MAX_COMMAND_CHARS)
    // One command, one line: no newlines or other control characters inside it.
    .refine((c) => !/\p{Cc}/u.test(c), "one line without control characters"),
});

/**
 * The command in a tool call's arguments (an object, or a JSON string as
 * OpenAI sends them), or undefined when they are not `{command}` with one
 * usable line. Other fields are ignored: only the command can run.
 *
 * @example
 * ```ts
 * parseActArguments('{"command":"take dream bottle"}'); // "take dream bottle"
 * parseActArguments({ command: "take a\ntake b" }); // undefined
 * ```
 */
export function parseActArguments(args: unknown): string | undefined {
  let value = args;
  if (typeof value === "string") {
    try {
      value = JSON.parse(value);
    } catch {
      return undefined;
    }
  }
  const parsed = ActArgumentsSchema.safeParse(value);
  return parsed.success ? parsed.data.command.replace(/\s+/g, " ") : undefined;
}

/** A message compared with another: case and spacing do not count. */
const normal = (s: string) => s.trim().replace(/\s+/g, " ").toLowerCase();

/** What the step needs. */
export interface IntentStepOptions {
  model: IntentModel;
  /** `INTENT_TIMEOUT` (ms). */
  timeoutMs: number;
  /** Per-user budget of calls. */
  budget: TokenBucket;
}

const TIMED_OUT: unique symbol = Symbol("timed out");

/**
 * The intent step of one process.
 *
 * @example
 * ```ts
 * const step = IntentStep.fromSettings(settings); // undefined with the offline narrator
 * const answer = await step?.map("alice", "could you grab a bottle?", reply.context);
 * ```
 */
export class IntentStep {
  readonly #opts: IntentStepOptions;

  constructor(opts: IntentStepOptions) {
    this.#opts = opts;
  }

  /** The step for these settings, or undefined (offline narrator, `INTENT_RATE=0`). */
  static fromSettings(s: NarratorSettings): IntentStep | undefined {
    const model = createIntentModel(s);
    if (!model) return undefined;
    return new IntentStep({
      model,
      timeoutMs: s.INTENT_TIMEOUT,
      budget: new TokenBucket({ rate: s.INTENT_RATE, burst: s.INTENT_BURST }),
    });
  }

  /**
   * Asks the model once what `text` meant. Never throws; resolves within
   * about `INTENT_TIMEOUT`. A `mapped` answer is counted by the caller once
   * the KB has said whether it understood the command ({@linkcode countIntent}).
   */
  async map(userId: string, text: string, context: IntentContext): Promise<IntentAnswer> {
    const { model, timeoutMs, budget } = this.#opts;
    if (!budget.take(userId).ok) {
      metrics.rateLimited.inc({ limit: "intent" });
      return { kind: "unmapped", reason: "rate_limited" };
    }
    const ac = new AbortController();
    const t0 = performance.now();
    let result: IntentResult | undefined;
    let command: string | undefined;
    try {
      const call = await withTimeout(
        model.act({ text, context }, ac.signal),
        timeoutMs,
        (): typeof TIMED_OUT => {
          ac.abort(new Error(`no intent answer within ${timeoutMs} ms`));
          return TIMED_OUT;
        },
      );
      if (call === TIMED_OUT) result = "timeout";
      else if (!call) result = "declined";
      else if (call.name !== ACT_TOOL_NAME) result = "invalid";
      else {
        command = parseActArguments(call.arguments);
        if (command === undefined) result = "invalid";
        else if (normal(command) === normal(text)) result = "not_understood";
      }
    } catch (e) {
      result = "failed";
      log("warn", "intent call failed", { model: model.model, error: String(e) });
    } finally {
      metrics.intentDuration.observe(performance.now() - t0);
    }
    if (result !== undefined || command === undefined) {
      countIntent(result ?? "invalid");
      return { kind: "unmapped", reason: result ?? "invalid" };
    }
    return { kind: "mapped", command };
  }
}
