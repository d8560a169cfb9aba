/**
 * The KB's HTTP routes, each with its whole chain in view. Errors are
 * thrown as `AppError` and rendered by the app's
 * `jsonErrorHandler`; the request id comes from the app's `requestId()`
 * (shared/app.ts).
 *
 * - `POST /kb/experience/interact`: body limit → auth → validation → the
 *   user's action bucket (shared with `POST /api/v0.3/chat`) → `Kb.interact`
 * - `GET /api/v0.3/world/state`: auth (header only) → validation → `Kb.snapshot`
 * - `GET /api/v0.3/experiences`: the listing (no auth: ids and names only)
 *
 * @module
 */
import { Hono } from "hono";
import { z } from "zod";
import { type AuthOptions, type AuthVariables, requireUser } from "../shared/auth.ts";
import { fromErrorBody } from "../shared/errors.ts";
import { actionLimit, limitBody, type RequestIdVariables, validate } from "../shared/http.ts";
import { newRequestId } from "../shared/ids.ts";
import { TokenBucket } from "../shared/rate_limit.ts";
import { InteractBodySchema } from "../shared/schema.ts";
import type { Kb } from "./kb.ts";
import { type AdminOptions, adminRoutes } from "./admin_routes.ts";

// Any experience string is accepted here: whether it exists is the KB's
// question (404), answered from the catalog before any file access.
const BodySchema = InteractBodySchema.extend({ experience: z.string() });
const StateQuerySchema = z.object({ experience: z.string() });

/** What {@linkcode kbRoutes} needs besides the KB. */
export interface KbRouteOptions extends Partial<AdminOptions> {
  auth: AuthOptions;
  /** The per-user action bucket, one for the whole process; default: no limit. */
  actions?: TokenBucket;
}

/**
 * The routes as a Hono sub-app: `POST /kb/experience/interact`,
 * `GET /api/v0.3/world/state`, `GET /api/v0.3/world/describe` (descriptions
 * as they read for the user now), `GET /api/v0.3/experiences`, and the admin
 * routes (`POST /kb/experience/reset`, `GET /kb/experience/content`).
 *
 * @example
 * ```ts
 * const app = buildApp({ role: "kb", bus, routes: [kbRoutes(kb, { auth: { secret }, actions })] });
 * ```
 */
export function kbRoutes(
  kb: Kb,
  opts: KbRouteOptions,
): Hono<{ Variables: AuthVariables & RequestIdVariables }> {
  const app = new Hono<{ Variables: AuthVariables & RequestIdVariables }>();
  const actions = opts.actions ?? new TokenBucket({ rate: 0, burst: 1 });
  // World reset and content problems: dev, or the admin secret (kb/admin_routes.ts).
  app.route("/", adminRoutes(kb, { dev: opts.dev ?? false, adminSecret: opts.adminSecret }));

  app.post(
    "/kb/experience/interact",
    limitBody(),
    requireUser(opts.auth),
    validate("json", BodySchema),
    actionLimit(actions),
    async (c) => {
      const body = c.req.valid("json");
      const reply = await kb.interact({
        request_id: c.get("requestId") ?? newRequestId(),
        user_id: c.get("userId"),
        experience: body.experience,
        message: body.message,
      });
      if (!reply.ok) {
        throw fromErrorBody(reply.error);
      }
      return c.json(reply);
    },
  );

  app.get(
    "/api/v0.3/world/state",
    // Not a stream: the token goes in the header, never in a URL that gets logged.
    requireUser(opts.auth),
    validate("query", StateQuerySchema),
    async (c) => c.json(await kb.snapshot(c.get("userId"), c.req.valid("query").experience)),
  );

  app.get(
    "/api/v0.3/world/describe",
    requireUser(opts.auth),
    validate("query", StateQuerySchema),
    async (c) => c.json(await kb.describe(c.get("userId"), c.req.valid("query").experience)),
  );

  app.get("/api/v0.3/experiences", async (c) => {
    await kb.refresh();
    return c.json({ experiences: kb.experiences() });
  });

  return app;
}
