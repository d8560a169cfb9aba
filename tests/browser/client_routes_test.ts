/**
 * The client's static routes (no browser): the page, its assets, the shared
 * `apply.js` byte for byte, and nothing outside the client directory.
 *
 * @module
 */
import { deepStrictEqual as eq, ok } from "node:assert/strict";
import { Hono } from "hono";
import { clientRoutes } from "../../chat/mod.ts";
import { AppError } from "../../shared/errors.ts";
import { jsonErrorHandler } from "../../shared/http.ts";

function app(): Hono {
  const app = new Hono();
  app.onError(jsonErrorHandler);
  app.route("/", clientRoutes());
  app.notFound(() => {
    throw new AppError("not_found", "no such route", 404);
  });
  return app;
}

Deno.test("client routes: GET / is the page, with a same-origin CSP", async () => {
  const res = await app().request("/");
  eq(res.status, 200);
  ok(res.headers.get("Content-Type")!.startsWith("text/html"));
  eq(
    res.headers.get("Content-Security-Policy"),
    "default-src 'self'; img-src 'self' data:; connect-src 'self'; style-src 'self'; " +
      "script-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'",
  );
  eq(res.headers.get("X-Content-Type-Options"), "nosniff");
  eq(res.headers.get("Referrer-Policy"), "no-referrer");
  eq(res.headers.get("Cache-Control"), "no-cache");
  eq(res.headers.get("Strict-Transport-Security"), null, "HSTS is the TLS terminator's");
  const html = await res.text();
  ok(html.includes('src="/client/app.js"'));
  ok(html.includes('aria-live="polite"'));
});

Deno.test("client routes: assets have their content types", async () => {
  for (
    const [path, type] of [["/client/app.js", "text/javascript"], ["/client/style.css", "text/css"]]
  ) {
    const res = await app().request(path!);
    eq(res.status, 200, path);
    ok(res.headers.get("Content-Type")!.startsWith(type!), path);
    await res.body?.cancel();
  }
});

Deno.test("client routes: /shared/apply.js is the server's own file", async () => {
  const res = await app().request("/shared/apply.js");
  eq(res.status, 200);
  ok(res.headers.get("Content-Type")!.startsWith("text/javascript"));
  const served = new Uint8Array(await res.arrayBuffer());
  const onDisk = await Deno.readFile(new URL("../../shared/apply.js", import.meta.url));
  eq(served, onDisk);
});

Deno.test("client routes: unknown or path-like names are 404 JSON errors", async () => {
  for (
    const path of [
      "/client/nope.js",
      "/client/..%2Fclient_routes.ts",
      "/client/%2E%2E%2Fmod.ts",
      "/client/.hidden.js",
      "/client/app.ts",
      "/client/",
      "/shared/schema.ts",
    ]
  ) {
    const res = await app().request(path);
    eq(res.status, 404, path);
    eq((await res.json()).error.code, "not_found", path);
  }
});
