/**
 * HTTP plumbing both modules share: the JSON error handler, request ids at
 * the edge (`hono/request-id`), the body-size limit, zod validation that
 * answers with the DESIGN.md error body, the per-user action limit and the
 * HTTP metrics.
 *
 * @module
 */
import type { Context, ErrorHandler, MiddlewareHandler, ValidationTargets } from "hono";
import { HTTPException } from "hono/http-exception";
import { bodyLimit } from "hono/body-limit";
import { requestId as honoRequestId } from "hono/request-id";
import { zValidator } from "@hono/zod-validator";
import type { z } from "zod";
import type { AuthVariables } from "./auth.ts";
import { AppError, type ErrorStatus, toAppError } from "./errors.ts";
import { newRequestId } from "./ids.ts";
import { log } from "./log.ts";
import { metrics } from "./metrics.ts";
import type { TokenBucket } from "./rate_limit.ts";
import { describeIssues, isMessageTooLarge, MESSAGE_TOO_LARGE } from "./schema.ts";
import { matchedRoutes } from "hono/route";

export type { RequestIdVariables } from "hono/request-id";

/** Largest accepted request body (bytes). */
export const MAX_BODY_BYTES = 16 * 1024;

/** Response/request header that carries the request id. */
export const REQUEST_ID_HTTP_HEADER = "X-Request-Id";

/** An incoming request id this server takes as its own (else it makes one). */
const ACCEPTED_REQUEST_ID = /^[\w.:-]{1,128}$/;

/**
 * Middleware (`hono/request-id`): takes a sane incoming `X-Request-Id` (1 to
 * 128 of letters, digits, `_ . : -`) or makes one, exposes it as
 * `c.get("requestId")` and returns it in the response header.
 *
 * @example
 * ```ts
 * app.use("*", requestId());
 * ```
 */
export function requestId(): MiddlewareHandler {
  return honoRequestId({
    headerName: REQUEST_ID_HTTP_HEADER,
    // Hono's own rule refuses `.` and `:`, common in trace ids; a limit of 0
    // hands every incoming id to the generator, which applies this rule.
    limitLength: 0,
    generator: (c) => {
      const incoming = c.req.header(REQUEST_ID_HTTP_HEADER);
      return incoming && ACCEPTED_REQUEST_ID.test(incoming) ? incoming : newRequestId();
    },
  });
}

/**
 * Renders any thrown error as `{error: {code, message}}` with its status.
 *
 * @example
 * ```ts
 * app.onError(jsonErrorHandler);
 * ```
 */
export const jsonErrorHandler: ErrorHandler = (err, c) => {
  let appErr: AppError;
  if (err instanceof HTTPException) {
    const status = err.status as ErrorStatus;
    const code = status === 413
      ? "body_too_large"
      : status === 401
      ? "unauthorized"
      : "bad_request";
    appErr = new AppError(code, err.message || "bad request", status);
  } else {
    appErr = toAppError(err);
    if (err instanceof AppError && appErr.status >= 500) {
      // A failure the code named (the KB unreachable, NATS down): its code says it all.
      log("warn", "request failed", {
        request_id: (c as Context).get("requestId"),
        code: appErr.code,
        status: appErr.status,
        error: appErr.message,
      });
    } else if (appErr.status >= 500) {
      log("error", "unhandled error", {
        request_id: (c as Context).get("requestId"),
        error: String(err),
        stack: (err as Error)?.stack,
      });
    }
  }
  return c.json(appErr.toBody(), appErr.status);
};

/**
 * Rejects bodies over {@linkcode MAX_BODY_BYTES} with 413 before reading them whole.
 *
 * @example
 * ```ts
 * app.post("/api/v0.3/chat", limitBody(), handler);
 * ```
 */
export function limitBody(maxSize = MAX_BODY_BYTES): MiddlewareHandler {
  return bodyLimit({
    maxSize,
    onError: () => {
      throw new AppError("body_too_large", `request body exceeds ${maxSize} bytes`, 413);
    },
  });
}

/**
 * zod validation of a request part; failures become 400 `bad_request` with
 * the offending field paths, or 413 `message_too_large` for a message over
 * its byte limit.
 *
 * @example
 * ```ts
 * app.post("/x", validate("json", ChatRequestSchema), (c) => c.json(c.req.valid("json")));
 * ```
 */
export function validate<T extends z.ZodType, Target extends keyof ValidationTargets>(
  target: Target,
  schema: T,
) {
  return zValidator(target, schema, (result) => {
    if (result.success) return;
    const tooLarge = isMessageTooLarge(result.error);
    throw new AppError(
      tooLarge ? MESSAGE_TOO_LARGE : "bad_request",
      describeIssues(result.error, "(body)"),
      tooLarge ? 413 : 400,
    );
  });
}

/**
 * Middleware: takes one token of the user's action bucket (`ACTION_RATE`,
 * `ACTION_BURST`), or answers 429 `rate_limited` with `Retry-After`. Goes
 * after authentication (it needs `userId`) and after validation, so a
 * malformed request, which changes nothing, costs the user nothing either.
 *
 * @example
 * ```ts
 * const actions = new TokenBucket({ rate: 10, burst: 20 });
 * app.post("/api/v0.3/chat", limitBody(), requireUser(auth), validate("json", S), actionLimit(actions), handler);
 * ```
 */
export function actionLimit(bucket: TokenBucket): MiddlewareHandler<{ Variables: AuthVariables }> {
  return async (c, next) => {
    const r = bucket.take(c.get("userId"));
    if (!r.ok) {
      metrics.rateLimited.inc({ limit: "actions" });
      const err = new AppError("rate_limited", "too many actions; retry later", 429);
      c.header("Retry-After", String(Math.max(1, Math.ceil(r.retryAfterMs / 1000))));
      return c.json(err.toBody(), 429);
    }
    await next();
  };
}

const KNOWN_METHODS = new Set(["GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS"]);

/**
 * Middleware counting requests by route pattern (never the raw path, so
 * labels stay bounded), method and status, timing them to the response head,
 * and writing one access-log line with the request id.
 *
 * @example
 * ```ts
 * app.use("*", httpMetrics());
 * ```
 */
export function httpMetrics(): MiddlewareHandler {
  return async (c, next) => {
    const start = performance.now();
    try {
      await next();
    } finally {
      // The last matched route is the handler; middleware-only matches are "*".
      const matched = matchedRoutes(c).filter((r) => r.method !== "ALL");
      const route = matched.at(-1)?.path ?? "unmatched";
      // Clients may send any method name: keep the label's values bounded.
      const method = KNOWN_METHODS.has(c.req.method) ? c.req.method : "other";
      const ms = performance.now() - start;
      metrics.httpRequests.inc({ route, method, status: String(c.res.status) });
      metrics.httpDuration.observe({ route, method }, ms);
      log("info", "http", {
        request_id: c.get("requestId"),
        method,
        route,
        status: c.res.status,
        ms: Math.round(ms * 100) / 100,
      });
    }
  };
}
