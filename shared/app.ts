/**
 * The one place the HTTP app is assembled around the modules: the JSON error
 * handler, request ids, HTTP metrics, `GET /metrics`, `GET /health`,
 * `GET /ready` (when given its checks), dev
 * login (DEV only) and the JSON 404. The modules bring their own route
 * chains (auth, validation, limits); this module knows nothing of them
 * beyond their Hono sub-apps, so `shared/` never imports `kb/` or `chat/`.
 *
 * @module
 */
import { Hono } from "hono";
import { z } from "zod";
import { type AuthOptions, issueToken, validateUserId } from "./auth.ts";
import type { Bus } from "./bus/mod.ts";
import { AppError } from "./errors.ts";
import { httpMetrics, jsonErrorHandler, limitBody, requestId, validate } from "./http.ts";
import { metrics } from "./metrics.ts";
import { isReady, type ReadinessChecks, VERSION } from "./service.ts";

/** What {@linkcode buildApp} mounts and reports. */
export interface AppOptions {
  /** `ROLE`, reported by `/health`. */
  role: "all" | "kb" | "chat";
  /** The process's bus: its status for `/health`, its subscriptions for `/metrics`. */
  bus: Pick<Bus, "status" | "subscriptionCount">;
  /** Open SSE streams by kind, when this process serves chat (`/health`). */
  streams?: () => { chat: number; world: number };
  /** Readiness checks (`shared/service.ts`): `GET /ready` is 200 when all pass, else 503. */
  ready?: () => Promise<ReadinessChecks>;
  /** The KB's state backend and world conflicts, when this process runs the KB (`/health`). */
  state?: () => Record<string, unknown>;
  /** Set in dev only: `POST /api/v0.3/dev/login` issues tokens for any valid user id. */
  devLogin?: AuthOptions;
  /** The modules' route apps, mounted at `/` in this order. */
  // deno-lint-ignore no-explicit-any
  routes: readonly Hono<any, any, any>[];
}

const DevLoginSchema = z.object({ user: z.string() });

/**
 * Builds the app. Serve it with `Deno.serve(app.fetch)`, or call
 * `app.request()` where no socket is needed.
 *
 * @example
 * ```ts
 * const app = buildApp({ role: "kb", bus, routes: [kbRoutes(kb, { auth })] });
 * const res = await app.request("/health");
 * ```
 */
export function buildApp(opts: AppOptions): Hono {
  const app = new Hono();
  app.onError(jsonErrorHandler);
  app.use("*", requestId());
  app.use("*", httpMetrics());

  app.get("/metrics", async (c) => {
    metrics.subscriptionsActive.set(opts.bus.subscriptionCount());
    return c.body(await metrics.registry.metrics(), 200, {
      "Content-Type": metrics.registry.contentType,
    });
  });
  app.get("/health", (c) =>
    c.json({
      status: "ok",
      role: opts.role,
      nats: opts.bus.status(),
      streams: opts.streams?.(),
      state: opts.state?.(),
    }));
  const ready = opts.ready;
  if (ready) {
    app.get("/ready", async (c) => {
      const checks = await ready();
      if (isReady(checks)) {
        return c.json({ status: "ready", role: opts.role, version: VERSION, checks });
      }
      const failing = Object.entries(checks).filter(([, v]) => v !== "ok");
      const message = failing.map(([k, v]) => `${k}: ${v}`).join("; ");
      const body = new AppError("not_ready", message, 503).toBody();
      return c.json(
        { ...body, status: "not_ready", role: opts.role, version: VERSION, checks },
        503,
      );
    });
  }
  const dev = opts.devLogin;
  if (dev) {
    app.post("/api/v0.3/dev/login", limitBody(), validate("json", DevLoginSchema), async (c) => {
      const user = validateUserId(c.req.valid("json").user);
      return c.json({ user, token: await issueToken(user, dev.secret) });
    });
  }
  for (const routes of opts.routes) app.route("/", routes);
  // Answered, not thrown: a throw here skips the middleware's view of the
  // status (metrics and the access log would record 200).
  app.notFound((c) => c.json(new AppError("not_found", "no such route", 404).toBody(), 404));
  return app;
}
