/**
 * `NatsBus.kv` against a real nats-server: a missing bucket is created, one
 * with other replicas is updated, compare-and-set writes have one winner
 * (the loser gets `wrong_revision`, typed by JetStream's code), and the
 * watch delivers every change after it started, in order.
 */
import assert from "node:assert/strict";
import { jetstreamManager } from "@nats-io/jetstream";
import { connect } from "@nats-io/transport-node";
import { BusError, NatsBus } from "../../shared/bus/mod.ts";
import type { KvChange } from "../../shared/bus/mod.ts";
import { eventually, natsCluster, natsServer } from "../_helpers/mod.ts";

Deno.test("kv bucket: create, compare-and-set with one winner, typed wrong_revision, watch in order", async () => {
  await using nats = await natsServer();
  const a = await NatsBus.connect(nats.url);
  const b = await NatsBus.connect(nats.url);
  try {
    const kva = await a.kv({ name: "t_state" });
    const kvb = await b.kv({ name: "t_state" });
    assert.ok(kva.maxValueBytes > 500_000 && kva.maxValueBytes < 1024 * 1024);
    assert.equal(await kva.get("w.x"), null);

    const seen: KvChange[] = [];
    const watch = await kvb.watch((c) => seen.push(c));
    try {
      const r1 = await kva.create("w.x", "one");
      await assert.rejects(kvb.create("w.x", "again"), (e) => {
        assert.ok(e instanceof BusError);
        assert.equal(e.code, "wrong_revision");
        return true;
      });
      // Two writers from revision r1: exactly one wins.
      const results = await Promise.allSettled([
        kva.update("w.x", "from a", r1),
        kvb.update("w.x", "from b", r1),
      ]);
      const won = results.filter((r) => r.status === "fulfilled");
      const lost = results.filter((r) => r.status === "rejected");
      assert.equal(won.length, 1);
      assert.equal(((lost[0] as PromiseRejectedResult).reason as BusError).code, "wrong_revision");
      const e = await kvb.get("w.x");
      assert.ok(e);
      assert.equal(e.revision, (won[0] as PromiseFulfilledResult<number>).value);
      await kva.put("w.y", "y");
      await eventually(() => seen.length === 3, { what: "three changes watched" });
      assert.deepEqual(seen.map((c) => c.key), ["w.x", "w.x", "w.y"]);
      assert.ok(seen[0]!.revision < seen[1]!.revision && seen[1]!.revision < seen[2]!.revision);
      assert.equal(new TextDecoder().decode(seen[0]!.value), "one");
      assert.ok(watch.fresh());
      assert.deepEqual(await kva.keys(), ["w.x", "w.y"]);
    } finally {
      await watch.close();
    }
    assert.equal(watch.fresh(), false);
  } finally {
    await a.close();
    await b.close();
  }
});

Deno.test("kv bucket: more replicas than servers is refused with the fix; a bucket made by hand opens", async () => {
  await using nats = await natsServer();
  const nc = await connect({ servers: nats.url });
  const bus = await NatsBus.connect(nats.url);
  try {
    const jsm = await jetstreamManager(nc);
    await jsm.streams.add({
      name: "KV_t_old",
      subjects: ["$KV.t_old.>"],
      max_msgs_per_subject: 1,
      allow_rollup_hdrs: true,
      num_replicas: 1,
    });
    await assert.rejects(bus.kv({ name: "t_old", replicas: 3 }), (e) => {
      assert.ok(e instanceof BusError);
      assert.equal(e.code, "rejected");
      assert.match(e.message, /3 replicas need a JetStream cluster/);
      return true;
    });
    const kv = await bus.kv({ name: "t_old", replicas: 1 });
    assert.equal(await kv.create("k", "v"), 1);
  } finally {
    await bus.close();
    await nc.close();
  }
});

Deno.test("kv bucket on a 3-node cluster: one with other replicas is updated; a single-key bucket's compare-and-set has one winner per revision", async () => {
  await using cluster = await natsCluster();
  const buses = await Promise.all([0, 1, 2, 3].map(() => NatsBus.connect(cluster.url)));
  try {
    const first = await buses[0]!.kv({ name: "t_one", replicas: 1, singleKey: true });
    const nc = await connect({ servers: cluster.url.split(",") });
    const jsm = await jetstreamManager(nc);
    try {
      assert.equal((await jsm.streams.info("KV_t_one")).config.num_replicas, 1);
      const kvs = [];
      for (const b of buses) kvs.push(await b.kv({ name: "t_one", replicas: 3, singleKey: true }));
      assert.equal((await jsm.streams.info("KV_t_one")).config.num_replicas, 3);
      // The stream takes its new peers on: writes wait for that.
      await eventually(
        () =>
          first.create("world", "0").then(
            () => true,
            (e) => (e as BusError).code === "wrong_revision",
          ),
        {
          timeoutMs: 20_000,
          what: "the first write after the replicas grew",
        },
      );
      // Four writers, each reading then writing from what it read: every
      // revision is won at most once (nats-server 2.9.10's per-key check lets
      // several win here; the stream's last sequence does not).
      const wins = new Map<number, number>();
      await Promise.all(kvs.map(async (kv) => {
        for (let i = 0; i < 100; i++) {
          const e = (await kv.get("world"))!;
          try {
            await kv.update("world", String(i), e.revision);
            wins.set(e.revision, (wins.get(e.revision) ?? 0) + 1);
          } catch (err) {
            assert.equal((err as BusError).code, "wrong_revision");
          }
        }
      }));
      assert.ok(wins.size > 20, `${wins.size} writes won`);
      assert.deepEqual([...wins.values()].filter((n) => n > 1), [], "a revision won twice");
    } finally {
      await nc.close();
    }
  } finally {
    for (const b of buses) await b.close();
  }
});

Deno.test("kv watch on a 3-node cluster: SIGKILL of the node holding its consumer: it comes back by itself and catches up to the latest revision", async () => {
  await using cluster = await natsCluster();
  const writer = await NatsBus.connect(cluster.url, { reconnectTimeWaitMs: 100 });
  const reader = await NatsBus.connect(cluster.url, { reconnectTimeWaitMs: 100 });
  try {
    const kvw = await writer.kv({ name: "t_watch", replicas: 3 });
    const kvr = await reader.kv({ name: "t_watch", replicas: 3 });
    const values: number[] = [];
    let lastRevision = 0;
    const watch = await kvr.watch((c) => {
      assert.ok(c.revision > lastRevision, "revisions only go up");
      lastRevision = c.revision;
      values.push(Number(new TextDecoder().decode(c.value)));
    });
    try {
      await kvw.put("k", "1");
      await eventually(() => values.length === 1, { what: "the first write watched" });
      const leaders = await eventually(async () => {
        const m = await cluster.consumerLeaders("KV_t_watch");
        return m.size > 0 && m;
      }, { what: "the watch's consumer on some node" });
      const node = [...leaders.values()][0]!;
      await cluster.server(node).stop(); // SIGKILL of the node holding the consumer
      const killedAt = performance.now();
      let staleFor = 0;
      for (let v = 2; v <= 5; v++) {
        // A write whose answer was lost may be stored twice: the values are checked in order below.
        await eventually(() => kvw.put("k", String(v)).then(() => true, () => false), {
          timeoutMs: 20_000,
          what: `write ${v} after the kill`,
        });
        if (!watch.fresh()) staleFor = performance.now() - killedAt;
      }
      await eventually(() => {
        if (!watch.fresh()) staleFor = performance.now() - killedAt;
        return watch.fresh() && values.at(-1) === 5;
      }, {
        timeoutMs: 30_000,
        intervalMs: 100,
        what: () => `the watch fresh again with every write (got ${values})`,
      });
      // The bucket keeps one value per key: a reopened watch brings each key
      // changed meanwhile at its latest revision (what a cache needs), in order.
      assert.deepEqual([...values].sort((a, b) => a - b), values, "in order");
      assert.equal(lastRevision, (await kvw.get("k"))!.revision, "the latest revision watched");
      console.log(
        `watch: consumer on ${node} killed; stale until at least ${
          Math.round(staleFor)
        } ms after; ` +
          `fresh with every write ${Math.round(performance.now() - killedAt)} ms after`,
      );
    } finally {
      await watch.close();
    }
  } finally {
    await writer.close();
    await reader.close();
  }
});
