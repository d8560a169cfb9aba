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
import { Kb } from "../../kb/mod.ts";
import { NatsBus } from "../../shared/bus/mod.ts";
import { AppError } from "../../shared/errors.ts";
import { KB_INTERACT, KB_QUEUE } from "../../shared/subjects.ts";
import { startNatsServer } from "../../shared/nats_server.ts";
import { DATA_DIR } from "../kb/_support.ts";

const EXP = "wylding-woods";
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function cluster() {
  const nats = await startNatsServer();
  const root = await Deno.makeTempDir({ prefix: "kb-client-" });
  const busA = await NatsBus.connect(nats.url, { name: "a" });
  const busB = await NatsBus.connect(nats.url, { name: "b" });
  const opts = { dataDir: DATA_DIR, stateDir: `${root}/state` };
  const kbA = await Kb.create({ ...opts, bus: busA }); // this process's KB
  const kbB = await Kb.create({ ...opts, bus: busB }); // another process's KB
  return {
    busA,
    kbA,
    kbB,
    async dispose() {
      await kbA.close();
      await kbB.close();
      await busA.close();
      await busB.close();
      await nats.dispose();
      await Deno.remove(root, { recursive: true });
    },
  };
}

Deno.test("kb client: a timed-out request answered elsewhere is not applied again here", async () => {
  const c = await cluster();
  try {
    c.kbB.startResponder(); // only B answers on the bus
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
    await sleep(500); // B finishes, if the request reached it (it may not have: 1 ms)
    const snap = await c.kbA.snapshot("alice", EXP);
    ok(snap.version <= 1, `applied ${snap.version} times`);
    eq(snap.player.location, snap.version === 1 ? "mossy-path" : "woods-edge");
  } finally {
    await c.dispose();
  }
});

Deno.test("kb client: a timed-out request the in-process KB is running gets that KB's reply", async () => {
  const c = await cluster();
  try {
    // The request already runs in this process's KB (as if the bus had
    // delivered it here), while the bus answer never comes.
    const req = { request_id: "mine-1", user_id: "bea", experience: EXP, message: "go north" };
    const running = c.kbA.interact(req);
    const blackHole = c.busA.subscribe(KB_INTERACT, { queue: KB_QUEUE, callback: () => {} });
    const client = new KbClient({ bus: c.busA, fallback: c.kbA, kbTimeoutMs: 50 });
    const reply = await client.interact(req);
    blackHole.unsubscribe();
    eq(reply, await running, "the running action's reply, not a second action");
    ok(reply.ok, JSON.stringify(reply));
    eq(reply.events.length, 1);
    const snap = await c.kbA.snapshot("bea", EXP);
    eq(snap.player.location, "mossy-path");
    eq(snap.version, 1, "one commit");
  } finally {
    await c.dispose();
  }
});

Deno.test("kb: a reused request id with another message is a new action; a 429 is not its final answer", async () => {
  const nats = await startNatsServer();
  const root = await Deno.makeTempDir({ prefix: "kb-dedupe-" });
  const bus = await NatsBus.connect(nats.url);
  const kb = await Kb.create({
    bus,
    dataDir: DATA_DIR,
    stateDir: `${root}/state`,
    worldUpdateRate: { rate: 5, burst: 2 },
  });
  try {
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
    await sleep(450); // the bucket refills
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
  } finally {
    await kb.close();
    await bus.close();
    await nats.dispose();
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("kb client (ROLE=chat): RemoteKb behind the bus: 504 for a request that may have arrived, 503 without KB_URL", async () => {
  const nats = await startNatsServer();
  const bus = await NatsBus.connect(nats.url, { name: "chat-only" });
  try {
    // KB_URL points nowhere reachable: were the request retried there, the answer would be 503.
    const withUrl = new RemoteKb({ bus, kbUrl: "http://127.0.0.1:1", timeoutMs: 300 });
    eq(withUrl.hasRequest({ request_id: "x", user_id: "u", experience: EXP, message: "m" }), false);
    const blackHole = bus.subscribe(KB_INTERACT, { queue: KB_QUEUE, callback: () => {} });
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
