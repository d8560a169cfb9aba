/**
 * Unit tests of the pieces: the merge, SSE encoding, the hub's decoding,
 * ULID times and the narrative stream's stall handling.
 */
import assert from "node:assert/strict";
import { createParser } from "eventsource-parser";
import { ulid } from "ulid";
import { worldFirst } from "../../chat/merge.ts";
import { encodeEvent, encodeResync, encodeRetry } from "../../chat/sse.ts";
import { decodeWorldUpdate, SubjectHub } from "../../chat/hub.ts";
import { ulidTime } from "../../chat/replay.ts";
import { narrativeStream } from "../../chat/narrative.ts";
import type { Narrator } from "../../chat/mod.ts";
import { InProcessBus } from "../../shared/bus/mod.ts";
import { experienceSubject, userSubject } from "../../shared/subjects.ts";
import type { WorldUpdateEvent } from "../../shared/schema.ts";
import { delay, eventually } from "../_helpers/mod.ts";

function source<T>(items: T[], delayMs = 0) {
  const state = { cancelled: false, pulled: 0 };
  const stream = new ReadableStream<T>({
    async pull(c) {
      if (delayMs) await delay(delayMs); // a slow source
      if (state.cancelled) return;
      const next = items[state.pulled++];
      if (next === undefined) c.close();
      else c.enqueue(next);
    },
    cancel() {
      state.cancelled = true;
    },
  });
  return { stream, state };
}

Deno.test("worldFirst: all of the first stream before any of the second", async () => {
  const a = source(["u1", "u2"], 5);
  const b = source(["c1", "c2", "c3"]);
  const out: string[] = [];
  for await (const x of worldFirst(a.stream, b.stream)) out.push(x);
  assert.deepEqual(out, ["u1", "u2", "c1", "c2", "c3"]);
});

Deno.test("worldFirst: cancel reaches both sources", async () => {
  const a = source(["u1"]);
  const b = source(["c1", "c2", "c3", "c4"], 5);
  const reader = worldFirst(a.stream, b.stream).getReader();
  assert.equal((await reader.read()).value, "u1");
  assert.equal((await reader.read()).value, "c1");
  await reader.cancel("client left");
  assert.equal(b.state.cancelled, true);
  // The first source had already finished; cancelling a closed stream is a no-op.
  assert.ok(b.state.pulled < 4);
});

Deno.test("SSE frames parse back with eventsource-parser; bad ids are left off", () => {
  const got: { event?: string; id?: string; data: string }[] = [];
  let retry = 0;
  const p = createParser({ onEvent: (m) => got.push(m), onRetry: (r) => retry = r });
  const dec = new TextDecoder();
  p.feed(dec.decode(encodeRetry(1500)));
  p.feed(dec.decode(encodeEvent("content", { content: "line1\nline2" })));
  p.feed(dec.decode(encodeEvent("world_update", { x: 1 }, "01ABC")));
  p.feed(dec.decode(encodeEvent("world_update", { x: 2 }, "evil\nevent: done")));
  p.feed(dec.decode(encodeResync("beyond_retention", true)));
  assert.equal(retry, 1500);
  assert.deepEqual(JSON.parse(got[0]!.data), { content: "line1\nline2" });
  assert.equal(got[1]!.id, "01ABC");
  assert.equal(got[2]!.id, undefined);
  assert.equal(got[2]!.event, "world_update");
  assert.equal(got[3]!.event, "resync");
  assert.equal(got[3]!.id, "");
});

const event: WorldUpdateEvent = {
  type: "world_update",
  id: "01J00000000000000000000000",
  experience: "shared-woods",
  user_id: "alice",
  version: 3,
  changes: {
    world: [{ operation: "update", path: "x", data: { a: 1 } }],
    player: [{ operation: "add", path: "inv.a", data: {} }],
  },
  timestamp: 1,
  metadata: { source: "kb", state_model: "shared", request_id: "r" },
};
const bytes = (v: unknown) => new TextEncoder().encode(JSON.stringify(v));

Deno.test("hub decoding: invalid messages dropped; player scope never fans out on experience subjects", () => {
  assert.equal(decodeWorldUpdate("s", new TextEncoder().encode("{nope")), undefined);
  assert.equal(decodeWorldUpdate("s", bytes({ ...event, version: -1 })), undefined);
  const own = decodeWorldUpdate(userSubject("alice"), bytes(event))!;
  assert.deepEqual(own.event, event);
  const shared = decodeWorldUpdate(experienceSubject("shared-woods"), bytes(event))!;
  assert.deepEqual(shared.event.changes, { world: event.changes.world });
  assert.doesNotMatch(new TextDecoder().decode(shared.frame), /inv\.a/);
});

Deno.test("hub: one bus subscription per subject, refcounted", async () => {
  const bus = new InProcessBus();
  const hub = new SubjectHub(bus);
  const seen: string[] = [];
  const d1 = hub.attach("world.updates.user.alice", (h) => seen.push(`1:${h.event.id}`));
  const d2 = hub.attach("world.updates.user.alice", (h) => seen.push(`2:${h.event.id}`));
  assert.equal(bus.subscriptionCount(), 1);
  // What had been delivered once the urgent listener's microtasks ran (the
  // actor's answer is a chain of microtasks).
  let afterUrgentTurn: string[] | undefined;
  const d3 = hub.attach("world.updates.user.alice", (h) => {
    seen.push(`urgent:${h.event.id}`);
    const later = () => Promise.resolve().then(() => afterUrgentTurn = [...seen]);
    queueMicrotask(() => void later());
  }, { urgent: true });
  assert.equal(bus.subscriptionCount(), 1);
  bus.publish("world.updates.user.alice", bytes(event));
  await bus.flush();
  // The actor's own chat action hears first; streams in a later macrotask.
  await eventually(() => afterUrgentTurn !== undefined, { what: "the urgent listener's turn" });
  assert.deepEqual(afterUrgentTurn, [`urgent:${event.id}`]);
  await eventually(() => seen.length === 3, { what: "the streams' turn" });
  assert.deepEqual(seen, [`urgent:${event.id}`, `1:${event.id}`, `2:${event.id}`]);
  d3();
  d1();
  d1();
  assert.equal(bus.subscriptionCount(), 1);
  d2();
  assert.equal(bus.subscriptionCount(), 0);
  await bus.close();
});

Deno.test("ulidTime decodes ULIDs and rejects other strings", () => {
  assert.equal(ulidTime(ulid(1469918176385)), 1469918176385);
  assert.equal(ulidTime(ulid(1469918176385).toLowerCase()), 1469918176385);
  assert.equal(ulidTime("../x"), undefined);
  assert.equal(ulidTime("01ARZ3NDEKTSV4RRFFQ69G5FA"), undefined);
});

Deno.test("narrative stream: a narrator that ignores abort still cannot hang the client", async () => {
  let release: (() => void) | undefined;
  const stubborn: Narrator = {
    kind: "offline",
    modelFor: () => "stub",
    async *narrate() {
      yield "Once ";
      await new Promise<void>((r) => release = r); // never looks at the signal
      yield "upon";
    },
  };
  const outcome = {
    kind: "x",
    changed: false,
    summary: "s",
    facts: {},
    needs_capable_model: false,
  };
  const parts = [];
  const t0 = performance.now();
  for await (
    const p of narrativeStream(
      stubborn,
      { message: "m", experience: "e", outcome, events: [] },
      100,
    )
  ) {
    parts.push(p);
  }
  assert.ok(performance.now() - t0 < 1000);
  assert.deepEqual(parts, [
    { type: "content", content: "Once " },
    { type: "error", code: "narrator_timeout", message: "the narrator stopped responding" },
  ]);
  release!(); // let the generator finish so nothing is left pending
  await delay(0);
});
