/**
 * The test kit's cluster launcher against the real binary: three JetStream
 * servers form one cluster, a replicated stream survives SIGKILL of its
 * leader, and a member restarts in place (same ports, same store).
 */
import assert from "node:assert/strict";
import { connect } from "@nats-io/transport-node";
import { jetstream, jetstreamManager } from "@nats-io/jetstream";
import { startNatsCluster } from "../../shared/nats_server.ts";

Deno.test("nats cluster: three nodes, an R3 stream outlives its leader, restart in place", async () => {
  const cluster = await startNatsCluster();
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
    let stored = 1;
    const deadline = Date.now() + 20_000;
    while (stored < 2) {
      try {
        await js.publish("kit.b", "2", { timeout: 1_000 });
        stored++;
      } catch (e) {
        if (Date.now() > deadline) throw e;
        await new Promise((r) => setTimeout(r, 200));
      }
    }
    const newLeader = await cluster.streamLeader("KIT");
    assert.ok(newLeader && newLeader !== leader, `a new leader (${newLeader}) replaced ${leader}`);

    await victim.restart();
    assert.ok(victim.pid() !== undefined && victim.pid() !== pid);
    await cluster.ready();
    // The restarted member catches up; the leader reports both messages.
    let info = await jsm.streams.info("KIT");
    for (let i = 0; i < 50 && info.state.messages < 2; i++) {
      await new Promise((r) => setTimeout(r, 200));
      info = await jsm.streams.info("KIT");
    }
    assert.equal(info.state.messages, 2);
    assert.equal(info.config.num_replicas, 3);
  } finally {
    await nc.close();
    await cluster.dispose();
  }
});
