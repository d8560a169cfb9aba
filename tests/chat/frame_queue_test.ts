/**
 * The frame queue behind world streams (pure logic, no server): frames wait
 * in our queue until the reader asks, so unsent ones can be dropped; `end()`
 * closes cleanly after the last frame; `cut()` errors the body.
 */
import { deepStrictEqual as eq, ok, rejects } from "node:assert/strict";
import { EventEmitter } from "node:events";
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

/** A node response's writing side: `write()` takes `room` more frames, then wants a drain. */
class FakeResponse extends EventEmitter {
  written: string[] = [];
  ended = false;
  destroyed = false;
  destroyError: Error | undefined;
  room = Infinity;
  get writableNeedDrain(): boolean {
    return this.room <= 0;
  }
  write(chunk: Uint8Array): boolean {
    this.written.push(text(chunk)!);
    return --this.room > 0;
  }
  end(): void {
    this.ended = true;
    this.emit("close");
  }
  destroy(error?: Error): void {
    this.destroyed = true;
    this.destroyError = error;
    this.emit("close");
  }
  drain(room: number): void {
    this.room = room;
    this.emit("drain");
  }
}

function piped(room: number) {
  const seen = { taken: 0, ended: 0 };
  const q = new FrameQueue({ onTaken: () => seen.taken++, onEnd: () => seen.ended++ });
  const res = new FakeResponse();
  res.room = room;
  return { q, seen, res };
}

Deno.test("frame queue piped to a node response: written while it keeps up, queued from its first false until drain", () => {
  const { q, seen, res } = piped(2);
  q.push(bytes("before")); // queued until piped
  eq(q.queuedBytes, 6);
  q.pipeTo(res);
  eq(res.written, ["before"]);
  q.push(bytes("a")); // the socket buffer is full after this one
  q.push(bytes("b"));
  q.push(bytes("cc"));
  eq(res.written, ["before", "a"]);
  eq(q.queuedBytes, 3, "b and cc are still ours");
  q.dropUnsent();
  q.push(bytes("last"));
  res.drain(10);
  eq(res.written, ["before", "a", "last"]);
  ok(seen.taken >= 1, "the owner hears that the socket took frames");
  q.end();
  eq([res.ended, q.ended, seen.ended], [true, true, 1]);
});

Deno.test("frame queue piped: end waits for queued frames; cut destroys; the client leaving ends once", () => {
  const a = piped(1);
  a.q.pipeTo(a.res);
  a.q.push(bytes("x")); // fills the socket buffer
  a.q.push(bytes("y"));
  a.q.end();
  eq([a.res.ended, a.q.ended], [false, false], "y is still waiting");
  a.res.drain(5);
  eq(a.res.written, ["x", "y"]);
  eq([a.res.ended, a.seen.ended], [true, 1]);

  const b = piped(1);
  b.q.pipeTo(b.res);
  b.q.push(bytes("x"));
  b.q.push(bytes("unread"));
  b.q.cut(new Error("cut"));
  eq([b.res.destroyed, b.res.destroyError?.message, b.q.queuedBytes, b.seen.ended], [
    true,
    "cut",
    0,
    1,
  ]);

  const c = piped(Infinity);
  c.q.pipeTo(c.res);
  c.res.emit("close"); // the client went away
  c.q.push(bytes("after")); // ignored
  eq([c.q.ended, c.seen.ended, c.res.written], [true, 1, []]);
});
