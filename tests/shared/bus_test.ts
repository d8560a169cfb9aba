import { deepStrictEqual as eq, ok as assert } from "node:assert/strict";
import { BusError, InProcessBus, NatsBus } from "../../shared/bus/mod.ts";
import type { Bus, BusStatus } from "../../shared/bus/mod.ts";
import { eventually, natsServer } from "../_helpers/mod.ts";

const waitFor = (pred: () => boolean, what: string) =>
  eventually(pred, { timeoutMs: 10_000, what });

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
  eq(got, ["m0:r0", "m1:r1", "m2:r2"]);
  eq(b.subscriptionCount(), base, "subscription disposed after break");

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
  eq(body, { echo: { x: 1 }, rid: "abc" });
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
  const nats = await natsServer();
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
  const nats = await natsServer();
  const bus = await NatsBus.connect(nats.url, { reconnectTimeWaitMs: 50 });
  const seen: BusStatus[] = [];
  const off = bus.onStatus((s) => seen.push(s));
  try {
    eq(bus.status(), "connected");
    await nats.stop();
    await waitFor(() => bus.status() === "reconnecting", "reconnecting");
    eq(bus.publish("x.y", "while down"), true, "publish never throws while down");
    let err: unknown;
    try {
      await bus.request("kb.interact", "{}", { timeoutMs: 200 });
    } catch (e) {
      err = e;
    }
    assert(err instanceof BusError && err.code === "disconnected", `got ${err}`);
    await nats.restart();
    await waitFor(() => bus.status() === "connected", "connected again");
    assert(seen.includes("reconnecting"), seen.join(","));
    eq(seen.at(-1), "connected");
  } finally {
    off();
    await bus.close();
    await nats.dispose();
  }
  eq(bus.status(), "closed", "closed after close()");
  eq(bus.publish("x.y", "after close"), false, "publish after close returns false");
});

Deno.test("InProcessBus behaves like the real one", async () => {
  const bus = new InProcessBus();
  await exerciseBus(bus, bus);
  await bus.close();
});
