/**
 * The replay/live seam under load (guarantee 5), against the real KB and a
 * real nats-server: a stream reopened with `Last-Event-ID` while its own
 * user and another player keep acting gets every event once and in version
 * order; and a replay cut off by a nats-server crash resumes where it
 * stopped instead of answering `resync`.
 */
import assert from "node:assert/strict";
import { newRequestId } from "../../shared/ids.ts";
import type { WorldUpdateEvent } from "../../shared/schema.ts";
import { WORLD_STREAM } from "../../shared/bus/mod.ts";
import { delay, eventually, GLADE, setup, startKb, type TestStack } from "../_helpers/mod.ts";

const EXP = GLADE.shared;
const CELLAR = GLADE.cellar;

/** One action straight to the KB (as another chat process's request would reach it). */
async function act(h: TestStack, user: string, message: string): Promise<WorldUpdateEvent> {
  const r = await h.kb.interact({
    request_id: newRequestId(),
    user_id: user,
    experience: EXP,
    message,
  });
  assert.ok(r.ok && r.events.length === 1, JSON.stringify(r));
  return r.events[0]!;
}

/** Alternates two commands per player. */
function alternate(a: string, b: string): () => string {
  let n = 0;
  return () => n++ % 2 ? b : a;
}

/** Consumers of the world-updates stream on the server (a replay holds one per subject). */
async function replayConsumers(h: TestStack): Promise<number> {
  const res = await fetch(`http://127.0.0.1:${h.nats!.monitorPort}/jsz?streams=true`);
  const jsz = await res.json();
  for (const a of jsz.account_details ?? []) {
    for (const s of a.stream_detail ?? []) {
      if (s.name === WORLD_STREAM) return s.state.consumer_count as number;
    }
  }
  return 0;
}

for (const kind of ["world", "player-only"] as const) {
  // A move changes the shared world (alice gets her copy on her user subject
  // and skips the experience copy); a put between her two sacks changes only
  // her profile (the experience subject carries it with `changes: {}`).
  Deno.test(`replay seam: reopening while everyone acts (alice: ${kind} changes) gives each event once, in order`, async () => {
    await using h = await setup({ content: "glade" });
    const events: WorldUpdateEvent[] = [];
    for (const m of ["take red sack", "take red stone", "take blue sack"]) await act(h, "alice", m);
    const aliceDoes = kind === "world"
      ? alternate("north", "south")
      : alternate("put red stone in blue sack", "put red stone in red sack");
    const bobDoes = alternate("north", "south");
    const anchor = await act(h, "bob", bobDoes());
    for (let trial = 0; trial < 4; trial++) {
      let stop = false;
      const loop = (user: string, next: () => string) =>
        (async () => {
          while (!stop) events.push(await act(h, user, next()));
        })();
      const writers = [loop("alice", aliceDoes), loop("bob", bobDoes)];
      const before = events.length;
      try {
        await eventually(() => events.length >= before + 10, { what: "writers under way" });
        const s = await h.world("alice", EXP, { query: true, lastEventId: anchor.id });
        // Opened while they write; they keep writing until the stream is live.
        const atOpen = events.length;
        await eventually(() => s.received().length >= atOpen + 10, {
          timeoutMs: 10_000,
          what: "the stream caught up with the writers",
        });
        stop = true;
        await Promise.all(writers);
        const want = [...events].sort((a, b) => a.version - b.version).map((e) => e.version);
        const versions = () => s.received().map((m) => m.data.version as number);
        await eventually(() => versions().length >= want.length, {
          timeoutMs: 5_000,
          what: () => `every event (trial ${trial}: ${versions().length} of ${want.length})`,
        });
        await s.close();
        assert.deepEqual(s.received("resync"), [], `trial ${trial}: no resync`);
        assert.deepEqual(versions(), want, `trial ${trial}: every version once, in order`);
      } finally {
        stop = true;
        await Promise.all(writers);
      }
    }
  });
}

Deno.test("replay seam: a replay cut off by a nats-server crash resumes after reconnecting", async () => {
  // A chat process and, beside it, a KB on its own connection whose publish
  // acknowledgements may take their time on a busy machine: its events wait
  // in an outbox large enough that none is dropped (a gap is not what this
  // test is about).
  await using h = await setup({
    role: "chat",
    content: "glade",
    env: { STREAM_BUFFER_BYTES: String(256 * 1024) }, // a few chest events
    slowClientDropMs: 60_000,
    reconnectTimeWaitMs: 200,
  });
  await using other = await startKb({
    natsUrl: h.nats!.url,
    dataDir: h.dataDir,
    outboxLimits: { maxEvents: 20_000, maxBytes: 64 * 1024 * 1024 },
    worldUpdateRate: { rate: 1e6, burst: 1e6 },
  });
  const act = async (user: string, message: string) => {
    const request_id = newRequestId();
    const r = await other.kb.interact({ request_id, user_id: user, experience: CELLAR, message });
    assert.ok(r.ok && r.events.length === 1, JSON.stringify(r));
    return r.events[0]!;
  };
  // A player carries the great chest about in the cellar: ~9 MB of world
  // changes to replay (more than the sockets hold), paced by the reader.
  const events: WorldUpdateEvent[] = [];
  const next = alternate("take chest", "drop chest");
  const move = async (n: number) => {
    for (let i = 0; i < n; i++) events.push(await act("mover", next()));
  };
  const first = await act("mover", next());
  await move(240);
  const s = await h.world("reader", CELLAR, { query: true, lastEventId: first.id, paused: true });
  try {
    await s.readChunks(20);
    // Small live events, buffered while the replay runs.
    const candle = alternate("take candle", "drop candle");
    for (let i = 0; i < 20; i++) events.push(await act("lighter", candle()));
    assert.ok(s.received().length < events.length / 2, "the reader has read little yet");
    // (An ordered consumer that is being reset shows 0 for a moment.)
    await eventually(async () => (await replayConsumers(h)) > 0, {
      timeoutMs: 3_000,
      what: "the replay still running when NATS goes down",
    });

    await h.nats!.stop();
    await eventually(() => h.bus.status() !== "connected", { timeoutMs: 3_000, what: "bus down" });
    // The outage lasts half a second; the client reads what was queued meanwhile.
    s.resume();
    await delay(500);
    await h.nats!.restart();
    await eventually(() => h.bus.status() === "connected", { timeoutMs: 5_000, what: "bus up" });
    const ids = [...events].sort((a, b) => a.version - b.version).map((e) => e.id);
    await eventually(() => s.received().length >= ids.length, {
      timeoutMs: 20_000,
      what: () => `the rest of the replay (${s.received().length} of ${ids.length})`,
    });
    assert.deepEqual(s.received("resync").map((m) => m.data), [], "no resync");
    assert.deepEqual(s.received().map((m) => m.id), ids, "every event once, in order");
  } finally {
    await s.close();
  }
});
