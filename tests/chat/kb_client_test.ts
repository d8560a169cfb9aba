/**
 * An action reaches at most one KB: a request that may have arrived (timed
 * out) is not sent again to another KB, which would act a second time; it is
 * answered by the fallback (the in-process KB) only when that KB is the one
 * running it; a `RemoteKb` fallback never claims one.
 * Two KBs share one STATE_DIR as two processes of a cluster would, on a real
 * nats-server.
 */
import { deepStrictEqual as eq, ok, rejects } from "node:assert/strict";
import { KbClient } from "../../chat/kb_client.ts";
import { RemoteKb } from "../../chat/remote_kb.ts";
import { type Bus, type BusMessage, NatsBus } from "../../shared/bus/mod.ts";
import { ManualClock } from "../../shared/clock.ts";
import { AppError } from "../../shared/errors.ts";
import { KB_INTERACT_ANY, KB_QUEUE } from "../../shared/subjects.ts";
import { eventually, natsServer, startKb } from "../_helpers/mod.ts";

const EXP = "wylding-woods";

/** Two KBs on one STATE_DIR and one nats-server, each on its own connection. */
async function cluster() {
  const nats = await natsServer();
  const a = await startKb({ natsUrl: nats.url, responder: false }); // this process's KB
  const b = await startKb({ natsUrl: nats.url, stateDir: a.stateDir, responder: false }); // another's
  return {
    busA: a.bus,
    busB: b.bus,
    kbA: a.kb,
    kbB: b.kb,
    nats,
    async [Symbol.asyncDispose]() {
      await b.dispose();
      await a.dispose();
      await nats.dispose();
    },
  };
}

/**
 * Counts `kb.interact` requests that reach the server and the replies sent
 * to them (listeners outside the queue group see both). JetStream's publish
 * acknowledgements travel on `_INBOX` too: a KB reply is the one naming a
 * request id.
 */
function spy(bus: Bus) {
  const seen = { requests: 0, replies: 0 };
  const isReply = (m: BusMessage) => {
    try {
      return typeof m.json<{ request_id?: unknown }>().request_id === "string";
    } catch {
      return false;
    }
  };
  const subs = [
    bus.subscribe(KB_INTERACT_ANY, { callback: () => seen.requests++ }),
    bus.subscribe("_INBOX.>", { callback: (m) => isReply(m) && seen.replies++ }),
  ];
  return { seen, stop: () => subs.forEach((s) => s.unsubscribe()) };
}

Deno.test("kb client: a timed-out request answered elsewhere is not applied again here", async () => {
  await using c = await cluster();
  const spyBus = await NatsBus.connect(c.nats.url, { name: "spy" });
  const arrivals = spy(spyBus);
  await spyBus.flush();
  try {
    c.kbB.startResponder(); // only B answers on the bus
    await c.busB.flush(); // the server has B's subscription: a request that arrives reaches B
    const client = new KbClient({
      bus: c.busA,
      // Its own KB, which does not run this request: a retry there would act again.
      fallback: c.kbA,
      kbTimeoutMs: 1, // B's commit (fsync) takes longer
    });
    const req = { request_id: "once-1", user_id: "alice", experience: EXP, message: "go north" };
    await rejects(client.interact(req), (e) => {
      ok(e instanceof AppError, String(e));
      eq([e.status, e.code], [504, "kb_timeout"]);
      return true;
    });
    // Whether the request reached the server (it may not have: 1 ms): once
    // A's publishes are processed, the spy has heard of it if it did.
    await c.busA.flush();
    await spyBus.flush();
    const reached = arrivals.seen.requests === 1;
    // Then B runs it: wait until B has answered (to nobody: A gave up).
    if (reached) await eventually(() => arrivals.seen.replies === 1, { what: "B's reply" });
    const snap = await c.kbA.snapshot("alice", EXP);
    eq(snap.version, reached ? 1 : 0, "applied once if it arrived, else never");
    eq(snap.player.location, reached ? "mossy-path" : "woods-edge");
  } finally {
    arrivals.stop();
    await spyBus.close();
  }
});

Deno.test("kb client: a timed-out request the in-process KB is running gets that KB's reply", async () => {
  await using c = await cluster();
  {
    // The request already runs in this process's KB (as if the bus had
    // delivered it here), while the bus answer never comes.
    const req = { request_id: "mine-1", user_id: "bea", experience: EXP, message: "go north" };
    const running = c.kbA.interact(req);
    const blackHole = c.busA.subscribe(KB_INTERACT_ANY, { queue: KB_QUEUE, callback: () => {} });
    const client = new KbClient({ bus: c.busA, fallback: c.kbA, kbTimeoutMs: 50 });
    const reply = await client.interact(req);
    blackHole.unsubscribe();
    eq(reply, await running, "the running action's reply, not a second action");
    ok(reply.ok, JSON.stringify(reply));
    eq(reply.events.length, 1);
    const snap = await c.kbA.snapshot("bea", EXP);
    eq(snap.player.location, "mossy-path");
    eq(snap.version, 1, "one commit");
  }
});

Deno.test("kb: a reused request id with another message is a new action; a 429 is not its final answer", async () => {
  await using nats = await natsServer().then((n) =>
    Object.assign(n, { [Symbol.asyncDispose]: n.dispose })
  );
  const clock = new ManualClock();
  await using k = await startKb({
    natsUrl: nats.url,
    responder: false,
    worldUpdateRate: { rate: 5, burst: 2 },
    clock,
  });
  const kb = k.kb;
  {
    const base = { request_id: "same-id", user_id: "cara", experience: EXP };
    const first = await kb.interact({ ...base, message: "go north" });
    ok(first.ok && first.outcome.kind === "moved", JSON.stringify(first));
    const again = await kb.interact({ ...base, message: "go north" });
    eq(again, first, "a retry gets the same reply");
    const other = await kb.interact({ ...base, message: "go south" });
    ok(
      other.ok && other.outcome.kind === "moved",
      `reused id, new message: ${JSON.stringify(other)}`,
    );
    eq((await kb.snapshot("cara", EXP)).version, 2);

    const busy = await kb.interact({
      request_id: "busy-1",
      user_id: "cara",
      experience: EXP,
      message: "go north",
    });
    ok(!busy.ok && busy.error.status === 429, JSON.stringify(busy));
    clock.advance(200); // the bucket refills: one token at 5/s
    const retried = await kb.interact({
      request_id: "busy-1",
      user_id: "cara",
      experience: EXP,
      message: "go north",
    });
    ok(
      retried.ok && retried.outcome.kind === "moved",
      `retry after 429: ${JSON.stringify(retried)}`,
    );
  }
});

Deno.test("kb client (ROLE=chat): RemoteKb behind the bus: 504 for a request that may have arrived, 503 without KB_URL", async () => {
  const nats = await natsServer();
  const bus = await NatsBus.connect(nats.url, { name: "chat-only" });
  try {
    // KB_URL points nowhere reachable: were the request retried there, the answer would be 503.
    const withUrl = new RemoteKb({ bus, kbUrl: "http://127.0.0.1:1", timeoutMs: 300 });
    eq(withUrl.hasRequest({ request_id: "x", user_id: "u", experience: EXP, message: "m" }), false);
    const blackHole = bus.subscribe(KB_INTERACT_ANY, { queue: KB_QUEUE, callback: () => {} });
    await bus.flush();
    const client = new KbClient({ bus, fallback: withUrl, kbTimeoutMs: 50 });
    const req = { request_id: "lost-1", user_id: "dan", experience: EXP, message: "look" };
    await rejects(client.interact(req), (e) => {
      ok(e instanceof AppError, String(e));
      eq([e.status, e.code], [504, "kb_timeout"]);
      return true;
    });
    blackHole.unsubscribe();
    await bus.flush();
    // No KB on the bus at all (no responders): the request surely did not
    // arrive, so the fallback is asked; without KB_URL it has nothing to offer.
    const bare = new KbClient({
      bus,
      fallback: new RemoteKb({ bus, timeoutMs: 300 }),
      kbTimeoutMs: 500,
    });
    await rejects(bare.interact({ ...req, request_id: "none-1" }), (e) => {
      ok(e instanceof AppError, String(e));
      eq([e.status, e.code], [503, "kb_unavailable"]);
      return true;
    });
    // And KB_URL unreachable: the same 503, from the HTTP attempt.
    await rejects(client.interact({ ...req, request_id: "none-2" }), (e) => {
      ok(e instanceof AppError, String(e));
      eq([e.status, e.code], [503, "kb_unavailable"]);
      return true;
    });
  } finally {
    await bus.close();
    await nats.dispose();
  }
});
