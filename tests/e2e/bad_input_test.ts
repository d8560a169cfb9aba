/**
 * Guarantee 7 at the public edge: malformed JSON, wrong types, oversize
 * bodies, unknown experiences, path-like ids, missing or bad tokens each get
 * a clear 4xx JSON error, and the state directory is byte-for-byte unchanged.
 */
import assert from "node:assert/strict";
import { settledTree, setup, tokenFor, tree } from "../_helpers/mod.ts";

Deno.test("bad input at the edge: clear 4xx JSON errors and no state change", async () => {
  await using stack = await setup();
  {
    const token = await stack.login("careful");
    // One real action so there is state to protect.
    const first = await fetch(`${stack.url}/api/v0.3/chat`, {
      method: "POST",
      headers: stack.headers(token),
      body: JSON.stringify({
        message: "take the lantern",
        experience: "wylding-woods",
        stream: false,
      }),
    });
    assert.equal(first.status, 200, "first action");
    await first.body?.cancel();
    // The answer comes once the action is durable; its intent is emptied just after.
    const before = await settledTree(stack.stateDir);

    const expired = await tokenFor("careful", { ttlS: -10 });
    const forged = await tokenFor("careful", { secret: "another-secret-another-secret" });
    const auth = { Authorization: `Bearer ${token}`, "Content-Type": "application/json" };
    const chat = (body: string, headers: Record<string, string> = auth) =>
      fetch(`${stack.url}/api/v0.3/chat`, { method: "POST", headers, body });
    const cases: Array<[string, () => Promise<Response>, number]> = [
      ["malformed JSON", () => chat("{not json"), 400],
      ["wrong types", () => chat(JSON.stringify({ message: 42, experience: ["x"] })), 400],
      ["missing message", () => chat(JSON.stringify({ experience: "wylding-woods" })), 400],
      [
        "oversize body",
        () => chat(JSON.stringify({ message: "x".repeat(17_000), experience: "wylding-woods" })),
        413,
      ],
      [
        "unknown experience",
        () => chat(JSON.stringify({ message: "look", experience: "nowhere" })),
        404,
      ],
      [
        "path-like experience",
        () => chat(JSON.stringify({ message: "take lantern", experience: "../x" })),
        404,
      ],
      [
        "slash experience",
        () => chat(JSON.stringify({ message: "take lantern", experience: "/" })),
        404,
      ],
      [
        "NUL experience",
        () => chat(JSON.stringify({ message: "take lantern", experience: "a\u0000b" })),
        404,
      ],
      [
        "no token",
        () =>
          chat(JSON.stringify({ message: "look", experience: "wylding-woods" }), {
            "Content-Type": "application/json",
          }),
        401,
      ],
      ["bad scheme", () => chat("{}", { Authorization: `Basic ${token}` }), 401],
      ["expired token", () => chat("{}", { ...auth, Authorization: `Bearer ${expired}` }), 401],
      ["forged token", () => chat("{}", { ...auth, Authorization: `Bearer ${forged}` }), 401],
      [
        "state of unknown experience",
        () => fetch(`${stack.url}/api/v0.3/world/state?experience=..%2Fx`, { headers: auth }),
        404,
      ],
      [
        "world stream of unknown experience",
        () =>
          fetch(
            `${stack.url}/api/v0.3/world/stream?experience=..%2F..%2Fetc&access_token=${token}`,
          ),
        404,
      ],
      [
        "query token on the snapshot (not a stream: header only)",
        () =>
          fetch(`${stack.url}/api/v0.3/world/state?experience=wylding-woods&access_token=${token}`),
        401,
      ],
      [
        "world stream without token",
        () => fetch(`${stack.url}/api/v0.3/world/stream?experience=wylding-woods`),
        401,
      ],
      [
        "dev login with a control character",
        () =>
          fetch(`${stack.url}/api/v0.3/dev/login`, {
            method: "POST",
            headers: { "Content-Type": "application/json" },
            body: JSON.stringify({ user: "a\u0007" }),
          }),
        400,
      ],
      ["unknown route", () => fetch(`${stack.url}/api/v0.3/nothing`), 404],
    ];
    for (const [name, run, status] of cases) {
      const res = await run();
      const text = await res.text();
      assert.equal(res.status, status, `${name}: ${text}`);
      const body = JSON.parse(text);
      assert.equal(typeof body.error?.code, "string", `${name}: ${text}`);
      assert.equal(typeof body.error?.message, "string", `${name}: ${text}`);
    }
    assert.deepEqual(await tree(stack.stateDir), before, "bad input changed the state directory");
  }
});
