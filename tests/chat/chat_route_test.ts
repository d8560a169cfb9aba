/**
 * POST /api/v0.3/chat: event order, the JSON answer, errors, cleanup.
 */
import assert from "node:assert/strict";
import { applyWorldUpdate } from "../../shared/apply.ts";
import { authHeaders, eventually, playSse, SseClient, startHarness } from "./harness.ts";

Deno.test("chat SSE: metadata, world_update before content, done; subscriptions removed", async () => {
  const h = await startHarness();
  try {
    const baseline = h.bus.subscriptionCount();
    const msgs = await playSse(h, "alice", "take bottle", "shared-woods");
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
    assert.deepEqual(wu.data, h.kb.published[0]!);
    const snap = applyWorldUpdate(
      { version: 0, world: { items: { bottle: {} } }, player: {} },
      wu.data,
    );
    assert.deepEqual(snap.player, { inventory: { bottle: { name: "bottle" } } });
    const text = msgs.filter((m) => m.event === "content").map((m) => m.data.content).join("");
    assert.equal(text, "You take the bottle.");
    await eventually(() => h.bus.subscriptionCount() === baseline, 1000, "subscriptions back");
    assert.equal(h.chat.openStreams().chat, 0);
  } finally {
    await h.close();
  }
});

Deno.test("chat: stream:false returns one JSON answer", async () => {
  const h = await startHarness();
  try {
    const res = await fetch(`${h.base}/api/v0.3/chat`, {
      method: "POST",
      headers: await authHeaders(h, "bob"),
      body: JSON.stringify({
        message: "take lamp",
        experience: "solo-cave",
        stream: false,
        conversation_id: "c1",
      }),
    });
    assert.equal(res.status, 200);
    const body = await res.json();
    assert.equal(body.conversation_id, "c1");
    assert.equal(body.narrative, "You take the lamp.");
    assert.equal(body.world_updates.length, 1);
    assert.equal(body.world_updates[0].metadata.state_model, "isolated");
    assert.equal(body.outcome.kind, "took");
    const look = await fetch(`${h.base}/api/v0.3/chat`, {
      method: "POST",
      headers: await authHeaders(h, "bob"),
      body: JSON.stringify({ message: "look", experience: "solo-cave", stream: false }),
    }).then((r) => r.json());
    assert.deepEqual(look.world_updates, []);
    assert.match(
      look.narrative,
      /quiet glade\. Moss covers the stones\. You notice a dream bottle here\./,
    );
  } finally {
    await h.close();
  }
});

Deno.test("chat: bad input gets a clear 4xx and changes nothing", async () => {
  const h = await startHarness();
  try {
    const url = `${h.base}/api/v0.3/chat`;
    const headers = await authHeaders(h, "carol");
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
        {
          method: "POST",
          headers,
          body: JSON.stringify({ message: "take x", experience: "../x" }),
        },
        404,
        "unknown_experience",
      ],
      [
        { method: "POST", body: JSON.stringify({ message: "look", experience: "solo-cave" }) },
        401,
        "unauthorized",
      ],
      [
        {
          method: "POST",
          headers: { Authorization: "Bearer nope", "Content-Type": "application/json" },
          body: JSON.stringify({ message: "look", experience: "solo-cave" }),
        },
        401,
        "unauthorized",
      ],
    ];
    for (const [init, status, code] of cases) {
      const res = await fetch(url, init);
      const body = await res.json();
      assert.equal(res.status, status, JSON.stringify(body));
      assert.equal(body.error.code, code);
      assert.equal(typeof body.error.message, "string");
    }
    assert.equal(h.kb.published.length, 0);
    assert.equal(h.chat.openStreams().chat, 0);
  } finally {
    await h.close();
  }
});

Deno.test("chat: no KB reachable → 503 JSON error", async () => {
  const h = await startHarness({ kbResponder: false, localKb: false });
  try {
    const res = await fetch(`${h.base}/api/v0.3/chat`, {
      method: "POST",
      headers: await authHeaders(h, "dave"),
      body: JSON.stringify({ message: "look", experience: "solo-cave" }),
    });
    assert.equal(res.status, 503);
    assert.equal((await res.json()).error.code, "kb_unavailable");
  } finally {
    await h.close();
  }
});

Deno.test("chat: a second action with the X-Request-Id of one still waiting for the KB gets 409", async () => {
  const h = await startHarness();
  let release!: () => void;
  h.kb.gate = new Promise<void>((r) => release = r);
  try {
    const headers = { ...(await authHeaders(h, "twin")), "X-Request-Id": "same-id" };
    const post = (message: string) =>
      fetch(`${h.base}/api/v0.3/chat`, {
        method: "POST",
        headers,
        body: JSON.stringify({ message, experience: "shared-woods", stream: false }),
      });
    const first = post("take coin");
    await eventually(() => h.kb.calls.bus === 1, 2_000, "the first request at the KB");
    const second = await post("touch");
    assert.equal(second.status, 409);
    assert.equal((await second.json()).error.code, "request_in_progress");
    release();
    const answer = await (await first).json();
    assert.equal(answer.world_updates.length, 1);
    assert.equal(h.kb.published.length, 1, "only the first action ran");
    // Once answered, the id is free again (a new action, as the KB keys by message too).
    const third = await post("touch");
    assert.equal(third.status, 200);
    await third.body?.cancel();
  } finally {
    release();
    await h.close();
  }
});

Deno.test("chat: the request id travels to the KB and into the event", async () => {
  const h = await startHarness();
  try {
    const headers = { ...(await authHeaders(h, "erin")), "X-Request-Id": "req-123" };
    const s = await SseClient.open(`${h.base}/api/v0.3/chat`, {
      method: "POST",
      headers,
      body: JSON.stringify({ message: "touch", experience: "shared-woods" }),
    });
    await s.untilEnd();
    await s.close();
    assert.equal(s.response.headers.get("x-request-id"), "req-123");
    assert.equal(s.response.headers.get("content-type"), "text/event-stream; charset=utf-8");
    const wu = s.messages.find((m) => m.event === "world_update")!;
    assert.equal(wu.data.metadata.request_id, "req-123");
  } finally {
    await h.close();
  }
});

Deno.test("chat over the in-process bus", async () => {
  const h = await startHarness({ inProcess: true });
  try {
    const msgs = await playSse(h, "alice", "take bottle", "shared-woods");
    assert.deepEqual(msgs.map((m) => m.event).slice(0, 2), ["metadata", "world_update"]);
    assert.equal(msgs.at(-1)!.event, "done");
    assert.equal(h.bus.subscriptionCount(), 1, "only the fake KB's responder remains");
  } finally {
    await h.close();
  }
});
