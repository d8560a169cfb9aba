/**
 * The server scenarios, as figures: actor latency and fan-out with other
 * world streams open, and idle connections with RSS per stream (the rate
 * scenarios are in `scenarios_load.ts`).
 *
 * @module
 */
import { Watchers } from "./drive.ts";
import { cpuPerEvent, type Figure, latencyFigure, valueFigure } from "./figures.ts";
import { getText, Player, type TokenSigner } from "./gaia_client.ts";
import { type Child, clockSkewMs, CpuMeter } from "./procs.ts";
import { round, sleep } from "./stats.ts";
import { idleFigures, idleMemory } from "./idle.ts";
import { Probe } from "./probe.ts";

/** The shared experience the scenarios play in. */
export const SHARED = "wylding-woods";
/** The isolated experience (one world per player). */
export const ISOLATED = "drowned-lighthouse";

/** What every server scenario needs. */
export interface Ctx {
  server: Child;
  natsPid: number;
  signer: TokenSigner;
  say: (s: string) => void;
}

/** CPU meter over the server, nats-server and this process. */
export function meter(ctx: Ctx): CpuMeter {
  return new CpuMeter({ server: ctx.server.pid, nats: ctx.natsPid, load: "self" });
}

/** `_sum` and `_count` of every histogram series on `/metrics`. */
export async function histograms(port: number): Promise<Map<string, number>> {
  const text = await getText(port, "/metrics");
  const out = new Map<string, number>();
  for (const line of text.split("\n")) {
    const m = /^(\w+_(?:sum|count))(\{[^}]*\})? ([\d.eE+-]+)$/.exec(line);
    if (m) out.set(`${m[1]}${m[2] ?? ""}`, Number(m[3]));
  }
  return out;
}

/** Server-side mean (ms) of each histogram over a window: Δsum / Δcount. */
export function histogramMeans(
  before: Map<string, number>,
  after: Map<string, number>,
): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [k, v] of after) {
    if (!k.includes("_sum")) continue;
    const countKey = k.replace("_sum", "_count");
    const n = (after.get(countKey) ?? 0) - (before.get(countKey) ?? 0);
    if (n > 0) {
      out[k.replace("_sum", "")] = Math.round((v - (before.get(k) ?? 0)) / n * 1000) / 1000;
    }
  }
  return out;
}

/** A player in the dream-bottle store of the shared world. */
export async function actorInStore(ctx: Ctx, user: string): Promise<Player> {
  const p = new Player(ctx.server.port, user, await ctx.signer.token(user));
  await p.act("north", SHARED);
  await p.act("east", SHARED);
  return p;
}

/**
 * Actor latency and fan-out: for each count of other streams, `samples`
 * take/drop actions (shared-world changes that every other stream receives),
 * one at a time, each waited for on every stream.
 */
export async function runActor(
  ctx: Ctx,
  counts: number[],
  samples: number,
  gapMs: number,
): Promise<Figure[]> {
  const figures: Figure[] = [];
  // The actor is its own process: its arrivals are not queued behind the
  // watchers' sockets in this one.
  const actor = await Probe.start([
    "actor",
    String(ctx.server.port),
    "bench-actor",
    await ctx.signer.token("bench-actor"),
  ]);
  await actor.act("north", SHARED);
  await actor.act("east", SHARED);
  const watchers = new Watchers("bench-watch", SHARED);
  let k = 0;
  try {
    for (const n of counts) {
      ctx.say(`actor: opening ${n} other world streams`);
      await watchers.add(ctx.server.port, ctx.signer, n - watchers.size);
      await sleep(200);
      watchers.tracker.clear();
      ctx.say(`actor: ${samples} actions with ${n} other streams`);
      const upd: number[] = [], commit: number[] = [], done: number[] = [], last: number[] = [];
      let missing = 0, failed = 0;
      const cpu = meter(ctx);
      // Timestamps of the server, times of the probe and of this process, on one clock.
      const serverSkew = await clockSkewMs(ctx.server);
      const probeToServer = actor.skewMs - serverSkew;
      let hist = new Map<string, number>();
      for (let i = -10; i < samples; i++) { // 10 warm-up actions
        if (i === 0) {
          hist = await histograms(ctx.server.port);
          cpu.start();
        }
        const t = await actor.act(
          k++ % 2 ? "drop the blue dream bottle" : "take the blue dream bottle",
          SHARED,
        );
        if (!t.eventId) {
          failed++;
          continue;
        }
        const arrivals = n > 0 ? await watchers.tracker.take(t.eventId, n, 5_000) : [];
        if (i < 0) continue;
        upd.push(t.update - t.sent);
        commit.push(t.update - t.committed - probeToServer);
        done.push(t.done - t.sent);
        if (n > 0) {
          missing += n - arrivals.length;
          last.push(Math.max(...arrivals) - (t.committed - serverSkew));
        }
        await sleep(gapMs);
      }
      const used = cpu.stop();
      const serverMeans = histogramMeans(hist, await histograms(ctx.server.port));
      const floorOne = `floor.relay.one.${n}`;
      const cond = {
        other_streams: n,
        samples,
        gap_ms: gapMs,
        action: "take/drop (shared)",
        failed,
        clock_skew_ms: { server: round(serverSkew), probe: round(actor.skewMs) },
        server_means_ms: serverMeans,
      };
      figures.push(
        latencyFigure(
          `actor.update.${n}`,
          "actor",
          `POST /chat → its world_update, ${n} other streams`,
          upd,
          cond,
          { floor: floorOne, cpu: used },
        ),
        latencyFigure(
          `actor.commit.${n}`,
          "actor",
          `KB commit → world_update at actor, ${n} other streams`,
          commit,
          cond,
          { floor: floorOne, cpu: used },
        ),
        latencyFigure(
          `actor.done.${n}`,
          "actor",
          `POST /chat → done, ${n} other streams`,
          done,
          cond,
          { cpu: used },
        ),
      );
      if (n > 0) {
        figures.push(cpuPerEvent(
          `fanout.cpu.${n}`,
          "server",
          cpu,
          (samples - failed) * (n + 1),
          cond,
          `floor.relay.cpu.${n}`,
        ));
        figures.push(latencyFigure(
          `fanout.last.${n}`,
          "fanout",
          `KB commit → last of ${n} streams`,
          last,
          { ...cond, missing },
          { floor: `floor.relay.last.${n}`, cpu: used },
        ));
      }
    }
  } finally {
    await actor.stop();
    watchers.close();
  }
  return figures;
}

/**
 * Idle world streams on a fresh server: memory per stream (after a full GC
 * in the server) while opening them in steps, then `fanoutSamples` shared
 * changes delivered to all of them (KB commit → last stream, and the
 * server's CPU per delivered event), then cleanup (the server's count of
 * world streams back to zero).
 */
export async function runConnections(
  ctx: Ctx,
  steps: number[],
  fanoutSamples: number,
): Promise<Figure[]> {
  const watchers = new Watchers("bench-idle", SHARED);
  const total = steps.reduce((a, b) => a + b, 0);
  // Warm up the code paths so JIT and pools are not counted as per-stream cost.
  await watchers.add(ctx.server.port, ctx.signer, 50);
  watchers.close();
  await sleep(500);
  ctx.say(`connections: opening ${total} idle world streams`);
  const t0 = performance.now();
  let openError: string | undefined;
  const r = await idleMemory(ctx.server, steps, async (k) => {
    if (openError) return;
    try {
      await watchers.add(ctx.server.port, ctx.signer, k, { concurrency: 128, bufSize: 2048 });
    } catch (e) {
      openError = String((e as Error).message ?? e);
    }
  }, 1000);
  const openSecs = (performance.now() - t0) / 1000;
  const held = watchers.size;
  const health = await getText(ctx.server.port, "/health");
  ctx.say(`connections: ${fanoutSamples} changes to ${held} streams`);
  const actor = await actorInStore(ctx, "bench-idle-actor");
  const serverSkew = await clockSkewMs(ctx.server);
  watchers.tracker.clear();
  const last: number[] = [];
  let missing = 0;
  const cpu = meter(ctx);
  cpu.start();
  for (let i = -3; i < fanoutSamples; i++) { // 3 warm-up changes
    const t = await actor.act(
      i % 2 ? "drop the blue dream bottle" : "take the blue dream bottle",
      SHARED,
    );
    const arrivals = await watchers.tracker.take(t.eventId ?? "", held, 30_000);
    if (i >= 0) {
      missing += held - arrivals.length;
      if (arrivals.length > 0) last.push(Math.max(...arrivals) - (t.committed - serverSkew));
    }
    await sleep(20);
  }
  const used = cpu.stop();
  actor.close();
  watchers.close();
  const closedAt = performance.now();
  let cleanupMs = NaN;
  for (let i = 0; i < 100; i++) {
    if (/"world":0\b/.test(await getText(ctx.server.port, "/health"))) {
      cleanupMs = performance.now() - closedAt;
      break;
    }
    await sleep(100);
  }
  const cond = {
    streams_tried: total,
    streams_held: held,
    open_error: openError,
    open_seconds: Math.round(openSecs * 10) / 10,
    health_while_held: health,
    cleanup_ms: Math.round(cleanupMs),
  };
  const fanCond = {
    other_streams: held,
    samples: last.length,
    missing,
    clock_skew_ms: round(serverSkew),
  };
  return [
    valueFigure(
      "connections.held",
      "connections",
      "idle world streams held",
      "streams",
      held,
      cond,
    ),
    ...idleFigures("connections", "connections", "server", r, cond, "floor.relay"),
    latencyFigure(
      `fanout.last.${held}`,
      "fanout",
      `KB commit → last of ${held} idle streams`,
      last,
      fanCond,
      { floor: `floor.relay.last.${held}`, cpu: used },
    ),
    // The actor's own stream and its POST are in the window too: counted as deliveries.
    cpuPerEvent(
      `fanout.cpu.${held}`,
      "server",
      cpu,
      (fanoutSamples + 3) * (held + 1),
      fanCond,
      `floor.relay.cpu.${held}`,
    ),
  ];
}
