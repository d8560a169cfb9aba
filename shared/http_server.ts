/**
 * Serves the Hono app over HTTP/1.1 with `node:http` (Deno's Node-compatible
 * server) through `@hono/node-server`, instead of `Deno.serve`.
 *
 * Why: this process holds thousands of idle SSE streams. Measured on Deno
 * 2.9.6 (tests/bench, `connections.*` against `floor.relay.*`): `Deno.serve`
 * costs 54-55 KiB of RSS per open streaming response before any application
 * code, and the server on it 60-61 KiB per idle world stream; on `node:http`,
 * with world streams written straight into the `ServerResponse`
 * (chat/frame_queue.ts `pipeTo`), 13-16 KiB, with less CPU per delivered
 * event. Every route is served here (one server, one port): the request
 * routes' CPU per action did not grow (`--only=profile`). See README
 * "Serving".
 *
 * @module
 */
import { createAdaptorServer, type HttpBindings } from "@hono/node-server";
import type { AddressInfo } from "node:net";
import type { Server } from "node:http";

/** What the app gets as `c.env` on this server: the node request and response. */
export type NodeBindings = HttpBindings;

/** A listening server. */
export interface HttpServer {
  /** The port it listens on (the one asked for, or the one picked for port 0). */
  readonly port: number;
  /**
   * Stops accepting connections and closes idle ones; resolves once every
   * connection has closed (open streaming responses must be ended by their
   * owners). Idempotent.
   */
  shutdown(): Promise<void>;
  /** Closes every connection now, open responses or not. */
  closeAll(): void;
}

/** Options of {@linkcode serveHttp}. */
export interface ServeOptions {
  port: number;
  hostname: string;
}

/**
 * Starts serving `fetch` (an app's `fetch`); resolves once listening.
 *
 * @example
 * ```ts
 * const server = await serveHttp(app.fetch, { port: 0, hostname: "127.0.0.1" });
 * console.log(server.port);
 * await server.shutdown();
 * ```
 */
export async function serveHttp(
  // deno-lint-ignore no-explicit-any
  fetch: (req: Request, env: any) => Response | Promise<Response>,
  opts: ServeOptions,
): Promise<HttpServer> {
  const server = createAdaptorServer({
    fetch,
    hostname: opts.hostname,
    // Keep Deno's own Request/Response globals: other code (fetch, tests)
    // shares this process.
    overrideGlobalObjects: false,
    // Small frames go out at once (SSE is latency-bound, not throughput-bound).
    serverOptions: { noDelay: true },
  }) as Server;
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(opts.port, opts.hostname, () => {
      server.off("error", reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  let closed: Promise<void> | undefined;
  return {
    port,
    shutdown: () =>
      closed ??= new Promise<void>((resolve) => {
        // A streaming response that ends leaves a keep-alive connection
        // behind: close idle ones until none is left.
        const sweep = setInterval(() => server.closeIdleConnections(), 100);
        server.close(() => {
          clearInterval(sweep);
          resolve();
        });
        server.closeIdleConnections();
      }),
    closeAll: () => server.closeAllConnections(),
  };
}
