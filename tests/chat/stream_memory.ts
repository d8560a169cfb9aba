/**
 * Measures server memory per idle world stream: starts nats-server and the
 * chat module behind a real port, then a separate client process opens N
 * world streams (one user each, all in one shared experience) over raw TCP
 * and holds them. Heap (after a full GC) and RSS are compared before and
 * after. The clients live in their own process so their memory is not counted.
 *
 *   deno run -A tests/chat/stream_memory.ts [N=1000]
 *
 * @module
 */
import { eventually, forceGc, setup, tokenFor } from "../_helpers/mod.ts";

async function clientMode(port: number, n: number): Promise<void> {
  const conns: Deno.Conn[] = [];
  const enc = new TextEncoder();
  for (let i = 0; i < n; i++) {
    const token = await tokenFor(`mem-user-${i}`);
    const conn = await Deno.connect({ hostname: "127.0.0.1", port });
    await conn.write(enc.encode(
      `GET /api/v0.3/world/stream?experience=shared-woods HTTP/1.1\r\nHost: x\r\n` +
        `Authorization: Bearer ${token}\r\n\r\n`,
    ));
    const buf = new Uint8Array(4096);
    const got = await conn.read(buf); // status line, headers and the retry hint
    if (!got || !new TextDecoder().decode(buf.subarray(0, got)).startsWith("HTTP/1.1 200")) {
      throw new Error("stream open failed");
    }
    conns.push(conn);
  }
  console.log("ready");
  // Hold the streams until the parent closes our stdin.
  for await (const _ of Deno.stdin.readable) { /* wait */ }
  for (const c of conns) c.close();
}

async function main(): Promise<void> {
  const n = Number(Deno.args[0] ?? 1000);
  // Streams only: ROLE=chat and no KB (every experience id is accepted then).
  const stack = await setup({ role: "chat", logLevel: "error" });
  const { chat, bus } = stack;

  // Warm up code paths with a few streams first, so JIT and pools are not counted.
  const warm = await spawnClients(stack.port, 20);
  await warm.stop();
  await waitFor(() => chat.openStreams().world === 0);

  forceGc();
  const before = Deno.memoryUsage();
  const t0 = performance.now();
  const clients = await spawnClients(stack.port, n);
  const openMs = performance.now() - t0;
  await waitFor(() => chat.openStreams().world === n);
  forceGc();
  const after = Deno.memoryUsage();
  const heapPer = (after.heapUsed - before.heapUsed) / n;
  const rssPer = (after.rss - before.rss) / n;
  console.log(JSON.stringify({
    streams: n,
    open_ms: Math.round(openMs),
    nats_subscriptions: bus.subscriptionCount(),
    heap_before_mb: +(before.heapUsed / 1e6).toFixed(1),
    heap_after_mb: +(after.heapUsed / 1e6).toFixed(1),
    rss_before_mb: +(before.rss / 1e6).toFixed(1),
    rss_after_mb: +(after.rss / 1e6).toFixed(1),
    heap_per_stream_kb: +(heapPer / 1024).toFixed(2),
    rss_per_stream_kb: +(rssPer / 1024).toFixed(2),
  }));
  const t1 = performance.now();
  await clients.stop();
  await waitFor(() => chat.openStreams().world === 0 && bus.subscriptionCount() === 0);
  console.log(JSON.stringify({ all_closed_ms: Math.round(performance.now() - t1) }));

  await stack.dispose();
}

async function spawnClients(port: number, n: number): Promise<{ stop(): Promise<void> }> {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", new URL(import.meta.url).pathname, "--clients", String(port), String(n)],
    stdin: "piped",
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let out = "";
  while (!out.includes("ready")) {
    const { value, done } = await reader.read();
    if (done) throw new Error("client process exited early");
    out += value;
  }
  reader.cancel().catch(() => {});
  return {
    async stop() {
      await child.stdin.close();
      await child.status;
    },
  };
}

function waitFor(fn: () => boolean): Promise<unknown> {
  return eventually(fn, { timeoutMs: 30_000, what: "the streams" });
}

if (import.meta.main) {
  if (Deno.args[0] === "--clients") await clientMode(Number(Deno.args[1]), Number(Deno.args[2]));
  else await main();
}
