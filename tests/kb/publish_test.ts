import { deepStrictEqual as eq, ok } from "node:assert/strict";
import { type BusMessage, NatsBus } from "../../shared/bus/mod.ts";
import { type InteractReply, type WorldUpdateEvent } from "../../shared/schema.ts";
import { experienceSubject, KB_INTERACT, userSubject } from "../../shared/subjects.ts";
import {
  delay as sleep,
  eventually,
  natsServer as startNatsServer,
  startKb,
} from "../_helpers/mod.ts";

const EXP = "wylding-woods";
const kbFixture = (opts: { bus: NatsBus }) => startKb({ bus: opts.bus, responder: false });
const until = (cond: () => boolean | Promise<boolean>, ms: number, what: string) =>
  eventually(cond, { timeoutMs: ms, what, intervalMs: 20 });

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
  const nats = await startNatsServer();
  const kbBus = await NatsBus.connect(nats.url, { name: "kb" });
  const client = await NatsBus.connect(nats.url, { name: "client" });
  const fx = await kbFixture({ bus: kbBus });
  try {
    fx.kb.startResponder();
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
    await until(() => alice.got.length === 1 && world.got.length === 1, 2000, "events");
    eq(alice.got[0], { event: ev, requestId: "req-1" });
    eq(world.got[0]!.event, { ...ev, changes: { world: ev.changes.world } });
    ok(ev.changes.player && ev.changes.world);

    // A retry of the same request id is answered from memory and applied once.
    const again = (await request("alice.a", "take the lantern", "req-1")).json<InteractReply>();
    eq(again, reply);

    const bobReply = (await request("bob", "north", "req-2")).json<InteractReply>();
    ok(bobReply.ok);
    await until(() => bob.got.length === 1 && world.got.length === 2, 2000, "bob's events");
    await sleep(100);
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
  const nats = await startNatsServer();
  const kbBus = await NatsBus.connect(nats.url, { name: "kb" });
  const client = await NatsBus.connect(nats.url, { name: "client" });
  const fx = await kbFixture({ bus: kbBus });
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
    await until(() => seen === 40, 3000, "40 events");
    eq(violations, []);
    sub.unsubscribe();
  } finally {
    await fx.dispose();
    await client.close();
    await kbBus.close();
    await nats.dispose();
  }
});

Deno.test("publish: with NATS down or hung actions still commit in bounded time; the breaker logs once per state change", async () => {
  const nats = await startNatsServer();
  const kbBus = await NatsBus.connect(nats.url, { name: "kb", reconnectTimeWaitMs: 100 });
  const client = await NatsBus.connect(nats.url, { name: "client", reconnectTimeWaitMs: 100 });
  const fx = await kbFixture({ bus: kbBus });
  const lines: string[] = [];
  const original = console.error;
  console.error = (...args: unknown[]) => lines.push(args.map(String).join(" "));
  const breakerLines = () =>
    lines.filter((l) => l.includes("circuit breaker")).map((l) => JSON.parse(l).breaker);
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
    const mine = collect(client, userSubject("walker"));
    await client.flush();
    await step();
    await until(() => mine.got.length === 1, 2000, "first event");

    // Hung server: the connection looks fine but nothing is acknowledged.
    Deno.kill(nats.pid()!, "SIGSTOP");
    const hung: number[] = [];
    for (let i = 0; i < 6; i++) hung.push(await step());
    ok(hung.every((ms) => ms < 250 + 200), `hung-server action times ${hung.map(Math.round)}`);
    // Acknowledgements are awaited in the background; they time out after 250 ms.
    await until(() => fx.kb.stats().state === "open", 1000, "breaker open");
    ok(hung.slice(3).every((ms) => ms < 100), `open breaker still waits: ${hung.map(Math.round)}`);
    // Let every pending acknowledgement time out first: one that arrived after
    // SIGCONT would close the breaker straight from open (a healthy server).
    await sleep(300);
    Deno.kill(nats.pid()!, "SIGCONT");
    await sleep(1100); // cooldown
    await step();
    await until(() => fx.kb.stats().state === "closed", 1000, "breaker closed after a trial");
    eq(breakerLines(), ["open", "half_open", "closed"]);

    // Dead server: the bus reconnects in the background, actions never wait for it.
    // JetStream is what fills other players' gaps after an outage: count what it stores.
    const outage = client.history({ name: "OUTAGE", subjects: ["world.updates.>"], maxAgeMs: 0 });
    await outage.ensure();
    const stored = async () => (await outage.state()).messages;
    await nats.stop();
    await until(() => kbBus.status() !== "connected", 3000, "disconnect");
    const down: number[] = [];
    for (let i = 0; i < 20; i++) down.push(await step());
    ok(down.every((ms) => ms < 100), `actions with NATS down took ${down.map(Math.round)}`);
    eq(fx.kb.stats().state, "open");
    eq(breakerLines(), ["open", "half_open", "closed", "open"]);
    // Events of the outage wait in the outbox (nats.js would discard them on reconnect).
    const queued = fx.kb.stats().queued;
    ok(queued >= 20, `queued ${queued}`);

    await nats.restart();
    await until(
      () => kbBus.status() === "connected" && client.status() === "connected",
      5000,
      "reconnect",
    );
    await step();
    // The 20 outage events (user + experience subject each) reach the server
    // after reconnect, in version order, before the new one.
    await until(async () => (await stored()) === 42, 3000, "outbox flushed after NATS came back");
    const versions: number[] = [];
    const reader = await outage.read(userSubject("walker"), { startMs: 0, cut: 42 });
    try {
      for (let m = await reader.next(); m; m = await reader.next()) {
        versions.push(JSON.parse(new TextDecoder().decode(m.data)).version);
      }
    } finally {
      reader.close();
    }
    ok(
      versions.length === 21 && versions.every((v, i) => i === 0 || v === versions[i - 1]! + 1),
      `versions ${versions}`,
    );
    eq(fx.kb.stats().queued, 0);
    await until(() => fx.kb.stats().state === "closed", 1000, "breaker closed again");
    eq(breakerLines(), ["open", "half_open", "closed", "open", "half_open", "closed"]);
    mine.sub.unsubscribe();
  } finally {
    console.error = original;
    await fx.dispose();
    await client.close();
    await kbBus.close();
    await nats.dispose();
  }
});
