/**
 * Replicated history on a real 3-node JetStream cluster (DESIGN.md
 * guarantee 9): the world stream gets 3 replicas by default, and killing
 * (SIGKILL) the node that leads it mid-play, while observers keep
 * reconnecting with `Last-Event-ID`, loses nothing and repeats nothing.
 */
import assert from "node:assert/strict";
import { delay, eventually, natsCluster, spawnServer } from "../_helpers/mod.ts";
import {
  assertContiguous,
  committedVersion,
  flakyObserver,
  replayUntil,
  startLoad,
} from "./_delivery.ts";

Deno.test("delivery on a 3-node cluster: the world stream has 3 replicas; SIGKILL of its leader mid-play loses and repeats nothing", async () => {
  const cluster = await natsCluster();
  const stateDir = await Deno.makeTempDir({ prefix: "gaia-delivery-" });
  const env = { NATS_URL: cluster.url, STATE_DIR: stateDir, LOG_LEVEL: "error" };
  const server = await spawnServer(env);
  try {
    const observers = ["o1", "o2", "o3"].map((u) => flakyObserver(u, () => server.url));
    await delay(300); // the observers connect
    const load = await startLoad(30, () => server.url);
    await delay(1_500); // play before the fault

    const leader = await cluster.streamLeader("WORLD_UPDATES");
    assert.ok(leader, "the world stream has a leader");
    const info = await (await fetch(
      `http://127.0.0.1:${cluster.server(leader).monitorPort}/jsz?streams=true&config=true`,
    )).json();
    const replicas = info.account_details?.[0]?.stream_detail?.find(
      (s: { name: string }) => s.name === "WORLD_UPDATES",
    )?.config?.num_replicas;
    assert.equal(replicas, 3, "WORLD_REPLICAS unset on 3 JetStream servers means 3 replicas");

    const before = await committedVersion(stateDir);
    await cluster.server(leader).stop(); // SIGKILL of the stream leader's node
    // An election, while players act and observers reconnect.
    await eventually(async () => {
      const now = await cluster.streamLeader("WORLD_UPDATES");
      return now !== leader && now;
    }, { timeoutMs: 15_000, intervalMs: 100, what: `a new leader to replace ${leader}` });
    await delay(1_500); // play on after the election
    await load.stop();
    const committed = await committedVersion(stateDir);
    assert.ok(
      committed > before + 30,
      `play went on during the election (${before} → ${committed})`,
    );

    for (const [i, o] of observers.entries()) {
      await o.finish(committed);
      // A burst after the election may overrun a stream's buffer: that ends
      // it with resync slow_consumer, and the observer resumes from its last id.
      o.got.resyncs = o.got.resyncs.filter((r) => r !== "slow_consumer");
      const from = o.got.versions[0];
      assert.ok(from !== undefined, `observer ${i + 1} saw nothing`);
      assertContiguous(o.got, from, committed, `observer ${i + 1}`);
    }
    // And a late replay from the first event of one of them.
    const late = await replayUntil(server.url, "late", observers[0]!.got.ids[0]!, committed);
    assertContiguous(late, observers[0]!.got.versions[0]! + 1, committed, "late replay");
    console.log(
      `cluster delivery: leader ${leader} killed at v${before}, ${committed} versions committed, ` +
        `observers reconnecting every 200-600 ms got every one`,
    );
  } finally {
    await server.dispose();
    await cluster.dispose();
    await Deno.remove(stateDir, { recursive: true });
  }
});
