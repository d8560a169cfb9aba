/**
 * The floor scenarios of a run, as figures: raw NATS, the bare relay at the
 * stream counts the server scenarios use, the relay's sustained event rate
 * and memory per idle stream, and fsync.
 *
 * @module
 */
import { connect } from "@nats-io/transport-node";
import { cpuPerEvent, type Figure, latencyFigure, valueFigure } from "./figures.ts";
import {
  fsyncFloor,
  natsFloor,
  RelayClients,
  relayFanout,
  relayLatency,
  relayRate,
} from "./floor.ts";
import { idleFigures, idleMemory } from "./idle.ts";
import { type Child, CpuMeter, startFloorServer } from "./procs.ts";
import { Probe } from "./probe.ts";
import { summarize } from "./stats.ts";

/** What the floor scenarios need. */
export interface FloorPlan {
  natsUrl: string;
  natsPid: number;
  /** Directory on the state directory's disk, for the fsync floor. */
  diskDir: string;
  logFile: string;
  natsSamples: number;
  fsyncSamples: number;
  /** Stream counts and samples per count for relay latency. */
  relayCounts: number[];
  relaySamples: number;
  /** Streams for the rate floor, and the message rates to try (per second). */
  rateStreams: number;
  rates: number[];
  rateStepMs: number;
  /** Idle streams to hold, opened in these steps. */
  idleSteps: number[];
  /** Messages fanned out to all the idle streams once they are open. */
  fanoutSamples: number;
}

/** Runs every floor; returns the figures. */
export async function runFloors(plan: FloorPlan, say: (s: string) => void): Promise<Figure[]> {
  const figures: Figure[] = [];
  say("floor: raw NATS pub→sub");
  const nats = await natsFloor(plan.natsUrl, plan.natsSamples);
  figures.push(latencyFigure("floor.nats", "floor", "NATS pub→sub, two connections", nats, {
    samples: nats.length,
    payload_bytes: 450,
    spacing_ms: 1,
  }));

  say("floor: write+fsync");
  const fsync = await fsyncFloor(plan.diskDir, plan.fsyncSamples);
  figures.push(latencyFigure("floor.fsync", "floor", "write 600 B + fsync (state disk)", fsync, {
    samples: fsync.length,
  }));
  const fsyncP50 = summarize(fsync).p50;
  figures.push(valueFigure(
    "floor.fsync.rate",
    "floor",
    "sequential fsyncs/s (1 / p50)",
    "1/s",
    1000 / fsyncP50,
    { from: "floor.fsync p50" },
  ));

  const relay = await startFloorServer(plan.natsUrl, plan.logFile);
  const nc = await connect({ servers: plan.natsUrl, name: "bench-floor-pub" });
  try {
    const clients = new RelayClients();
    const probe = await Probe.start(["relay", String(relay.port)]);
    try {
      for (const n of plan.relayCounts) {
        await clients.add(relay.port, n - clients.conns.length);
        say(`floor: relay latency, probe + ${n} other streams`);
        const cpu = meter(relay, plan.natsPid);
        cpu.start();
        const r = await relayLatency(nc, probe, clients, plan.relaySamples);
        const used = cpu.stop();
        const cond = { other_streams: n, samples: r.one.length, missing: r.missing };
        figures.push(latencyFigure(
          `floor.relay.one.${n}`,
          "floor",
          `relay: publish→probe, ${n} other streams`,
          r.one,
          cond,
          { cpu: used },
        ));
        if (n > 0) {
          figures.push(cpuPerEvent(
            `floor.relay.cpu.${n}`,
            "relay",
            cpu,
            (plan.relaySamples + 10) * (n + 1),
            cond,
          ));
          figures.push(latencyFigure(
            `floor.relay.last.${n}`,
            "floor",
            `relay: publish→last of ${n} streams`,
            r.last,
            cond,
            { cpu: used },
          ));
        }
      }
    } finally {
      await probe.stop();
    }
    await clients.add(relay.port, Math.max(0, plan.rateStreams - clients.conns.length));
    figures.push(...await rateFloor(plan, relay, nc, clients, say));
    clients.close();
  } finally {
    await nc.close();
    await relay.stop();
  }
  // A fresh relay for memory, as the server gets a fresh process for it.
  const idleRelay = await startFloorServer(plan.natsUrl, plan.logFile);
  try {
    figures.push(...await idleFloor(plan, idleRelay, say));
  } finally {
    await idleRelay.stop();
  }
  return figures;
}

function meter(relay: Child, natsPid: number): CpuMeter {
  return new CpuMeter({ relay: relay.pid, nats: natsPid, load: "self" });
}

async function rateFloor(
  plan: FloorPlan,
  relay: Child,
  nc: Awaited<ReturnType<typeof connect>>,
  clients: RelayClients,
  say: (s: string) => void,
): Promise<Figure[]> {
  const steps: Record<string, unknown>[] = [];
  let best: { rate: number; latencies: number[]; cpu: Record<string, number> } | undefined;
  for (const rate of plan.rates) {
    say(`floor: relay rate, ${rate} msgs/s to ${clients.conns.length} streams`);
    const cpu = meter(relay, plan.natsPid);
    cpu.start();
    const r = await relayRate(nc, clients, rate, plan.rateStepMs);
    const used = cpu.stop();
    const s = summarize(r.latencies);
    steps.push({
      msgs_per_s: rate,
      delivered_per_s: Math.round(r.deliveredPerSec),
      ...s,
      cpu: used,
    });
    if (s.p99 < 30) best = { rate: r.deliveredPerSec, latencies: r.latencies, cpu: used };
    if (s.p99 > 100 || r.deliveredPerSec < 0.7 * rate * clients.conns.length) break;
  }
  const cond = { streams: clients.conns.length, step_ms: plan.rateStepMs, steps };
  return [
    valueFigure(
      "floor.relay.rate",
      "floor",
      `relay: delivered events/s with p99 < 30 ms, ${clients.conns.length} streams`,
      "events/s",
      best?.rate ?? 0,
      cond,
      { cpu: best?.cpu },
    ),
    latencyFigure(
      "floor.relay.rate.latency",
      "floor",
      "relay: publish→arrival at that rate",
      best?.latencies ?? [],
      { streams: clients.conns.length },
    ),
  ];
}

async function idleFloor(
  plan: FloorPlan,
  relay: Child,
  say: (s: string) => void,
): Promise<Figure[]> {
  const clients = new RelayClients();
  const total = plan.idleSteps.reduce((a, b) => a + b, 0);
  // Warm-up as for the server: code paths and pools are not per-stream cost.
  await clients.add(relay.port, 50, 1024);
  clients.close();
  await new Promise((r) => setTimeout(r, 500));
  say(`floor: relay holding ${total} idle streams`);
  const r = await idleMemory(relay, plan.idleSteps, (k) => clients.add(relay.port, k, 1024), 1000);
  const held = clients.conns.length;
  const figures = idleFigures("floor.relay", "floor", "relay", r, { streams: held });
  say(`floor: relay fan-out to ${held} streams, ${plan.fanoutSamples} messages`);
  const nc = await connect({ servers: plan.natsUrl, name: "bench-floor-fanout" });
  try {
    const cpu = meter(relay, plan.natsPid);
    cpu.start();
    const f = await relayFanout(nc, clients, plan.fanoutSamples);
    const used = cpu.stop();
    const cond = { other_streams: held, samples: f.last.length, missing: f.missing };
    figures.push(
      latencyFigure(
        `floor.relay.last.${held}`,
        "floor",
        `relay: publish→last of ${held} streams`,
        f.last,
        cond,
        { cpu: used },
      ),
      cpuPerEvent(`floor.relay.cpu.${held}`, "relay", cpu, (plan.fanoutSamples + 3) * held, cond),
    );
  } finally {
    await nc.close();
    clients.close();
  }
  return figures;
}
