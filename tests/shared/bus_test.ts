import { ok as assert } from "node:assert/strict";
import { BusError, InProcessBus, NatsBus } from "../../shared/bus/mod.ts";
import { startNatsServer } from "../../shared/nats_server.ts";
import type { Bus, BusStatus } from "../../shared/bus/mod.ts";

async function waitFor(pred: () => boolean, what: string, ms = 10_000) {
  const end = Date.now() + ms;
  while (!pred()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

async function exerciseBus(a: Bus, b: Bus) {
  // subscribe as iterable; breaking out disposes the subscription
  const base = b.subscriptionCount();
  const sub = b.subscribe("t.iter");
  const got: string[] = [];
  const reader = (async () => {
    for await (const m of sub) {
      got.push(new TextDecoder().decode(m.data) + ":" + m.requestId);
      if (got.length === 3) break;
    }
  })();
  await b.flush();
  for (let i = 0; i < 3; i++) {
    assert(a.publish("t.iter", `m${i}`, { requestId: `r${i}` }), "publish");
  }
  await reader;
  assert(got.join(",") === "m0:r0,m1:r1,m2:r2", got.join(","));
  assert(b.subscriptionCount() === base, "subscription disposed after break");

  // request/reply with request id in headers
  const responder = b.subscribe("t.req", {
    queue: "q",
    callback: (m) => m.respond(JSON.stringify({ echo: m.json(), rid: m.requestId })),
  });
  await b.flush();
  const reply = await a.request("t.req", JSON.stringify({ x: 1 }), {
    timeoutMs: 2000,
    requestId: "abc",
  });
  const body = reply.json<{ echo: { x: number }; rid: string }>();
  assert(body.echo.x === 1 && body.rid === "abc", JSON.stringify(body));
  responder.unsubscribe();

  // no responders
  let err: unknown;
  try {
    await a.request("t.nobody", "x", { timeoutMs: 500 });
  } catch (e) {
    err = e;
  }
  assert(err instanceof BusError && err.code === "no_responders", `got ${err}`);
}

Deno.test("NatsBus: pub/sub, request ids, no responders, against a real nats-server", async () => {
  const nats = await startNatsServer();
  const a = await NatsBus.connect(nats.url);
  const b = await NatsBus.connect(nats.url);
  try {
    await exerciseBus(a, b);
  } finally {
    await a.close();
    await b.close();
    await nats.dispose();
  }
});

Deno.test("NatsBus: status goes reconnecting then connected when the server restarts", async () => {
  const nats = await startNatsServer();
  const bus = await NatsBus.connect(nats.url, { reconnectTimeWaitMs: 50 });
  const seen: BusStatus[] = [];
  const off = bus.onStatus((s) => seen.push(s));
  try {
    assert(bus.status() === "connected", bus.status());
    await nats.stop();
    await waitFor(() => bus.status() === "reconnecting", "reconnecting");
    assert(bus.publish("x.y", "while down") === true, "publish never throws while down");
    let err: unknown;
    try {
      await bus.request("kb.interact", "{}", { timeoutMs: 200 });
    } catch (e) {
      err = e;
    }
    assert(err instanceof BusError && err.code === "disconnected", `got ${err}`);
    await nats.restart();
    await waitFor(() => bus.status() === "connected", "connected again");
    assert(seen.includes("reconnecting") && seen.at(-1) === "connected", seen.join(","));
  } finally {
    off();
    await bus.close();
    await nats.dispose();
  }
  assert(bus.status() === "closed", "closed after close()");
  assert(bus.publish("x.y", "after close") === false, "publish after close returns false");
});

Deno.test("InProcessBus behaves like the real one", async () => {
  const bus = new InProcessBus();
  await exerciseBus(bus, bus);
  await bus.close();
});
