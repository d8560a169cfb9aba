/**
 * World leases (files backend) against a real nats-server, with injected
 * clocks: a lease another identity renews refuses the world; once its
 * holder stops renewing (killed: nothing is given up), the lease expires
 * after its TTL and the next KB's renewal takes it; the old holder, back,
 * refuses the world in turn. Two processes of one identity both hold it.
 */
import assert from "node:assert/strict";
import { NatsBus } from "../../shared/bus/mod.ts";
import { ManualClock } from "../../shared/clock.ts";
import { WorldLeases } from "../../kb/world_leases.ts";
import { natsServer } from "../_helpers/mod.ts";

const EXP = "wylding-woods";
const TTL = 15_000;

Deno.test("world leases: refused while renewed elsewhere; taken after the holder stops for a TTL; the old holder then refuses", async () => {
  await using nats = await natsServer();
  const bus = await NatsBus.connect(nats.url);
  let wall = 1_000_000; // the hosts' shared wall clock (ms since the epoch)
  const changes: string[] = [];
  const leasesOf = (identity: string, clock = new ManualClock()) => ({
    clock,
    leases: new WorldLeases({
      openBucket: (name) => bus.kv({ name, singleKey: true, replicas: 1 }),
      identity,
      experiences: () => [EXP],
      onChange: (exp, held) => changes.push(`${identity}:${exp}:${held}`),
      ttlMs: TTL,
      clock,
      now: () => wall,
    }),
  });
  /** Runs one renewal round of `l` (its timer is a third of the TTL). */
  const renew = async (l: { clock: ManualClock; leases: WorldLeases }) => {
    l.clock.advance(TTL / 3);
    await l.leases.close(); // waits for the round the timer started, and stops
  };
  const a = leasesOf("host-a");
  const b = leasesOf("host-b");
  const a2 = leasesOf("host-a");
  try {
    await a.leases.start();
    await b.leases.start();
    assert.deepEqual([a.leases.holds(EXP), a.leases.mayAct(EXP)], [true, true]);
    assert.deepEqual([b.leases.holds(EXP), b.leases.mayAct(EXP)], [false, false]);
    assert.deepEqual(b.leases.conflicts(), [{ experience: EXP, held_by: "host-a" }]);

    // A second process on host-a's STATE_DIR (same identity) holds it too.
    await a2.leases.start();
    assert.deepEqual([a2.leases.holds(EXP), a2.leases.mayAct(EXP)], [true, true]);
    await a2.leases.close();

    // host-a stops renewing (as if killed: close gives nothing up). Just
    // short of the TTL the lease still refuses host-b...
    await a.leases.close();
    wall += TTL - 1;
    const bLater = leasesOf("host-b", b.clock);
    await b.leases.close();
    await bLater.leases.start();
    assert.equal(bLater.leases.mayAct(EXP), false, "within the TTL the lease still holds");
    // ...and past it, host-b's next renewal round takes it.
    wall += 2;
    await renew(bLater);
    assert.deepEqual([bLater.leases.holds(EXP), bLater.leases.mayAct(EXP)], [true, true]);
    assert.deepEqual(bLater.leases.conflicts(), []);

    // host-a comes back: host-b renewed within its TTL, so host-a refuses.
    const aBack = leasesOf("host-a");
    await aBack.leases.start();
    assert.deepEqual([aBack.leases.holds(EXP), aBack.leases.mayAct(EXP)], [false, false]);
    assert.deepEqual(aBack.leases.conflicts(), [{ experience: EXP, held_by: "host-b" }]);
    await aBack.leases.close();
    assert.deepEqual(changes, [
      `host-a:${EXP}:true`,
      `host-a:${EXP}:true`, // the second process of host-a
      `host-b:${EXP}:true`,
    ]);
  } finally {
    await a.leases.close();
    await b.leases.close();
    await a2.leases.close();
    await bus.close();
  }
});
