/**
 * One chat action, end to end: subscribe to the actor's user subject, ask
 * the KB, then merge the action's world updates with the narrative, and
 * render that as an SSE body or as the `stream: false` JSON answer.
 *
 * The HTTP answer starts once the KB has replied or, for a streamed answer,
 * once the action's first event arrives on the bus, whichever is first. A KB
 * refusal (such as `unknown_experience`) publishes nothing, so it still
 * comes back as a plain 4xx JSON error rather than a 200 stream with an
 * `error` event, and `metadata.model` names the model that will narrate.
 *
 * @module
 */
import { AppError, fromErrorBody } from "../shared/errors.ts";
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
  /**
   * `user\0request id` of actions waiting for their KB reply. Bus events are
   * matched to an action by request id, so two at once with one id (a client
   * reusing `X-Request-Id`) would get each other's events: the second is refused.
   */
  inflight: Set<string>;
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
  /** The KB's outcome once it replied (the JSON answer waits for it). */
  outcome: Promise<Outcome>;
  parts: ReadableStream<ChatPart>;
}

type Reply = Awaited<ReturnType<KbClient["interact"]>>;

/** The KB's answer as a success or an {@linkcode AppError}. */
async function settle(reply: Promise<Reply>): Promise<Extract<Reply, { ok: true }>> {
  const r = await reply;
  if (!r.ok) throw fromErrorBody(r.error);
  return r;
}

/**
 * What a state-changing outcome looks like to a narrator before the KB's
 * reply is in: the engine never asks for the capable model when something
 * changed, so `modelFor` gives the same answer it will give for the reply.
 */
const CHANGED: Outcome = {
  kind: "changed",
  changed: true,
  summary: "",
  facts: {},
  needs_capable_model: false,
};

/**
 * Runs the KB side of an action and returns its answer stream. Throws an
 * {@linkcode AppError} when the KB refuses or cannot be reached (nothing
 * has been sent to the client yet).
 *
 * With `early`, the answer starts as soon as the first event of this
 * request arrives on the bus: the KB publishes only committed changes, so
 * the action has happened, and the actor's `world_update` need not wait for
 * the reply (which, in a busy process, queues behind the fan-out of the same
 * change to every other stream). The narrative then starts once the reply is
 * in. Without `early`, or when the reply comes first (no change, an error),
 * the answer starts from the reply.
 *
 * @example
 * ```ts
 * const action = await startChatAction(deps, { userId, requestId, message: "look", experience });
 * ```
 */
export async function startChatAction(
  deps: ChatActionDeps,
  p: ChatActionParams,
  opts: { early?: boolean } = {},
): Promise<ChatAction> {
  const key = `${p.userId}\u0000${p.requestId}`;
  if (deps.inflight.has(key)) {
    throw new AppError(
      "request_in_progress",
      "an action with this request id is still running; send each action with its own X-Request-Id",
      409,
    );
  }
  deps.inflight.add(key);
  // Subscribed before the request: the event cannot be published before we listen.
  const updates = new ActionUpdates(deps.hub, p.userId, p.requestId);
  const reply = settle(deps.kb.interact({
    request_id: p.requestId,
    user_id: p.userId,
    experience: p.experience,
    message: p.message,
  }, { authorization: p.authorization }));
  reply.finally(() => deps.inflight.delete(key)).catch(() => {});
  // Once this function has returned, the narrative stream reports failures.
  reply.catch(() => {});
  const first = await Promise.race([
    reply.then(() => "reply" as const, () => "reply" as const),
    ...(opts.early ? [updates.first.then(() => "event" as const)] : []),
  ]);
  if (first === "reply") {
    let r;
    try {
      r = await reply;
    } catch (e) {
      updates.cancel();
      throw e;
    }
    updates.complete(r.events);
    return {
      model: deps.narrator.modelFor(r.outcome),
      outcome: Promise.resolve(r.outcome),
      parts: worldFirst(updates.stream, narrate(deps, p, r)),
    };
  }
  // The updates stream ends with the reply (which may carry events the bus
  // lost); the narrative, read only after it, starts from the same reply.
  reply.then((r) => updates.complete(r.events), () => updates.complete([]));
  const narrative = afterReply(reply, (r) => narrate(deps, p, r));
  return {
    model: deps.narrator.modelFor(CHANGED),
    outcome: reply.then((r) => r.outcome),
    parts: worldFirst(updates.stream, narrative),
  };
}

function narrate(
  deps: ChatActionDeps,
  p: ChatActionParams,
  r: Extract<Reply, { ok: true }>,
): ReadableStream<ChatPart> {
  return narrativeStream(deps.narrator, {
    message: p.message,
    experience: p.experience,
    outcome: r.outcome,
    events: r.events,
  }, deps.narratorTimeoutMs);
}

/**
 * A stream that waits for the reply, then reads `next(reply)`; a failed
 * reply becomes one `error` part (the change itself is already committed).
 */
function afterReply(
  reply: Promise<Extract<Reply, { ok: true }>>,
  next: (r: Extract<Reply, { ok: true }>) => ReadableStream<ChatPart>,
): ReadableStream<ChatPart> {
  let inner: ReadableStreamDefaultReader<ChatPart> | undefined;
  let cancelled = false;
  return new ReadableStream<ChatPart>({
    async pull(controller) {
      if (!inner) {
        let r;
        try {
          r = await reply;
        } catch (e) {
          const err = e instanceof AppError ? e : new AppError("kb_unavailable", String(e), 502);
          controller.enqueue({ type: "error", code: err.code, message: err.message });
          controller.close();
          return;
        }
        if (cancelled) return;
        inner = next(r).getReader();
      }
      const { value, done } = await inner.read();
      if (done) controller.close();
      else controller.enqueue(value);
    },
    async cancel(reason) {
      cancelled = true;
      await inner?.cancel(reason);
    },
  }, { highWaterMark: 0 });
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
      else answer.error = { code: value.code, message: value.message };
    }
  } finally {
    signal?.removeEventListener("abort", onAbort);
    reader.releaseLock();
  }
  return answer;
}
