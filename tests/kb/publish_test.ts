import { deepStrictEqual as eq, ok } from "node:assert/strict";
import { type BusMessage, NatsBus, worldUpdatesStream } from "../../shared/bus/mod.ts";
import { type InteractReply, type WorldUpdateEvent } from "../../shared/schema.ts";
import { experienceSubject, KB_INTERACT, userSubject } from "../../shared/subjects.ts";
import { delay, eventually, natsServer, startKb } from "../_helpers/mod.ts";

const EXP = "wylding-woods";

/** Collects messages of one subject through a callback subscription. */
function collect(bus: NatsBus, subject: string) {
  const got: Array<{ event: WorldUpdateEvent; requestId: string | undefined }> = [];
  const sub = bus.subscribe(subject, {
    callback: (m: BusMessage) =>
      got.push({ event: m.json<WorldUpdateEvent>(), requestId: m.requestId }),
  });
  return { got, sub };
}

Deno.test("publish: kb.interact over NATS replies and publishes to the user and experience subjects only", async () => {
  const nats = await natsServer();
  const kbBus = await NatsBus.connect(nats.url, { name: "kb" });
  const client = await NatsBus.connect(nats.url, { name: "client" });
  const fx = await startKb({ bus: kbBus, responder: false });
  try {
    fx.kb.startResponder();
    // The responder's SUB goes out on the KB's own connection: flush it, or the
    // first request can reach the server before it and find no responders.
    await kbBus.flush();
    const alice = collect(client, userSubject("alice.a"));
    const bob = collect(client, userSubject("bob"));
    const world = collect(client, experienceSubject(EXP));
    await client.flush();
    const request = (user: string, message: string, id: string) =>
      client.request(
        KB_INTERACT,
        JSON.stringify({ request_id: id, user_id: user, experience: EXP, message }),
        {
          timeoutMs: 5000,
          requestId: id,
        },
      );
    const msg = await request("alice.a", "take the lantern", "req-1");
    eq(msg.requestId, "req-1");
    const reply = msg.json<InteractReply>();
    ok(reply.ok);
    eq(reply.outcome.kind, "took");
    eq(reply.events.length, 1);
    const ev = reply.events[0]!;
    eq([ev.user_id, ev.version, ev.metadata], ["alice.a", 1, {
      source: "kb",
      state_model: "shared",
      request_id: "req-1",
    }]);
    await eventually(() => alice.got.length === 1 && world.got.length === 1, {
      timeoutMs: 2000,
      what: "events",
    });
    eq(alice.got[0], { event: ev, requestId: "req-1" });
    eq(world.got[0]!.event, { ...ev, changes: { world: ev.changes.world } });
    ok(ev.changes.player && ev.changes.world);

    // A retry of the same request id is answered from memory and applied once.
    const again = (await request("alice.a", "take the lantern", "req-1")).json<InteractReply>();
    eq(again, reply);

    const bobReply = (await request("bob", "north", "req-2")).json<InteractReply>();
    ok(bobReply.ok);
    await eventually(() => bob.got.length === 1 && world.got.length === 2, {
      timeoutMs: 2000,
      what: "bob's events",
    });
    await delay(100); // nothing more arrives
    eq(bob.got.map((g) => g.event.user_id), ["bob"]); // never alice's player-scope event
    eq(alice.got.length, 1);
    eq(world.got.map((g) => g.event.version), [1, 2]);

    const bad =
      (await client.request(KB_INTERACT, "not json", { timeoutMs: 5000, requestId: "req-3" })).json<
        InteractReply
      >();
    eq(bad.ok ? undefined : [bad.error.status, bad.request_id], [400, "req-3"]);
    const unknown = (await request("bob", "look", "req-4")).json<InteractReply>();
    ok(unknown.ok);
    const missing = (await client.request(
      KB_INTERACT,
      JSON.stringify({ request_id: "r5", user_id: "bob", experience: "../x", message: "look" }),
      { timeoutMs: 5000 },
    )).json<InteractReply>();
    eq(missing.ok ? undefined : missing.error.code, "unknown_experience");
    for (const s of [alice, bob, world]) s.sub.unsubscribe();
  } finally {
    await fx.dispose();
    await client.close();
    await kbBus.close();
    await nats.dispose();
  }
});

Deno.test("publish: an event is only ever seen after its commit is on disk", async () => {
  const nats = await natsServer();
  const kbBus = await NatsBus.connect(nats.url, { name: "kb" });
  const client = await NatsBus.connect(nats.url, { name: "client" });
  const fx = await startKb({ bus: kbBus, responder: false });
  try {
    const worldFile = `${fx.stateDir}/experiences/${EXP}/world.json`;
    const violations: string[] = [];
    let seen = 0;
    const sub = client.subscribe(experienceSubject(EXP), {
      callback: (m) => {
        const ev = m.json<WorldUpdateEvent>();
        const onDisk = JSON.parse(Deno.readTextFileSync(worldFile)).version;
        if (onDisk < ev.version) violations.push(`event v${ev.version} before disk v${onDisk}`);
        seen++;
      },
    });
    await client.flush();
    const moves = ["north", "south"];
    for (let i = 0; i < 40; i++) {
      const r = await fx.kb.interact({
        request_id: `c${i}`,
        user_id: `u${i % 4}`,
        experience: EXP,
        message: moves[Math.floor(i / 4) % 2]!,
      });
      ok(r.ok && r.outcome.changed);
    }
    await eventually(() => seen === 40, { timeoutMs: 3000, what: "40 events" });
    eq(violations, []);
    sub.unsubscribe();
  } finally {
    await fx.dispose();
    await client.close();
    await kbBus.close();
    await nats.dispose();
  }
});

Deno.test("publish: with NATS hung or down actions commit at once; events wait in the outbox (one log line each way) and reach JetStream once, in order", async () => {
  const nats = await natsServer();
  const kbBus = await NatsBus.connect(nats.url, { name: "kb", reconnectTimeWaitMs: 100 });
  const client = await NatsBus.connect(nats.url, { name: "client", reconnectTimeWaitMs: 100 });
  const fx = await startKb({ bus: kbBus, responder: false, ackTimeoutMs: 300 });
  const lines: string[] = [];
  const original = console.error;
  console.error = (...args: unknown[]) => lines.push(args.map(String).join(" "));
  const publishing = () =>
    lines.filter((l) => l.includes("event publishing")).map((l) =>
      JSON.parse(l).msg.includes("paused") ? "paused" : "resumed"
    );
  let n = 0;
  const step = async (user = "walker") => {
    const t0 = performance.now();
    const r = await fx.kb.interact({
      request_id: `b${n}`,
      user_id: user,
      experience: EXP,
      message: n++ % 2 ? "south" : "north",
    });
    ok(r.ok && r.outcome.changed && r.events.length === 1, JSON.stringify(r));
    return performance.now() - t0;
  };
  try {
    const history = client.history(worldUpdatesStream({ retentionMs: 3_600_000 }));
    const mine = collect(client, userSubject("walker"));
    await client.flush();
    await step();
    await eventually(() => mine.got.length === 1 && fx.kb.stats().pending === 0, {
      timeoutMs: 2000,
      what: "first ack",
    });

    // Hung server: the connection looks fine but nothing is acknowledged.
    Deno.kill(nats.pid()!, "SIGSTOP");
    const hung: number[] = [];
    for (let i = 0; i < 6; i++) hung.push(await step());
    ok(hung.every((ms) => ms < 100), `hung-server action times ${hung.map(Math.round)}`);
    // The acknowledgements time out after 300 ms: the world's publishing pauses.
    await eventually(() => fx.kb.stats().paused === 1, {
      timeoutMs: 2000,
      what: "publishing paused",
    });
    eq(fx.kb.stats().pending, 6, "the six events wait");
    Deno.kill(nats.pid()!, "SIGCONT");
    await eventually(() => fx.kb.stats().pending === 0, {
      timeoutMs: 5000,
      what: "retried and acknowledged",
    });
    eq(publishing(), ["paused", "resumed"]);

    // Dead server: the bus reconnects in the background, actions never wait for it.
    await nats.stop();
    await eventually(() => kbBus.status() !== "connected", { timeoutMs: 3000, what: "disconnect" });
    const down: number[] = [];
    for (let i = 0; i < 20; i++) down.push(await step());
    ok(down.every((ms) => ms < 100), `actions with NATS down took ${down.map(Math.round)}`);
    eq(fx.kb.stats().pending, 20, "the outage's events wait in the outbox");

    await nats.restart();
    await eventually(() => kbBus.status() === "connected" && client.status() === "connected", {
      timeoutMs: 5000,
      what: "reconnect",
    });
    await step();
    await eventually(() => fx.kb.stats().pending === 0, {
      timeoutMs: 5000,
      what: "outbox delivered after NATS came back",
    });
    // A bus that is down is the bus's own log line ("bus status"); nothing failed to publish.
    eq(publishing(), ["paused", "resumed"]);
    // JetStream holds every version of the walker's events once, in order.
    const { lastSeq } = await history!.state();
    const versions: number[] = [];
    const reader = await history!.read(userSubject("walker"), { startMs: 0, cut: lastSeq });
    try {
      for (let m = await reader.next(); m; m = await reader.next()) {
        versions.push(JSON.parse(new TextDecoder().decode(m.data)).version);
      }
    } finally {
      reader.close();
    }
    eq(versions, Array.from({ length: 28 }, (_, i) => i + 1));
    mine.sub.unsubscribe();
  } finally {
    console.error = original;
    await fx.dispose();
    await client.close();
    await kbBus.close();
    await nats.dispose();
  }
});
