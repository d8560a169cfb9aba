/**
 * Backpressure, with the real KB publishing (a separate KB on its own NATS
 * connection, as in a split deployment, and a player carrying a great
 * chest about): a client that does not read cannot grow server memory;
 * past the per-connection limit the frames it was not sent yet are dropped
 * and the stream ends with `resync` then a clean end (and is cut if the
 * client still reads nothing), and the client recovers with Last-Event-ID.
 */
import assert from "node:assert/strict";
import { newRequestId } from "../../shared/ids.ts";
import { metrics } from "../../shared/metrics.ts";
import {
  eventually,
  forceGc,
  GLADE,
  type SeparateKb,
  setup,
  type SetupOptions,
  SseClient,
  startKb,
  type TestStack,
} from "../_helpers/mod.ts";

const LIMIT = 256 * 1024;
const EXP = GLADE.cellar;

/** A chat process (ROLE=chat) and a KB beside it that floods the cellar. */
async function flooding(opts: SetupOptions) {
  const h = await setup({
    role: "chat",
    content: "glade",
    env: { STREAM_BUFFER_BYTES: String(LIMIT) },
    ...opts,
  });
  const kb = await startKb({
    natsUrl: h.nats!.url,
    dataDir: h.dataDir,
    // Keeps few replies: the memory measured is the chat's.
    dedupeSize: 16,
    worldUpdateRate: { rate: 1e6, burst: 1e6 },
    // Events wait in the outbox while a slow machine's acknowledgements lag; past
    // its bound they would be dropped (a gap): not this test's subject.
    outboxLimits: { maxEvents: 20_000, maxBytes: 64 * 1024 * 1024 },
  });
  let held = false;
  /** `n` moves of the great chest (each drop ~75 KB to watchers); their event ids. */
  const flood = async (n: number): Promise<string[]> => {
    const ids: string[] = [];
    for (let i = 0; i < n; i++) {
      const r = await kb.kb.interact({
        request_id: newRequestId(),
        user_id: "mover",
        experience: EXP,
        message: held ? "drop chest" : "take chest",
      });
      assert.ok(r.ok && r.events.length === 1, JSON.stringify(r));
      held = !held;
      ids.push(r.events[0]!.id);
    }
    return ids;
  };
  return { h, kb, flood, ...disposer(h, kb) };
}

function disposer(h: TestStack, kb: SeparateKb) {
  const dispose = async () => {
    await kb.dispose();
    await h.dispose();
  };
  return { [Symbol.asyncDispose]: dispose };
}

const slowDrops = async () => (await metrics.slowConsumerDrops.get()).values[0]?.value ?? 0;

Deno.test("backpressure: a client that never reads is dropped; memory stays bounded", async () => {
  await using f = await flooding({ slowClientDropMs: 1_000 });
  const { h, flood } = f;
  const conn = await Deno.connect({ hostname: "127.0.0.1", port: h.port });
  try {
    const baseSubs = h.bus.subscriptionCount();
    const token = await h.token("sloth");
    const req = `GET /api/v0.3/world/stream?experience=${EXP} HTTP/1.1\r\nHost: test\r\n` +
      `Authorization: Bearer ${token}\r\n\r\n`;
    await conn.write(new TextEncoder().encode(req));
    await eventually(() => h.chat.openStreams().world === 1, { what: "stream open" });
    forceGc();
    const heapBefore = Deno.memoryUsage().heapUsed;
    // Heavy changes in rounds: the server's socket buffers fill up first,
    // then our queue, then the stream ends and is cut after 1 s.
    const t0 = performance.now();
    const drops = await slowDrops();
    let sent = 0;
    for (let round = 0; round < 200 && (await slowDrops()) === drops; round++) {
      sent += (await flood(4)).length;
    }
    await eventually(() => h.chat.openStreams().world === 0, {
      timeoutMs: 5000,
      what: "slow stream dropped",
    });
    console.log(
      `non-reading client dropped after ${sent} events, ${(performance.now() - t0).toFixed(0)} ms`,
    );
    await eventually(() => h.bus.subscriptionCount() === baseSubs, {
      timeoutMs: 1000,
      what: "subscriptions released",
    });
    forceGc();
    const heapGrowth = Deno.memoryUsage().heapUsed - heapBefore;
    console.log(
      `heap growth while flooding a non-reading client: ${(heapGrowth / 1e6).toFixed(1)} MB`,
    );
    assert.ok(heapGrowth < 12e6, `heap grew ${heapGrowth} bytes`);
  } finally {
    conn.close();
  }
});

Deno.test("backpressure: a slow client gets what the socket carried, then resync, then a clean end, and resumes with Last-Event-ID", async () => {
  await using f = await flooding({ slowClientDropMs: 10_000 });
  const { h, flood } = f;
  const res = await h.fetch(`/api/v0.3/world/stream?experience=${EXP}`, {
    headers: { Authorization: `Bearer ${await h.token("slowpoke")}` },
  });
  assert.equal(res.status, 200);
  await eventually(() => h.chat.openStreams().world === 1, { what: "stream open" });
  // Not reading: the socket's buffers fill, then the server's queue, until
  // it is over the limit. Small rounds, so we stop soon after.
  const drops = await slowDrops();
  const published: string[] = [];
  for (let round = 0; round < 400 && (await slowDrops()) === drops; round++) {
    published.push(...await flood(2));
  }
  assert.equal(await slowDrops(), drops + 1, "the stream went over its limit");

  // Only now read: the end must be clean (a cut connection is an error here).
  const s = await SseClient.from(res);
  await s.untilEnd(10_000);
  assert.equal(s.error, undefined, "the stream ended cleanly");
  const updates = s.received();
  // Presence events (the roster at the start) are not what this is about.
  const frames = s.messages.filter((m) => m.event !== "presence");
  assert.deepEqual(
    frames.slice(updates.length).map((m) => [m.event, m.data.reason]),
    [["resync", "slow_consumer"]],
    "the updates, then resync, then nothing",
  );
  assert.deepEqual(updates.map((e) => e.id), published.slice(0, updates.length), "a prefix");
  // What waited in the server's queue when the limit was crossed (more than
  // LIMIT bytes of the newest frames) never reaches the client: resync is
  // next after what the socket already carried.
  const frameBytes = Math.max(...updates.map((e) => e.raw.length)) + 100;
  assert.ok(
    updates.length <= published.length - Math.floor(LIMIT / frameBytes),
    `got ${updates.length} of ${published.length}: frames queued past the limit were sent`,
  );
  await eventually(() => h.chat.openStreams().world === 0, {
    timeoutMs: 2000,
    what: "stream released",
  });

  const again = await h.world("slowpoke", EXP, { lastEventId: updates.at(-1)!.id });
  const rest = await again.take(published.length - updates.length, "world_update", 20_000);
  assert.deepEqual(rest.map((m) => m.id), published.slice(updates.length));
  await again.close();
});
