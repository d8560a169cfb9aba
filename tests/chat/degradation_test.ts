/**
 * Degradation, against the real KB: the test's nats-server is killed
 * mid-session. Actions still apply through the in-process KB (ROLE=all) or
 * KB_URL (ROLE=chat), the actor still gets its world_update (from the KB
 * reply) and its narrative; when nats-server comes back on the same port,
 * open world streams resume by themselves and replay fills in what they
 * could not see live.
 */
import assert from "node:assert/strict";
import { newRequestId } from "../../shared/ids.ts";
import type { WorldUpdateEvent } from "../../shared/schema.ts";
import { eventually, GLADE, setup, type TestStack } from "../_helpers/mod.ts";

const EXP = GLADE.shared;

/** One action over the chat route as a stream; its messages, the world_update checked. */
async function play(h: TestStack, user: string, message: string) {
  const msgs = await h.play(user, message, EXP);
  const types = msgs.map((m) => m.event);
  assert.deepEqual(types.slice(0, 2), ["metadata", "world_update"], `${user}: ${message}`);
  assert.ok(types.includes("content"));
  assert.equal(types.at(-1), "done");
  return msgs[1]!.data as WorldUpdateEvent;
}

Deno.test("degradation: NATS killed mid-session, actions continue, streams resume and fill the gap", async () => {
  // Two processes on one nats-server: A (ROLE=all) takes the actions and
  // reconnects fast; B (ROLE=chat) holds the world streams and reconnects
  // slowly, so what A publishes right after the restart cannot reach B's
  // streams live: only replay can deliver it.
  await using a = await setup({ content: "glade", reconnectTimeWaitMs: 100 });
  await using b = await setup({
    role: "chat",
    nats: a.nats!,
    content: { dataDir: a.dataDir },
    reconnectTimeWaitMs: 1_500,
  });
  const alice = await b.world("alice", EXP);
  const bob = await b.world("bob", EXP);
  const before: WorldUpdateEvent[] = [];
  for (const m of ["take red sack", "take red stone", "take blue sack"]) {
    before.push(await play(a, "alice", m));
  }
  assert.deepEqual((await alice.take(3)).map((m) => m.id), before.map((e) => e.id));
  assert.deepEqual((await bob.take(3)).map((m) => m.id), before.map((e) => e.id));

  await a.nats!.stop();
  await eventually(() => b.bus.status() !== "connected", {
    timeoutMs: 3000,
    what: "B sees NATS down",
  });
  await eventually(() => a.bus.status() !== "connected", {
    timeoutMs: 3000,
    what: "A sees NATS down",
  });

  // Actions during the outage: A's own KB runs them; the world_update comes from its reply.
  const during = [await play(a, "alice", "north"), await play(a, "bob", "north")];
  assert.notEqual(a.bus.status(), "connected", "they ran while the bus was down");
  assert.equal((await a.kb.snapshot("bob", EXP)).version, during[1]!.version, "committed");

  await a.nats!.restart();
  // A publishes its outbox and new events once NATS is back, before B has
  // reconnected: B's streams cannot see them live, only replay can.
  await eventually(() => a.bus.status() === "connected", {
    timeoutMs: 3000,
    what: "A reconnected",
  });
  const req = (user: string, message: string) => ({
    request_id: newRequestId(),
    user_id: user,
    experience: EXP,
    message,
  });
  const after: WorldUpdateEvent[] = [];
  for (const [user, message] of [["carol", "north"], ["alice", "put red stone in blue sack"]]) {
    const r = await a.kb.interact(req(user!, message!));
    assert.ok(r.ok && r.events.length === 1, JSON.stringify(r));
    after.push(r.events[0]!);
  }
  await a.bus.flush();
  assert.notEqual(b.bus.status(), "connected", "B must still be reconnecting here");

  const missed = [...during, ...after];
  const gotAlice = await alice.take(missed.length, "world_update", 15_000);
  const gotBob = await bob.take(missed.length, "world_update", 15_000);
  for (const [who, got] of [["alice", gotAlice], ["bob", gotBob]] as const) {
    assert.deepEqual(
      got.map((m) => m.id),
      missed.map((e) => e.id),
      `${who}: every event, in order`,
    );
    for (const [i, m] of got.entries()) {
      if (m.data.user_id === who) assert.deepEqual(m.data, missed[i], `${who}'s own, in full`);
      else assert.equal(m.data.changes.player, undefined, `${who}: no foreign player scope`);
    }
  }

  // And live again, once.
  const live = await play(a, "carol", "south");
  assert.equal((await alice.take(1))[0]!.id, live.id);
  assert.equal((await bob.take(1))[0]!.id, live.id);
  for (const s of [alice, bob]) {
    const ids = s.received().map((m) => m.id);
    assert.equal(new Set(ids).size, ids.length, "no duplicates");
    assert.equal(s.received("resync").length, 0);
  }
  await Promise.all([alice.close(), bob.close()]);
});

Deno.test("degradation (ROLE=chat): with NATS down the KB is reached over KB_URL", async () => {
  await using kb = await setup({ role: "kb", content: "glade" });
  await using chat = await setup({
    role: "chat",
    nats: kb.nats!,
    content: { dataDir: kb.dataDir },
    env: { KB_URL: kb.url },
  });
  await kb.nats!.stop();
  await eventually(() => chat.bus.status() !== "connected", {
    timeoutMs: 3000,
    what: "chat sees NATS down",
  });
  const s = await chat.chatStream("alice", "take lamp", EXP, { "X-Request-Id": "via-kb-url" });
  const msgs = await s.untilEnd();
  await s.close();
  assert.deepEqual(msgs.map((m) => m.event).slice(0, 2), ["metadata", "world_update"]);
  assert.equal(msgs.at(-1)!.event, "done");
  const event = msgs[1]!.data as WorldUpdateEvent;
  // The KB knew the user from the forwarded token and the action by its request id.
  assert.equal(event.user_id, "alice");
  assert.equal(event.metadata.request_id, "via-kb-url");
  const inventory = (await kb.kb.snapshot("alice", EXP)).player.inventory as object;
  assert.deepEqual(Object.keys(inventory), ["lamp"]);
  const missing = await chat.act("alice", "look", "nowhere");
  assert.equal(missing.status, 404);
  assert.equal(missing.body.error.code, "unknown_experience");
});
