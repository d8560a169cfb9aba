/**
 * The relay floor: the least a Deno process can do to get a NATS message to
 * SSE clients. One NATS subscription (`bench.floor`), every message framed
 * once as a `world_update` SSE frame and enqueued to every open stream.
 * No auth, no validation, no routing: the best this machine can do with the
 * same runtime, the same NATS client library and the same wire format.
 *
 * Run as its own process by the bench (so its CPU and memory are its own):
 *
 *   deno run -A tests/bench/floor_server.ts <natsUrl>
 *
 * prints `{"port": N}` on stdout once listening. `GET /stream` opens a
 * stream, `GET /count` answers the number of open streams.
 *
 * @module
 */
import { connect } from "@nats-io/transport-node";
import { installMemoryHook } from "./mem_hook.ts";

/** Subject the floor relays. */
export const FLOOR_SUBJECT = "bench.floor";

const encoder = new TextEncoder();
const RETRY = encoder.encode("retry: 2000\n\n");
const PREFIX = encoder.encode("event: world_update\ndata: ");
const SUFFIX = encoder.encode("\n\n");

async function main(): Promise<void> {
  const natsUrl = Deno.args[0];
  if (!natsUrl) throw new Error("usage: floor_server.ts <natsUrl>");
  installMemoryHook();
  const nc = await connect({ servers: natsUrl, name: "bench-floor" });
  const streams = new Set<ReadableStreamDefaultController<Uint8Array>>();
  nc.subscribe(FLOOR_SUBJECT, {
    callback: (_err, msg) => {
      const frame = new Uint8Array(PREFIX.byteLength + msg.data.byteLength + SUFFIX.byteLength);
      frame.set(PREFIX);
      frame.set(msg.data, PREFIX.byteLength);
      frame.set(SUFFIX, PREFIX.byteLength + msg.data.byteLength);
      for (const c of streams) {
        try {
          c.enqueue(frame);
        } catch { /* closing */ }
      }
    },
  });
  await nc.flush();
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, (req) => {
    const path = new URL(req.url).pathname;
    if (path === "/count") return new Response(String(streams.size));
    if (path !== "/stream") return new Response("not found", { status: 404 });
    let ctl!: ReadableStreamDefaultController<Uint8Array>;
    const body = new ReadableStream<Uint8Array>({
      start(c) {
        ctl = c;
        streams.add(c);
        c.enqueue(RETRY);
      },
      cancel() {
        streams.delete(ctl);
      },
    });
    return new Response(body, {
      headers: { "Content-Type": "text/event-stream", "Cache-Control": "no-cache" },
    });
  });
  console.log(JSON.stringify({ port: server.addr.port }));
  Deno.addSignalListener("SIGTERM", () => Deno.exit(0));
}

if (import.meta.main) await main();
