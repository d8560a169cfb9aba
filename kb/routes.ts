/**
 * The KB's HTTP routes. Errors are thrown as {@linkcode AppError} and
 * rendered by the app's `jsonErrorHandler`; the request id comes from the
 * app's `requestId()` middleware.
 *
 * @module
 */
import { Hono } from "hono";
import { z } from "zod";
import { type AuthVariables, requireUser } from "../shared/auth.ts";
import { fromErrorBody } from "../shared/errors.ts";
import { limitBody, type RequestIdVariables, validate } from "../shared/http.ts";
import { newRequestId } from "../shared/ids.ts";
import { InteractBodySchema } from "../shared/schema.ts";
import type { Kb } from "./kb.ts";
import { type AdminOptions, adminRoutes } from "./admin_routes.ts";

// Any experience string is accepted here: whether it exists is the KB's
// question (404), answered from the catalog before any file access.
const BodySchema = InteractBodySchema.extend({ experience: z.string() });
const StateQuerySchema = z.object({ experience: z.string() });

/**
 * Routes: `POST /kb/experience/interact`, `GET /api/v0.3/world/state`,
 * `GET /api/v0.3/world/describe` (descriptions as they read for the user
 * now), `GET /api/v0.3/experiences`, and the admin routes (`POST
 * /kb/experience/reset`, `GET /kb/experience/content`).
 *
 * @example
 * ```ts
 * const app = new Hono();
 * app.onError(jsonErrorHandler);
 * app.use("*", requestId());
 * app.route("/", kbRoutes(kb, { jwtSecret }));
 * ```
 */
export function kbRoutes(
  kb: Kb,
  opts: { jwtSecret: string } & Partial<AdminOptions>,
): Hono<{ Variables: AuthVariables & RequestIdVariables }> {
  const app = new Hono<{ Variables: AuthVariables & RequestIdVariables }>();
  // World reset and content problems: dev, or the admin secret (kb/admin_routes.ts).
  app.route("/", adminRoutes(kb, { dev: opts.dev ?? false, adminSecret: opts.adminSecret }));

  app.post(
    "/kb/experience/interact",
    requireUser(opts.jwtSecret),
    limitBody(),
    validate("json", BodySchema),
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
    requireUser(opts.jwtSecret),
    validate("query", StateQuerySchema),
    async (c) => c.json(await kb.snapshot(c.get("userId"), c.req.valid("query").experience)),
  );

  app.get(
    "/api/v0.3/world/describe",
    requireUser(opts.jwtSecret),
    validate("query", StateQuerySchema),
    async (c) => c.json(await kb.describe(c.get("userId"), c.req.valid("query").experience)),
  );

  app.get("/api/v0.3/experiences", async (c) => {
    await kb.refresh();
    return c.json({ experiences: kb.experiences() });
  });

  return app;
}
