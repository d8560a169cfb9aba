/**
 * The server's rate scenarios, as figures: the sustained delivered event
 * rate to many world streams, and committed actions per second from 50
 * players with fsync, stepping the offered rate up until p99 breaks.
 *
 * @module
 */
import { driveRate, type StepResult, Watchers } from "./drive.ts";
import { type Figure, latencyFigure, valueFigure } from "./figures.ts";
import { Player } from "./gaia_client.ts";
import { clockSkewMs } from "./procs.ts";
import { type Ctx, meter, SHARED } from "./scenarios.ts";
import { sleep, summarize } from "./stats.ts";

/** Steps of a rate scenario, compacted for the record. */
function stepRecord(s: StepResult, extra: Record<string, unknown> = {}): Record<string, unknown> {
  const l = summarize(s.latencies);
  return {
    offered: s.offered,
    achieved: Math.round(s.achieved),
    p50: l.p50,
    p99: l.p99,
    max: l.max,
    service_p99: summarize(s.serviceTimes).p99,
    errors: s.errors,
    ...(s.firstError ? { first_error: s.firstError } : {}),
    ...extra,
  };
}

/**
 * Delivered events/s: `streams` world streams, `actors` players moving in
 * the shared world at increasing action rates (each move reaches every stream).
 */
export async function runEventRate(
  ctx: Ctx,
  streams: number,
  actors: number,
  rates: number[],
  stepMs: number,
): Promise<Figure[]> {
  const watchers = new Watchers("bench-rate-watch", SHARED);
  watchers.skewMs = await clockSkewMs(ctx.server);
  ctx.say(`rate: opening ${streams} world streams`);
  await watchers.add(ctx.server.port, ctx.signer, streams);
  const players = await Promise.all(Array.from({ length: actors }, async (_, i) => {
    const u = `bench-rate-actor-${i}`;
    return new Player(ctx.server.port, u, await ctx.signer.token(u));
  }));
  const counters = players.map(() => 0);
  const steps: Record<string, unknown>[] = [];
  let best: { perSec: number; latencies: number[]; cpu: Record<string, number> } | undefined;
  try {
    for (const rate of rates) {
      ctx.say(`rate: ${rate} actions/s → ${rate * streams} events/s offered`);
      watchers.tracker.startLatencies();
      const before = watchers.tracker.delivered;
      const cpu = meter(ctx);
      cpu.start();
      const s = await driveRate(
        players,
        SHARED,
        rate,
        stepMs,
        (_i, k) => k % 2 ? "south" : "north",
        counters,
      );
      await sleep(300);
      const used = cpu.stop();
      const lat = watchers.tracker.stopLatencies();
      const delivered = watchers.tracker.delivered - before;
      const perSec = delivered / (Math.max(s.durationMs, stepMs) / 1000);
      const l = summarize(lat);
      steps.push({
        actions_per_s: rate,
        offered_events_per_s: rate * streams,
        delivered_per_s: Math.round(perSec),
        delivery_p50: l.p50,
        delivery_p99: l.p99,
        delivery_max: l.max,
        actor_p99: summarize(s.latencies).p99,
        errors: s.errors,
        cpu: used,
      });
      if (l.p99 < 30 && s.errors === 0) best = { perSec, latencies: lat, cpu: used };
      if (l.p99 > 100 || perSec < 0.7 * rate * streams) break;
    }
  } finally {
    for (const p of players) p.close();
    watchers.close();
  }
  const cond = { streams, actors, action: "north/south (shared)", step_ms: stepMs, steps };
  return [
    valueFigure(
      "rate.delivered",
      "rate",
      `delivered events/s with p99 < 30 ms, ${streams} streams`,
      "events/s",
      best?.perSec ?? 0,
      cond,
      { floor: "floor.relay.rate", cpu: best?.cpu },
    ),
    latencyFigure(
      "rate.delivered.latency",
      "rate",
      "KB commit → arrival at that rate (every delivery)",
      best?.latencies ?? [],
      { streams },
      { floor: "floor.relay.rate.latency" },
    ),
  ];
}

/**
 * Committed actions/s from `players` players at increasing offered rates;
 * the figure is the highest achieved rate whose p99 (due → world_update)
 * stays under 100 ms.
 */
export async function runThroughput(
  ctx: Ctx,
  o: {
    id: string;
    experience: string;
    players: number;
    rates: number[];
    stepMs: number;
    withStreams: boolean;
  },
): Promise<Figure[]> {
  const players = await Promise.all(Array.from({ length: o.players }, async (_, i) => {
    const u = `bench-${o.id}-${i}`;
    return new Player(ctx.server.port, u, await ctx.signer.token(u));
  }));
  const watchers = new Watchers(`bench-${o.id}`, o.experience); // the players' own streams
  watchers.skewMs = await clockSkewMs(ctx.server);
  if (o.withStreams) await watchers.add(ctx.server.port, ctx.signer, o.players);
  const counters = players.map(() => 0);
  // Warm-up: each player's first action creates its profile (extra files and
  // fsyncs) and the JIT is cold; two rounds of moves are not measured.
  for (let round = 0; round < 2; round++) {
    await Promise.all(
      players.map((p, i) => p.act(counters[i]!++ % 2 ? "south" : "north", o.experience)),
    );
  }
  const steps: Record<string, unknown>[] = [];
  let best: { s: StepResult; cpu: Record<string, number> } | undefined;
  let broke: Record<string, unknown> | undefined;
  const step = async (rate: number, refine: boolean): Promise<boolean> => {
    ctx.say(`throughput ${o.id}: ${rate} actions/s offered by ${o.players} players`);
    const cpu = meter(ctx);
    watchers.tracker.startLatencies();
    cpu.start();
    const s = await driveRate(
      players,
      o.experience,
      rate,
      o.stepMs,
      (_i, k) => k % 2 ? "south" : "north",
      counters,
    );
    const used = cpu.stop();
    const streamLat = watchers.tracker.stopLatencies();
    const rec = stepRecord(s, {
      ...(o.withStreams ? { stream_p99: summarize(streamLat).p99 } : {}),
      refine: refine ? 1 : 0,
      cpu: used,
    });
    steps.push(rec);
    const p99 = summarize(s.latencies).p99;
    const ok = p99 < 100 && s.achieved >= 0.9 * rate && s.errors === 0;
    if (ok && (!best || s.achieved > best.s.achieved)) best = { s, cpu: used };
    if (!ok && (!broke || rate < (broke.offered as number))) broke = rec;
    return ok;
  };
  try {
    let lastOk = 0;
    let failed: number | undefined;
    for (const rate of o.rates) {
      if (await step(rate, false)) lastOk = rate;
      else {
        failed = rate;
        break;
      }
    }
    // Narrow down where it breaks: two bisection steps between the last
    // passing and the first failing rate.
    for (let i = 0; i < 2 && failed !== undefined && failed - lastOk > 20; i++) {
      const mid = Math.round((lastOk + failed) / 2 / 10) * 10;
      if (await step(mid, true)) lastOk = mid;
      else failed = mid;
    }
  } finally {
    for (const p of players) p.close();
    watchers.close();
  }
  const cond = {
    players: o.players,
    experience: o.experience,
    world_streams: o.withStreams ? o.players : 0,
    action: "north/south",
    step_ms: o.stepMs,
    breaks_at: broke ?? "not reached",
    steps,
  };
  return [
    valueFigure(
      `throughput.${o.id}`,
      "throughput",
      `committed actions/s with p99 < 100 ms: ${o.id}`,
      "actions/s",
      best?.s.achieved ?? 0,
      cond,
      { floor: "floor.fsync.rate", cpu: best?.cpu },
    ),
    latencyFigure(
      `throughput.${o.id}.latency`,
      "throughput",
      `due → world_update at that rate: ${o.id}`,
      best?.s.latencies ?? [],
      { players: o.players, offered: best?.s.offered },
    ),
  ];
}
