/**
 * End to end over a real port and a real nats-server: 200 consecutive
 * actions by one player through `POST /api/v0.3/chat`; every stream has its
 * `world_update` before its first `content`, every event applied to the
 * previous snapshot gives the state on disk, and a second player's world
 * stream sees the world part of each action and never the first player's
 * player-scope changes.
 */
import { applyWorldUpdate } from "../../shared/apply.ts";
import { fileNameFor } from "../../shared/subjects.ts";
import { metrics } from "../../shared/metrics.ts";
import type { WorldSnapshot, WorldUpdateEvent } from "../../shared/schema.ts";
import { openSse, type SseEvent } from "../helpers/sse.ts";
import { percentiles, startStack } from "../helpers/stack.ts";

const EXP = "wylding-woods";
const CYCLE = ["north", "east", "take the dream bottle", "drop the dream bottle", "west", "south"];

function assert(cond: unknown, msg: string): asserts cond {
  if (!cond) throw new Error(msg);
}
const json = (v: unknown) => JSON.stringify(v, Object.keys(v as object).sort());
function assertDeepEqual(a: unknown, b: unknown, msg: string) {
  const canon = (v: unknown): unknown =>
    v && typeof v === "object" && !Array.isArray(v)
      ? Object.fromEntries(Object.keys(v).sort().map((k) => [k, canon((v as never)[k])]))
      : Array.isArray(v)
      ? v.map(canon)
      : v;
  const x = JSON.stringify(canon(a)), y = JSON.stringify(canon(b));
  if (x !== y) throw new Error(`${msg}\n  got:  ${x.slice(0, 800)}\n  want: ${y.slice(0, 800)}`);
}

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
  const stack = await startStack();
  const alice = await stack.login("alice@example.com");
  const bob = await stack.login("bob.b");
  const bobStream = await openSse(
    `${stack.url}/api/v0.3/world/stream?experience=${EXP}&access_token=${bob}`,
  );
  try {
    const stateOf = async (token: string): Promise<WorldSnapshot> => {
      const res = await fetch(`${stack.url}/api/v0.3/world/state?experience=${EXP}`, {
        headers: stack.headers(token),
      });
      assert(res.status === 200, `state: ${res.status}`);
      return await res.json();
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
      const s = await openSse(`${stack.url}/api/v0.3/chat`, {
        method: "POST",
        headers: stack.headers(alice),
        body: JSON.stringify({ message, experience: EXP }),
      });
      const events: SseEvent[] = await s.collect();
      await s.close();
      const types = events.map((e) => e.event);
      assert(types[0] === "metadata", `action ${i} (${message}): first event ${types[0]}`);
      assert(types.at(-1) === "done", `action ${i}: last event ${types.at(-1)}`);
      assert(!types.includes("error"), `action ${i}: error ${JSON.stringify(events)}`);
      const wu = events.filter((e) => e.event === "world_update");
      assert(wu.length === 1, `action ${i} (${message}): ${wu.length} world_updates`);
      const firstContent = types.indexOf("content");
      assert(firstContent > 0, `action ${i}: no narrative`);
      if (types.indexOf("world_update") > firstContent) violations++;
      const event = JSON.parse(wu[0]!.data) as WorldUpdateEvent;
      assert(wu[0]!.id === event.id, "SSE id is the event id");
      latencies.push(wu[0]!.at - event.timestamp);
      aliceEvents.push(event);

      const applied = applyWorldUpdate(snapshot, event);
      const after = await stateOf(alice);
      assertDeepEqual(applied, after, `action ${i} (${message}): delta applied != snapshot`);
      const onDisk = await disk();
      assertDeepEqual(
        { version: applied.version, world: applied.world, player: applied.player },
        onDisk,
        `action ${i} (${message}): delta applied != files on disk`,
      );
      snapshot = after;
    }
    assert(violations === 0, `${violations} streams had content before world_update`);
    const { p50, p99, max } = percentiles(latencies);
    console.log(
      `KB commit -> client receipt of world_update over 200 actions: p50 ${
        p50.toFixed(2)
      } ms, p99 ${p99.toFixed(2)} ms, max ${max.toFixed(2)} ms`,
    );
    // The same span on the server, KB commit -> SSE write, from its histogram.
    const serverAfter = await chatLatencyBuckets();
    const written = serverAfter.get(Infinity)! - (serverBefore.get(Infinity) ?? 0);
    assert(written === 200, `server observed ${written} chat world_update writes, want 200`);
    const shares = [...serverAfter].filter(([le]) => le !== Infinity).map(([le, n]) =>
      `${(100 * (n - (serverBefore.get(le) ?? 0)) / written).toFixed(1)}% <= ${le} ms`
    );
    console.log(
      `KB commit -> SSE write on the server (histogram): ${shares.slice(0, 6).join(", ")}`,
    );

    // Bob sees the world part of each of Alice's actions, in order, and nothing of hers beyond it.
    const seen: WorldUpdateEvent[] = [];
    while (seen.length < aliceEvents.length) {
      const e = await bobStream.next(5_000);
      assert(e, "bob's stream ended");
      if (e.event !== "world_update") continue;
      seen.push(JSON.parse(e.data));
    }
    assert(
      json(seen.map((e) => e.id)) === json(aliceEvents.map((e) => e.id)),
      "bob saw alice's events in order",
    );
    for (const e of seen) {
      assert(e.user_id === "alice@example.com", `foreign event ${e.user_id}`);
      assert(!e.changes.player, `bob received alice's player-scope changes: ${JSON.stringify(e)}`);
    }
    const versions = seen.map((e) => e.version);
    assert(versions.every((v, i) => i === 0 || v > versions[i - 1]!), "bob's versions increase");
  } finally {
    await bobStream.close();
    await stack.dispose();
  }
});
