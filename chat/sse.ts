/**
 * Server-Sent Events wire format, encoded to bytes once so a frame can be
 * shared by every stream that sends it (one encoding per event, not per
 * connection).
 *
 * We write frames straight into `ReadableStream<Uint8Array>` bodies instead of
 * Hono's `streamSSE`: the per-write overhead of `streamSSE` (a writer, a
 * promise chain and a fresh encoding per stream) is what made it cost about
 * twice the CPU of pre-encoded frames at thousands of streams.
 *
 * @module
 */
import type { WorldUpdateEvent } from "../shared/schema.ts";

const encoder = new TextEncoder();

/** Response headers of every SSE body. */
export const SSE_HEADERS: Readonly<Record<string, string>> = {
  "Content-Type": "text/event-stream; charset=utf-8",
  "Cache-Control": "no-cache, no-transform",
  // Tell nginx-style proxies not to buffer the stream.
  "X-Accel-Buffering": "no",
};

// An SSE id must not contain CR, LF or NUL; anything odd is left off rather
// than letting a crafted id split the frame.
const SAFE_ID = /^[\x21-\x7e]{1,200}$/;

/**
 * Encodes one SSE message. `data` is JSON-encoded (JSON never contains a raw
 * newline, so it is always one `data:` line).
 *
 * @example
 * ```ts
 * controller.enqueue(encodeEvent("content", { content: "You step inside." }));
 * ```
 */
export function encodeEvent(type: string, data: unknown, id?: string): Uint8Array {
  let text = `event: ${type}\n`;
  if (id !== undefined && SAFE_ID.test(id)) text += `id: ${id}\n`;
  text += `data: ${JSON.stringify(data)}\n\n`;
  return encoder.encode(text);
}

/**
 * The `world_update` frame of an event, with its id as the SSE id.
 *
 * @example
 * ```ts
 * const frame = encodeWorldUpdate(event); // shared by every stream that needs it
 * ```
 */
export function encodeWorldUpdate(event: WorldUpdateEvent): Uint8Array {
  return encodeEvent("world_update", event, event.id);
}

/**
 * A `resync` frame. With `resetId`, it also carries an empty `id:` line, which
 * clears an EventSource's last event id so its next reconnect does not ask to
 * replay from an id we already know we cannot replay from.
 *
 * @example
 * ```ts
 * controller.enqueue(encodeResync("beyond_retention", true));
 * ```
 */
export function encodeResync(reason: string, resetId = false): Uint8Array {
  const idLine = resetId ? "id:\n" : "";
  return encoder.encode(`event: resync\n${idLine}data: ${JSON.stringify({ reason })}\n\n`);
}

/**
 * An SSE comment line (ignored by clients; keeps idle connections alive).
 *
 * @example
 * ```ts
 * controller.enqueue(encodeComment("keep-alive"));
 * ```
 */
export function encodeComment(text: string): Uint8Array {
  return encoder.encode(`: ${text.replace(/[\r\n]/g, " ")}\n\n`);
}

/**
 * A `retry:` hint: how long an EventSource waits before reconnecting.
 *
 * @example
 * ```ts
 * controller.enqueue(encodeRetry(2000));
 * ```
 */
export function encodeRetry(ms: number): Uint8Array {
  return encoder.encode(`retry: ${Math.max(0, Math.round(ms))}\n\n`);
}

/** The shared keep-alive frame (every stream sends the same bytes). */
export const KEEP_ALIVE_FRAME: Uint8Array = encodeComment("keep-alive");

/** The `done` frame that ends every chat stream. */
export const DONE_FRAME: Uint8Array = encodeEvent("done", {});
