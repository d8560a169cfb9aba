/**
 * Answers a request with an SSE stream the way the server in front of the
 * app does it best: on `node:http` (shared/http_server.ts) the head and the
 * frames go straight into the node response, with no `ReadableStream`, no
 * reader and no promise per open stream; anywhere else (`app.request()` in
 * tests, another server) as a `ReadableStream` body.
 *
 * @module
 */
import type { Context } from "hono";
import type { NodeSink } from "./frame_queue.ts";
import { SSE_HEADERS } from "./sse.ts";

/** A source of SSE frames that can go either way (a `FrameQueue`, a `WorldStream`). */
export interface SseSource {
  readonly body: ReadableStream<Uint8Array>;
  pipeTo(res: NodeSink): void;
}

/** The node response under `c.env` when `@hono/node-server` serves the app. */
interface NodeResponse extends NodeSink {
  writeHead(status: number, headers: Record<string, string>): unknown;
  readonly headersSent: boolean;
}

function nodeResponse(c: Context): NodeResponse | undefined {
  const out = (c.env as { outgoing?: Partial<NodeResponse> } | undefined)?.outgoing;
  return out && typeof out.writeHead === "function" && typeof out.write === "function"
    ? out as NodeResponse
    : undefined;
}

/**
 * A 200 SSE response for `source`, with the headers middleware has set
 * (`X-Request-Id`) and {@linkcode SSE_HEADERS}.
 *
 * @example
 * ```ts
 * app.get("/stream", (c) => sseResponse(c, new WorldStream(cfg, params)));
 * ```
 */
export function sseResponse(c: Context, source: SseSource): Response {
  const res = nodeResponse(c);
  if (!res || res.headersSent) return c.body(source.body, 200, SSE_HEADERS);
  const head: Record<string, string> = {};
  for (const [k, v] of c.res.headers) head[k] = v;
  Object.assign(head, SSE_HEADERS);
  res.writeHead(200, head);
  source.pipeTo(res);
  // @hono/node-server's marker: the response is written already. Hono's
  // middleware still sees a 200 (metrics, access log).
  return new Response(null, { headers: { "x-hono-already-sent": "true" } });
}
