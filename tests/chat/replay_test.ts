/**
 * Replay from JetStream with Last-Event-ID, against the real KB: every
 * missed event in order, once; a gap-free, duplicate-free seam with live
 * events; `resync` beyond retention, for unknown ids, and without JetStream.
 */
import assert from "node:assert/strict";
import { jetstreamManager } from "@nats-io/jetstream";
import { connect } from "@nats-io/transport-node";
import { ulid } from "ulid";
import { newRequestId } from "../../shared/ids.ts";
import type { WorldUpdateEvent } from "../../shared/schema.ts";
import { WORLD_STREAM } from "../../shared/bus/mod.ts";
import { GLADE, setup, type TestStack } from "../_helpers/mod.ts";

const EXP = GLADE.shared;

/** Walkers go back and forth between the glade and the store: a change every time. */
function walker(): (user: string) => string {
  const steps = new Map<string, number>();
  return (user) => {
    const n = steps.get(user) ?? 0;
    steps.set(user, n + 1);
    return n % 2 ? "south" : "north";
  };
}

/** One action straight to the KB (as another chat process's request would reach it). */
async function act(h: TestStack, user: string, message: string, experience: string = EXP) {
  const reply = await h.kb.interact({
    request_id: newRequestId(),
    user_id: user,
    experience,
    message,
  });
  assert.ok(reply.ok && reply.events.length === 1, JSON.stringify(reply));
  return reply.events[0]!;
}

Deno.test("replay: 100 missed events arrive in order, once, then live continues", async () => {
  const walk = walker();
  await using h = await setup({ content: "glade" });
  const alice = await h.world("alice", EXP);
  await act(h, "bob", walk("bob"));
  await act(h, "alice", "take lamp");
  const seen = await alice.take(2);
  const lastId = alice.lastEventId;
  assert.equal(lastId, seen[1]!.id);
  await alice.close();

  // 100 actions by others, plus changes alice must not get: another
  // experience's, and (in it) her own of a world she is not watching.
  const expected: WorldUpdateEvent[] = [];
  for (let i = 0; i < 100; i++) {
    const p = `p${i % 7}`;
    expected.push(await act(h, p, walk(p)));
    if (i % 25 === 0) await act(h, "zed", walk("zed"), GLADE.solo);
  }
  await act(h, "alice", walk("alice-solo"), GLADE.solo);

  const t0 = performance.now();
  const again = await h.world("alice", EXP, { lastEventId: lastId });
  const replayed = await again.take(100);
  const replayMs = performance.now() - t0;
  assert.deepEqual(replayed.map((m) => m.id), expected.map((e) => e.id));
  for (const m of replayed) assert.equal(m.data.changes.player, undefined);
  console.log(`replay of 100 missed events: ${replayMs.toFixed(1)} ms`);

  const live = await act(h, "bob", walk("bob"));
  assert.equal((await again.take(1))[0]!.id, live.id);
  const next = await act(h, "bob", walk("bob"));
  assert.equal((await again.take(1))[0]!.id, next.id, "nothing between the live events");
  assert.equal(again.received().length, 102);
  assert.equal(again.received("resync").length, 0);
  await again.close();
});

Deno.test("replay: no gap or duplicate at the seam while others keep acting", async () => {
  const walk = walker();
  await using h = await setup({ content: "glade" });
  const events: WorldUpdateEvent[] = [];
  const first = await act(h, "bob", walk("bob"));
  // Three players at a time keep the KB's group commit busy.
  const burst = async (names: string[], n: number) => {
    await Promise.all(names.map(async (p) => {
      for (let i = 0; i < n; i++) events.push(await act(h, p, walk(p)));
    }));
  };
  await burst(["p0", "p1", "p2"], 100);
  let stop = false;
  const writer = (async () => {
    while (!stop) await burst(["w0", "w1", "w2"], 5);
  })();
  // Open by query parameter (first EventSource connect).
  const s = await h.world("alice", EXP, { query: true, lastEventId: first.id });
  try {
    await s.take(600, "world_update", 20_000);
  } finally {
    stop = true;
    await writer;
  }
  const last = await act(h, "bob", walk("bob"));
  await s.take(1 + events.length - 600, "world_update", 10_000);
  const got = s.received().map((m) => m.id);
  assert.equal(new Set(got).size, got.length, "no duplicates");
  const after = [...events].sort((a, b) => a.version - b.version).map((e) => e.id);
  assert.deepEqual(got, [...after, last.id], "every event after the anchor, in order");
  await s.close();
});

Deno.test("replay: unknown ids and ids beyond retention get resync, then live", async () => {
  const walk = walker();
  await using h = await setup({ content: "glade", env: { WORLD_RETENTION: "1h" } });
  // A recent id JetStream lacks may be an event still on its way (the stream
  // looks for it for ~16 s first); one over 30 s old, within retention and
  // not older than the stream's first event (it holds none yet), never existed.
  const never = await h.world("alice", EXP, { lastEventId: ulid(Date.now() - 40_000) });
  // (`presence` events, the roster, may come first: this is about `resync`.)
  const [n] = await never.take(1, "resync");
  assert.deepEqual([n!.event, n!.data.reason], ["resync", "unknown_event_id"]);
  await never.close();

  const garbage = await h.world("alice", EXP, { lastEventId: "not-an-id" });
  const [first] = await garbage.take(1, "resync");
  assert.deepEqual([first!.event, first!.data.reason], ["resync", "unknown_event_id"]);
  assert.equal(garbage.lastEventId, "", "the resync clears the client's last event id");
  const live = await act(h, "bob", walk("bob"));
  assert.equal((await garbage.take(1))[0]!.id, live.id);
  await garbage.close();

  // An id older than WORLD_RETENTION (JetStream's max_age, below) has been dropped.
  const old = ulid(Date.now() - 2 * 3_600_000);
  const late = await h.world("alice", EXP, { lastEventId: old });
  const [m] = await late.take(1, "resync");
  assert.deepEqual([m!.event, m!.data.reason], ["resync", "beyond_retention"]);
  await late.close();
  const nc = await connect({ servers: h.nats!.url });
  try {
    const info = await (await jetstreamManager(nc)).streams.info(WORLD_STREAM);
    assert.equal(info.config.max_age, 3_600_000 * 1e6, "WORLD_RETENTION is the stream's max_age");
  } finally {
    await nc.close();
  }
});

Deno.test("replay over the in-process bus: resync replay_unavailable, then live", async () => {
  const walk = walker();
  await using h = await setup({ nats: "in-process", content: "glade" });
  const s = await h.world("alice", EXP, { lastEventId: ulid() });
  const [m] = await s.take(1, "resync");
  assert.deepEqual([m!.event, m!.data.reason], ["resync", "replay_unavailable"]);
  const e = await act(h, "bob", walk("bob"));
  assert.equal((await s.take(1))[0]!.id, e.id);
  await s.close();
});
