/**
 * Floors, measured in the same run as the server: raw NATS publish→subscribe
 * between two connections, the bare relay (`floor_server.ts`) to N SSE
 * clients (latency, last delivery, sustained event rate, memory per idle
 * stream), and one write+fsync on the state directory's disk.
 *
 * @module
 */
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { FLOOR_SUBJECT } from "./floor_server.ts";
import { eventTimestamp, LeanConn, nowMs } from "./http_client.ts";
import { pool } from "./gaia_client.ts";
import { sleep } from "./stats.ts";
import { ArrivalTracker } from "./tracker.ts";
import type { Probe } from "./probe.ts";

const encoder = new TextEncoder();

/**
 * A `world_update`-shaped payload of realistic size (~450 bytes) carrying
 * `id` and `timestamp`, so floor clients parse exactly what GAIA clients parse.
 */
export function floorPayload(id: string, timestamp: number): Uint8Array {
  return encoder.encode(JSON.stringify({
    type: "world_update",
    id,
    experience: "wylding-woods",
    user_id: "bench-actor",
    version: 1234,
    changes: {
      world: [{
        operation: "remove",
        path: "locations.woanders-store.items.dream-bottle-1",
        data: {},
      }],
      player: [{
        operation: "add",
        path: "inventory.dream-bottle-1",
        data: { name: "dream bottle" },
      }],
    },
    timestamp,
    metadata: {
      source: "kb",
      state_model: "shared",
      request_id: "00000000-0000-4000-8000-000000000000",
    },
  }));
}

function jsonId(data: string): string | undefined {
  const k = data.indexOf('"id":"');
  if (k < 0) return undefined;
  return data.slice(k + 6, data.indexOf('"', k + 6));
}

/** Raw NATS pub→sub latency between two connections of this process (ms). */
export async function natsFloor(natsUrl: string, samples: number): Promise<number[]> {
  const pub = await connect({ servers: natsUrl, name: "bench-pub" });
  const sub = await connect({ servers: natsUrl, name: "bench-sub" });
  const out: number[] = [];
  let wake: (() => void) | undefined;
  sub.subscribe("bench.nats-floor", {
    callback: (_e, m) => {
      out.push(nowMs() - eventTimestamp(new TextDecoder().decode(m.data)));
      wake?.();
    },
  });
  await sub.flush();
  for (let i = 0; i < samples + 20; i++) {
    const got = new Promise<void>((r) => wake = r);
    pub.publish("bench.nats-floor", floorPayload(`n-${i}`, nowMs()));
    await got;
    await sleep(1);
  }
  await pub.close();
  await sub.close();
  return out.slice(20); // the first ones warm up the JIT
}

/** N open relay streams; arrivals go to {@linkcode RelayClients.tracker}. */
export class RelayClients {
  readonly conns: LeanConn[] = [];
  readonly tracker = new ArrivalTracker();

  /** Opens `n` more streams to the relay at `port`. */
  async add(port: number, n: number, bufSize = 16 * 1024): Promise<void> {
    const opened = await pool(n, 64, async () => {
      const c = await LeanConn.open(port, bufSize);
      await new Promise<void>((resolve, reject) => {
        c.send({
          method: "GET",
          path: "/stream",
          onHead: (s) => s === 200 ? resolve() : reject(new Error(`relay: HTTP ${s}`)),
          onEvent: (e) => this.tracker.record(jsonId(e.data) ?? "", eventTimestamp(e.data), e.at),
        }).done.catch(reject);
      });
      return c;
    });
    this.conns.push(...opened);
  }

  /** Closes every stream. */
  close(): void {
    for (const c of this.conns) c.close();
    this.conns.length = 0;
  }
}

/** Per-sample relay latencies: to the probe's stream (`one`) and to the last other stream (`last`). */
export interface RelaySample {
  one: number[];
  last: number[];
  missing: number;
}

/**
 * Publishes `samples` messages one at a time through the relay, each waited
 * for at the probe (its own process) and at every other open stream.
 */
export async function relayLatency(
  nc: NatsConnection,
  probe: Probe,
  clients: RelayClients,
  samples: number,
  gapMs = 5,
): Promise<RelaySample> {
  const n = clients.conns.length;
  const out: RelaySample = { one: [], last: [], missing: 0 };
  for (let i = 0; i < samples + 10; i++) {
    const id = `r-${n}-${i}`;
    const t0 = nowMs();
    nc.publish(FLOOR_SUBJECT, floorPayload(id, t0));
    let got: { id: string; at: number };
    do got = await probe.next() as { id: string; at: number }; while (got.id !== id);
    const list = n > 0 ? await clients.tracker.take(id, n, 5_000) : [];
    if (i >= 10) { // warm-up
      out.missing += n - list.length;
      out.one.push(got.at - probe.skewMs - t0);
      if (n > 0) out.last.push(Math.max(...list) - t0);
    }
    await sleep(gapMs);
  }
  return out;
}

/**
 * Publish → last of the open streams, `samples` messages one at a time (no
 * probe: at 10,000 streams the last delivery is what is measured).
 *
 * @example
 * ```ts
 * const { last, missing } = await relayFanout(nc, clients, 40);
 * ```
 */
export async function relayFanout(
  nc: NatsConnection,
  clients: RelayClients,
  samples: number,
  gapMs = 20,
): Promise<{ last: number[]; missing: number }> {
  const n = clients.conns.length;
  const out = { last: [] as number[], missing: 0 };
  for (let i = 0; i < samples + 3; i++) {
    const id = `f-${n}-${i}`;
    const t0 = nowMs();
    nc.publish(FLOOR_SUBJECT, floorPayload(id, t0));
    const list = await clients.tracker.take(id, n, 30_000);
    if (i >= 3) { // warm-up
      out.missing += n - list.length;
      if (list.length > 0) out.last.push(Math.max(...list) - t0);
    }
    await sleep(gapMs);
  }
  return out;
}

/** Sustained rate through the relay: `msgsPerSec` for `durationMs` to the open clients. */
export async function relayRate(
  nc: NatsConnection,
  clients: RelayClients,
  msgsPerSec: number,
  durationMs: number,
): Promise<{ deliveredPerSec: number; latencies: number[] }> {
  clients.tracker.startLatencies();
  const before = clients.tracker.delivered;
  const t0 = performance.now();
  let sent = 0;
  while (performance.now() - t0 < durationMs) {
    const due = Math.min(
      Math.floor((performance.now() - t0) / 1000 * msgsPerSec) + 1,
      Math.round(durationMs / 1000 * msgsPerSec),
    );
    while (sent < due) nc.publish(FLOOR_SUBJECT, floorPayload(`rate-${sent++}`, nowMs()));
    await sleep(2);
  }
  await sleep(300); // let the tail arrive
  const latencies = clients.tracker.stopLatencies();
  const expected = sent * clients.conns.length;
  const delivered = clients.tracker.delivered - before;
  return {
    deliveredPerSec: Math.min(delivered, expected) / (durationMs / 1000),
    latencies,
  };
}

/** Write + fsync of a small file in `dir`, `samples` times (ms each). */
export async function fsyncFloor(dir: string, samples: number): Promise<number[]> {
  const path = `${dir}/fsync-floor.tmp`;
  const file = await Deno.open(path, { write: true, create: true, truncate: true });
  const data = new Uint8Array(600).fill(120);
  const out: number[] = [];
  try {
    for (let i = 0; i < samples; i++) {
      const t0 = performance.now();
      await file.seek(0, Deno.SeekMode.Start);
      await file.write(data);
      await file.sync();
      out.push(performance.now() - t0);
    }
  } finally {
    file.close();
    await Deno.remove(path).catch(() => {});
  }
  return out;
}
