/**
 * Profiles the actor path: a server started with `--cpu-prof`, one player
 * sending take/drop actions back to back, then a summary of the V8 CPU
 * profile: self time by function and by package, and inclusive time of the
 * functions that matter, so the biggest cost can be named.
 *
 * @module
 */
import { actorInStore, SHARED } from "./scenarios.ts";
import type { TokenSigner } from "./gaia_client.ts";
import { type Child, CpuMeter, startServer } from "./procs.ts";
import { summarize } from "./stats.ts";

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
}
interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  children?: number[];
}
interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
  startTime: number;
  endTime: number;
}

/** One row of the summary: a function or a package and its time. */
export interface ProfileRow {
  name: string;
  ms: number;
  /** Share of the non-idle sampled time, %. */
  pct: number;
}

/** What the profile says. */
export interface ProfileSummary {
  file: string;
  actions: number;
  /** Sampled time that was not idle, ms. */
  busyMs: number;
  busyMsPerAction: number;
  byPackage: ProfileRow[];
  /** Sampled time by stage of the actor path (see STAGES). */
  byStage: ProfileRow[];
  selfTop: ProfileRow[];
  inclusiveTop: ProfileRow[];
  actionLatency: ReturnType<typeof summarize>;
  cpu: Record<string, number>;
}

const SPECIAL = new Set(["(idle)", "(program)", "(garbage collector)", "(root)"]);

/**
 * Stages of the actor path by script URL, matched from the sampled frame up
 * its stack: the innermost frame that belongs to a library or to our code
 * names the stage (runtime internals in between are charged to it).
 */
const STAGES: [string, RegExp][] = [
  ["zod (validation)", /registry\.npmjs\.org\/zod\//],
  ["nats.js (client, node:net compat)", /@nats-io\//],
  ["hono (routing, middleware, jwt)", /registry\.npmjs\.org\/hono\//],
  ["prom-client (metrics)", /prom-client/],
  ["ulid", /registry\.npmjs\.org\/ulid\//],
  ["kb: state store (files, fsync, intent)", /\/kb\/state\//],
  ["kb: other (engine, interact, publish)", /\/kb\//],
  ["chat", /\/chat\//],
  ["logging (shared/log.ts)", /\/shared\/log\.ts/],
  ["shared (bus, http, auth)", /\/shared\//],
];

/** Groups a script URL: `npm:<package>`, `gaia:<dir>`, `deno:<ext>` or `node:<module>`. */
export function packageOf(url: string, fn: string): string {
  if (!url) return SPECIAL.has(fn) ? fn : "(native)";
  const npm = /registry\.npmjs\.org\/((?:@[^/]+\/)?[^/]+)\//.exec(url);
  if (npm) return `npm:${npm[1]}`;
  const ext = /^ext:([^/]+)/.exec(url);
  if (ext) return `deno:${ext[1]}`;
  if (url.startsWith("node:")) return url;
  const local = /\/work\/main\/([^/]+)\//.exec(url) ?? /file:\/\/.*\/([^/]+)\/[^/]+$/.exec(url);
  return local ? `gaia:${local[1]}` : url;
}

function frameName(f: CallFrame): string {
  const file = f.url.replace(/^.*\/(?=[^/]+\/[^/]+$)/, "");
  return `${f.functionName || "(anonymous)"} ${file}:${f.lineNumber + 1}`;
}

/** The summary of a profile alone (without the run's figures). */
export type ProfileDigest = Omit<
  ProfileSummary,
  "actions" | "busyMsPerAction" | "actionLatency" | "cpu"
>;

/**
 * Summarises a `.cpuprofile` file over the window between the first and the
 * last sample whose stack holds `marker` (start-up and shutdown are left out).
 */
export async function summarizeProfile(
  file: string,
  marker = "startChatAction",
  top = 25,
): Promise<ProfileDigest> {
  const p = JSON.parse(await Deno.readTextFile(file)) as CpuProfile;
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const marked = (id: number): boolean => {
    for (let x: number | undefined = id; x !== undefined; x = parent.get(x)) {
      if (byId.get(x)!.callFrame.functionName === marker) return true;
    }
    return false;
  };
  let first = p.samples.findIndex(marked);
  let last = p.samples.findLastIndex(marked);
  if (first < 0) [first, last] = [0, p.samples.length - 1];
  const self = new Map<string, number>();
  const pkg = new Map<string, number>();
  const incl = new Map<string, number>();
  const stages = new Map<string, number>();
  let busy = 0;
  for (let i = first; i <= last; i++) {
    const dt = (p.timeDeltas[i + 1] ?? 0) / 1000; // µs → ms, the time until the next sample
    const node = byId.get(p.samples[i]!)!;
    const fn = node.callFrame.functionName;
    if (fn === "(idle)") continue;
    busy += dt;
    const name = frameName(node.callFrame);
    self.set(name, (self.get(name) ?? 0) + dt);
    const group = packageOf(node.callFrame.url, fn);
    pkg.set(group, (pkg.get(group) ?? 0) + dt);
    let stage: string | undefined;
    let runtime: string | undefined;
    for (let id: number | undefined = node.id; id !== undefined && !stage; id = parent.get(id)) {
      const url = byId.get(id)!.callFrame.url;
      stage = STAGES.find(([, re]) => re.test(url))?.[0];
      if (!runtime && /^(ext|node):/.test(url)) runtime = `runtime: ${packageOf(url, "")}`;
    }
    stage ??= runtime ?? group;
    stages.set(stage, (stages.get(stage) ?? 0) + dt);
    const seen = new Set<string>();
    for (let id: number | undefined = node.id; id !== undefined; id = parent.get(id)) {
      const f = byId.get(id)!.callFrame;
      if (!f.url) continue;
      const k = frameName(f);
      if (seen.has(k)) continue;
      seen.add(k);
      incl.set(k, (incl.get(k) ?? 0) + dt);
    }
  }
  const rows = (m: Map<string, number>, n: number): ProfileRow[] =>
    [...m.entries()].sort((a, b) => b[1] - a[1]).slice(0, n).map(([name, ms]) => ({
      name,
      ms: Math.round(ms),
      pct: Math.round(ms / busy * 1000) / 10,
    }));
  return {
    file,
    busyMs: Math.round(busy),
    byPackage: rows(pkg, 20),
    byStage: rows(stages, 20),
    selfTop: rows(self, top),
    inclusiveTop: rows(incl, top * 2),
  };
}

/**
 * Starts a profiled server, runs `durationMs` of back-to-back actions from
 * one player (no other streams), stops the server so V8 writes the profile,
 * and summarises it.
 */
export async function runProfile(o: {
  natsUrl: string;
  natsPid: number;
  port: number;
  stateDir: string;
  profDir: string;
  logFile: string;
  jwtSecret: string;
  signer: TokenSigner;
  durationMs: number;
  say: (s: string) => void;
}): Promise<ProfileSummary> {
  await Deno.mkdir(o.profDir, { recursive: true });
  const server: Child = await startServer({
    natsUrl: o.natsUrl,
    port: o.port,
    stateDir: o.stateDir,
    logFile: o.logFile,
    jwtSecret: o.jwtSecret,
    denoFlags: ["--cpu-prof", `--cpu-prof-dir=${o.profDir}`],
  });
  const latencies: number[] = [];
  let cpu: Record<string, number> = {};
  try {
    const ctx = { server, natsPid: o.natsPid, signer: o.signer, say: o.say };
    const actor = await actorInStore(ctx, "bench-prof-actor");
    o.say(`profile: ${o.durationMs / 1000} s of back-to-back actions`);
    const meter = new CpuMeter({ server: server.pid, nats: o.natsPid, load: "self" });
    meter.start();
    const end = performance.now() + o.durationMs;
    for (let k = 0; performance.now() < end; k++) {
      const t = await actor.act(
        k % 2 ? "drop the blue dream bottle" : "take the blue dream bottle",
        SHARED,
      );
      latencies.push(t.update - t.sent);
    }
    cpu = meter.stop();
    actor.close();
  } finally {
    await server.stop();
  }
  const files = [...Deno.readDirSync(o.profDir)].filter((e) => e.name.endsWith(".cpuprofile"));
  if (files.length === 0) throw new Error(`no .cpuprofile written in ${o.profDir}`);
  const file = `${o.profDir}/${files.sort((a, b) => a.name.localeCompare(b.name)).at(-1)!.name}`;
  const s = await summarizeProfile(file);
  return {
    ...s,
    actions: latencies.length,
    busyMsPerAction: Math.round(s.busyMs / latencies.length * 1000) / 1000,
    actionLatency: summarize(latencies),
    cpu,
  };
}

if (import.meta.main) {
  // Summarise an existing profile: deno run -A tests/bench/profile.ts <file.cpuprofile>
  console.log(JSON.stringify(await summarizeProfile(Deno.args[0]!), null, 2));
}
