/**
 * The frame queue piped to a real `node:http` response over a real socket:
 * frames go to the socket in chunked framing (shared bytes for a shared
 * frame), `end()` finishes the body with the last chunk so that the kept-
 * alive connection serves the next request, and a client that stops reading
 * leaves frames in our queue until the socket drains.
 */
import { deepStrictEqual as eq, ok } from "node:assert/strict";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { chunkOf, FrameQueue } from "../../chat/frame_queue.ts";
import { eventually } from "../_helpers/mod.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** A node:http server whose every request is answered by a fresh queue, handed to `onQueue`. */
async function queueServer(onQueue: (q: FrameQueue, ended: () => boolean) => void) {
  const server = http.createServer((_req, res) => {
    res.writeHead(200, { "Content-Type": "text/event-stream" });
    let ended = false;
    const q = new FrameQueue({ onTaken: () => {}, onEnd: () => ended = true });
    q.pipeTo(res);
    onQueue(q, () => ended);
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const port = (server.address() as AddressInfo).port;
  return {
    port,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

/** Reads from `conn` until `done(text so far)` (at most 10 s); returns the text. */
async function readUntil(conn: Deno.Conn, done: (text: string) => boolean): Promise<string> {
  let text = "";
  const buf = new Uint8Array(64 * 1024);
  let late = false;
  const timer = setTimeout(() => {
    late = true;
    conn.close();
  }, 10_000);
  try {
    while (!done(text)) {
      const n = await conn.read(buf);
      if (n === null) {
        throw new Error(`connection closed after: ${JSON.stringify(text.slice(-200))}`);
      }
      text += decoder.decode(buf.subarray(0, n));
    }
    return text;
  } catch (e) {
    if (late) {
      throw new Error(`nothing more within 10 s after: ${JSON.stringify(text.slice(-200))}`);
    }
    throw e;
  } finally {
    clearTimeout(timer);
  }
}

const request = (path: string) =>
  encoder.encode(`GET ${path} HTTP/1.1\r\nHost: t\r\nConnection: keep-alive\r\n\r\n`);

Deno.test("chunkOf: size line in hex, the frame, CRLF; made once per frame object", () => {
  const frame = encoder.encode("data: x\n\n".repeat(2)); // 18 bytes
  eq(decoder.decode(chunkOf(frame)), `12\r\n${"data: x\n\n".repeat(2)}\r\n`);
  ok(chunkOf(frame) === chunkOf(frame), "the same bytes for every stream of a fan-out");
});

Deno.test("frame queue on a real socket: chunked frames, a clean end, the connection kept for the next request", async () => {
  const served = await queueServer((q) => {
    q.push(encoder.encode("retry: 1000\n\n"));
    q.push(encoder.encode("data: one\n\n"));
    q.push(new Uint8Array(0)); // never written as a chunk: it would end the body
    q.push(encoder.encode("data: two\n\n"));
    q.end();
  });
  const conn = await Deno.connect({ hostname: "127.0.0.1", port: served.port });
  try {
    for (const path of ["/first", "/second"]) {
      await conn.write(request(path));
      const text = await readUntil(conn, (t) => t.includes("\r\n0\r\n\r\n"));
      const [head, body] = text.split("\r\n\r\n", 2) as [string, string];
      ok(/transfer-encoding: chunked/i.test(head), head);
      eq(
        text.slice(head.length + 4),
        "d\r\nretry: 1000\n\n\r\nb\r\ndata: one\n\n\r\nb\r\ndata: two\n\n\r\n0\r\n\r\n",
        `${path}: ${body}`,
      );
    }
  } finally {
    try {
      conn.close();
    } catch { /* closed by readUntil's deadline */ }
    await served.close();
  }
});

Deno.test("frame queue on a real socket: a client that stops reading keeps frames queued, and gets them in order when it reads", async () => {
  let queue: FrameQueue | undefined;
  let isEnded = () => false;
  const served = await queueServer((q, ended) => {
    queue = q;
    isEnded = ended;
  });
  const conn = await Deno.connect({ hostname: "127.0.0.1", port: served.port });
  try {
    await conn.write(request("/"));
    await eventually(() => queue !== undefined, { what: "the request" });
    const q = queue!;
    const frame = (i: number) =>
      encoder.encode(`data: ${String(i).padStart(6, "0")}${"x".repeat(8_000)}\n\n`);
    let i = 0;
    // Unread, the kernel's buffers and then the socket's fill up.
    for (; q.queuedBytes === 0 && i < 20_000; i++) q.push(frame(i));
    ok(q.queuedBytes > 0, "past the socket's buffers the frames wait in our queue");
    const pushed = i;
    q.end();
    const text = await readUntil(conn, (t) => t.endsWith("\r\n0\r\n\r\n"));
    const seen = [...text.matchAll(/data: (\d{6})/g)].map((m) => Number(m[1]));
    eq(seen.length, pushed);
    ok(seen.every((n, k) => n === k), "every frame once, in order");
    await eventually(isEnded, { what: "the queue's end" });
  } finally {
    try {
      conn.close();
    } catch { /* closed by readUntil's deadline */ }
    await served.close();
  }
});
