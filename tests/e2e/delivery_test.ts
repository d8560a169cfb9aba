/**
 * Every committed change is delivered (DESIGN.md guarantee 9), tried by
 * causing the faults: SIGKILL of the server under load, NATS down while
 * players act and then the server killed too, and an outbox bound that
 * forces a gap. The count is always the same: the shared world's committed
 * version against what a `Last-Event-ID` replay delivers (missing,
 * repeated, out of order, resync).
 */
import assert from "node:assert/strict";
import { delay, eventually, natsServer, type ServerProcess, spawnServer } from "../_helpers/mod.ts";
import {
  act,
  assertContiguous,
  committedVersion,
  openWorld,
  replayUntil,
  startLoad,
  WALK,
  watchFirst,
} from "./_delivery.ts";

const ROUNDS = 6;

/** Waits until the server's `/health` no longer reports NATS connected. */
async function natsLost(server: ServerProcess): Promise<void> {
  await eventually(
    async () => (await (await fetch(`${server.url}/health`)).json()).nats !== "connected",
    { timeoutMs: 5_000, what: "the server to see NATS gone" },
  );
}

Deno.test("delivery: SIGKILL of the server under load (30 players); a late replay has every committed version once, in order", async () => {
  const nats = await natsServer();
  const stateDir = await Deno.makeTempDir({ prefix: "gaia-delivery-" });
  const env = { NATS_URL: nats.url, STATE_DIR: stateDir, LOG_LEVEL: "error" };
  let server = await spawnServer(env);
  try {
    const watch = await watchFirst(server.url, "observer");
    const load = await startLoad(30, () => server.url);
    const first = await watch.first();
    await watch.close();
    for (let round = 0; round < ROUNDS; round++) {
      await delay(250 + Math.random() * 500); // a random instant of play
      server.kill("SIGKILL"); // the server itself, mid-commit or mid-publish
      await server.status;
      server = await spawnServer(env);
    }
    await delay(300); // play on the last server for a while
    await load.stop();
    const committed = await committedVersion(stateDir);
    assert.ok(committed > first.version + ROUNDS * 10, `only ${committed} versions committed`);
    const got = await replayUntil(server.url, "late", first.id, committed);
    assertContiguous(got, first.version + 1, committed, `after ${ROUNDS} SIGKILLs`);
    console.log(
      `delivery under SIGKILL: ${ROUNDS} kills, ${committed} versions committed, ` +
        `${load.acked()} actions acknowledged, ${got.versions.length} replayed after v${first.version}`,
    );
  } finally {
    await server.dispose();
    await nats.dispose();
    await Deno.remove(stateDir, { recursive: true });
  }
});

Deno.test("delivery: NATS down, 50 acknowledged actions, SIGKILL, both restarted; every version reaches the stream", async () => {
  const nats = await natsServer();
  const stateDir = await Deno.makeTempDir({ prefix: "gaia-delivery-" });
  const env = { NATS_URL: nats.url, STATE_DIR: stateDir, LOG_LEVEL: "error" };
  let server = await spawnServer(env);
  try {
    const watch = await watchFirst(server.url, "observer");
    await act(server.url, "ada", "north");
    const first = await watch.first();
    await watch.close();
    for (let i = 0; i < 5; i++) await act(server.url, "ada", WALK[(i + 1) % 2]!);

    await nats.stop(); // SIGKILL: NATS is gone
    await natsLost(server);
    for (let i = 0; i < 50; i++) await act(server.url, `p${i % 5}`, WALK[Math.floor(i / 5) % 2]!);
    server.kill("SIGKILL"); // the outbox is all that holds those 50 events now
    await server.status;

    await nats.restart();
    server = await spawnServer(env);
    const committed = await committedVersion(stateDir);
    assert.equal(committed, first.version + 55);
    const got = await replayUntil(server.url, "late", first.id, committed);
    assertContiguous(got, first.version + 1, committed, "after an outage and a SIGKILL");
  } finally {
    await server.dispose();
    await nats.dispose();
    await Deno.remove(stateDir, { recursive: true });
  }
});

Deno.test("delivery: events dropped past the outbox bound reach watchers as resync gap, never as a silent skip", async () => {
  const nats = await natsServer();
  const stateDir = await Deno.makeTempDir({ prefix: "gaia-delivery-" });
  const env = {
    NATS_URL: nats.url,
    STATE_DIR: stateDir,
    LOG_LEVEL: "error",
    OUTBOX_MAX_EVENTS: "2",
  };
  const server = await spawnServer(env);
  try {
    const live = await openWorld(server.url, "watcher");
    await act(server.url, "ada", "north");
    const [first] = await live.take(1);
    const firstId = first!.id!;
    const firstVersion: number = first!.data.version;
    await nats.stop();
    await natsLost(server);
    // Five commits while NATS is down: the outbox keeps the newest two.
    for (let i = 0; i < 5; i++) {
      await act(server.url, "bob", WALK[i % 2]!);
    }
    await nats.restart();

    // The live watcher catches up after the reconnect: versions +2..+4 are gone.
    const seen: Array<{ event: string; version?: number; reason?: string }> = [];
    while (!seen.some((s) => s.version === firstVersion + 5)) {
      const e = await live.next(15_000);
      if (e.event === "world_update") seen.push({ event: e.event, version: e.data.version });
      if (e.event === "resync") seen.push({ event: e.event, reason: e.data.reason });
    }
    await live.close();
    assert.deepEqual(seen, [
      { event: "resync", reason: "gap" },
      { event: "world_update", version: firstVersion + 4 },
      { event: "world_update", version: firstVersion + 5 },
    ]);

    // A late replay from the same id says so too.
    const late = await replayUntil(server.url, "late", firstId, firstVersion + 5);
    assert.deepEqual(late.resyncs, ["gap"]);
    assert.deepEqual(late.versions, [firstVersion + 4, firstVersion + 5]);
  } finally {
    await server.dispose();
    await nats.dispose();
    await Deno.remove(stateDir, { recursive: true });
  }
});
