/**
 * GET /api/v0.3/world/stream against the real KB (the glade fixture): own
 * and others' events exactly once, ids, keep-alives, one NATS subscription
 * per subject, cleanup within 1 s, shutdown.
 */
import assert from "node:assert/strict";
import { OfflineNarrator } from "../../chat/mod.ts";
import type { WorldUpdateEvent } from "../../shared/schema.ts";
import {
  eventually,
  GLADE,
  natsSubscriptions,
  setup,
  SseClient,
  type TestStack,
} from "../_helpers/mod.ts";

const { shared: SHARED, solo: SOLO } = GLADE;

/** One action through the chat route; returns its event (the actor's full copy). */
async function act(h: TestStack, user: string, message: string, experience: string = SHARED) {
  const { status, body } = await h.act(user, message, experience);
  assert.equal(status, 200, JSON.stringify(body));
  assert.equal(body.world_updates.length, 1, `${user}: '${message}' changes state`);
  return body.world_updates[0] as WorldUpdateEvent;
}

/**
 * What a player who is not the actor receives of `e` in a shared world: its
 * world part (`{}` for a player-only change, so versions have no gaps).
 */
const worldPart = (e: WorldUpdateEvent) => ({
  ...e,
  changes: e.changes.world ? { world: e.changes.world } : {},
});

Deno.test("world stream: own events and others' world changes, each exactly once", async () => {
  await using h = await setup({ content: "glade" });
  const alice = await h.world("alice", SHARED);
  const bob = await h.world("bob", SHARED);
  const aliceSolo = await h.world("alice", SOLO);
  const bottle = await act(h, "alice", "take bottle"); // world + player
  const sack = await act(h, "bob", "take red sack");
  const stone = await act(h, "bob", "take red stone");
  const blue = await act(h, "bob", "take blue sack");
  const put = await act(h, "bob", "put red stone in blue sack"); // player only: others get {}
  assert.equal(put.changes.world, undefined);
  const lamp = await act(h, "alice", "take lamp", SOLO); // isolated: alice's solo stream only
  const north = await act(h, "alice", "north");

  const a = await alice.take(6);
  assert.deepEqual(a.map((m) => m.data), [
    bottle,
    worldPart(sack),
    worldPart(stone),
    worldPart(blue),
    { ...put, changes: {} },
    north,
  ], "alice: her full events, bob's world parts, nothing of his player-only change");
  const b = await bob.take(6);
  assert.deepEqual(
    b.map((m) => m.data),
    [worldPart(bottle), sack, stone, blue, put, worldPart(north)],
  );
  const [s1] = await aliceSolo.take(1);
  assert.deepEqual(s1!.data, lamp);
  for (const m of [...a, ...b, s1!]) assert.equal(m.id, m.data.id);

  // Nothing else arrives (in particular no duplicate through the experience
  // subject): the next update on each stream is a later action's.
  // (Not understood: no change, so no event.)
  assert.deepEqual((await h.act("alice", "dance wildly", SHARED)).body.world_updates, []);
  const carol = await act(h, "carol", "north");
  const late = await act(h, "alice", "north", SOLO);
  assert.equal((await alice.take(1))[0]!.id, carol.id);
  assert.equal((await bob.take(1))[0]!.id, carol.id);
  assert.equal((await aliceSolo.take(1))[0]!.id, late.id);
  assert.equal(alice.retry, 2000);
  await Promise.all([alice.close(), bob.close(), aliceSolo.close()]);
});

Deno.test("world stream: keep-alive comments on idle streams; query token accepted", async () => {
  await using h = await setup({ content: "glade", env: { KEEPALIVE_INTERVAL: "100ms" } });
  const s = await h.world("kim", SHARED, { query: true });
  await eventually(() => s.comments.filter((c) => c === "keep-alive").length >= 3, {
    timeoutMs: 2000,
    what: "keep-alives",
  });
  await s.close();
  const noAuth = await h.fetch(`/api/v0.3/world/stream?experience=${SHARED}`);
  assert.equal(noAuth.status, 401);
  await noAuth.body?.cancel();
  const noExp = await h.fetch(`/api/v0.3/world/stream?access_token=${await h.token("kim")}`);
  assert.equal(noExp.status, 400);
  await noExp.body?.cancel();
});

Deno.test("world streams share one NATS subscription per subject; gone within 1 s of closing", async () => {
  await using h = await setup({ content: "glade" });
  const subsz = () => natsSubscriptions(h.nats!);
  const baseLocal = h.bus.subscriptionCount();
  const baseServer = await subsz();
  const users = Array.from({ length: 40 }, (_, i) => `u${i}`);
  const streams = await Promise.all(users.map((u) => h.world(u, SHARED)));
  // 40 user subjects + 1 experience subject, + the experience's presence and talk subjects.
  assert.equal(h.bus.subscriptionCount() - baseLocal, 43);
  assert.equal(h.chat.subscribedSubjects(), 41);
  await eventually(async () => (await subsz()) - baseServer === 43, {
    timeoutMs: 2000,
    what: "server sees 43 subs",
  });
  await act(h, "u0", "north");
  for (const s of streams) assert.equal((await s.take(1))[0]!.data.user_id, "u0");
  const closedAt = performance.now();
  await Promise.all(streams.map((s) => s.close()));
  await eventually(() => h.bus.subscriptionCount() === baseLocal, {
    timeoutMs: 1000,
    what: "local subs back",
  });
  await eventually(async () => (await subsz()) === baseServer, {
    timeoutMs: 1000,
    what: "server subs back",
  });
  assert.ok(performance.now() - closedAt < 1000);
  assert.equal(h.chat.openStreams().world, 0);
});

Deno.test("close(): world streams get a retry hint and end; chat streams end with error then done", async () => {
  await using h = await setup({
    content: "glade",
    narrator: new OfflineNarrator({ firstTokenMs: 0, tokenMs: 200 }),
  });
  const baseline = h.bus.subscriptionCount();
  const world = await h.world("alice", SHARED);
  const chat = await h.chatStream("alice", "look", SHARED);
  await chat.take(1, "content");
  const firstRetry = world.retry;
  await h.chat.close();
  await world.untilEnd();
  await chat.untilEnd();
  assert.equal(firstRetry, 2000);
  assert.ok(world.retry! >= 2000 && world.retry! <= 6000, `retry hint ${world.retry}`);
  assert.deepEqual(chat.messages.slice(-2).map((m) => m.event), ["error", "done"]);
  assert.equal(chat.messages.at(-2)!.data.code, "shutting_down");
  assert.deepEqual(h.chat.openStreams(), { chat: 0, world: 0 });
  assert.equal(h.chat.subscribedSubjects(), 0);
  assert.equal(h.bus.subscriptionCount(), baseline, "only the KB's responders remain");
  await Promise.all([world.close(), chat.close()]);
  assert.equal(world.error, undefined, "the world stream ended cleanly");
});

Deno.test("SseClient.from reads a stream of app.request() (no socket)", async () => {
  await using h = await setup({ content: "glade", serve: false });
  const s = await SseClient.from(
    await h.app.request(`/api/v0.3/world/stream?experience=${SHARED}`, {
      headers: { Authorization: `Bearer ${await h.token("nosock")}` },
    }),
  );
  const e = await act(h, "nosock", "north");
  assert.equal((await s.take(1))[0]!.id, e.id);
  await s.close();
});
