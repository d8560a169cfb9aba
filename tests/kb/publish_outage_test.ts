/**
 * Events committed around a nats-server crash are not lost: nats.js may
 * still report "connected" while its socket is dead, so events handed over
 * then vanish with its discarded buffer. Each event stays in its world's
 * outbox until JetStream acknowledges it, and is sent again otherwise. Ten
 * players act over HTTP while the test's nats-server is killed (SIGKILL)
 * and restarted twice; afterwards JetStream holds every version of the
 * shared world exactly once, in order.
 */
import { jetstream } from "@nats-io/jetstream";
import { connect } from "@nats-io/transport-node";
import { deepStrictEqual as eq } from "node:assert/strict";
import { WORLD_STREAM } from "../../shared/bus/mod.ts";
import { experienceSubject } from "../../shared/subjects.ts";
import { delay, eventually, setup } from "../_helpers/mod.ts";

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
      await delay(600); // play, then the crash
      await stack.nats!.restart(); // SIGKILL, then a new server on the same port and store
    }
    await delay(1000); // play on after the last restart
    stop = true;
    await Promise.all(loops);

    const world = JSON.parse(
      await Deno.readTextFile(`${stack.stateDir}/experiences/${EXP}/world.json`),
    );
    eq(world.version, acked, "every acknowledged action committed once");
    // Every committed event is in JetStream once the outbox has drained.
    await eventually(() => stack.kb.stats().pending === 0, {
      timeoutMs: 15_000,
      what: () => `the outbox to drain (${JSON.stringify(stack.kb.stats())})`,
    });
    const nc = await connect({ servers: stack.nats!.url });
    try {
      const want = Array.from({ length: world.version }, (_, i) => i + 1);
      const versions: number[] = [];
      const consumer = await jetstream(nc).consumers.get(WORLD_STREAM, {
        filter_subjects: experienceSubject(EXP),
      });
      for (;;) {
        const m = await consumer.next({ expires: 1000 });
        if (!m) break;
        versions.push(m.json<{ version: number }>().version);
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
