/**
 * Identifiers: sortable event ids (ULID, monotonic within a process) and
 * request ids.
 *
 * @module
 */
import { monotonicFactory } from "ulid";

const nextUlid = monotonicFactory();

/**
 * A new event id: a ULID, so ids sort in creation order within a process.
 *
 * @example
 * ```ts
 * const id = newEventId(); // "01JD0..."
 * ```
 */
export function newEventId(): string {
  return nextUlid();
}

/**
 * A new request id for the edge of the system.
 *
 * @example
 * ```ts
 * c.header("X-Request-Id", newRequestId());
 * ```
 */
export function newRequestId(): string {
  return crypto.randomUUID();
}
