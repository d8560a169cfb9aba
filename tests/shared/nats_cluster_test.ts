/**
 * The test kit's cluster launcher against the real binary: three JetStream
 * servers form one cluster, a replicated stream survives SIGKILL of its
 * leader, and a member restarts in place (same ports, same store).
 */
import assert from "node:assert/strict";
import { connect } from "@nats-io/transport-node";
import { jetstream, jetstreamManager } from "@nats-io/jetstream";
import { eventually, natsCluster } from "../_helpers/mod.ts";

Deno.test("nats cluster: three nodes, an R3 stream outlives its leader, restart in place", async () => {
  await using cluster = await natsCluster();
  const nc = await connect({
    servers: cluster.url.split(","),
    maxReconnectAttempts: -1,
    reconnectTimeWait: 100,
  });
  try {
    assert.equal(cluster.servers.length, 3);
    assert.deepEqual(cluster.servers.map((s) => s.name), ["n1", "n2", "n3"]);
    const jsm = await jetstreamManager(nc);
    await jsm.streams.add({ name: "KIT", subjects: ["kit.>"], num_replicas: 3 });
    const js = jetstream(nc);
    await js.publish("kit.a", "1");

    const leader = await cluster.streamLeader("KIT");
    assert.ok(leader, "the stream has a leader");
    const victim = cluster.server(leader);
    const pid = victim.pid();
    assert.ok(pid);
    await victim.stop();
    assert.equal(victim.pid(), undefined);

    // A new leader is elected among the two left; publishing resumes.
    await eventually(() => js.publish("kit.b", "2", { timeout: 1_000 }), {
      timeoutMs: 20_000,
      intervalMs: 200,
      what: "a publish accepted by the new leader",
    });
    const newLeader = await cluster.streamLeader("KIT");
    assert.ok(newLeader && newLeader !== leader, `a new leader (${newLeader}) replaced ${leader}`);

    await victim.restart();
    assert.ok(victim.pid() !== undefined && victim.pid() !== pid);
    await cluster.ready();
    // The restarted member catches up in the background (it may lead again meanwhile).
    const info = await eventually(async () => {
      const i = await jsm.streams.info("KIT");
      return i.state.messages === 2 && i;
    }, { timeoutMs: 10_000, what: "both messages in the stream after the restart" });
    assert.equal(info.state.messages, 2);
    assert.equal(info.config.num_replicas, 3);
  } finally {
    await nc.close();
  }
});
