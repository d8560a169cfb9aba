/**
 * The bus's JetStream side against real nats-servers: the history of a
 * stream (create or update from its spec, state, ordered reads up to a cut)
 * and the acknowledged publish. The stream's settings are checked with a
 * separate nats.js connection, the way an operator would see them.
 */
import { jetstreamManager } from "@nats-io/jetstream";
import { connect } from "@nats-io/transport-node";
import { deepStrictEqual as eq, ok, rejects } from "node:assert/strict";
import {
  BusError,
  type HistoryStreamSpec,
  InProcessBus,
  NatsBus,
  type StoredMessage,
} from "../../shared/bus/mod.ts";
import { delay as sleep, eventually, freePort, natsBinary, natsServer } from "../_helpers/mod.ts";

const text = (m: StoredMessage) => new TextDecoder().decode(m.data);

function isBusError(code: BusError["code"]) {
  return (e: unknown) => {
    ok(e instanceof BusError, `not a BusError: ${e}`);
    eq(e.code, code, e.message);
    return true;
  };
}

async function withServer(fn: (bus: NatsBus, url: string) => Promise<void>): Promise<void> {
  const nats = await natsServer();
  const bus = await NatsBus.connect(nats.url, { name: "history-test", reconnectTimeWaitMs: 50 });
  try {
    await fn(bus, nats.url);
  } finally {
    await bus.close();
    await nats.dispose();
  }
}

async function streamConfig(url: string, name: string) {
  const nc = await connect({ servers: url });
  try {
    return (await (await jetstreamManager(nc)).streams.info(name)).config;
  } finally {
    await nc.close();
  }
}

const SPEC: HistoryStreamSpec = { name: "T_EVENTS", subjects: ["t.>"], maxAgeMs: 60_000 };

Deno.test("history: ensure creates the stream from its spec once, and updates what differs", async () => {
  await withServer(async (bus, url) => {
    const history = bus.history(SPEC);
    eq(history.stream, "T_EVENTS");
    await Promise.all([history.ensure(), history.ensure()]);
    const created = await streamConfig(url, "T_EVENTS");
    eq(
      [created.subjects, created.max_age, created.num_replicas],
      [["t.>"], 60_000 * 1e6, 1],
    );
    eq([created.storage, created.retention, created.discard], ["file", "limits", "old"]);

    // A new retention (a restart with another WORLD_RETENTION) updates the stream in place.
    await bus.history({ ...SPEC, maxAgeMs: 120_000 }).ensure();
    eq((await streamConfig(url, "T_EVENTS")).max_age, 120_000 * 1e6);
  });
});

Deno.test("history: one subject in stream order from a start time, up to the cut, in batches", async () => {
  await withServer(async (bus) => {
    const history = bus.history(SPEC);
    await history.ensure();
    eq(await history.state(), { lastSeq: 0, messages: 0, firstStoredMs: undefined });
    for (let i = 0; i < 5; i++) {
      bus.publish("t.a", `early${i}`);
      bus.publish("t.b", `other${i}`);
    }
    await bus.flush();
    // Wall-clock gaps either side of `middle`: the server stamps stored times.
    await sleep(50);
    const middle = Date.now();
    await sleep(50);
    for (let i = 0; i < 7; i++) bus.publish("t.a", `late${i}`);
    await bus.flush();
    const state = await history.state();
    eq([state.lastSeq, state.messages], [17, 17]);
    ok(state.firstStoredMs! <= middle && state.firstStoredMs! > middle - 5_000, "first stored");
    bus.publish("t.a", "after the cut");
    await bus.flush();

    const readAll = async (startMs: number) => {
      const reader = await history.read("t.a", { startMs, cut: state.lastSeq, batch: 3 });
      const got: StoredMessage[] = [];
      try {
        ok(reader.pending >= 7, `pending ${reader.pending}`);
        for (let m = await reader.next(); m; m = await reader.next()) got.push(m);
        eq(await reader.next(), undefined, "stays at the end");
      } finally {
        reader.close();
      }
      return got;
    };
    const all = await readAll(0);
    eq(all.map(text), [...[0, 1, 2, 3, 4].map((i) => `early${i}`), ...late()]);
    eq(all.map((m) => m.seq), [1, 3, 5, 7, 9, 11, 12, 13, 14, 15, 16, 17]);
    ok(all.every((m) => m.subject === "t.a"));
    eq((await readAll(middle)).map(text), late());
  });
  function late() {
    return Array.from({ length: 7 }, (_, i) => `late${i}`);
  }
});

Deno.test("history: a missing stream is stream_not_found; JetStream off is jetstream_unavailable", async () => {
  await withServer(async (bus) => {
    const missing = bus.history({ ...SPEC, name: "NEVER_MADE" });
    await rejects(missing.state(), isBusError("stream_not_found"));
    await rejects(missing.read("t.a", { startMs: 0, cut: 1 }), isBusError("stream_not_found"));
  });

  // A plain nats-server, without -js.
  const bin = natsBinary();
  const port = freePort();
  const child = new Deno.Command(bin, {
    args: ["-a", "127.0.0.1", "-p", String(port)],
    stdout: "null",
    stderr: "null",
  }).spawn();
  let bus: NatsBus | undefined;
  try {
    bus = await eventually(() => NatsBus.connect(`nats://127.0.0.1:${port}`), {
      intervalMs: 50,
      what: "the plain nats-server",
    });
    await rejects(bus.history(SPEC).ensure(), isBusError("jetstream_unavailable"));
    await rejects(bus.publishAcked("t.a", "x"), isBusError("jetstream_unavailable"));
  } finally {
    await bus?.close();
    child.kill("SIGKILL");
    await child.status;
  }
});

Deno.test("publishAcked: stored in call order with its sequence; a repeated msgId is a duplicate", async () => {
  await withServer(async (bus) => {
    await rejects(bus.publishAcked("t.a", "no stream yet"), isBusError("jetstream_unavailable"));
    const history = bus.history(SPEC);
    await history.ensure();
    // Not awaited one by one: each is written before publishAcked returns.
    const acks = await Promise.all(
      Array.from(
        { length: 50 },
        (_, i) =>
          bus.publishAcked(i % 2 ? "t.a" : "t.b", `m${i}`, { msgId: `id-${i}`, requestId: "r" }),
      ),
    );
    eq(acks.map((a) => a.seq), Array.from({ length: 50 }, (_, i) => i + 1));
    ok(acks.every((a) => a.stream === "T_EVENTS" && !a.duplicate));
    eq(await bus.publishAcked("t.a", "again", { msgId: "id-7" }), {
      stream: "T_EVENTS",
      seq: 8,
      duplicate: true,
    });
    eq((await history.state()).messages, 50);
  });
});

Deno.test("publishAcked: refused at once while the bus is down", async () => {
  const nats = await natsServer();
  const bus = await NatsBus.connect(nats.url, { reconnectTimeWaitMs: 50 });
  try {
    await bus.history(SPEC).ensure();
    await nats.stop();
    await eventually(() => bus.status() !== "connected", { what: "the bus down" });
    await rejects(bus.publishAcked("t.a", "x", { timeoutMs: 5_000 }), isBusError("disconnected"));
  } finally {
    await bus.close();
    await nats.dispose();
  }
});

Deno.test("InProcessBus: no history; publishAcked resolves after local delivery", async () => {
  const bus = new InProcessBus();
  const got: string[] = [];
  bus.subscribe("t.a", { callback: (m) => got.push(new TextDecoder().decode(m.data)) });
  eq(bus.history(SPEC), undefined);
  const first = await bus.publishAcked("t.a", "one");
  eq(got, ["one"], "delivered before the acknowledgement");
  eq((await bus.publishAcked("t.a", "two")).seq, first.seq + 1);
  await bus.close();
  await rejects(bus.publishAcked("t.a", "three"), isBusError("disconnected"));
});
