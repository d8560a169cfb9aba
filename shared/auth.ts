/**
 * Bearer-JWT authentication (HS256, `hono/jwt`): the user id comes only from
 * the token's `sub`, which must pass the same check as a dev-login name
 * ({@linkcode userIdProblem}). A token must carry an `exp`, and one no
 * further ahead than `maxTtlMs` (`JWT_MAX_TTL`): a token valid for ever
 * cannot be revoked by waiting. GET streams may pass the token as
 * `?access_token=` because EventSource cannot set headers.
 *
 * @module
 */
import type { Context, MiddlewareHandler } from "hono";
import { sign, verify } from "hono/jwt";
import { AppError } from "./errors.ts";

/** Longest accepted user id (characters). */
export const MAX_USER_ID_LENGTH = 256;

/** Default `JWT_MAX_TTL`: 30 days. */
export const DEFAULT_JWT_MAX_TTL_MS = 30 * 86_400_000;

/** Default lifetime of {@linkcode issueToken}'s tokens: 12 hours, well inside the bound. */
export const DEFAULT_TOKEN_TTL_SECONDS = 12 * 3600;

/** How tokens are checked. */
export interface AuthOptions {
  /** HS256 secret (`JWT_SECRET`). */
  secret: string;
  /** Longest remaining lifetime a token may claim (ms); default {@linkcode DEFAULT_JWT_MAX_TTL_MS}. */
  maxTtlMs?: number;
}

/**
 * What is wrong with a user id, or `undefined` when it is fine: it must be a
 * non-empty string of at most {@linkcode MAX_USER_ID_LENGTH} characters,
 * without control characters (NUL, newline, ...) and without a lone UTF-16
 * surrogate (no UTF-8 form). Anything else (dots, `*`, `>`, `@`, `../`,
 * non-ASCII) is a valid id: subjects and paths escape it.
 *
 * @example
 * ```ts
 * userIdProblem("player@example.com"); // undefined
 * userIdProblem("a\nb"); // "must not contain control characters"
 * ```
 */
export function userIdProblem(id: unknown): string | undefined {
  if (typeof id !== "string" || id.length === 0) return "must be a non-empty string";
  if (id.length > MAX_USER_ID_LENGTH) return `must be at most ${MAX_USER_ID_LENGTH} characters`;
  // deno-lint-ignore no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(id)) return "must not contain control characters";
  if (!id.isWellFormed()) return "must not contain a lone surrogate";
  return undefined;
}

/**
 * Checks a user id for dev login ({@linkcode userIdProblem}); 400 `bad_user` otherwise.
 *
 * @example
 * ```ts
 * validateUserId("player@example.com"); // "player@example.com"
 * ```
 */
export function validateUserId(id: unknown): string {
  const problem = userIdProblem(id);
  if (problem) throw new AppError("bad_user", `user ${problem}`, 400);
  return id as string;
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
  ttlSeconds = DEFAULT_TOKEN_TTL_SECONDS,
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
 * The user a token names, or a 401 {@linkcode AppError} saying why not.
 *
 * @example
 * ```ts
 * const user = await verifyToken(token, { secret }); // "alice"
 * ```
 */
export async function verifyToken(token: string, auth: AuthOptions): Promise<string> {
  let payload: Record<string, unknown>;
  try {
    // Checks the signature, and `exp`/`nbf`/`iat` when present.
    payload = await verify(token, auth.secret, "HS256");
  } catch {
    throw new AppError("unauthorized", "invalid or expired token", 401);
  }
  const exp = payload.exp;
  if (typeof exp !== "number" || !Number.isFinite(exp)) {
    throw new AppError("unauthorized", "token has no 'exp' (tokens must expire)", 401);
  }
  const maxTtlS = (auth.maxTtlMs ?? DEFAULT_JWT_MAX_TTL_MS) / 1000;
  if (exp - Date.now() / 1000 > maxTtlS) {
    throw new AppError(
      "unauthorized",
      `token expires too far ahead (more than ${maxTtlS} s, JWT_MAX_TTL)`,
      401,
    );
  }
  const problem = userIdProblem(payload.sub);
  if (problem) throw new AppError("unauthorized", `token 'sub' ${problem}`, 401);
  return payload.sub as string;
}

/**
 * Middleware that verifies the bearer token ({@linkcode verifyToken}) and
 * sets `userId`. Runs once per route: each route chain has exactly one.
 *
 * @example
 * ```ts
 * app.post("/api/v0.3/chat", requireUser({ secret }), handler);
 * ```
 */
export function requireUser(
  auth: AuthOptions,
  opts: { allowQueryToken?: boolean } = {},
): MiddlewareHandler<{ Variables: AuthVariables }> {
  return async (c, next) => {
    const token = tokenFrom(c, opts.allowQueryToken ?? false);
    if (!token) throw new AppError("unauthorized", "missing bearer token", 401);
    c.set("userId", await verifyToken(token, auth));
    await next();
  };
}
