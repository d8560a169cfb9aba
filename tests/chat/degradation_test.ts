/**
 * Degradation: the test's nats-server is killed mid-session. Actions still
 * apply through the in-process KB (or KB_URL), the actor still gets its
 * world_update (from the KB reply) and its narrative; when nats-server comes
 * back on the same port, open world streams resume by themselves and replay
 * fills in what they could not see live.
 */
import assert from "node:assert/strict";
import { newRequestId } from "../../shared/ids.ts";
import type { InteractRequest } from "../../shared/schema.ts";
import type { FakeKb } from "./fake_kb.ts";
import { eventually, openWorld, playSse, startHarness } from "./harness.ts";

Deno.test("degradation: NATS killed mid-session, actions continue, streams resume and fill the gap", async () => {
  // Chat reconnects slower than the KB, so events published right after the
  // restart cannot reach chat live: only replay can deliver them.
  const h = await startHarness({ chatReconnectMs: 1_500 });
  try {
    const alice = await openWorld(h, "alice", "shared-woods");
    const bob = await openWorld(h, "bob", "shared-woods");
    const first = await playSse(h, "alice", "take acorn", "shared-woods");
    assert.equal(first[1]!.event, "world_update");
    await alice.take(1);
    await bob.take(1);
    assert.equal(h.kb.calls.bus, 1);

    await h.nats!.stop();
    await eventually(() => h.bus.status() !== "connected", 3000, "chat sees NATS down");
    await eventually(() => h.kbBus.status() !== "connected", 3000, "KB sees NATS down");

    // Actions during the outage: KB in-process; world_update from the reply.
    const during = await playSse(h, "alice", "take pebble", "shared-woods");
    const types = during.map((m) => m.event);
    assert.deepEqual(types.slice(0, 2), ["metadata", "world_update"]);
    assert.ok(types.includes("content"));
    assert.equal(types.at(-1), "done");
    assert.equal(during[1]!.data.id, h.kb.published[1]!.id);
    assert.ok(h.kb.calls.local >= 1);
    const bobAction = await playSse(h, "bob", "touch", "shared-woods");
    assert.equal(bobAction[1]!.event, "world_update");

    await h.nats!.restart();
    // The KB publishes its outbox and new events after NATS is back, before
    // chat has reconnected: chat cannot see them live, only replay can.
    await eventually(() => h.kbBus.status() === "connected", 3000, "KB reconnected");
    const req = (user: string, message: string): InteractRequest => ({
      request_id: newRequestId(),
      user_id: user,
      experience: "shared-woods",
      message,
    });
    h.kb.apply(req("carol", "touch"));
    h.kb.apply(req("alice", "whisper hi"));
    await h.kbBus.flush();
    assert.notEqual(h.bus.status(), "connected", "chat must still be reconnecting here");

    const expectAlice = h.kb.published.slice(1).map((e) => e.id);
    const expectBob = h.kb.published.slice(1).filter((e) => e.user_id === "bob" || e.changes.world)
      .map((e) => e.id);
    const gotAlice = await alice.take(expectAlice.length, "world_update", 15_000);
    const gotBob = await bob.take(expectBob.length, "world_update", 15_000);
    assert.deepEqual(gotAlice.map((m) => m.id), expectAlice);
    assert.deepEqual(gotBob.map((m) => m.id), expectBob);

    // And live again, once.
    await playSse(h, "carol", "touch", "shared-woods");
    const [live] = await alice.take(1);
    assert.equal(live!.id, h.kb.published.at(-1)!.id);
    await new Promise((r) => setTimeout(r, 200));
    const ids = alice.messages.filter((m) => m.event === "world_update").map((m) => m.id);
    assert.equal(new Set(ids).size, ids.length, "no duplicates");
    assert.equal(alice.messages.filter((m) => m.event === "resync").length, 0);
    await Promise.all([alice.close(), bob.close()]);
  } finally {
    await h.close();
  }
});

Deno.test("degradation (ROLE=chat): with NATS down the KB is reached over KB_URL", async () => {
  const ref: { kb?: FakeKb } = {};
  const seen: { auth?: string; requestId?: string }[] = [];
  const kbHttp = Deno.serve({ port: 0, hostname: "127.0.0.1", onListen() {} }, async (req) => {
    const body = await req.json();
    seen.push({
      auth: req.headers.get("authorization") ?? undefined,
      requestId: req.headers.get("x-request-id") ?? undefined,
    });
    const reply = ref.kb!.apply({
      request_id: req.headers.get("x-request-id")!,
      user_id: "from-token",
      experience: body.experience,
      message: body.message,
    });
    if (!reply.ok) return Response.json({ error: reply.error }, { status: reply.error.status });
    return Response.json(reply);
  });
  const h = await startHarness({
    localKb: false,
    kbUrl: `http://127.0.0.1:${kbHttp.addr.port}`,
  });
  ref.kb = h.kb;
  try {
    await h.nats!.stop();
    await eventually(() => h.bus.status() !== "connected", 3000, "chat sees NATS down");
    const msgs = await playSse(h, "alice", "take leaf", "shared-woods");
    assert.deepEqual(msgs.map((m) => m.event).slice(0, 2), ["metadata", "world_update"]);
    assert.equal(msgs.at(-1)!.event, "done");
    assert.match(seen[0]!.auth ?? "", /^Bearer /);
    assert.equal(seen[0]!.requestId, msgs[1]!.data.metadata.request_id);
    const missing = await fetch(`${h.base}/api/v0.3/chat`, {
      method: "POST",
      headers: {
        Authorization: `Bearer ${await h.token("alice")}`,
        "Content-Type": "application/json",
      },
      body: JSON.stringify({ message: "look", experience: "nowhere" }),
    });
    assert.equal(missing.status, 404);
    assert.equal((await missing.json()).error.code, "unknown_experience");
  } finally {
    await h.close();
    await kbHttp.shutdown();
  }
});
