/**
 * Presence across two chat processes on one real nats-server: a
 * `ROLE=all` process (A, with the KB) and a `ROLE=chat` process (B). Each
 * has its own {@linkcode ManualClock}, so the grace period and the
 * heartbeats run when a test moves time, never by sleeping: arriving,
 * moving, a reconnect within the grace (no flicker), leaving after it, and a
 * process that stops beating (forgotten after grace + one heartbeat).
 */
import assert from "node:assert/strict";
import { ManualClock } from "../../shared/clock.ts";
import {
  delay,
  eventually,
  GLADE,
  setup,
  type SseClient,
  type TestStack,
} from "../_helpers/mod.ts";

const X = GLADE.shared;
const GRACE_MS = 10_000;

/** The presence events a stream got, as `user@location:state`. */
function presence(s: SseClient): string[] {
  return s.received("presence").map((m) => `${m.data.user_id}@${m.data.location}:${m.data.state}`);
}

async function twoProcesses() {
  const clockA = new ManualClock(1_000_000);
  const clockB = new ManualClock(1_000_000);
  const a = await setup({ content: "glade", clock: clockA });
  const b = await setup({
    role: "chat",
    nats: a.nats!,
    content: { dataDir: a.dataDir },
    clock: clockB,
  });
  return {
    a,
    b,
    clockA,
    clockB,
    async [Symbol.asyncDispose]() {
      await b.dispose();
      await a.dispose();
    },
  };
}

/** Closes a stream and waits until its process has seen it go (the grace period starts then). */
async function closeOn(stack: TestStack, s: SseClient) {
  await s.close();
  await eventually(() => stack.chat.openStreams().world === 0, { what: "the stream closed" });
}

async function move(stack: TestStack, user: string, message: string) {
  const r = await stack.act(user, message, X);
  assert.equal(r.status, 200, JSON.stringify(r.body));
}

Deno.test("presence: arrivals, moves and leaving after the grace period, across two chat processes", async () => {
  await using p = await twoProcesses();
  const ada = await p.a.world("ada", X);
  const bryn = await p.b.world("bryn", X);
  await eventually(() => presence(ada).includes("bryn@glade:here"), {
    what: () => `ada sees bryn: ${presence(ada)}`,
  });
  await eventually(() => presence(bryn).includes("ada@glade:here"), {
    what: () => `bryn sees ada: ${presence(bryn)}`,
  });
  assert.ok(presence(ada).includes("ada@glade:here"), "a player's own stream lists them too");

  // The snapshot (from A's KB, which hears every process's beats) says who is present.
  const presentIn = async () =>
    ((await p.a.state("ada", X)).present as { user_id: string; location: string }[])
      .map((u) => `${u.user_id}@${u.location}`).sort();
  await eventually(async () => (await presentIn()).join() === "ada@glade,bryn@glade", {
    what: "the snapshot lists both",
  });

  // A move through process B reaches A's stream with the new place.
  await move(p.b, "bryn", "north");
  await eventually(() => presence(ada).includes("bryn@store:here"), {
    what: () => `ada sees bryn move: ${presence(ada)}`,
  });

  // A reconnect within the grace period: nobody sees bryn leave.
  await closeOn(p.b, bryn);
  p.clockB.advance(GRACE_MS - 1);
  const bryn2 = await p.b.world("bryn", X);
  p.clockB.advance(GRACE_MS * 2); // heartbeats only: bryn is back
  await delay(200); // a stray `left` would be on its way by now
  assert.ok(!presence(ada).includes("bryn@store:left"), `no flicker: ${presence(ada)}`);
  assert.ok(presence(bryn2).includes("ada@glade:here"), "the reopened stream gets the roster");

  // Gone for good: `left` once the grace period has passed, not before.
  await closeOn(p.b, bryn2);
  p.clockB.advance(GRACE_MS - 1);
  await delay(200);
  assert.ok(!presence(ada).includes("bryn@store:left"), "still within the grace period");
  p.clockB.advance(1);
  await eventually(() => presence(ada).includes("bryn@store:left"), {
    what: () => `ada sees bryn leave: ${presence(ada)}`,
  });
  assert.deepEqual(p.a.chat.presence.present(X).map((x) => x.user_id), ["ada"]);
  await eventually(async () => (await presentIn()).join() === "ada@glade", {
    what: "the snapshot no longer lists bryn",
  });
  await ada.close();
});

Deno.test("presence: a process that stops beating is forgotten within grace plus one heartbeat", async () => {
  await using p = await twoProcesses();
  const ada = await p.a.world("ada", X);
  const bryn = await p.b.world("bryn", X);
  await eventually(() => presence(ada).includes("bryn@glade:here"), { what: "bryn arrives" });
  // B goes silent without saying goodbye (as a killed process would).
  p.b.chat.presence.close();
  p.clockA.advance(GRACE_MS - 1);
  await delay(200);
  assert.ok(!presence(ada).includes("bryn@glade:left"), "missed heartbeats are not leaving yet");
  p.clockA.advance(GRACE_MS / 2 + 1);
  await eventually(() => presence(ada).includes("bryn@glade:left"), {
    what: () => `bryn expires: ${presence(ada)}`,
  });
  await bryn.close();
  await ada.close();
});

Deno.test("presence: none in an isolated world, and a closed stream's subscriptions go at once", async () => {
  await using p = await twoProcesses();
  const base = p.a.bus.subscriptionCount();
  const ada = await p.a.world("ada", GLADE.solo);
  const bryn = await p.a.world("bryn", GLADE.solo);
  p.clockA.advance(GRACE_MS);
  await delay(200);
  assert.deepEqual(presence(ada), []);
  assert.deepEqual(p.a.chat.presence.present(GLADE.solo), []);
  await ada.close();
  await closeOn(p.a, bryn);
  // The grace period keeps a player listed, not the stream's subscriptions.
  await eventually(() => p.a.bus.subscriptionCount() === base, {
    timeoutMs: 1000,
    what: () => `subscriptions back to ${base}: ${p.a.bus.subscriptionCount()}`,
  });
});

Deno.test("presence: hostile user ids, two shared experiences: each stream hears only its own experience", async () => {
  await using p = await twoProcesses();
  const users = [
    "*",
    ">",
    "a.b",
    "player@example.com",
    "../x",
    "Jörmungandr-名前-🙂",
    "L" + "ong-".repeat(63) + "xyz", // the longest user id (256 characters)
  ];
  const experiences = [GLADE.shared, GLADE.cellar];
  const streams = new Map<string, SseClient>();
  for (const [i, u] of users.entries()) {
    for (const x of experiences) {
      // Half on each process.
      streams.set(`${u}\u0000${x}`, await (i % 2 ? p.b : p.a).world(u, x));
    }
  }
  const start = (x: string) => x === GLADE.cellar ? "cellar" : "glade";
  for (const [key, s] of streams) {
    const [u, x] = key.split("\u0000") as [string, string];
    const want = users.map((v) => `${v}@${start(x)}:here`).sort();
    await eventually(() => [...new Set(presence(s))].sort().join("\n") === want.join("\n"), {
      what: () => `${JSON.stringify(u)} in ${x}: ${presence(s)}`,
    });
  }
  // Everything sent by now has arrived: still nothing from the other experience.
  await delay(200);
  for (const [key, s] of streams) {
    const x = key.split("\u0000")[1]!;
    for (const m of s.received("presence")) assert.equal(m.data.location, start(x), key);
  }
  for (const s of streams.values()) await s.close();
});

Deno.test("presence: past PRESENCE_WIDE_MAX present players, changes stay at their location; the snapshot still lists everyone", async () => {
  await using h = await setup({
    content: "glade",
    clock: new ManualClock(1_000_000),
    env: { PRESENCE_WIDE_MAX: "2" },
  });
  const ada = await h.world("ada", X);
  const bryn = await h.world("bryn", X);
  await eventually(() => presence(ada).includes("bryn@glade:here"), {
    what: () => `two players: the whole experience hears (${presence(ada)})`,
  });
  await move(h, "cleo", "north");
  const cleo = await h.world("cleo", X); // the third: past the limit
  await eventually(() => presence(cleo).includes("cleo@store:here"), {
    what: () => `cleo's own stream: ${presence(cleo)}`,
  });
  await move(h, "dara", "north");
  const dara = await h.world("dara", X);
  await eventually(() => presence(cleo).includes("dara@store:here"), {
    what: () => `cleo hears dara arrive where she stands: ${presence(cleo)}`,
  });
  await delay(200); // a stray frame to the glade would be on its way by now
  assert.ok(
    !presence(ada).some((p) => p.startsWith("cleo@") || p.startsWith("dara@")),
    `ada, in the glade, hears nothing of the store: ${presence(ada)}`,
  );
  assert.ok(
    !presence(dara).some((p) => p.startsWith("ada@") || p.startsWith("bryn@")),
    `dara's roster is her location's: ${presence(dara)}`,
  );
  const present = ((await h.state("ada", X)).present as { user_id: string }[])
    .map((u) => u.user_id).sort();
  assert.deepEqual(present, ["ada", "bryn", "cleo", "dara"]);
  await Promise.all([ada.close(), bryn.close(), cleo.close(), dara.close()]);
});
