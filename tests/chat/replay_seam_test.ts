/**
 * The replay/live seam under load (guarantee 5), against a real nats-server:
 * a stream reopened with `Last-Event-ID` while its own user and another
 * player keep acting gets every event once and in version order; and a
 * replay cut off by a nats-server crash resumes where it stopped instead
 * of answering `resync`.
 */
import { createParser } from "eventsource-parser";
import { deepStrictEqual as eq } from "node:assert/strict";
import { newEventId, newRequestId } from "../../shared/ids.ts";
import type { WorldUpdateEvent } from "../../shared/schema.ts";
import { experienceSubject } from "../../shared/subjects.ts";
import { eventually, type Harness, SseClient, startHarness } from "./harness.ts";

const EXP = "shared-woods";
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function act(h: Harness, user: string, message: string): WorldUpdateEvent {
  const r = h.kb.apply({ request_id: newRequestId(), user_id: user, experience: EXP, message });
  if (!r.ok) throw new Error(`fake KB refused ${message}`);
  return r.events[0]!;
}

for (const aliceDoes of ["touch", "whisper hi"]) {
  // "touch" changes the shared world (alice gets her copy on her user subject
  // and skips the experience copy); "whisper" changes only her profile.
  Deno.test(`replay seam: reopening while everyone acts ("${aliceDoes}") gives each event once, in order`, async () => {
    const h = await startHarness();
    try {
      const anchor = act(h, "bob", "touch");
      await h.kbBus.flush();
      for (let trial = 0; trial < 4; trial++) {
        let stop = false;
        const writer = (async () => {
          for (let i = 0; !stop; i++) {
            act(h, i % 2 ? "alice" : "bob", i % 2 ? aliceDoes : "touch");
            if (i % 4 === 3) await sleep(0);
          }
        })();
        await sleep(20);
        const token = await h.token("alice");
        const s = await SseClient.open(
          `${h.base}/api/v0.3/world/stream?experience=${EXP}&last_event_id=${anchor.id}&access_token=${token}`,
        );
        await sleep(150);
        stop = true;
        await writer;
        await h.kbBus.flush();
        const all = h.kb.published.filter((e) => e.experience === EXP);
        const want = all.slice(all.findIndex((e) => e.id === anchor.id) + 1).map((e) => e.version);
        const versions = () =>
          s.messages.filter((m) => m.event === "world_update").map((m) => m.data.version as number);
        await eventually(() => versions().length >= want.length, 5_000, "every event").catch(
          () => {},
        );
        await s.close();
        eq(s.messages.filter((m) => m.event === "resync"), [], `trial ${trial}: no resync`);
        eq(versions(), want, `trial ${trial}: every version once, in order`);
      }
    } finally {
      await h.close();
    }
  });
}

Deno.test("replay seam: a replay cut off by a nats-server crash resumes after reconnecting", async () => {
  const h = await startHarness({
    chat: { maxQueuedBytes: 32 * 1024, slowClientDropMs: 60_000 },
    chatReconnectMs: 200,
  });
  let version = 0;
  const ids: string[] = [];
  const publish = (bytes: number) => {
    const event: WorldUpdateEvent = {
      type: "world_update",
      id: newEventId(),
      experience: EXP,
      user_id: "writer",
      version: ++version,
      changes: { world: [{ operation: "update", path: "pad", data: { pad: "x".repeat(bytes) } }] },
      timestamp: Date.now(),
      metadata: { source: "kb", state_model: "shared", request_id: newRequestId() },
    };
    h.kbBus.publish(experienceSubject(EXP), JSON.stringify(event));
    ids.push(event.id);
    return event.id;
  };
  let reader: ReadableStreamDefaultReader<Uint8Array> | undefined;
  try {
    const anchor = publish(10);
    ids.length = 0;
    for (let i = 0; i < 2000; i++) publish(2_000); // ~4 MB: the replay is paced by the reader
    await h.kbBus.flush();
    await sleep(200);
    const token = await h.token("reader");
    const res = await fetch(
      `${h.base}/api/v0.3/world/stream?experience=${EXP}&last_event_id=${anchor}&access_token=${token}`,
    );
    reader = res.body!.getReader();
    const got: { event?: string; id?: string; data: string }[] = [];
    const parser = createParser({ onEvent: (m) => got.push(m) });
    const decoder = new TextDecoder();
    for (let i = 0; i < 20; i++) {
      const r = await reader.read();
      parser.feed(decoder.decode(r.value!, { stream: true }));
    }
    for (let i = 0; i < 20; i++) publish(100); // live, buffered behind the replay
    await h.kbBus.flush();
    await sleep(200);

    await h.nats!.stop();
    await eventually(() => h.bus.status() !== "connected", 3_000, "bus down");
    const r0 = reader;
    const drain = (async () => {
      for (;;) {
        const r = await r0.read();
        if (r.done) break;
        parser.feed(decoder.decode(r.value, { stream: true }));
      }
    })().catch(() => {});
    await sleep(1_000);
    await h.nats!.restart();
    await eventually(() => h.bus.status() === "connected", 5_000, "bus up");
    const updates = () => got.filter((m) => m.event === "world_update").map((m) => m.id!);
    await eventually(() => updates().length >= ids.length, 20_000, "the rest of the replay")
      .catch(() => {});
    eq(got.filter((m) => m.event === "resync").map((m) => m.data), [], "no resync");
    eq(updates(), ids, "every event once, in order");
    await reader.cancel();
    reader = undefined;
    await drain;
  } finally {
    await reader?.cancel().catch(() => {});
    await h.close();
  }
});
