/**
 * One action followed across processes: with ROLE=chat and ROLE=kb in two
 * processes on one nats-server, the request id given at the edge comes back
 * in the response header, travels to the KB in NATS headers, and appears in
 * both processes' JSON logs and in the event's metadata.
 */
import assert from "node:assert/strict";
import { buildApp } from "../../shared/app.ts";
import { InProcessBus } from "../../shared/bus/mod.ts";
import { eventually, natsServer, setup, spawnServer, tokenFor } from "../_helpers/mod.ts";

Deno.test("request ids travel from the edge through NATS to the KB and into both logs", async () => {
  await using nats = await natsServer();
  const stateDir = await Deno.makeTempDir({ prefix: "gaia-rid-" });
  const env = { NATS_URL: nats.url, STATE_DIR: stateDir, LOG_LEVEL: "info" };
  const kb = await spawnServer({ ...env, ROLE: "kb" });
  const chat = await spawnServer({ ...env, ROLE: "chat", KB_URL: kb.url });
  try {
    const token = await tokenFor("tracer");
    const rid = `trace-${crypto.randomUUID()}`;
    const res = await fetch(`${chat.url}/api/v0.3/chat`, {
      method: "POST",
      headers: {
        Authorization: `Bearer ${token}`,
        "Content-Type": "application/json",
        "X-Request-Id": rid,
      },
      body: JSON.stringify({ message: "north", experience: "wylding-woods", stream: false }),
    });
    assert.equal(res.status, 200);
    assert.equal(res.headers.get("X-Request-Id"), rid, "request id header echoed");
    const answer = await res.json();
    assert.equal(answer.world_updates[0]?.metadata.request_id, rid, JSON.stringify(answer));
    // A response without a given id gets a generated one.
    const plain = await fetch(`${chat.url}/health`);
    await plain.body?.cancel();
    assert.ok((plain.headers.get("X-Request-Id") ?? "").length > 8, "generated request id");

    // Both processes write their log lines as they go: wait for them.
    const logged = (p: typeof kb, msg: string) => () =>
      p.records().some((r) => r.request_id === rid && r.msg === msg);
    await eventually(logged(kb, "kb action"), {
      what: () => `the id in the kb log: ${kb.lines.slice(-5)}`,
    });
    await eventually(logged(chat, "http"), {
      what: () => `the id in the chat log: ${chat.lines.slice(-5)}`,
    });
  } finally {
    chat.kill("SIGTERM");
    kb.kill("SIGTERM");
    await chat.status;
    await kb.status;
    await Deno.remove(stateDir, { recursive: true });
  }
});

Deno.test("one X-Request-Id for three actions at once: each answer has only its own event (409 for those refused)", async () => {
  await using stack = await setup();
  {
    const token = await stack.login("reuser");
    const headers = { ...stack.headers(token), "X-Request-Id": "fixed-id" };
    const post = (message: string) =>
      fetch(`${stack.url}/api/v0.3/chat`, {
        method: "POST",
        headers,
        body: JSON.stringify({ message, experience: "wylding-woods", stream: false }),
      }).then(async (r) => ({ status: r.status, body: await r.json() }));
    const answers = await Promise.all([post("go north"), post("inventory"), post("look")]);
    const ok = answers.filter((a) => a.status === 200);
    const refused = answers.filter((a) => a.status === 409);
    assert.ok(ok.length >= 1 && ok.length + refused.length === 3, JSON.stringify(answers));
    for (const a of refused) assert.equal(a.body.error.code, "request_in_progress");
    // Whatever ran got its own world updates only: one action's event at most.
    const ids = ok.flatMap((a) => a.body.world_updates.map((e: { id: string }) => e.id));
    assert.equal(new Set(ids).size, ids.length, `an event in two answers: ${JSON.stringify(ok)}`);
    // Sequentially, the same id with another message is another action.
    const next = await post("go south");
    assert.equal(next.status, 200);
    assert.notEqual(next.body.outcome.kind, "looked", "a new action ran");
  }
});

Deno.test("request ids: a sane incoming X-Request-Id is kept, anything else replaced", async () => {
  const bus = new InProcessBus();
  const app = buildApp({ role: "kb", bus, routes: [] });
  const idFor = async (incoming?: string) => {
    const res = await app.request("/health", {
      headers: incoming === undefined ? {} : { "X-Request-Id": incoming },
    });
    await res.body?.cancel();
    return res.headers.get("X-Request-Id") ?? "";
  };
  for (const kept of ["trace-1", "a.b:c_d-9", "x".repeat(128)]) {
    assert.equal(await idFor(kept), kept);
  }
  const generated = await idFor();
  assert.ok(generated.length > 8, `generated: ${generated}`);
  for (const replaced of ["has space", "semi;colon", "x".repeat(129), "ünï", "a=b"]) {
    const got = await idFor(replaced);
    assert.notEqual(got, replaced);
    assert.ok(got.length > 8, `${replaced} replaced by ${got}`);
  }
  await bus.close();
});
