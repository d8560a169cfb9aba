/**
 * POST /api/v0.3/chat against the real KB (the glade fixture): event order,
 * the JSON answer, errors, the request id, cleanup.
 */
import assert from "node:assert/strict";
import { applyWorldUpdate } from "../../shared/apply.ts";
import type { InteractRequest } from "../../shared/schema.ts";
import { KB_INTERACT_ANY, KB_QUEUE } from "../../shared/subjects.ts";
import { eventually, GLADE, settledTree, setup, startKb, tree } from "../_helpers/mod.ts";

const { shared: GLADE_SHARED, solo: GLADE_SOLO } = GLADE;

Deno.test("chat SSE: metadata, world_update before content, done; subscriptions removed", async () => {
  await using h = await setup({ content: "glade" });
  const baseline = h.bus.subscriptionCount();
  const before = await h.state("alice", GLADE_SHARED);
  const msgs = await h.play("alice", "take bottle", GLADE_SHARED);
  const types = msgs.map((m) => m.event);
  assert.equal(types[0], "metadata");
  assert.equal(types[1], "world_update");
  assert.ok(types.indexOf("content") > 1, "content after the world_update");
  assert.equal(types.at(-1), "done");
  assert.equal(types.filter((t) => t === "world_update").length, 1, "the action's event once");
  assert.equal(msgs[0]!.data.model, "offline");
  assert.equal(typeof msgs[0]!.data.conversation_id, "string");
  const wu = msgs[1]!;
  assert.equal(wu.id, wu.data.id);
  assert.equal(wu.data.user_id, "alice");
  // The event, applied to the state before, is the state after.
  assert.deepEqual(applyWorldUpdate(before, wu.data), await h.state("alice", GLADE_SHARED));
  assert.deepEqual(
    wu.data.changes.player.find((op: { path: string }) => op.path === "inventory.bottle"),
    {
      operation: "add",
      path: "inventory.bottle",
      data: { name: "dream bottle" },
    },
  );
  const text = msgs.filter((m) => m.event === "content").map((m) => m.data.content).join("");
  assert.equal(text, "You take the dream bottle. A bottle holding a dream.");
  await eventually(() => h.bus.subscriptionCount() === baseline, {
    timeoutMs: 1000,
    what: "subscriptions back",
  });
  assert.equal(h.chat.openStreams().chat, 0);
});

Deno.test("chat: stream:false returns one JSON answer", async () => {
  await using h = await setup({ content: "glade" });
  const res = await h.fetch("/api/v0.3/chat", {
    method: "POST",
    headers: h.headers(await h.token("bob")),
    body: JSON.stringify({
      message: "take lamp",
      experience: GLADE_SOLO,
      stream: false,
      conversation_id: "c1",
    }),
  });
  assert.equal(res.status, 200);
  const body = await res.json();
  assert.equal(body.conversation_id, "c1");
  assert.equal(body.narrative, "You take the lamp. A small oil lamp.");
  assert.equal(body.world_updates.length, 1);
  assert.equal(body.world_updates[0].metadata.state_model, "isolated");
  assert.equal(body.outcome.kind, "took");
  // The first look after another command records it for `again`: a
  // player-only change; a look right after a look changes nothing.
  const first = await h.act("bob", "look", GLADE_SOLO);
  assert.equal(first.body.world_updates.length, 1);
  assert.equal(first.body.world_updates[0].changes.world, undefined);
  const look = await h.act("bob", "look", GLADE_SOLO);
  assert.deepEqual(look.body.world_updates, []);
  assert.equal(look.body.outcome.changed, false);
  assert.match(
    look.body.narrative,
    /^You are in the quiet glade\. Moss covers the stones\. You notice /,
  );
  assert.doesNotMatch(look.body.narrative, /lamp/, "bob holds the lamp now");
});

Deno.test("chat: bad input gets a clear 4xx and changes nothing", async () => {
  await using h = await setup({ content: "glade" });
  assert.equal((await h.act("carol", "north", GLADE_SHARED)).status, 200);
  const before = await settledTree(h.stateDir);
  const headers = h.headers(await h.token("carol"));
  const cases: [RequestInit, number, string][] = [
    [{ method: "POST", headers, body: "{not json" }, 400, "bad_request"],
    [
      { method: "POST", headers, body: JSON.stringify({ message: 5, experience: "x" }) },
      400,
      "bad_request",
    ],
    [{ method: "POST", headers, body: JSON.stringify({ message: "look" }) }, 400, "bad_request"],
    [
      {
        method: "POST",
        headers,
        body: JSON.stringify({ message: "x".repeat(17_000), experience: "a" }),
      },
      413,
      "body_too_large",
    ],
    [
      { method: "POST", headers, body: JSON.stringify({ message: "take x", experience: "../x" }) },
      404,
      "unknown_experience",
    ],
    [
      { method: "POST", body: JSON.stringify({ message: "look", experience: GLADE_SOLO }) },
      401,
      "unauthorized",
    ],
    [
      {
        method: "POST",
        headers: { Authorization: "Bearer nope", "Content-Type": "application/json" },
        body: JSON.stringify({ message: "north", experience: GLADE_SOLO }),
      },
      401,
      "unauthorized",
    ],
  ];
  for (const [init, status, code] of cases) {
    const res = await h.fetch("/api/v0.3/chat", init);
    const body = await res.json();
    assert.equal(res.status, status, JSON.stringify(body));
    assert.equal(body.error.code, code);
    assert.equal(typeof body.error.message, "string");
  }
  assert.deepEqual(await tree(h.stateDir), before, "nothing changed on disk");
  assert.equal(h.chat.openStreams().chat, 0);
});

Deno.test("chat: no KB reachable → 503 JSON error", async () => {
  // ROLE=chat without KB_URL, and no KB on the bus.
  await using h = await setup({ role: "chat", content: "glade" });
  const res = await h.fetch("/api/v0.3/chat", {
    method: "POST",
    headers: h.headers(await h.token("dave")),
    body: JSON.stringify({ message: "look", experience: GLADE_SOLO }),
  });
  assert.equal(res.status, 503);
  assert.equal((await res.json()).error.code, "kb_unavailable");
});

Deno.test("chat: a second action with the X-Request-Id of one still waiting for the KB gets 409", async () => {
  // ROLE=chat and a KB of its own behind a gate: a purpose-built responder
  // that holds each request until released, then hands it to the real KB
  // (which commits and publishes as always) and relays the KB's reply.
  await using h = await setup({ role: "chat", content: "glade" });
  await using other = await startKb({ natsUrl: h.nats!.url, dataDir: h.dataDir, responder: false });
  let release!: () => void;
  const gate = new Promise<void>((r) => release = r);
  let arrived = 0;
  const gateSub = other.bus.subscribe(KB_INTERACT_ANY, {
    queue: KB_QUEUE,
    callback: async (msg) => {
      arrived++;
      await gate;
      const reply = await other.kb.interact(msg.json<InteractRequest>());
      msg.respond(JSON.stringify(reply), { requestId: msg.requestId });
    },
  });
  try {
    await other.bus.flush();
    const headers = { ...h.headers(await h.token("twin")), "X-Request-Id": "same-id" };
    const post = (message: string) =>
      h.fetch("/api/v0.3/chat", {
        method: "POST",
        headers,
        body: JSON.stringify({ message, experience: GLADE_SHARED, stream: false }),
      });
    const first = post("north");
    await eventually(() => arrived === 1, {
      timeoutMs: 2_000,
      what: "the first request at the KB",
    });
    const second = await post("take lamp");
    assert.equal(second.status, 409);
    assert.equal((await second.json()).error.code, "request_in_progress");
    release();
    const answer = await (await first).json();
    assert.equal(answer.world_updates.length, 1);
    const snap = await other.kb.snapshot("twin", GLADE_SHARED);
    assert.equal(snap.version, 1, "only the first action ran");
    assert.deepEqual(snap.player.inventory, {});
    // Once answered, the id is free again (a new action, as the KB keys by message too).
    const third = await post("south");
    assert.equal(third.status, 200);
    assert.equal((await third.json()).outcome.kind, "moved");
  } finally {
    release();
    gateSub.unsubscribe();
  }
});

Deno.test("chat: the request id travels to the KB and into the event", async () => {
  await using h = await setup({ content: "glade" });
  const s = await h.chatStream("erin", "north", GLADE_SHARED, { "X-Request-Id": "req-123" });
  await s.untilEnd();
  await s.close();
  assert.equal(s.response.headers.get("x-request-id"), "req-123");
  assert.equal(s.response.headers.get("content-type"), "text/event-stream; charset=utf-8");
  const wu = s.received()[0]!;
  assert.equal(wu.data.metadata.request_id, "req-123");
});

Deno.test("chat over the in-process bus", async () => {
  await using h = await setup({ nats: "in-process", content: "glade" });
  const baseline = h.bus.subscriptionCount();
  const msgs = await h.play("alice", "take bottle", GLADE_SHARED);
  assert.deepEqual(msgs.map((m) => m.event).slice(0, 2), ["metadata", "world_update"]);
  assert.equal(msgs.at(-1)!.event, "done");
  assert.equal(h.bus.subscriptionCount(), baseline, "only the KB's responders remain");
});
