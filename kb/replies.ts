/**
 * The KB's replies to a request that did not run: refusals and failures as
 * `{ok: false, error}`, the identity of a request for retries, and the check
 * of a user id that cannot be a state path segment.
 *
 * @module
 */
import { z } from "zod";
import { RESERVED_SEGMENTS } from "../shared/apply.ts";
import { AppError } from "../shared/errors.ts";
import { log } from "../shared/log.ts";
import {
  type InteractReply,
  type InteractRequest,
  InteractRequestSchema,
} from "../shared/schema.ts";

/**
 * Request shape accepted on the bus and by `Kb.interact`: the experience id
 * is checked against the catalog, not by length.
 *
 * @example
 * ```ts
 * const parsed = KbRequestSchema.safeParse(raw);
 * ```
 */
export const KbRequestSchema = InteractRequestSchema.extend({ experience: z.string() });

/**
 * A refusal with its code, message and HTTP status.
 *
 * @example
 * ```ts
 * errorReply("r1", "bad_request", "request is not a JSON object", 400);
 * ```
 */
export function errorReply(
  requestId: string,
  code: string,
  message: string,
  status: number,
): InteractReply {
  return { ok: false, request_id: requestId, error: { code, message, status } };
}

/**
 * The reply for an action that threw: an `AppError` the player may see (4xx,
 * or 503 when the state store is unreachable) as itself; anything else is a
 * bug, logged with its stack and answered 500 `internal`.
 *
 * @example
 * ```ts
 * const reply = await run(r).catch((e) => toReplyError(r.request_id, e));
 * ```
 */
export function toReplyError(requestId: string, e: unknown): InteractReply {
  if (e instanceof AppError && (e.status < 500 || e.status === 503)) {
    return errorReply(requestId, e.code, e.message, e.status);
  }
  log("error", "interact failed", {
    request_id: requestId,
    error: String(e),
    stack: (e as Error)?.stack,
  });
  return errorReply(requestId, "internal", "the KB could not complete the action", 500);
}

/**
 * Identity of a request for retries: the same id with another message (a
 * client that reuses its `X-Request-Id`) is another action, not a retry.
 *
 * @example
 * ```ts
 * recent.get(requestKey(req)); // the first reply of a retried request
 * ```
 */
export function requestKey(
  r: Pick<InteractRequest, "user_id" | "experience" | "request_id" | "message">,
): string {
  return JSON.stringify([r.user_id, r.experience, r.request_id, r.message]);
}

/**
 * Refuses a user id that would be a forbidden state path segment (it would
 * fail at commit): 400 `reserved_user_id`.
 *
 * @example
 * ```ts
 * checkUserId("alice"); // fine
 * checkUserId("__proto__"); // throws AppError reserved_user_id
 * ```
 */
export function checkUserId(userId: string): void {
  if (RESERVED_SEGMENTS.has(userId)) {
    throw new AppError("reserved_user_id", `the user id '${userId}' is reserved`, 400);
  }
}
