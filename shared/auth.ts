/**
 * Bearer-JWT authentication (HS256, `hono/jwt`): the user id comes only from
 * the token's `sub`. GET streams may pass the token as `?access_token=`
 * because EventSource cannot set headers.
 *
 * @module
 */
import type { Context, MiddlewareHandler } from "hono";
import { sign, verify } from "hono/jwt";
import { AppError } from "./errors.ts";

/** Longest accepted user id (characters). */
export const MAX_USER_ID_LENGTH = 256;

/**
 * Checks a user id for dev login: non-empty, bounded, no control characters.
 * Anything else (dots, `*`, `>`, `@`, `../`, non-ASCII) is a valid id.
 *
 * @example
 * ```ts
 * validateUserId("player@example.com"); // ok
 * ```
 */
export function validateUserId(id: unknown): string {
  if (typeof id !== "string" || id.length === 0) {
    throw new AppError("bad_user", "user must be a non-empty string", 400);
  }
  if (id.length > MAX_USER_ID_LENGTH) {
    throw new AppError("bad_user", `user must be at most ${MAX_USER_ID_LENGTH} characters`, 400);
  }
  // deno-lint-ignore no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(id)) {
    throw new AppError("bad_user", "user must not contain control characters", 400);
  }
  return id;
}

/**
 * Issues a token for a user (dev login and tests).
 *
 * @example
 * ```ts
 * const token = await issueToken("alice", secret, 3600);
 * ```
 */
export function issueToken(
  userId: string,
  secret: string,
  ttlSeconds = 12 * 3600,
): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  return sign({ sub: userId, iat: now, exp: now + ttlSeconds }, secret, "HS256");
}

/** Variables the auth middleware sets on the Hono context. */
export interface AuthVariables {
  userId: string;
}

function tokenFrom(c: Context, allowQuery: boolean): string | undefined {
  const header = c.req.header("Authorization");
  if (header) {
    const m = /^Bearer\s+(\S+)$/i.exec(header);
    if (!m) throw new AppError("unauthorized", "Authorization must be 'Bearer <token>'", 401);
    return m[1];
  }
  if (allowQuery) return c.req.query("access_token") || undefined;
  return undefined;
}

/**
 * Middleware that verifies the bearer token and sets `userId`.
 *
 * @example
 * ```ts
 * app.post("/api/v0.3/chat", requireUser(secret), handler);
 * ```
 */
export function requireUser(
  secret: string,
  opts: { allowQueryToken?: boolean } = {},
): MiddlewareHandler<{ Variables: AuthVariables }> {
  return async (c, next) => {
    // Verified already by an outer middleware (e.g. the action rate limit).
    if (c.get("userId")) return await next();
    const token = tokenFrom(c, opts.allowQueryToken ?? false);
    if (!token) throw new AppError("unauthorized", "missing bearer token", 401);
    let payload: Record<string, unknown>;
    try {
      payload = await verify(token, secret, "HS256");
    } catch {
      throw new AppError("unauthorized", "invalid or expired token", 401);
    }
    const sub = payload.sub;
    if (typeof sub !== "string" || sub.length === 0 || sub.length > MAX_USER_ID_LENGTH) {
      throw new AppError("unauthorized", "token has no valid 'sub'", 401);
    }
    c.set("userId", sub);
    await next();
  };
}
