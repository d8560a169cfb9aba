/**
 * Errors as values at module edges: {@linkcode AppError} carries a stable
 * `code` and an HTTP status, and renders as the DESIGN.md error body;
 * {@linkcode SettingsError} is the start-up failure of a bad setting.
 *
 * @module
 */
import type { ErrorBody } from "./schema.ts";

/** HTTP statuses this project answers errors with. */
export type ErrorStatus = 400 | 401 | 403 | 404 | 409 | 413 | 415 | 429 | 500 | 502 | 503 | 504;

/**
 * An error with a machine-readable code and the HTTP status it maps to.
 *
 * @example
 * ```ts
 * throw new AppError("unknown_experience", "no experience 'x'", 404);
 * ```
 */
export class AppError extends Error {
  readonly code: string;
  readonly status: ErrorStatus;
  constructor(code: string, message: string, status: ErrorStatus = 400) {
    super(message);
    this.name = "AppError";
    this.code = code;
    this.status = status;
  }

  /** The JSON body `{error: {code, message}}`. */
  toBody(): { error: ErrorBody } {
    return { error: { code: this.code, message: this.message } };
  }
}

const STATUSES = new Set<number>([400, 401, 403, 404, 409, 413, 415, 429, 500, 502, 503, 504]);

/**
 * An error body that crossed a module edge (a KB reply) as an
 * {@linkcode AppError}; a status outside {@linkcode ErrorStatus} becomes 400
 * (client errors) or 502 (anything else from upstream).
 *
 * @example
 * ```ts
 * if (!reply.ok) throw fromErrorBody(reply.error);
 * ```
 */
export function fromErrorBody(e: { code: string; message: string; status: number }): AppError {
  const status = STATUSES.has(e.status)
    ? e.status as ErrorStatus
    : e.status >= 400 && e.status < 500
    ? 400
    : 502;
  return new AppError(e.code, e.message, status);
}

/**
 * Maps anything thrown to an {@linkcode AppError} (unknown errors become 500
 * without leaking their message).
 *
 * @example
 * ```ts
 * const err = toAppError(e); return c.json(err.toBody(), err.status);
 * ```
 */
export function toAppError(e: unknown): AppError {
  if (e instanceof AppError) return e;
  return new AppError("internal", "internal server error", 500);
}

/**
 * A setting that is missing, malformed or out of range: raised once, at
 * start, by `loadSettings`, before anything is opened. `main.ts` prints it
 * and exits with status 2.
 *
 * @example
 * ```ts
 * throw new SettingsError(["PORT"], "PORT: must be at most 65535");
 * ```
 */
export class SettingsError extends Error {
  /** The variables at fault, in the order they were reported. */
  readonly variables: readonly string[];
  constructor(variables: readonly string[], message: string) {
    super(message);
    this.name = "SettingsError";
    this.variables = variables;
  }
}
