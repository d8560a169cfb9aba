/**
 * The test kit itself: `eventually`, the SSE client's parsing, the
 * launcher's refusal without a binary, `setup()`'s clean-up and
 * `openWorldStream`.
 */
import assert from "node:assert/strict";
import { eventually, natsBinary, openWorldStream, setup, SseClient } from "./mod.ts";

Deno.test("eventually: returns the first truthy value; a throw is 'not yet'; times out naming what", async () => {
  let n = 0;
  const got = await eventually(() => {
    if (++n < 3) throw new Error(`attempt ${n}`);
    return n * 10;
  }, { intervalMs: 1 });
  assert.equal(got, 30);
  await assert.rejects(
    eventually(() => {
      throw new Error("still down");
    }, { timeoutMs: 30, intervalMs: 5, what: () => "the thing" }),
    (e: Error) => {
      assert.match(e.message, /timed out after 30 ms waiting for the thing/);
      assert.match(String(e.cause), /still down/);
      return true;
    },
  );
});

Deno.test("natsBinary: a NATS_SERVER_BIN that is not there fails loudly with the install hint", () => {
  const before = Deno.env.get("NATS_SERVER_BIN");
  Deno.env.set("NATS_SERVER_BIN", "/nonexistent/nats-server");
  try {
    assert.throws(
      () => natsBinary(),
      /NATS_SERVER_BIN=\/nonexistent\/nats-server.*apt-get install/,
    );
  } finally {
    if (before === undefined) Deno.env.delete("NATS_SERVER_BIN");
    else Deno.env.set("NATS_SERVER_BIN", before);
  }
});

function sseResponse(text: string): Response {
  const bytes = new TextEncoder().encode(text);
  return new Response(
    new ReadableStream({
      start(c) {
        // In two pieces, split inside a frame.
        c.enqueue(bytes.slice(0, 25));
        c.enqueue(bytes.slice(25));
        c.close();
      },
    }),
    { headers: { "content-type": "text/event-stream" } },
  );
}

Deno.test("SseClient: data parsed, ids, retry, comments, take skips, next rejects at the end", async () => {
  const s = await SseClient.from(sseResponse(
    "retry: 1500\n\n: keep-alive\n\n" +
      'event: metadata\ndata: {"a":1}\n\n' +
      'event: world_update\nid: 01A\ndata: {"id":"01A"}\n\n' +
      "event: content\ndata: plain text\n\n" +
      'event: resync\nid:\ndata: {"reason":"x"}\n\n',
  ));
  const [update] = await s.take(1);
  assert.deepEqual([update!.id, update!.data], ["01A", { id: "01A" }]);
  const content = await s.next();
  assert.deepEqual([content.data, content.raw], ["plain text", "plain text"]);
  assert.equal((await s.next()).event, "resync");
  await assert.rejects(s.next(100), /stream ended/);
  assert.equal(s.retry, 1500);
  assert.deepEqual(s.comments, ["keep-alive"]);
  assert.equal(s.lastEventId, "", "an empty id clears it, as in EventSource");
  assert.deepEqual(s.messages.map((m) => m.event), [
    "metadata",
    "world_update",
    "content",
    "resync",
  ]);
  assert.equal(s.ended, true);
  assert.equal(s.error, undefined);
  await assert.rejects(SseClient.from(new Response("nope", { status: 401 })), /401 nope/);
});

Deno.test("SseClient: paused, it reads only the chunks asked for", async () => {
  const text = `data: 1\n\n:${"x".repeat(20)}\n\ndata: 2\n\n`;
  const s = await SseClient.from(sseResponse(text), { paused: true });
  await s.readChunks(1); // the first 25 bytes: one whole frame
  assert.deepEqual(s.messages.map((m) => m.data), [1]);
  s.resume();
  await s.untilEnd();
  assert.deepEqual(s.messages.map((m) => m.data), [1, 2]);
});

Deno.test("setup: dispose stops what it started and removes its temp dirs", async () => {
  const stack = await setup({ content: "glade" });
  const { nats, root } = stack;
  assert.ok(nats!.pid());
  assert.equal((await stack.act("ann", "north", "glade")).body.outcome.kind, "moved");
  assert.equal(stack.kb.experiences().length, 3);
  await stack.dispose();
  await stack.dispose(); // idempotent
  assert.equal(nats!.pid(), undefined);
  await assert.rejects(Deno.stat(root), Deno.errors.NotFound);
  assert.equal(stack.bus.status(), "closed");
});

Deno.test("openWorldStream: a served stack's world stream by URL, after a Last-Event-ID", async () => {
  await using stack = await setup({ content: "glade" });
  const live = await openWorldStream(stack.url, "ann", "glade");
  const first = (await stack.act("bob", "north", "glade")).body.world_updates[0];
  const [got] = await live.take(1);
  assert.equal(got!.id, first.id);
  await live.close();
  const second = (await stack.act("bob", "south", "glade")).body.world_updates[0];
  const resumed = await openWorldStream(stack.url, "ann", "glade", { lastEventId: first.id });
  assert.equal((await resumed.take(1))[0]!.id, second.id, "only what came after the id");
  await resumed.close();
});
