/**
 * Serves the local-play browser client: `GET /` (index.html), the static
 * assets under `/client/*` (files of `chat/client/`, no build step) and
 * `GET /shared/apply.js`, the very file the server uses to apply deltas, so
 * the browser and the KB share one implementation.
 *
 * Files come from disk on each request through Hono's `serveStatic`
 * (`hono/deno`; `@hono/deno` from Hono 5 on), so edits show on reload, with
 * `secureHeaders` setting a same-origin CSP. Only plain
 * names with a known extension reach `serveStatic` (which refuses `..`,
 * encoded separators and double slashes by itself), so no path can leave
 * the client directory.
 *
 * @module
 */
import { fileURLToPath } from "node:url";
import { type Context, Hono, type MiddlewareHandler } from "hono";
import { serveStatic } from "hono/deno";
import { secureHeaders } from "hono/secure-headers";
import { AppError } from "../shared/errors.ts";

const CLIENT_DIR = fileURLToPath(new URL("./client/", import.meta.url));
const SHARED_DIR = fileURLToPath(new URL("../shared/", import.meta.url));

/** A plain file name: no slashes, no leading dot, one known extension. */
const ASSET_NAME = /^[a-z0-9][a-z0-9_-]{0,63}\.(html|js|css|png|svg)$/;

/** Same-origin only: the client talks to this server and nothing else. */
const headers = secureHeaders({
  contentSecurityPolicy: {
    defaultSrc: ["'self'"],
    imgSrc: ["'self'", "data:"],
    connectSrc: ["'self'"],
    styleSrc: ["'self'"],
    scriptSrc: ["'self'"],
    objectSrc: ["'none'"],
    baseUri: ["'none'"],
    frameAncestors: ["'none'"],
  },
  xFrameOptions: "DENY", // as `frame-ancestors 'none'` says, for browsers without CSP 2
  // HSTS belongs to the TLS terminator (deploy/nginx.conf.example), never to
  // a plain-HTTP dev server, where it would pin the host to HTTPS.
  strictTransportSecurity: false,
});

// Always revalidate: a reload after an edit or an upgrade gets the new client.
const noCache = (_path: string, c: Context) => {
  c.header("Cache-Control", "no-cache");
};

const plainName: MiddlewareHandler = async (c, next) => {
  if (!ASSET_NAME.test(c.req.param("name") ?? "")) {
    throw new AppError("not_found", "no such file", 404);
  }
  await next();
};

/**
 * The client's routes; mount them on the app that serves the API (same
 * origin: the client calls `/api/v0.3/...` relative to the page). A missing
 * file falls through to the app's JSON 404.
 *
 * @example
 * ```ts
 * const app = buildApp({ role: "chat", bus, routes: [chat.routes(), clientRoutes()] });
 * ```
 */
export function clientRoutes(): Hono {
  const app = new Hono();
  app.get("/", headers, serveStatic({ root: CLIENT_DIR, path: "index.html", onFound: noCache }));
  app.get(
    "/client/:name",
    plainName,
    headers,
    serveStatic({
      root: CLIENT_DIR,
      rewriteRequestPath: (p) => p.slice("/client".length),
      onFound: noCache,
    }),
  );
  app.get(
    "/shared/apply.js",
    headers,
    serveStatic({ root: SHARED_DIR, path: "apply.js", onFound: noCache }),
  );
  return app;
}
