/**
 * Guarantee 7 at the public edge: malformed JSON, wrong types, oversize
 * bodies, unknown experiences, path-like ids, missing or bad tokens each get
 * a clear 4xx JSON error, and the state directory is byte-for-byte unchanged.
 */
import { deepStrictEqual } from "node:assert/strict";
import { issueToken } from "../../shared/auth.ts";
import { startStack } from "../helpers/stack.ts";
import { settledTree, tree } from "../kb/_support.ts";

function assert(cond: unknown, msg: string): asserts cond {
  if (!cond) throw new Error(msg);
}

Deno.test("bad input at the edge: clear 4xx JSON errors and no state change", async () => {
  const stack = await startStack();
  try {
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
    assert(first.status === 200, `first action ${first.status}`);
    await first.body?.cancel();
    // The answer comes once the action is durable; its intent is emptied just after.
    const before = await settledTree(stack.stateDir);

    const expired = await issueToken("careful", "test-secret-test-secret-test-secret", -10);
    const forged = await issueToken("careful", "another-secret-another-secret");
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
      assert(res.status === status, `${name}: ${res.status} (want ${status}) ${text}`);
      const body = JSON.parse(text);
      assert(
        typeof body.error?.code === "string" && typeof body.error?.message === "string",
        `${name}: ${text}`,
      );
    }
    deepStrictEqual(await tree(stack.stateDir), before, "bad input changed the state directory");
  } finally {
    await stack.dispose();
  }
});
