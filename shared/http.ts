/**
 * HTTP plumbing both modules share: the JSON error handler, request ids at
 * the edge, the body-size limit and zod validation that answers with the
 * DESIGN.md error body.
 *
 * @module
 */
import type { Context, ErrorHandler, MiddlewareHandler, ValidationTargets } from "hono";
import { HTTPException } from "hono/http-exception";
import { bodyLimit } from "hono/body-limit";
import { zValidator } from "@hono/zod-validator";
import type { z } from "zod";
import { AppError, type ErrorStatus, toAppError } from "./errors.ts";
import { newRequestId } from "./ids.ts";
import { log } from "./log.ts";
import { metrics } from "./metrics.ts";
import { matchedRoutes } from "hono/route";

/** Largest accepted request body (bytes). */
export const MAX_BODY_BYTES = 16 * 1024;

/** Response/request header that carries the request id. */
export const REQUEST_ID_HTTP_HEADER = "X-Request-Id";

/** Variables set by {@linkcode requestId}. */
export interface RequestIdVariables {
  requestId: string;
}

/**
 * Middleware: takes a sane incoming `X-Request-Id` or makes one, exposes it
 * as `c.get("requestId")` and returns it in the response header.
 *
 * @example
 * ```ts
 * app.use("*", requestId());
 * ```
 */
export function requestId(): MiddlewareHandler<{ Variables: RequestIdVariables }> {
  return async (c, next) => {
    const incoming = c.req.header(REQUEST_ID_HTTP_HEADER);
    const id = incoming && /^[\w.:-]{1,128}$/.test(incoming) ? incoming : newRequestId();
    c.set("requestId", id);
    c.header(REQUEST_ID_HTTP_HEADER, id);
    await next();
  };
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
    if (appErr.status >= 500) {
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
 * the offending field paths.
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
    if (!result.success) {
      const issues = result.error.issues.map((i) =>
        `${i.path.join(".") || "(body)"}: ${i.message}`
      );
      const tooLarge = result.error.issues.some((i) => i.message.includes("bytes"));
      throw new AppError(
        tooLarge ? "message_too_large" : "bad_request",
        issues.join("; "),
        tooLarge ? 413 : 400,
      );
    }
  });
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
