/**
 * Serves the local-play browser client: `GET /` (index.html), the static
 * assets under `/client/*` (files of `chat/client/`, no build step) and
 * `GET /shared/apply.js`, the very file the server uses to apply deltas, so
 * the browser and the KB share one implementation.
 *
 * Files are read from disk on each request (edits show on reload; the files
 * are small), and only plain names with a known extension are served, so no
 * path can leave the client directory.
 *
 * @module
 */
import { type Context, Hono } from "hono";
import { AppError } from "../shared/errors.ts";

const CLIENT_DIR = new URL("./client/", import.meta.url);
const APPLY_JS = new URL("../shared/apply.js", import.meta.url);

const TYPES: Readonly<Record<string, string>> = {
  html: "text/html; charset=utf-8",
  js: "text/javascript; charset=utf-8",
  css: "text/css; charset=utf-8",
  png: "image/png",
  svg: "image/svg+xml",
};

/** A plain file name: no slashes, no leading dot, one known extension. */
const ASSET_NAME = /^[a-z0-9][a-z0-9_-]{0,63}\.(html|js|css|png|svg)$/;

/** Same-origin only: the client talks to this server and nothing else. */
const SECURITY_HEADERS: Readonly<Record<string, string>> = {
  "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; " +
    "connect-src 'self'; style-src 'self'; script-src 'self'; object-src 'none'; " +
    "base-uri 'none'; frame-ancestors 'none'",
  "X-Content-Type-Options": "nosniff",
  "Referrer-Policy": "no-referrer",
  // Always revalidate: a reload after an edit or an upgrade gets the new client.
  "Cache-Control": "no-cache",
};

/** The file as the response, through `c` so headers set by middleware (X-Request-Id) stay. */
async function fileResponse(c: Context, url: URL, type: string): Promise<Response> {
  let body: Uint8Array;
  try {
    body = await Deno.readFile(url);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) throw new AppError("not_found", "no such file", 404);
    throw e;
  }
  return c.body(body as Uint8Array<ArrayBuffer>, 200, {
    "Content-Type": type,
    ...SECURITY_HEADERS,
  });
}

/**
 * The client's routes; mount them on the app that serves the API (same
 * origin: the client calls `/api/v0.3/...` relative to the page).
 *
 * @example
 * ```ts
 * app.route("/", clientRoutes());
 * ```
 */
export function clientRoutes(): Hono {
  const app = new Hono();
  app.get("/", (c) => fileResponse(c, new URL("index.html", CLIENT_DIR), TYPES.html!));
  app.get("/client/:name", (c) => {
    const name = c.req.param("name");
    const ext = ASSET_NAME.exec(name)?.[1];
    if (!ext) throw new AppError("not_found", "no such file", 404);
    return fileResponse(c, new URL(name, CLIENT_DIR), TYPES[ext]!);
  });
  app.get("/shared/apply.js", (c) => fileResponse(c, APPLY_JS, TYPES.js!));
  return app;
}
