/**
 * Events committed around a nats-server crash are not lost: nats.js may
 * still report "connected" while its socket is dead, so events handed over
 * then vanish with its discarded buffer. The publisher puts them back when
 * the acknowledging flush fails. Ten players act over HTTP while the test's
 * nats-server is killed (SIGKILL) and restarted twice; afterwards JetStream
 * holds every version of the shared world exactly once, in order.
 */
import { jetstream } from "@nats-io/jetstream";
import { connect } from "@nats-io/transport-node";
import { deepStrictEqual as eq } from "node:assert/strict";
import { WORLD_STREAM } from "../../shared/bus/mod.ts";
import { experienceSubject } from "../../shared/subjects.ts";
import { delay as sleep, setup } from "../_helpers/mod.ts";

const EXP = "wylding-woods";

Deno.test("publish: events committed while nats-server crashes reach JetStream once, in order", async () => {
  const stack = await setup();
  try {
    const tokens = await Promise.all(
      Array.from({ length: 10 }, (_, i) => stack.login(`crash-walker-${i}`)),
    );
    let stop = false;
    let acked = 0;
    const loops = tokens.map(async (token) => {
      for (let i = 0; !stop; i++) {
        const res = await fetch(`${stack.url}/kb/experience/interact`, {
          method: "POST",
          headers: stack.headers(token),
          body: JSON.stringify({ message: i % 2 ? "south" : "north", experience: EXP }),
        });
        if (res.status === 200) acked++;
        await res.body?.cancel();
      }
    });
    for (let round = 0; round < 2; round++) {
      await sleep(600);
      await stack.nats!.restart(); // SIGKILL, then a new server on the same port and store
    }
    await sleep(1000);
    stop = true;
    await Promise.all(loops);

    const world = JSON.parse(
      await Deno.readTextFile(`${stack.stateDir}/experiences/${EXP}/world.json`),
    );
    eq(world.version, acked, "every acknowledged action committed once");
    // Give the outbox time to drain after the last reconnect, then read the stream.
    const nc = await connect({ servers: stack.nats!.url });
    try {
      const want = Array.from({ length: world.version }, (_, i) => i + 1);
      let versions: number[] = [];
      for (let attempt = 0; attempt < 20; attempt++) {
        versions = [];
        const consumer = await jetstream(nc).consumers.get(WORLD_STREAM, {
          filter_subjects: experienceSubject(EXP),
        });
        for (;;) {
          const m = await consumer.next({ expires: 1000 });
          if (!m) break;
          versions.push(m.json<{ version: number }>().version);
        }
        if (versions.length >= want.length) break;
        await sleep(250);
      }
      const missing = want.filter((v) => !versions.includes(v));
      eq(missing, [], `versions missing from JetStream (${acked} actions)`);
      eq(versions, want, "each version once, in order");
    } finally {
      await nc.close();
    }
  } finally {
    await stack.dispose();
  }
});
