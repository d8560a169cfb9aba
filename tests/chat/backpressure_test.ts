/**
 * Backpressure: a client that does not read cannot grow server memory; past
 * the per-connection limit the frames it was not sent yet are dropped and
 * the stream ends with `resync` then a clean end (and is cut if the client
 * still reads nothing), and the client recovers with Last-Event-ID.
 */
import assert from "node:assert/strict";
import { createParser } from "eventsource-parser";
import { newEventId, newRequestId } from "../../shared/ids.ts";
import { metrics } from "../../shared/metrics.ts";
import type { WorldUpdateEvent } from "../../shared/schema.ts";
import { experienceSubject } from "../../shared/subjects.ts";
import { eventually, type Harness, openWorld, startHarness } from "./harness.ts";

const LIMIT = 256 * 1024;

let version = 0;

/**
 * Publishes `n` shared-world events of about `bytes` each, as the KB would
 * (straight to the experience subject; nothing kept in this process but ids).
 */
function flood(h: Harness, n: number, bytes: number): string[] {
  const ids: string[] = [];
  const pad = "x".repeat(bytes);
  for (let i = 0; i < n; i++) {
    const event: WorldUpdateEvent = {
      type: "world_update",
      id: newEventId(),
      experience: "shared-woods",
      user_id: `writer${i % 3}`,
      version: ++version,
      changes: { world: [{ operation: "update", path: "pad", data: { pad } }] },
      timestamp: Date.now(),
      metadata: { source: "kb", state_model: "shared", request_id: newRequestId() },
    };
    h.kbBus.publish(experienceSubject("shared-woods"), JSON.stringify(event));
    ids.push(event.id);
  }
  return ids;
}

Deno.test("backpressure: a client that never reads is dropped; memory stays bounded", async () => {
  const h = await startHarness({ chat: { maxQueuedBytes: LIMIT, slowClientDropMs: 1_000 } });
  const conn = await Deno.connect({ hostname: "127.0.0.1", port: h.server.addr.port });
  try {
    const baseSubs = h.bus.subscriptionCount();
    const token = await h.token("sloth");
    const req = `GET /api/v0.3/world/stream?experience=shared-woods HTTP/1.1\r\nHost: test\r\n` +
      `Authorization: Bearer ${token}\r\n\r\n`;
    await conn.write(new TextEncoder().encode(req));
    await eventually(() => h.chat.openStreams().world === 1, 2000, "stream open");
    const heapBefore = Deno.memoryUsage().heapUsed;
    // ~16 MB of events in small bursts: the server's socket buffers fill up
    // first, then our queue, then the stream ends and is cut after 1 s.
    const t0 = performance.now();
    for (let round = 0; round < 100 && h.chat.openStreams().world > 0; round++) {
      flood(h, 40, 4_000);
      await h.kbBus.flush();
      await new Promise((r) => setTimeout(r, 10));
    }
    await eventually(() => h.chat.openStreams().world === 0, 5000, "slow stream dropped");
    console.log(`non-reading client dropped after ${(performance.now() - t0).toFixed(0)} ms`);
    await eventually(() => h.bus.subscriptionCount() === baseSubs, 1000, "subscriptions released");
    const heapGrowth = Deno.memoryUsage().heapUsed - heapBefore;
    console.log(
      `heap growth while flooding a non-reading client: ${(heapGrowth / 1e6).toFixed(1)} MB`,
    );
    assert.ok(heapGrowth < 12e6, `heap grew ${heapGrowth} bytes`);
  } finally {
    conn.close();
    await h.close();
  }
});

const slowDrops = async () => (await metrics.slowConsumerDrops.get()).values[0]?.value ?? 0;

Deno.test("backpressure: a slow client gets what the socket carried, then resync, then a clean end, and resumes with Last-Event-ID", async () => {
  const h = await startHarness({ chat: { maxQueuedBytes: LIMIT, slowClientDropMs: 10_000 } });
  try {
    const token = await h.token("slowpoke");
    const res = await fetch(`${h.base}/api/v0.3/world/stream?experience=shared-woods`, {
      headers: { Authorization: `Bearer ${token}` },
    });
    await eventually(() => h.chat.openStreams().world === 1, 2000, "stream open");
    // Not reading: the socket's buffers fill, then the server's queue, until
    // it is over the limit. Small rounds, so we stop soon after.
    const drops = await slowDrops();
    const published: string[] = [];
    for (let round = 0; round < 1_000 && (await slowDrops()) === drops; round++) {
      published.push(...flood(h, 20, 4_000));
      await h.kbBus.flush();
      await new Promise((r) => setTimeout(r, 5));
    }
    assert.equal(await slowDrops(), drops + 1, "the stream went over its limit");

    // Only now read: the end must be clean (a cut connection would throw here).
    const events: { event?: string; id?: string; data: string }[] = [];
    const parser = createParser({ onEvent: (m) => events.push(m) });
    const decoder = new TextDecoder();
    for await (const chunk of res.body!) parser.feed(decoder.decode(chunk, { stream: true }));
    const updates = events.filter((e) => e.event === "world_update");
    assert.deepEqual(
      events.slice(updates.length).map((e) => [e.event, JSON.parse(e.data).reason]),
      [["resync", "slow_consumer"]],
      "the updates, then resync, then nothing",
    );
    assert.deepEqual(updates.map((e) => e.id), published.slice(0, updates.length), "a prefix");
    // What waited in the server's queue when the limit was crossed (more than
    // LIMIT bytes of the newest frames) never reaches the client: resync is
    // next after what the socket already carried.
    const frameBytes = Math.max(...updates.map((e) => e.data.length)) + 100;
    assert.ok(
      updates.length <= published.length - Math.floor(LIMIT / frameBytes),
      `got ${updates.length} of ${published.length}: frames queued past the limit were sent`,
    );
    await eventually(() => h.chat.openStreams().world === 0, 2000, "stream released");

    const again = await openWorld(h, "slowpoke", "shared-woods", updates.at(-1)!.id);
    const rest = await again.take(published.length - updates.length, "world_update", 20_000);
    assert.deepEqual(rest.map((m) => m.id), published.slice(updates.length));
    await again.close();
  } finally {
    await h.close();
  }
});
