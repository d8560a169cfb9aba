/**
 * One chat action, end to end: subscribe to the actor's user subject, ask
 * the KB, then merge the action's world updates with the narrative, and
 * render that as an SSE body or as the `stream: false` JSON answer.
 *
 * The HTTP answer starts only once the KB has replied. This costs nothing in
 * practice (the KB publishes its events right before it replies, so they
 * arrive together) and buys two things: a KB refusal such as
 * `unknown_experience` is a plain 4xx JSON error rather than a 200 stream
 * with an `error` event, and `metadata.model` names the model that will
 * actually narrate (it depends on the outcome).
 *
 * @module
 */
import { AppError, type ErrorStatus } from "../shared/errors.ts";
import { metrics } from "../shared/metrics.ts";
import type { Outcome, WorldUpdateEvent } from "../shared/schema.ts";
import { ActionUpdates } from "./action_updates.ts";
import type { SubjectHub } from "./hub.ts";
import type { KbClient } from "./kb_client.ts";
import { worldFirst } from "./merge.ts";
import { narrativeStream } from "./narrative.ts";
import type { Narrator } from "./narrators/types.ts";
import { type ChatPart, partFrame } from "./parts.ts";
import { DONE_FRAME, encodeEvent } from "./sse.ts";

/** What an action needs from the process. */
export interface ChatActionDeps {
  hub: SubjectHub;
  kb: KbClient;
  narrator: Narrator;
  narratorTimeoutMs: number;
}

/** One request's parameters (the user id comes from the token only). */
export interface ChatActionParams {
  userId: string;
  requestId: string;
  message: string;
  experience: string;
  /** Forwarded to `KB_URL` when the bus is down. */
  authorization?: string;
}

/** A started action: the KB has committed it; `parts` streams the answer. */
export interface ChatAction {
  model: string;
  outcome: Outcome;
  parts: ReadableStream<ChatPart>;
}

const STATUSES = new Set<number>([400, 401, 403, 404, 409, 413, 415, 429, 500, 502, 503, 504]);

function errorStatus(status: number): ErrorStatus {
  if (STATUSES.has(status)) return status as ErrorStatus;
  return status >= 400 && status < 500 ? 400 : 502;
}

/**
 * Runs the KB side of an action and returns its answer stream. Throws an
 * {@linkcode AppError} when the KB refuses or cannot be reached (nothing
 * has been sent to the client yet).
 *
 * @example
 * ```ts
 * const action = await startChatAction(deps, { userId, requestId, message: "look", experience });
 * ```
 */
export async function startChatAction(
  deps: ChatActionDeps,
  p: ChatActionParams,
): Promise<ChatAction> {
  // Subscribed before the request: the event cannot be published before we listen.
  const updates = new ActionUpdates(deps.hub, p.userId, p.requestId);
  let reply;
  try {
    reply = await deps.kb.interact({
      request_id: p.requestId,
      user_id: p.userId,
      experience: p.experience,
      message: p.message,
    }, { authorization: p.authorization });
  } catch (e) {
    updates.cancel();
    throw e;
  }
  if (!reply.ok) {
    updates.cancel();
    throw new AppError(reply.error.code, reply.error.message, errorStatus(reply.error.status));
  }
  updates.complete(reply.events);
  const narrative = narrativeStream(deps.narrator, {
    message: p.message,
    experience: p.experience,
    outcome: reply.outcome,
    events: reply.events,
  }, deps.narratorTimeoutMs);
  return {
    model: deps.narrator.modelFor(reply.outcome),
    outcome: reply.outcome,
    parts: worldFirst(updates.stream, narrative),
  };
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
        r = { done: false, value: { type: "error", code: "internal", message: "internal error" } };
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
  /** Present when narration failed after the action was committed. */
  error?: { code: string; message: string };
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
    outcome: action.outcome,
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
      else answer.error = { code: value.code, message: value.message };
    }
  } finally {
    signal?.removeEventListener("abort", onAbort);
    reader.releaseLock();
  }
  return answer;
}
