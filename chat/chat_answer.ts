/**
 * Rendering a started chat action: as an SSE body (`metadata`, the parts,
 * `done`) or as the `stream: false` JSON answer.
 *
 * @module
 */
import { metrics } from "../shared/metrics.ts";
import type { Outcome, WorldUpdateEvent } from "../shared/schema.ts";
import type { Say } from "../shared/presence_schema.ts";
import { type ChatPart, partFrame } from "./parts.ts";
import { DONE_FRAME, encodeEvent } from "./sse.ts";

/** A started action: the KB has committed it; `parts` streams the answer. */
export interface ChatAction {
  model: string;
  /** The KB's outcome once it replied (the JSON answer waits for it). */
  outcome: Promise<Outcome>;
  parts: ReadableStream<ChatPart>;
}

/** A chat SSE body plus a way to end it early (server shutdown). */
export interface ChatBody {
  body: ReadableStream<Uint8Array>;
  /** Ends the stream with `error` {code: "shutting_down"} and `done`. */
  shutdown(): void;
}

/**
 * Renders an action as SSE: `metadata`, the parts, `done`. `onEnd` runs once
 * however the stream ends (finished, cancelled by the client, shut down).
 *
 * @example
 * ```ts
 * const { body } = chatSseBody(action, conversationId, () => registry.removeChat(handle));
 * ```
 */
export function chatSseBody(
  action: ChatAction,
  conversationId: string,
  onEnd: () => void,
): ChatBody {
  const reader = action.parts.getReader();
  let controller!: ReadableStreamDefaultController<Uint8Array>;
  let ended = false;
  const end = () => {
    if (ended) return false;
    ended = true;
    reader.cancel().catch(() => {});
    onEnd();
    return true;
  };
  const body = new ReadableStream<Uint8Array>({
    start(c) {
      controller = c;
      c.enqueue(encodeEvent("metadata", {
        conversation_id: conversationId,
        model: action.model,
        timestamp: Date.now(),
      }));
    },
    async pull(c) {
      let r: ReadableStreamReadResult<ChatPart>;
      try {
        r = await reader.read();
      } catch {
        // An errored source stays errored: end the stream here, or every pull repeats this.
        if (ended) return;
        c.enqueue(partFrame({ type: "error", code: "internal", message: "internal error" }));
        c.enqueue(DONE_FRAME);
        c.close();
        end();
        return;
      }
      if (ended) return;
      if (r.done) {
        c.enqueue(DONE_FRAME);
        c.close();
        end();
        return;
      }
      c.enqueue(partFrame(r.value));
      if (r.value.type === "world_update") {
        metrics.worldUpdateLatency.observe(
          { stream: "chat" },
          performance.timeOrigin + performance.now() - r.value.event.timestamp,
        );
      }
    },
    cancel() {
      end();
    },
  }, { highWaterMark: 0 });
  return {
    body,
    shutdown() {
      if (!end()) return;
      try {
        controller.enqueue(
          partFrame({ type: "error", code: "shutting_down", message: "server is shutting down" }),
        );
        controller.enqueue(DONE_FRAME);
        controller.close();
      } catch { /* the client is already gone */ }
    },
  };
}

/** The `stream: false` answer. */
export interface ChatJsonAnswer {
  conversation_id: string;
  narrative: string;
  world_updates: WorldUpdateEvent[];
  outcome: Outcome;
  /** Present when the intent step ran a command for the message: the command. */
  intent?: { command: string };
  /** Present when narration failed after the action was committed. */
  error?: { code: string; message: string };
  /** Present when the message was speech: the line as the others got it. */
  say?: Say;
}

/**
 * Collects an action into one JSON answer. `signal` (the client leaving)
 * cancels the narrator.
 *
 * @example
 * ```ts
 * return c.json(await chatJsonAnswer(action, conversationId));
 * ```
 */
export async function chatJsonAnswer(
  action: ChatAction,
  conversationId: string,
  signal?: AbortSignal,
): Promise<ChatJsonAnswer> {
  const answer: ChatJsonAnswer = {
    conversation_id: conversationId,
    narrative: "",
    world_updates: [],
    outcome: await action.outcome,
  };
  const reader = action.parts.getReader();
  const onAbort = () => reader.cancel().catch(() => {});
  signal?.addEventListener("abort", onAbort, { once: true });
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      if (value.type === "world_update") answer.world_updates.push(value.event);
      else if (value.type === "content") answer.narrative += value.content;
      else if (value.type === "intent") answer.intent = { command: value.command };
      else if (value.type === "say") answer.say = value.say;
      else answer.error = { code: value.code, message: value.message };
    }
  } finally {
    signal?.removeEventListener("abort", onAbort);
    reader.releaseLock();
  }
  return answer;
}
