/**
 * Auth edge cases a hostile test found (issue 10, point 7): one user-id rule
 * for dev login and the JWT `sub` (no control characters, no lone
 * surrogate), and tokens must expire, within `JWT_MAX_TTL`. The whole app as
 * main.ts wires it (`buildProcess`), asked with `app.request()`.
 */
import { deepStrictEqual as eq, ok } from "node:assert/strict";
import { sign } from "hono/jwt";
import { issueToken } from "../../shared/auth.ts";
import { setup, TEST_SECRET as SECRET, type TestStack } from "../_helpers/mod.ts";

const now = () => Math.floor(Date.now() / 1000);

/** Runs `fn` against the whole process, unserved (`app.request()`), on the in-process bus. */
async function withProcess(
  env: Record<string, string>,
  fn: (p: TestStack) => Promise<void>,
): Promise<void> {
  await using stack = await setup({ nats: "in-process", serve: false, env });
  await fn(stack);
}

/** Status and error of `GET /api/v0.3/world/state` with this token. */
async function stateWith(p: TestStack, token: string) {
  const res = await p.app.request("/api/v0.3/world/state?experience=wylding-woods", {
    headers: { Authorization: `Bearer ${token}` },
  });
  const body = await res.json();
  return { status: res.status, code: body.error?.code, message: body.error?.message ?? "" };
}

const HOSTILE_IDS: Array<[string, string]> = [
  ["NUL", "a\u0000b"],
  ["newline", "alice\nadmin"],
  ["DEL", "x\u007f"],
  ["lone high surrogate", "a\uD800b"],
  ["lone low surrogate", "\uDC00"],
  ["empty", ""],
  ["too long", "u".repeat(257)],
];

Deno.test("auth: a JWT sub is held to the same rule as a dev-login name", async () => {
  await withProcess({}, async (p) => {
    for (const [what, id] of HOSTILE_IDS) {
      const token = await sign({ sub: id, exp: now() + 60 }, SECRET, "HS256");
      const r = await stateWith(p, token);
      eq([r.status, r.code], [401, "unauthorized"], what);
      ok(/token 'sub' must/.test(r.message), `${what}: ${r.message}`);

      const login = await p.app.request("/api/v0.3/dev/login", {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ user: id }),
      });
      eq([login.status, (await login.json()).error?.code], [400, "bad_user"], `login ${what}`);
    }
    // Ids that are merely unusual are fine for both.
    for (const id of ["player@example.com", "a.b*c>d", "../x", "Zoë 🌲", "u".repeat(256)]) {
      const r = await stateWith(p, await issueToken(id, SECRET, 60));
      eq(r.status, 200, `${JSON.stringify(id)}: ${r.message}`);
      const login = await p.app.request("/api/v0.3/dev/login", {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ user: id }),
      });
      eq(login.status, 200, `login ${JSON.stringify(id)}`);
      await login.body?.cancel();
    }
    const noSub = await sign({ exp: now() + 60 }, SECRET, "HS256");
    eq((await stateWith(p, noSub)).status, 401);
  });
});

Deno.test("auth: a token must expire, and not too far ahead (JWT_MAX_TTL)", async () => {
  await withProcess({}, async (p) => {
    const forever = await stateWith(p, await sign({ sub: "ann" }, SECRET, "HS256"));
    eq([forever.status, forever.code], [401, "unauthorized"]);
    ok(/no 'exp'/.test(forever.message), forever.message);

    const textExp = await sign(
      { sub: "ann", exp: "tomorrow" as unknown as number },
      SECRET,
      "HS256",
    );
    eq((await stateWith(p, textExp)).status, 401);

    for (const exp of [1e308, now() + 31 * 86_400]) {
      const r = await stateWith(p, await sign({ sub: "ann", exp }, SECRET, "HS256"));
      eq([r.status, r.code], [401, "unauthorized"], `exp ${exp}`);
      ok(/too far ahead/.test(r.message), r.message);
    }
    const month = await sign({ sub: "ann", exp: now() + 29 * 86_400 }, SECRET, "HS256");
    eq((await stateWith(p, month)).status, 200, "29 days is within the default 30");
    // The default token lifetime of issueToken sits well inside the bound.
    eq((await stateWith(p, await issueToken("ann", SECRET))).status, 200);
    const expired = await stateWith(p, await issueToken("ann", SECRET, -10));
    eq([expired.status, expired.message], [401, "invalid or expired token"]);
  });
  await withProcess({ JWT_MAX_TTL: "1h" }, async (p) => {
    const twoHours = await sign({ sub: "ann", exp: now() + 7200 }, SECRET, "HS256");
    eq((await stateWith(p, twoHours)).status, 401, "past a JWT_MAX_TTL of 1h");
    eq((await stateWith(p, await issueToken("ann", SECRET, 1800))).status, 200);
  });
});

Deno.test("auth: the chat routes and the world stream apply the same checks", async () => {
  await withProcess({}, async (p) => {
    const tokens = [
      await sign({ sub: "a\nb", exp: now() + 60 }, SECRET, "HS256"),
      await sign({ sub: "ann" }, SECRET, "HS256"),
    ];
    for (const token of tokens) {
      const chat = await p.app.request("/api/v0.3/chat", {
        method: "POST",
        headers: { Authorization: `Bearer ${token}`, "Content-Type": "application/json" },
        body: JSON.stringify({ message: "look", experience: "wylding-woods" }),
      });
      eq(chat.status, 401);
      await chat.body?.cancel();
      const world = await p.app.request(
        `/api/v0.3/world/stream?experience=wylding-woods&access_token=${token}`,
      );
      eq(world.status, 401);
      await world.body?.cancel();
      const kb = await p.app.request("/kb/experience/interact", {
        method: "POST",
        headers: { Authorization: `Bearer ${token}`, "Content-Type": "application/json" },
        body: JSON.stringify({ message: "look", experience: "wylding-woods" }),
      });
      eq(kb.status, 401);
      await kb.body?.cancel();
    }
  });
});
