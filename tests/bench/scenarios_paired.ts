/**
 * Fan-out paired with its floor: the bare relay and the server each hold the
 * same number of idle streams at once, and samples alternate (one relay
 * message, then one shared-world change), so both meet the same load on
 * this host; run minutes apart, the relay's own p50 to the last of 1,000
 * moved by 40 % between two runs here, more than the difference measured.
 *
 * Both are timed from the same point: the moment a NATS subscriber in this
 * process receives the message (the relay's `bench.floor` publish, the KB's
 * publish on the experience subject), to the last stream's arrival, on this
 * process's clock. The server's figure from its KB commit (the event's
 * timestamp, taken before the durable write that holds the event and
 * before it is published) is reported beside it: the difference is the
 * commit's own write, not fan-out.
 *
 * @module
 */
import { connect } from "@nats-io/transport-node";
import { experienceSubject } from "../../shared/subjects.ts";
import { type Figure, latencyFigure } from "./figures.ts";
import { FLOOR_SUBJECT } from "./floor_server.ts";
import { floorPayload, RelayClients } from "./floor.ts";
import { Watchers } from "./drive.ts";
import { nowMs } from "./http_client.ts";
import { clockSkewMs, startFloorServer } from "./procs.ts";
import { actorInStore, type Ctx, SHARED } from "./scenarios.ts";
import { sleep } from "./stats.ts";

/** What the paired fan-out needs besides the running server. */
export interface PairedPlan {
  natsUrl: string;
  logFile: string;
  /** Streams held on each side. */
  streams: number;
  /** Pairs of samples (one relay message, one world change each). */
  samples: number;
  gapMs?: number;
}

/** Arrival times (this process's clock) of NATS messages by event id. */
class NatsArrivals {
  readonly #at = new Map<string, number>();
  readonly #waiters = new Map<string, (at: number) => void>();

  record(id: string | undefined): void {
    if (!id) return;
    const at = nowMs();
    this.#at.set(id, at);
    this.#waiters.get(id)?.(at);
  }

  /** When `id` arrived (waits up to 5 s for it). */
  async of(id: string): Promise<number | undefined> {
    const at = this.#at.get(id);
    if (at !== undefined) return at;
    return await new Promise<number | undefined>((resolve) => {
      const timer = setTimeout(() => {
        this.#waiters.delete(id);
        resolve(undefined);
      }, 5_000);
      this.#waiters.set(id, (t) => {
        clearTimeout(timer);
        this.#waiters.delete(id);
        resolve(t);
      });
    });
  }
}

const decoder = new TextDecoder();
function idOf(data: Uint8Array): string | undefined {
  try {
    const id = (JSON.parse(decoder.decode(data)) as { id?: unknown }).id;
    return typeof id === "string" ? id : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Runs the paired fan-out at `plan.streams`; returns the relay's, the
 * server's, and the server's from-commit figures.
 */
export async function runPairedFanout(ctx: Ctx, plan: PairedPlan): Promise<Figure[]> {
  const n = plan.streams;
  const gapMs = plan.gapMs ?? 10;
  const relay = await startFloorServer(plan.natsUrl, plan.logFile);
  const nc = await connect({ servers: plan.natsUrl, name: "bench-paired" });
  const arrivals = new NatsArrivals();
  nc.subscribe(FLOOR_SUBJECT, { callback: (_e, m) => arrivals.record(idOf(m.data)) });
  nc.subscribe(experienceSubject(SHARED), { callback: (_e, m) => arrivals.record(idOf(m.data)) });
  await nc.flush();
  const clients = new RelayClients();
  const watchers = new Watchers("bench-paired", SHARED);
  const actor = await actorInStore(ctx, "bench-paired-actor");
  const floorLast: number[] = [], serverLast: number[] = [], serverFromCommit: number[] = [];
  let missing = 0;
  try {
    ctx.say(`paired fan-out: ${n} relay streams and ${n} world streams`);
    await clients.add(relay.port, n);
    await watchers.add(ctx.server.port, ctx.signer, n);
    await sleep(300);
    const serverSkew = await clockSkewMs(ctx.server);
    ctx.say(`paired fan-out: ${plan.samples} pairs`);
    for (let i = -5; i < plan.samples; i++) { // 5 warm-up pairs
      const id = `p-${n}-${i}`;
      nc.publish(FLOOR_SUBJECT, floorPayload(id, nowMs()));
      const relayed = await clients.tracker.take(id, n, 5_000);
      const relayedAt = await arrivals.of(id);
      await sleep(gapMs);
      const t = await actor.act(
        i % 2 ? "drop the blue dream bottle" : "take the blue dream bottle",
        SHARED,
      );
      const served = t.eventId ? await watchers.tracker.take(t.eventId, n, 5_000) : [];
      const servedAt = t.eventId ? await arrivals.of(t.eventId) : undefined;
      await sleep(gapMs);
      if (i < 0) continue;
      missing += 2 * n - relayed.length - served.length;
      if (relayedAt === undefined || servedAt === undefined || !relayed.length || !served.length) {
        continue;
      }
      floorLast.push(Math.max(...relayed) - relayedAt);
      serverLast.push(Math.max(...served) - servedAt);
      serverFromCommit.push(Math.max(...served) - (t.committed - serverSkew));
    }
  } finally {
    actor.close();
    watchers.close();
    clients.close();
    await nc.close();
    await relay.stop();
  }
  const cond = {
    streams: n,
    pairs: plan.samples,
    gap_ms: gapMs,
    missing,
    action: "take/drop (shared)",
  };
  const floorId = `floor.paired.last.${n}`;
  return [
    latencyFigure(floorId, "fanout", `relay: on NATS → last of ${n} (paired)`, floorLast, cond),
    latencyFigure(
      `fanout.paired.last.${n}`,
      "fanout",
      `server: on NATS → last of ${n} (paired)`,
      serverLast,
      cond,
      { floor: floorId },
    ),
    latencyFigure(
      `fanout.paired.commit.${n}`,
      "fanout",
      `server: KB commit → last of ${n} (paired)`,
      serverFromCommit,
      cond,
      { floor: floorId },
    ),
  ];
}
