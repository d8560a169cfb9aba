/**
 * The state backends side by side (`--only=backends`, issue 12): for
 * `STATE_BACKEND=files` and `nats`, on one nats-server and on a 3-node
 * cluster with 3 replicas, the committed actions per second on one shared
 * world (50 players acting as fast as their answers come, over HTTP) and
 * the actor's `world_update` latency (POST /chat → its world_update, no
 * other streams). Each combination gets a fresh server and state.
 *
 * @module
 */
import { startNatsCluster } from "../../shared/nats_server.ts";
import type { Figure } from "./figures.ts";
import type { TokenSigner } from "./gaia_client.ts";
import { startServer } from "./procs.ts";
import { runActor, SHARED } from "./scenarios.ts";
import { summarize } from "./stats.ts";

/** What the scenario needs from the run. */
export interface BackendsCtx {
  natsUrl: string;
  natsPid: number;
  serverAt: (tag: string) => {
    natsUrl: string;
    port: number;
    stateDir: string;
    logFile: string;
    jwtSecret: string;
  };
  signer: TokenSigner;
  say: (s: string) => void;
}

/** Sizes of the scenario. */
export interface BackendsPlan {
  players: number;
  /** How long the throughput load runs after its warm-up (ms). */
  throughputMs: number;
  actorSamples: number;
  actorGapMs: number;
}

/**
 * Runs every backend on both topologies.
 *
 * @example
 * ```ts
 * figures.push(...await runBackends(ctx, { players: 50, throughputMs: 5000, actorSamples: 200, actorGapMs: 10 }));
 * ```
 */
export async function runBackends(ctx: BackendsCtx, plan: BackendsPlan): Promise<Figure[]> {
  const figures: Figure[] = [];
  for (const topology of ["single", "cluster"] as const) {
    const cluster = topology === "cluster" ? await startNatsCluster() : undefined;
    try {
      const natsUrl = cluster?.url ?? ctx.natsUrl;
      const natsPid = (cluster ? cluster.servers[0]!.pid() : undefined) ?? ctx.natsPid;
      for (const backend of ["files", "nats"] as const) {
        const tag = `backends-${backend}-${topology}`;
        ctx.say(
          `backends: ${backend} on ${topology === "single" ? "one nats-server" : "3 nodes, R3"}`,
        );
        const server = await startServer({
          ...ctx.serverAt(tag),
          natsUrl,
          env: { STATE_BACKEND: backend, WORLD_REPLICAS: topology === "cluster" ? "3" : "1" },
        });
        try {
          const conditions = { backend, topology, replicas: topology === "cluster" ? 3 : 1 };
          const rate = await committedRate(server.port, ctx.signer, plan);
          figures.push({
            id: `backends.${backend}.${topology}.committed`,
            group: "backends",
            label: `committed actions/s, one shared world, ${backend}, ${topology}`,
            unit: "actions/s",
            value: rate.perSecond,
            conditions: { ...conditions, players: plan.players, ...rate },
          });
          const actor = await runActor(
            { server, natsPid, signer: ctx.signer, say: ctx.say },
            [0],
            plan.actorSamples,
            plan.actorGapMs,
          );
          const update = actor.find((f) => f.id === "actor.update.0");
          if (update) {
            figures.push({
              ...update,
              id: `backends.${backend}.${topology}.actor`,
              group: "backends",
              label: `actor POST /chat → its world_update, ${backend}, ${topology}`,
              floor: undefined,
              ratio: undefined,
              conditions: { ...update.conditions, ...conditions },
            });
          }
        } finally {
          await server.stop();
          await Deno.remove(ctx.serverAt(tag).stateDir, { recursive: true }).catch(() => {});
        }
      }
    } finally {
      await cluster?.dispose();
    }
  }
  return figures;
}

/**
 * `players` loops moving north and south in the shared world over
 * `POST /kb/experience/interact` for `plan.throughputMs` after a 1 s
 * warm-up; every answer that committed a change counts.
 */
async function committedRate(port: number, signer: TokenSigner, plan: BackendsPlan) {
  const url = `http://127.0.0.1:${port}/kb/experience/interact`;
  const tokens = await Promise.all(
    Array.from({ length: plan.players }, (_, i) => signer.token(`bench-backends-${i}`)),
  );
  let counting = false;
  let stop = false;
  let committed = 0;
  const statuses: Record<string, number> = {};
  const latencies: number[] = [];
  const loops = tokens.map(async (token, p) => {
    for (let i = p % 2; !stop; i++) {
      const t = performance.now();
      const res = await fetch(url, {
        method: "POST",
        headers: { Authorization: `Bearer ${token}`, "Content-Type": "application/json" },
        body: JSON.stringify({ message: i % 2 ? "south" : "north", experience: SHARED }),
      }).catch(() => undefined);
      if (!res) continue;
      const body = await res.json().catch(() => ({}));
      if (!counting) continue;
      statuses[res.status] = (statuses[res.status] ?? 0) + 1;
      if (res.status === 200 && body.outcome?.changed) {
        committed++;
        latencies.push(performance.now() - t);
      }
    }
  });
  await new Promise((r) => setTimeout(r, 1_000));
  counting = true;
  const started = performance.now();
  await new Promise((r) => setTimeout(r, plan.throughputMs));
  counting = false;
  const seconds = (performance.now() - started) / 1000;
  stop = true;
  await Promise.all(loops);
  const s = summarize(latencies);
  return {
    perSecond: Math.round(committed / seconds),
    committed,
    seconds: Math.round(seconds * 10) / 10,
    statuses,
    action_ms_p50: s.p50,
    action_ms_p99: s.p99,
  };
}
