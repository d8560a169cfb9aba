/**
 * End to end over a real port and a real nats-server: 200 consecutive
 * actions by one player through `POST /api/v0.3/chat`; every stream has its
 * `world_update` before its first `content`, every event applied to the
 * previous snapshot gives the state on disk, and a second player's world
 * stream sees the world part of each action and never the first player's
 * player-scope changes.
 */
import assert from "node:assert/strict";
import { applyWorldUpdate } from "../../shared/apply.ts";
import { fileNameFor } from "../../shared/subjects.ts";
import { metrics } from "../../shared/metrics.ts";
import type { WorldSnapshot, WorldUpdateEvent } from "../../shared/schema.ts";
import { percentiles, setup, type SseMessage } from "../_helpers/mod.ts";

const EXP = "wylding-woods";
const CYCLE = ["north", "east", "take the dream bottle", "drop the dream bottle", "west", "south"];

/** Cumulative counts of `nats_world_updates_latency_ms{stream="chat"}` by upper bound. */
async function chatLatencyBuckets(): Promise<Map<number, number>> {
  const out = new Map<number, number>();
  for (const v of (await metrics.worldUpdateLatency.get()).values) {
    const labels = v.labels as Record<string, string | number | undefined>;
    if (v.metricName?.endsWith("_bucket") && labels.stream === "chat") {
      out.set(labels.le === "+Inf" ? Infinity : Number(labels.le), v.value);
    }
  }
  return out;
}

Deno.test("walking skeleton: 200 actions, world_update before content, deltas equal disk, isolation", async () => {
  await using stack = await setup();
  const alice = await stack.login("alice@example.com");
  const bobStream = await stack.world("bob.b", EXP, { query: true });
  try {
    const stateOf = async (token: string): Promise<WorldSnapshot> => {
      const res = await fetch(`${stack.url}/api/v0.3/world/state?experience=${EXP}`, {
        headers: stack.headers(token),
      });
      assert.equal(res.status, 200, "state");
      // Who is present comes from presence heartbeats, not from state: no delta carries it.
      const { present: _present, ...snapshot } = await res.json();
      return snapshot;
    };
    const disk = async () => {
      const dir = `${stack.stateDir}/experiences/${EXP}`;
      const world = JSON.parse(await Deno.readTextFile(`${dir}/world.json`));
      const file = `${dir}/players/${await fileNameFor("alice@example.com")}.json`;
      const profile = JSON.parse(await Deno.readTextFile(file));
      return { version: world.version, world: world.world, player: profile.player };
    };

    const serverBefore = await chatLatencyBuckets();
    let snapshot = await stateOf(alice);
    let violations = 0;
    const latencies: number[] = [];
    const aliceEvents: WorldUpdateEvent[] = [];
    for (let i = 0; i < 200; i++) {
      const message = CYCLE[i % CYCLE.length]!;
      const events: SseMessage[] = await stack.play("alice@example.com", message, EXP);
      const types = events.map((e) => e.event);
      assert.equal(types[0], "metadata", `action ${i} (${message}): first event`);
      assert.equal(types.at(-1), "done", `action ${i}: last event`);
      assert.ok(!types.includes("error"), `action ${i}: error ${JSON.stringify(events)}`);
      const wu = events.filter((e) => e.event === "world_update");
      assert.equal(wu.length, 1, `action ${i} (${message}): world_updates`);
      const firstContent = types.indexOf("content");
      assert.ok(firstContent > 0, `action ${i}: no narrative`);
      if (types.indexOf("world_update") > firstContent) violations++;
      const event = wu[0]!.data as WorldUpdateEvent;
      assert.equal(wu[0]!.id, event.id, "SSE id is the event id");
      latencies.push(wu[0]!.at - event.timestamp);
      aliceEvents.push(event);

      const applied = applyWorldUpdate(snapshot, event);
      const after = await stateOf(alice);
      assert.deepEqual(applied, after, `action ${i} (${message}): delta applied != snapshot`);
      const onDisk = await disk();
      assert.deepEqual(
        { version: applied.version, world: applied.world, player: applied.player },
        onDisk,
        `action ${i} (${message}): delta applied != files on disk`,
      );
      snapshot = after;
    }
    assert.equal(violations, 0, "streams with content before world_update");
    const { p50, p99, max } = percentiles(latencies);
    console.log(
      `KB commit -> client receipt of world_update over 200 actions: p50 ${
        p50.toFixed(2)
      } ms, p99 ${p99.toFixed(2)} ms, max ${max.toFixed(2)} ms`,
    );
    // The same span on the server, KB commit -> SSE write, from its histogram.
    const serverAfter = await chatLatencyBuckets();
    const written = serverAfter.get(Infinity)! - (serverBefore.get(Infinity) ?? 0);
    assert.equal(written, 200, "chat world_update writes the server observed");
    const shares = [...serverAfter].filter(([le]) => le !== Infinity).map(([le, n]) =>
      `${(100 * (n - (serverBefore.get(le) ?? 0)) / written).toFixed(1)}% <= ${le} ms`
    );
    console.log(
      `KB commit -> SSE write on the server (histogram): ${shares.slice(0, 6).join(", ")}`,
    );

    // Bob sees the world part of each of Alice's actions, in order, and nothing of hers beyond it.
    const seen = (await bobStream.take(aliceEvents.length)).map((m) => m.data as WorldUpdateEvent);
    assert.deepEqual(
      seen.map((e) => e.id),
      aliceEvents.map((e) => e.id),
      "bob saw alice's events in order",
    );
    for (const e of seen) {
      assert.equal(e.user_id, "alice@example.com", "foreign event");
      assert.equal(e.changes.player, undefined, "bob received alice's player-scope changes");
    }
    const versions = seen.map((e) => e.version);
    assert.ok(versions.every((v, i) => i === 0 || v > versions[i - 1]!), "bob's versions increase");
  } finally {
    await bobStream.close();
  }
});
