/**
 * The frame queue behind world streams (pure logic, no server): frames wait
 * in our queue until the reader asks, so unsent ones can be dropped; `end()`
 * closes cleanly after the last frame; `cut()` errors the body.
 */
import { deepStrictEqual as eq, ok, rejects } from "node:assert/strict";
import { FrameQueue } from "../../chat/frame_queue.ts";
import { delay } from "../_helpers/mod.ts";

const bytes = (s: string) => new TextEncoder().encode(s);
const text = (b: Uint8Array | undefined) => b && new TextDecoder().decode(b);

function queue() {
  const seen = { taken: 0, ended: 0 };
  const q = new FrameQueue({ onTaken: () => seen.taken++, onEnd: () => seen.ended++ });
  return { q, seen, reader: q.body.getReader() };
}

Deno.test("frame queue: frames wait until read, one per read, counted in bytes", async () => {
  const { q, seen, reader } = queue();
  q.push(bytes("aa"));
  q.push(bytes("bbb"));
  eq(q.queuedBytes, 5, "nothing read yet: both still ours");
  eq(text((await reader.read()).value), "aa");
  eq(q.queuedBytes, 3);
  ok(seen.taken >= 1, "the owner hears that a frame was taken");
  eq(text((await reader.read()).value), "bbb");
  const pending = reader.read(); // a reader waiting: the next push goes straight to it
  await delay(0); // the stream calls pull() a microtask later
  q.push(bytes("c"));
  eq(q.queuedBytes, 0);
  eq(text((await pending).value), "c");
  q.end();
  eq(await reader.read(), { done: true, value: undefined });
  eq([q.ended, seen.ended], [true, 1]);
});

Deno.test("frame queue: dropUnsent forgets what was not read; the last frame comes next, then a clean end", async () => {
  const { q, seen, reader } = queue();
  for (let i = 0; i < 10; i++) q.push(bytes(`f${i}`));
  eq(text((await reader.read()).value), "f0");
  q.dropUnsent();
  eq(q.queuedBytes, 0);
  q.push(bytes("last"));
  q.end();
  q.push(bytes("after end")); // ignored
  eq(seen.ended, 0, "still open until the last frame is read");
  eq(text((await reader.read()).value), "last");
  eq(await reader.read(), { done: true, value: undefined });
  eq(seen.ended, 1);
});

Deno.test("frame queue: cut errors the body; a cancelled body ends once", async () => {
  const a = queue();
  a.q.push(bytes("unread"));
  a.q.end();
  a.q.cut(new Error("cut"));
  await rejects(a.reader.read(), /cut/);
  eq([a.q.ended, a.q.queuedBytes, a.seen.ended], [true, 0, 1]);

  const b = queue();
  b.q.push(bytes("x"));
  await b.reader.cancel();
  b.q.push(bytes("y")); // ignored once ended
  eq([b.q.ended, b.q.queuedBytes, b.seen.ended], [true, 0, 1]);
});
