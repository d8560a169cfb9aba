/**
 * `deno task bench`: the benchmark suite. Starts its own nats-server and the
 * server (`main.ts`, ROLE=all, offline narrator without pacing, fsync on) as
 * separate processes, drives load from this process over real HTTP with the
 * lean client, measures the floors in the same run, and writes
 * `tests/bench/results/<run>/{results.json,latency.svg,report.md}` (and
 * `results/latest.*`), then prints the markdown table.
 *
 *   deno task bench            # full run (several minutes)
 *   deno task bench --quick    # under 60 s, fewer samples and steps
 *   deno task bench --only=floor,actor --profile
 *   deno task bench --only=intent   # typed vs model-mapped commands, both providers' formats
 *   deno task bench --only=backends # STATE_BACKEND files vs nats, one nats-server and 3 nodes R3
 *   deno task bench --report=tests/bench/results/<run>/results.json   # re-render
 *
 * Groups: floor, actor, paired, rate, throughput, connections, intent, backends, profile (full
 * runs profile the actor path; `--quick` skips it unless `--profile` is given).
 *
 * This process re-executes itself once through `bash` to raise its own
 * open-file limit (`ulimit -n`) before holding thousands of sockets.
 *
 * @module
 */
import { freePort, startNatsServer } from "../../shared/nats_server.ts";
import { applyFloors, type Figure } from "./figures.ts";
import { TokenSigner } from "./gaia_client.ts";
import { type ProfileSummary, runProfile } from "./profile.ts";
import { machineInfo, NOFILE, ROOT, startServer } from "./procs.ts";
import { evaluateTargets, markdown } from "./report.ts";
import { type Ctx, ISOLATED, runActor, runConnections, SHARED } from "./scenarios.ts";
import { runEventRate, runThroughput } from "./scenarios_load.ts";
import { runFloors } from "./scenarios_floor.ts";
import { runIntent } from "./scenarios_intent.ts";
import { runBackends } from "./scenarios_backends.ts";
import { runPairedFanout } from "./scenarios_paired.ts";
import { latencyChart } from "./svg.ts";

const args = new Set(Deno.args.filter((a) => !a.startsWith("--only=")));
const onlyArg = Deno.args.find((a) => a.startsWith("--only="))?.slice(7);
const quick = args.has("--quick");
const only = onlyArg ? new Set(onlyArg.split(",")) : undefined;
const wants = (g: string) =>
  only ? only.has(g) : g !== "profile" || !quick || args.has("--profile");

/** Sizes of every scenario, full or quick. */
const PLAN = quick
  ? {
    natsSamples: 300,
    fsyncSamples: 50,
    relaySamples: 30,
    floorRates: [10, 20, 40],
    floorRateStepMs: 1000,
    idleSteps: [500, 500, 500, 500],
    fanoutSamples: 10,
    pairedSamples: 30,
    actorSamples: 40,
    actorGapMs: 5,
    rateActions: [10, 20, 40],
    rateStepMs: 1000,
    sharedRates: [100, 200, 300, 400],
    isolatedRates: [200, 400, 600],
    throughputStepMs: 1200,
    sharedWithStreams: false,
    intentSamples: 20,
    backends: { players: 50, throughputMs: 3000, actorSamples: 40, actorGapMs: 5 },
    profileMs: 3000,
  }
  : {
    natsSamples: 2000,
    fsyncSamples: 300,
    relaySamples: 200,
    floorRates: [5, 10, 20, 30, 40, 60, 80, 120],
    floorRateStepMs: 4000,
    idleSteps: Array.from({ length: 10 }, () => 1000),
    fanoutSamples: 40,
    pairedSamples: 200,
    actorSamples: 300,
    actorGapMs: 10,
    rateActions: [5, 10, 20, 30, 40, 60, 80],
    rateStepMs: 4000,
    sharedRates: [100, 200, 300, 400, 500, 600, 800, 1000, 1200],
    isolatedRates: [100, 200, 400, 600, 800, 1000, 1200, 1600, 2000],
    throughputStepMs: 4000,
    sharedWithStreams: true,
    intentSamples: 100,
    backends: { players: 50, throughputMs: 8000, actorSamples: 200, actorGapMs: 10 },
    profileMs: 15_000,
  };

async function reexecWithRaisedLimit(): Promise<never> {
  const raise = `ulimit -n ${NOFILE} 2>/dev/null || ulimit -n "$(ulimit -Hn)"; exec "$@"`;
  const child = new Deno.Command("bash", {
    args: [
      "-c",
      raise,
      "bash",
      Deno.execPath(),
      "run",
      // Full access: Deno reads another process's /proc/<pid>/{stat,status} only with -A.
      "-A",
      new URL(import.meta.url).pathname,
      ...Deno.args,
    ],
    env: { BENCH_RAISED: "1" },
    stdin: "inherit",
    stdout: "inherit",
    stderr: "inherit",
  }).spawn();
  Deno.exit((await child.status).code);
}

async function main(): Promise<void> {
  if (Deno.env.get("BENCH_RAISED") !== "1") await reexecWithRaisedLimit();
  const t0 = performance.now();
  const say = (s: string) =>
    console.error(`[bench ${((performance.now() - t0) / 1000).toFixed(1)}s] ${s}`);
  const stamp = new Date().toISOString().replace(/[:.]/g, "-");
  const resultsDir = `${ROOT}tests/bench/results`;
  const runDir = `${resultsDir}/${stamp}${quick ? "-quick" : ""}`;
  await Deno.mkdir(runDir, { recursive: true });
  const jwtSecret = `bench-${crypto.randomUUID()}`;
  const signer = new TokenSigner(jwtSecret);
  const machine = await machineInfo();
  const nofile = new TextDecoder().decode(
    (await new Deno.Command("bash", { args: ["-c", "ulimit -n"] }).output()).stdout,
  ).trim();
  say(
    `run ${runDir} (${
      quick ? "quick" : "full"
    }), ulimit -n ${nofile}, load ${machine.loadavg_at_start}`,
  );

  const nats = await startNatsServer({ storeDir: `${runDir}/nats-store` });
  const natsPid = nats.pid()!;
  const figures: Figure[] = [];
  let profile: ProfileSummary | undefined;
  const errors: string[] = [];
  const attempt = async (name: string, fn: () => Promise<void>) => {
    if (!wants(name)) return;
    try {
      await fn();
    } catch (e) {
      const msg = `${name}: ${(e as Error).stack ?? e}`;
      errors.push(msg);
      say(`FAILED ${msg}`);
    }
  };
  const serverAt = (tag: string) => ({
    natsUrl: nats.url,
    port: freePort(),
    stateDir: `${runDir}/state-${tag}`,
    logFile: `${runDir}/server-${tag}.log`,
    jwtSecret,
  });
  try {
    await attempt("floor", async () => {
      figures.push(
        ...await runFloors({
          natsUrl: nats.url,
          natsPid,
          diskDir: runDir,
          logFile: `${runDir}/floor-server.log`,
          natsSamples: PLAN.natsSamples,
          fsyncSamples: PLAN.fsyncSamples,
          relayCounts: [0, 100, 1000],
          relaySamples: PLAN.relaySamples,
          rateStreams: 1000,
          rates: PLAN.floorRates,
          rateStepMs: PLAN.floorRateStepMs,
          idleSteps: PLAN.idleSteps,
          fanoutSamples: PLAN.fanoutSamples,
        }, say),
      );
    });
    if (wants("actor") || wants("paired") || wants("rate") || wants("throughput")) {
      say("starting the server");
      const server = await startServer(serverAt("main"));
      const ctx: Ctx = { server, natsPid, signer, say };
      try {
        await attempt("actor", async () => {
          figures.push(
            ...await runActor(ctx, [0, 100, 1000], PLAN.actorSamples, PLAN.actorGapMs),
          );
        });
        await attempt("paired", async () => {
          figures.push(
            ...await runPairedFanout(ctx, {
              natsUrl: nats.url,
              logFile: `${runDir}/paired-floor-server.log`,
              streams: 1000,
              samples: PLAN.pairedSamples,
            }),
          );
        });
        await attempt("rate", async () => {
          figures.push(...await runEventRate(ctx, 1000, 10, PLAN.rateActions, PLAN.rateStepMs));
        });
        await attempt("throughput", async () => {
          const step = PLAN.throughputStepMs;
          figures.push(
            ...await runThroughput(ctx, {
              id: "shared",
              experience: SHARED,
              players: 50,
              rates: PLAN.sharedRates,
              stepMs: step,
              withStreams: false,
            }),
          );
          if (PLAN.sharedWithStreams) {
            figures.push(
              ...await runThroughput(ctx, {
                id: "shared-streams",
                experience: SHARED,
                players: 50,
                rates: PLAN.sharedRates,
                stepMs: step,
                withStreams: true,
              }),
            );
          }
          figures.push(
            ...await runThroughput(ctx, {
              id: "isolated",
              experience: ISOLATED,
              players: 50,
              rates: PLAN.isolatedRates,
              stepMs: step,
              withStreams: false,
            }),
          );
        });
      } finally {
        await server.stop();
      }
    }
    await attempt("connections", async () => {
      say("starting a fresh server for the connection test");
      const server = await startServer(serverAt("conn"));
      try {
        figures.push(
          ...await runConnections(
            { server, natsPid, signer, say },
            PLAN.idleSteps,
            PLAN.fanoutSamples,
          ),
        );
      } finally {
        await server.stop();
      }
    });
    await attempt("intent", async () => {
      figures.push(...await runIntent({ serverAt, natsPid, signer, say }, PLAN.intentSamples));
    });
    await attempt("backends", async () => {
      figures.push(
        ...await runBackends(
          { natsUrl: nats.url, natsPid, serverAt, signer, say },
          PLAN.backends,
        ),
      );
    });
    await attempt("profile", async () => {
      profile = await runProfile({
        ...serverAt("prof"),
        natsPid,
        profDir: `${runDir}/profile`,
        signer,
        durationMs: PLAN.profileMs,
        say,
      });
    });
  } finally {
    await nats.dispose();
    for (const tag of ["main", "conn", "prof", "intent-openai", "intent-anthropic"]) {
      await Deno.remove(`${runDir}/state-${tag}`, { recursive: true }).catch(() => {});
    }
    await Deno.remove(`${runDir}/nats-store`, { recursive: true }).catch(() => {});
  }

  applyFloors(figures);
  const targets = evaluateTargets(figures);
  const record = {
    run: stamp,
    mode: quick ? "quick" : "full",
    duration_s: Math.round((performance.now() - t0) / 100) / 10,
    machine: { ...machine, loadavg_at_end: Deno.loadavg().join(" ") },
    conditions: {
      processes:
        "nats-server, server (main.ts ROLE=all), relay floor server, probe (the actor / one relay client), load generator (this process): each separate",
      server_env:
        "NARRATOR=offline (intent: NARRATOR=openai/anthropic on a local model server), NARRATOR_PACING unset, fsync on (KB default), ACTION_RATE=0, LOG_LEVEL default (info) to a file",
      load_client:
        "HTTP/1.1 over Deno.connect, own chunked + SSE parsing, one connection per stream/player",
      clock:
        "latencies from event timestamps use performance.timeOrigin + performance.now() in both processes",
      ulimit_n: nofile,
      plan: PLAN,
    },
    errors,
    figures,
    targets,
    profile,
  };
  const json = JSON.stringify(record, null, 1);
  // The record first: a failure below must not lose the run.
  await Deno.writeTextFile(`${runDir}/results.json`, json);
  await Deno.writeTextFile(`${resultsDir}/latest-results.json`, json);
  const md = await render(record, runDir, resultsDir);
  console.log(md);
  say(`done in ${record.duration_s} s; ${runDir}/results.json, latency.svg, report.md`);
  if (errors.length > 0) Deno.exit(1);
}

/** The parts of a results.json the report is made from. */
interface RunRecord {
  run: string;
  mode: string;
  figures: Figure[];
  targets: ReturnType<typeof evaluateTargets>;
  profile?: ProfileSummary;
}

const CHART_IDS = [
  "floor.nats",
  "floor.relay.one.0",
  "floor.relay.last.1000",
  "floor.relay.rate.latency",
  "actor.update.0",
  "actor.update.1000",
  "actor.commit.1000",
  "fanout.last.100",
  "fanout.last.1000",
  "floor.paired.last.1000",
  "fanout.paired.last.1000",
  "rate.delivered.latency",
  "throughput.shared.latency",
  "throughput.isolated.latency",
];

/** Writes `report.md` and `latency.svg` next to the JSON (and as `latest-*`); returns the markdown. */
async function render(record: RunRecord, runDir: string, resultsDir: string): Promise<string> {
  const md = markdown(record.figures, record.targets, record.profile);
  const svg = latencyChart(
    CHART_IDS.map((id) => record.figures.find((f) => f.id === id)).filter((f) => f !== undefined),
    `GAIA latency distributions, ${record.mode} run ${record.run} (dashed: floors)`,
  );
  const outputs: [string, string][] = [["latency.svg", svg], ["report.md", md]];
  for (const [name, text] of outputs) {
    await Deno.writeTextFile(`${runDir}/${name}`, text);
    await Deno.writeTextFile(`${resultsDir}/latest-${name}`, text);
  }
  return md;
}

if (import.meta.main) {
  const reportOf = Deno.args.find((a) => a.startsWith("--report="))?.slice(9);
  if (reportOf) {
    // Re-render report.md and latency.svg of an earlier run: --report=<run dir>/results.json
    const record = JSON.parse(await Deno.readTextFile(reportOf)) as RunRecord;
    record.targets = evaluateTargets(record.figures);
    const dir = reportOf.replace(/\/[^/]*$/, "");
    console.log(await render(record, dir, `${ROOT}tests/bench/results`));
  } else await main();
}
