/**
 * One chat action, end to end: subscribe to the actor's user subject, ask
 * the KB (and, for a command it did not understand, the intent step), then
 * merge the action's world updates with the narrative; chat/chat_answer.ts
 * renders that as an SSE body or as the `stream: false` JSON answer.
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
import type { Outcome } from "../shared/schema.ts";
import { ActionUpdates } from "./action_updates.ts";
import type { ChatAction } from "./chat_answer.ts";
import type { SubjectHub } from "./hub.ts";
import { countIntent, type IntentStep } from "./intent.ts";
import type { KbClient } from "./kb_client.ts";
import { worldFirst } from "./merge.ts";
import { narrativeStream } from "./narrative.ts";
import type { Narrator } from "./narrators/types.ts";
import type { ChatPart } from "./parts.ts";

export {
  type ChatAction,
  type ChatBody,
  type ChatJsonAnswer,
  chatJsonAnswer,
  chatSseBody,
} from "./chat_answer.ts";

/** What an action needs from the process. */
export interface ChatActionDeps {
  hub: SubjectHub;
  kb: KbClient;
  narrator: Narrator;
  narratorTimeoutMs: number;
  /** The intent step (a remote narrator is configured); absent: not-understood stays so. */
  intent?: IntentStep;
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

type Reply = Awaited<ReturnType<KbClient["interact"]>>;
type Ok = Extract<Reply, { ok: true }>;

/** The KB's answer as a success or an {@linkcode AppError}. */
async function settle(reply: Promise<Reply>): Promise<Ok> {
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

/** One `kb.interact` of an action, under way: its updates and how it began. */
interface KbRun {
  updates: ActionUpdates;
  reply: Promise<Ok>;
  /** The reply, when it came before any event of the request (the updates are then complete). */
  replied?: Ok;
}

/**
 * Sends one command to the KB and waits for its first signal: the reply, or
 * (with `early`) the request's first event on the bus. Throws an
 * {@linkcode AppError} when the KB refuses or cannot be reached.
 */
async function runKb(
  deps: ChatActionDeps,
  p: ChatActionParams,
  requestId: string,
  message: string,
  early: boolean,
): Promise<KbRun> {
  const key = `${p.userId}\u0000${requestId}`;
  if (deps.inflight.has(key)) {
    throw new AppError(
      "request_in_progress",
      "an action with this request id is still running; send each action with its own X-Request-Id",
      409,
    );
  }
  deps.inflight.add(key);
  // Subscribed before the request: the event cannot be published before we listen.
  const updates = new ActionUpdates(deps.hub, p.userId, requestId);
  const reply = settle(deps.kb.interact({
    request_id: requestId,
    user_id: p.userId,
    experience: p.experience,
    message,
  }, { authorization: p.authorization }));
  reply.finally(() => deps.inflight.delete(key)).catch(() => {});
  // Once this function has returned, the narrative stream reports failures.
  reply.catch(() => {});
  const first = await Promise.race([
    reply.then(() => "reply" as const, () => "reply" as const),
    ...(early ? [updates.first.then(() => "event" as const)] : []),
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
    return { updates, reply, replied: r };
  }
  // The updates stream ends with the reply (which may carry events the bus lost).
  reply.then((r) => updates.complete(r.events), () => updates.complete([]));
  return { updates, reply };
}

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
 * A `not_understood` reply goes through the intent step (chat/intent.ts)
 * when there is one: a command the model maps the text to is sent to the KB
 * like a typed one, with its own request id (`<id>:intent`), and the answer
 * is that command's (its `world_update` still before any `content`),
 * preceded by an `intent` part naming the command. Otherwise, or when that
 * command is not understood either, the answer is the first reply's.
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
  const early = opts.early ?? false;
  const run = await runKb(deps, p, p.requestId, p.message, early);
  if (!run.replied) return answer(deps, p, run);
  const r = run.replied;
  if (deps.intent && r.outcome.kind === "not_understood" && r.context) {
    const mapped = await deps.intent.map(p.userId, p.message, r.context);
    if (mapped.kind === "mapped") {
      // At most one intent call per action: this command is final, understood or not.
      let second;
      try {
        second = await runKb(deps, p, `${p.requestId}:intent`, mapped.command, early);
      } catch (e) {
        // Refused like a typed command would be (world busy, KB unreachable).
        countIntent("failed");
        throw e;
      }
      const understood = second.replied?.outcome.kind !== "not_understood";
      countIntent(understood ? "mapped" : "not_understood");
      if (understood) return answer(deps, p, second, mapped.command);
    }
  }
  return answer(deps, p, run);
}

/** The answer of a run: from its reply, or from its first event with the reply to follow. */
function answer(
  deps: ChatActionDeps,
  p: ChatActionParams,
  run: KbRun,
  understoodAs?: string,
): ChatAction {
  const lead = understoodAs === undefined ? run.updates.stream : worldFirst(
    ReadableStream.from<ChatPart>([{ type: "intent", command: understoodAs }]),
    run.updates.stream,
  );
  const narrate = (r: Ok) =>
    narrativeStream(deps.narrator, {
      message: p.message,
      ...(understoodAs === undefined ? {} : { understoodAs }),
      experience: p.experience,
      outcome: r.outcome,
      events: r.events,
    }, deps.narratorTimeoutMs);
  if (run.replied) {
    return {
      model: deps.narrator.modelFor(run.replied.outcome),
      outcome: Promise.resolve(run.replied.outcome),
      parts: worldFirst(lead, narrate(run.replied)),
    };
  }
  // The narrative, read only after the updates, starts from the same reply.
  return {
    model: deps.narrator.modelFor(CHANGED),
    outcome: run.reply.then((r) => r.outcome),
    parts: worldFirst(lead, afterReply(run.reply, narrate)),
  };
}

/**
 * A stream that waits for the reply, then reads `next(reply)`; a failed
 * reply becomes one `error` part (the change itself is already committed).
 */
function afterReply(
  reply: Promise<Ok>,
  next: (r: Ok) => ReadableStream<ChatPart>,
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
