/**
 * GET /api/v0.3/world/stream: own and others' events exactly once, ids,
 * keep-alives, one NATS subscription per subject, cleanup within 1 s.
 */
import assert from "node:assert/strict";
import { OfflineNarrator } from "../../chat/mod.ts";
import { authHeaders, eventually, openWorld, SseClient, startHarness } from "./harness.ts";

async function act(
  h: Awaited<ReturnType<typeof startHarness>>,
  user: string,
  message: string,
  experience: string,
) {
  const res = await fetch(`${h.base}/api/v0.3/chat`, {
    method: "POST",
    headers: await authHeaders(h, user),
    body: JSON.stringify({ message, experience, stream: false }),
  });
  assert.equal(res.status, 200, await res.clone().text());
  return await res.json();
}

Deno.test("world stream: own events and others' world changes, each exactly once", async () => {
  const h = await startHarness();
  try {
    const alice = await openWorld(h, "alice", "shared-woods");
    const bob = await openWorld(h, "bob", "shared-woods");
    const aliceSolo = await openWorld(h, "alice", "solo-cave");
    await act(h, "alice", "take bottle", "shared-woods"); // world + player
    await act(h, "bob", "whisper hello", "shared-woods"); // player only: alice gets its version, bare
    await act(h, "alice", "touch", "shared-woods"); // world only
    await act(h, "alice", "take lamp", "solo-cave"); // isolated: alice's solo stream only
    await act(h, "bob", "take stick", "shared-woods");
    const [a1, aw, a2, a3] = await alice.take(4);
    const [b1, b2, b3, b4] = await bob.take(4);
    const [s1] = await aliceSolo.take(1);
    const [taken, whisper, touch, lamp, stick] = h.kb.published;

    assert.deepEqual(a1!.data, taken, "alice gets her full event");
    assert.deepEqual(aw!.data, { ...whisper, changes: {} }, "bob's player scope stays bob's");
    assert.deepEqual(a2!.data, touch);
    assert.equal(a3!.data.id, stick!.id);
    assert.deepEqual(
      a3!.data.changes,
      { world: stick!.changes.world },
      "bob's player scope stays bob's",
    );

    assert.equal(b1!.data.id, taken!.id);
    assert.deepEqual(b1!.data.changes, { world: taken!.changes.world });
    assert.deepEqual(b2!.data, whisper);
    assert.equal(b3!.data.id, touch!.id);
    assert.deepEqual(b4!.data, stick);

    assert.deepEqual(s1!.data, lamp);
    for (const m of [a1, aw, a2, a3, b1, b2, b3, b4, s1]) assert.equal(m!.id, m!.data.id);

    // Nothing else arrives (in particular no duplicate through the experience subject).
    await act(h, "alice", "look", "shared-woods");
    await new Promise((r) => setTimeout(r, 150));
    assert.equal(alice.messages.filter((m) => m.event === "world_update").length, 4);
    assert.equal(bob.messages.filter((m) => m.event === "world_update").length, 4);
    assert.equal(aliceSolo.messages.filter((m) => m.event === "world_update").length, 1);
    assert.equal(alice.retry, 2000);
    await Promise.all([alice.close(), bob.close(), aliceSolo.close()]);
  } finally {
    await h.close();
  }
});

Deno.test("world stream: keep-alive comments on idle streams; query token accepted", async () => {
  const h = await startHarness({ chat: { keepAliveMs: 100 } });
  try {
    const token = await h.token("kim");
    const s = await SseClient.open(
      `${h.base}/api/v0.3/world/stream?experience=shared-woods&access_token=${token}`,
    );
    await eventually(
      () => s.comments.filter((c) => c === "keep-alive").length >= 3,
      2000,
      "keep-alives",
    );
    await s.close();
    const noAuth = await fetch(`${h.base}/api/v0.3/world/stream?experience=shared-woods`);
    assert.equal(noAuth.status, 401);
    await noAuth.body?.cancel();
    const noExp = await fetch(`${h.base}/api/v0.3/world/stream?access_token=${token}`);
    assert.equal(noExp.status, 400);
    await noExp.body?.cancel();
  } finally {
    await h.close();
  }
});

Deno.test("world streams share one NATS subscription per subject; gone within 1 s of closing", async () => {
  const h = await startHarness();
  try {
    const subsz = async () => {
      const r = await fetch(`http://127.0.0.1:${h.nats!.monitorPort}/subsz`);
      return (await r.json()).num_subscriptions as number;
    };
    const baseLocal = h.bus.subscriptionCount();
    const baseServer = await subsz();
    const users = Array.from({ length: 40 }, (_, i) => `u${i}`);
    const streams = await Promise.all(users.map((u) => openWorld(h, u, "shared-woods")));
    // 40 user subjects + 1 experience subject.
    assert.equal(h.bus.subscriptionCount() - baseLocal, 41);
    assert.equal(h.chat.subscribedSubjects(), 41);
    await eventually(async () => (await subsz()) - baseServer === 41, 2000, "server sees 41 subs");
    await act(h, "u0", "touch", "shared-woods");
    for (const s of streams) assert.equal((await s.take(1))[0]!.data.user_id, "u0");
    const closedAt = performance.now();
    await Promise.all(streams.map((s) => s.close()));
    await eventually(() => h.bus.subscriptionCount() === baseLocal, 1000, "local subs back");
    await eventually(async () => (await subsz()) === baseServer, 1000, "server subs back");
    assert.ok(performance.now() - closedAt < 1000);
    assert.equal(h.chat.openStreams().world, 0);
  } finally {
    await h.close();
  }
});

Deno.test("close(): world streams get a retry hint and end; chat streams end with error then done", async () => {
  const h = await startHarness({
    chat: { narratorImpl: new OfflineNarrator({ firstTokenMs: 0, tokenMs: 200 }) },
  });
  let closed = false;
  try {
    const world = await openWorld(h, "alice", "shared-woods");
    const chat = await SseClient.open(`${h.base}/api/v0.3/chat`, {
      method: "POST",
      headers: await authHeaders(h, "alice"),
      body: JSON.stringify({ message: "look", experience: "shared-woods" }),
    });
    await chat.take(1, "content");
    const firstRetry = world.retry;
    await h.chat.close();
    closed = true;
    await world.untilEnd();
    await chat.untilEnd();
    assert.equal(firstRetry, 2000);
    assert.ok(world.retry! >= 2000 && world.retry! <= 6000, `retry hint ${world.retry}`);
    assert.deepEqual(chat.messages.slice(-2).map((m) => m.event), ["error", "done"]);
    assert.equal(chat.messages.at(-2)!.data.code, "shutting_down");
    assert.deepEqual(h.chat.openStreams(), { chat: 0, world: 0 });
    assert.equal(h.bus.subscriptionCount(), 0);
    await Promise.all([world.close(), chat.close()]);
  } finally {
    if (!closed) await h.chat.close();
    await h.close();
  }
});
