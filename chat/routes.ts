/**
 * The chat module's HTTP routes, each with its whole chain in view. The app
 * that mounts them (shared/app.ts) installs `requestId()`, the HTTP metrics
 * and `jsonErrorHandler`.
 *
 * - `POST /api/v0.3/chat`: body limit → auth → validation → the user's
 *   action bucket (shared with `POST /kb/experience/interact`) → stream
 *   admission → the action (chat/chat_action.ts), or for speech the user's
 *   speech bucket and the line (chat/say_action.ts)
 * - `GET /api/v0.3/world/stream`: auth (header or `?access_token=`) →
 *   validation → the experience exists (`KbService.hasExperience`) → stream
 *   admission → the world stream (chat/world_stream.ts) → presence
 *   (chat/presence.ts)
 *
 * @module
 */
import { Hono } from "hono";
import { z } from "zod";
import { type AuthOptions, type AuthVariables, requireUser } from "../shared/auth.ts";
import { actionLimit, limitBody, type RequestIdVariables, validate } from "../shared/http.ts";
import type { TokenBucket } from "../shared/rate_limit.ts";
import { ChatRequestSchema } from "../shared/schema.ts";
import { AppError } from "../shared/errors.ts";
import {
  type ChatActionDeps,
  chatJsonAnswer,
  chatSseBody,
  startChatAction,
} from "./chat_action.ts";
import type { ChatHandle, StreamRegistry } from "./registry.ts";
import { SSE_HEADERS } from "./sse.ts";
import { parseSpeech } from "../shared/speech.ts";
import type { PresenceService } from "./presence.ts";
import { type SayDeps, startSayAction } from "./say_action.ts";
import { WorldStream, type WorldStreamConfig } from "./world_stream.ts";
import { sseResponse } from "./sse_response.ts";

/** What the routes need. */
export interface ChatRouteDeps extends ChatActionDeps {
  auth: AuthOptions;
  /** The per-user action bucket, one for the whole process. */
  actions: TokenBucket;
  registry: StreamRegistry;
  world: WorldStreamConfig;
  presence: PresenceService;
  /** `SAY_RATE`/`SAY_BURST`, per user. */
  sayLimit: SayDeps["sayLimit"];
}

const WorldQuerySchema = z.object({
  experience: z.string().min(1).max(200),
  last_event_id: z.string().max(200).optional(),
  access_token: z.string().optional(),
});

type Env = { Variables: AuthVariables & RequestIdVariables };

/**
 * Builds the Hono sub-app.
 *
 * @example
 * ```ts
 * app.route("/", chatRoutes(deps));
 * ```
 */
export function chatRoutes(deps: ChatRouteDeps): Hono<Env> {
  const app = new Hono<Env>();

  app.post(
    "/api/v0.3/chat",
    limitBody(),
    requireUser(deps.auth),
    validate("json", ChatRequestSchema),
    actionLimit(deps.actions),
    async (c) => {
      const body = c.req.valid("json");
      // Checked before the action so a refused stream changes nothing.
      const slot = body.stream ? deps.registry.admit(c.get("userId")) : undefined;
      const conversationId = body.conversation_id ?? crypto.randomUUID();
      let action;
      // Speech goes to the players nearby, never to the KB (chat/say_action.ts).
      const speech = parseSpeech(body.message);
      try {
        action = speech
          ? await startSayAction(deps, c.get("userId"), body.experience, speech)
          : await startChatAction(deps, {
            userId: c.get("userId"),
            requestId: c.get("requestId"),
            message: body.message,
            experience: body.experience,
            authorization: c.req.header("Authorization"),
          }, { early: body.stream });
      } catch (e) {
        slot?.release();
        throw e;
      }
      if (!slot) {
        // The narration stops when the client leaves. deno.json opts in to
        // "no-legacy-abort": the signal fires on disconnect only, not after a
        // successful response, and Deno prints no warning for using it.
        return c.json(await chatJsonAnswer(action, conversationId, c.req.raw.signal));
      }
      const handle: ChatHandle = { userId: c.get("userId"), shutdown: () => sse.shutdown() };
      const sse = chatSseBody(action, conversationId, () => deps.registry.removeChat(handle));
      deps.registry.addChat(handle, slot);
      return c.body(sse.body, 200, SSE_HEADERS);
    },
  );

  app.get(
    "/api/v0.3/world/stream",
    requireUser(deps.auth, { allowQueryToken: true }),
    validate("query", WorldQuerySchema),
    async (c) => {
      const query = c.req.valid("query");
      if (!(await deps.kb.hasExperience(query.experience))) {
        throw new AppError("unknown_experience", "no such experience", 404);
      }
      const slot = deps.registry.admit(c.get("userId"));
      // EventSource sends the header on reconnects; the query serves the first connect.
      const lastEventId = c.req.header("Last-Event-ID")?.trim() || query.last_event_id || undefined;
      let ws: WorldStream;
      let leave: (() => void) | undefined;
      try {
        ws = new WorldStream(deps.world, {
          userId: c.get("userId"),
          experience: query.experience,
          lastEventId,
          onEnd: () => {
            deps.registry.removeWorld(ws);
            leave?.();
          },
        });
      } catch (e) {
        slot.release();
        throw e;
      }
      deps.registry.addWorld(ws, slot);
      // Headers only once subscribed: a client that sees the stream open
      // (EventSource `onopen`) can act and will not miss its own echo.
      await ws.ready;
      // Holding the stream is being present (after its `retry:` hint, the roster).
      if (ws.isOpen) leave = deps.presence.join(ws);
      return sseResponse(c, ws);
    },
  );

  return app;
}
