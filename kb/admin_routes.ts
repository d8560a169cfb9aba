/**
 * Routes for whoever runs a world: reset one world to its content's start
 * (`POST /kb/experience/reset`) and the content problems of an experience
 * (`GET /kb/experience/content`, which the browser client shows in dev).
 *
 * Both are allowed in dev (`DEV=1`); outside dev only with the
 * `X-Admin-Secret` header equal to `ADMIN_SECRET`, else 403. A reset goes
 * through the KB's normal commit path: a new version and a `world_update`.
 *
 * @module
 */
import { Hono, type MiddlewareHandler } from "hono";
import { z } from "zod";
import { AppError, fromErrorBody } from "../shared/errors.ts";
import { limitBody, type RequestIdVariables, validate } from "../shared/http.ts";
import { newRequestId } from "../shared/ids.ts";
import { contentSignature } from "./content.ts";
import type { Kb } from "./kb.ts";
import { checkExperienceDir, formatProblem } from "./validate.ts";

/** Options of {@linkcode adminRoutes}. */
export interface AdminOptions {
  dev: boolean;
  /** `ADMIN_SECRET`: outside dev, the `X-Admin-Secret` header must equal it. */
  adminSecret?: string;
}

const ResetSchema = z.object({
  experience: z.string(),
  /** Isolated experiences: whose world. */
  user: z.string().min(1).max(256).optional(),
});
const ContentQuerySchema = z.object({ experience: z.string() });

/** Equal strings, compared in time that does not depend on where they differ. */
async function sameSecret(a: string, b: string): Promise<boolean> {
  const digest = async (s: string) =>
    new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(s)));
  const [x, y] = await Promise.all([digest(a), digest(b)]);
  let diff = 0;
  for (let i = 0; i < x.length; i++) diff |= x[i]! ^ y[i]!;
  return diff === 0;
}

function guard(opts: AdminOptions): MiddlewareHandler {
  return async (c, next) => {
    const given = c.req.header("X-Admin-Secret");
    const admitted = opts.dev ||
      (opts.adminSecret !== undefined && given !== undefined &&
        await sameSecret(given, opts.adminSecret));
    if (!admitted) {
      throw new AppError(
        "forbidden",
        "this needs DEV=1, or ADMIN_SECRET set and an X-Admin-Secret header that matches it",
        403,
      );
    }
    await next();
  };
}

/**
 * The admin routes.
 *
 * @example
 * ```ts
 * app.route("/", adminRoutes(kb, { dev: settings.DEV, adminSecret: settings.ADMIN_SECRET }));
 * ```
 */
export function adminRoutes(kb: Kb, opts: AdminOptions): Hono<{ Variables: RequestIdVariables }> {
  const app = new Hono<{ Variables: RequestIdVariables }>();
  app.post(
    "/kb/experience/reset",
    guard(opts),
    limitBody(),
    validate("json", ResetSchema),
    async (c) => {
      const body = c.req.valid("json");
      const reply = await kb.reset({
        experience: body.experience,
        ...(body.user !== undefined ? { user: body.user } : {}),
        actor: "admin",
        request_id: c.get("requestId") ?? newRequestId(),
      });
      if (!reply.ok) throw fromErrorBody(reply.error);
      return c.json(reply);
    },
  );
  app.get(
    "/kb/experience/content",
    guard(opts),
    validate("query", ContentQuerySchema),
    async (c) => {
      const { experience } = c.req.valid("query");
      const dir = await kb.contentDir(experience);
      const problems = await checkExperienceDir(dir);
      return c.json({
        experience,
        revision: contentSignature(dir),
        problems: problems.map(formatProblem),
      });
    },
  );
  return app;
}
