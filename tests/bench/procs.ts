/**
 * The bench's child processes: the GAIA server (`main.ts`) and the relay
 * floor server, each a separate `deno` process started through `bash` so its
 * open-file limit can be raised first; plus CPU and memory readings of any
 * process from `/proc`.
 *
 * @module
 */
import { getText } from "./gaia_client.ts";
import { clockOffsetMs, type MemoryReading } from "./mem_hook.ts";
import { IDENTITY_FILE } from "../../kb/state/identity.ts";

/**
 * One `STATE_DIR` identity for every server of a run: they are one host
 * restarted with fresh state, one after another on the run's nats-server.
 * With a new identity each, a server would find the world leases of the
 * one before it (15 s) and refuse its worlds (409 `world_held_elsewhere`).
 */
const RUN_STATE_IDENTITY = crypto.randomUUID();

/** Repository root (tests/bench/../..). */
export const ROOT = new URL("../../", import.meta.url).pathname;

/** The open-file limit asked for; falls back to the hard limit when that is lower. */
export const NOFILE = 65536;

const RAISE = `ulimit -n ${NOFILE} 2>/dev/null || ulimit -n "$(ulimit -Hn)"`;

/** A spawned child. */
export interface Child {
  readonly pid: number;
  readonly port: number;
  readonly logFile: string;
  /** Where the child writes its memory readings (`mem_hook.ts`). */
  readonly memFile: string;
  /** SIGTERM, then SIGKILL after `graceMs`; resolves when it has exited. */
  stop(graceMs?: number): Promise<void>;
}

function spawnRaised(
  argv: string[],
  env: Record<string, string>,
  logFile: string,
  stdout: "piped" | "null",
): Deno.ChildProcess {
  // `exec` keeps the pid: the child we hold is the deno process itself.
  const script = `${RAISE}; exec "$@" 2>>"$BENCH_LOG"` +
    (stdout === "null" ? ` >>"$BENCH_LOG"` : "");
  return new Deno.Command("bash", {
    args: ["-c", script, "bash", ...argv],
    cwd: ROOT,
    env: { ...env, BENCH_LOG: logFile },
    stdin: "null",
    stdout,
    stderr: "inherit",
  }).spawn();
}

function stopper(child: Deno.ChildProcess): (graceMs?: number) => Promise<void> {
  let stopping: Promise<void> | undefined;
  return (graceMs = 15_000) =>
    stopping ??= (async () => {
      try {
        child.kill("SIGTERM");
      } catch { /* gone */ }
      const timer = setTimeout(() => {
        try {
          child.kill("SIGKILL");
        } catch { /* gone */ }
      }, graceMs);
      await child.status;
      clearTimeout(timer);
    })();
}

/** The permissions `deno task start` gives the server. */
export const START_PERMS = [
  "--allow-net",
  "--allow-read",
  "--allow-write",
  "--allow-env",
  "--allow-run",
  "--allow-sys",
];

/** Options of {@linkcode startServer}. */
export interface ServerOptions {
  natsUrl: string;
  port: number;
  stateDir: string;
  logFile: string;
  jwtSecret: string;
  /** Extra `deno run` flags (e.g. `--cpu-prof`). */
  denoFlags?: string[];
  /** Permission flags; default: those of `deno task start`. */
  perms?: string[];
  /** Extra environment (e.g. a remote narrator's settings); wins over the defaults. */
  env?: Record<string, string>;
}

/**
 * Starts `main.ts` with `ROLE=all`, the offline narrator without pacing,
 * fsync on (the KB default), no action rate limit and raised stream caps
 * (`env` overrides any of it); resolves once `/health` answers.
 */
export async function startServer(o: ServerOptions): Promise<Child> {
  await Deno.mkdir(o.stateDir, { recursive: true });
  await Deno.writeTextFile(`${o.stateDir}/${IDENTITY_FILE}`, `${RUN_STATE_IDENTITY}\n`);
  const env = {
    DEV: "1",
    ROLE: "all",
    PORT: String(o.port),
    HOST: "127.0.0.1",
    NATS_URL: o.natsUrl,
    STATE_DIR: o.stateDir,
    KB_DATA_DIR: `${ROOT}kb-data`,
    JWT_SECRET: o.jwtSecret,
    NARRATOR: "offline",
    ACTION_RATE: "0",
    MAX_STREAMS_PER_USER: "100000",
    MAX_STREAMS: "100000",
    BENCH_MEM_FILE: `${o.logFile}.mem.json`,
    ...o.env,
  };
  const child = spawnRaised(
    [
      Deno.execPath(),
      "run",
      ...(o.perms ?? START_PERMS),
      ...(o.denoFlags ?? []),
      ...(Deno.env.get("BENCH_SERVER_V8") ? [`--v8-flags=${Deno.env.get("BENCH_SERVER_V8")}`] : []),
      // main.ts's startServer plus the memory hook (a GC on SIGUSR1).
      "tests/bench/bench_server.ts",
    ],
    env,
    o.logFile,
    "null",
  );
  const stop = stopper(child);
  const deadline = Date.now() + 60_000;
  let exited = false;
  child.status.then(() => exited = true);
  for (;;) {
    if (exited) throw new Error(`server exited during start-up; see ${o.logFile}`);
    try {
      if ((await getText(o.port, "/health")).includes('"ok"')) break;
    } catch { /* not up yet */ }
    if (Date.now() > deadline) {
      await stop(1000);
      throw new Error(`server did not answer /health within 60 s; see ${o.logFile}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return { pid: child.pid, port: o.port, logFile: o.logFile, memFile: env.BENCH_MEM_FILE, stop };
}

/** Starts `floor_server.ts` against `natsUrl`; resolves with its port. */
export async function startFloorServer(natsUrl: string, logFile: string): Promise<Child> {
  const child = spawnRaised(
    [
      Deno.execPath(),
      "run",
      "--allow-net",
      "--allow-env",
      "--allow-read",
      "--allow-write",
      "--allow-sys",
      `${ROOT}tests/bench/floor_server.ts`,
      natsUrl,
    ],
    { BENCH_MEM_FILE: `${logFile}.mem.json` },
    logFile,
    "piped",
  );
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let text = "";
  while (!text.includes("\n")) {
    const { value, done } = await reader.read();
    if (done) throw new Error(`floor server exited during start-up; see ${logFile}`);
    text += value;
  }
  reader.releaseLock();
  child.stdout.cancel().catch(() => {});
  const port = (JSON.parse(text.split("\n")[0]!) as { port: number }).port;
  return { pid: child.pid, port, logFile, memFile: `${logFile}.mem.json`, stop: stopper(child) };
}

const TICK_MS = 10; // USER_HZ is 100 on Linux

/** Resident set size of a process in bytes (`VmRSS`), NaN if gone. */
export function rssBytes(pid: number): number {
  try {
    const status = Deno.readTextFileSync(`/proc/${pid}/status`);
    const m = /VmRSS:\s+(\d+) kB/.exec(status);
    return m ? Number(m[1]) * 1024 : NaN;
  } catch {
    return NaN;
  }
}

/**
 * A process and all its descendants (from `/proc/<pid>/task/<tid>/children`).
 *
 * @example
 * ```ts
 * const pids = processTree(server.pid); // [server.pid, ...children]
 * ```
 */
export function processTree(pid: number): number[] {
  const out = [pid];
  for (let i = 0; i < out.length; i++) {
    let tasks: string[] = [];
    try {
      tasks = [...Deno.readDirSync(`/proc/${out[i]}/task`)].map((e) => e.name);
    } catch { /* gone */ }
    for (const tid of tasks) {
      try {
        const kids = Deno.readTextFileSync(`/proc/${out[i]}/task/${tid}/children`).trim();
        if (kids) out.push(...kids.split(/\s+/).map(Number));
      } catch { /* gone */ }
    }
  }
  return out;
}

/**
 * RSS of a process and all its descendants, in bytes.
 *
 * @example
 * ```ts
 * const bytes = rssTreeBytes(server.pid);
 * ```
 */
export function rssTreeBytes(pid: number): number {
  return processTree(pid).reduce((sum, p) => sum + (rssBytes(p) || 0), 0);
}

/** A child's memory after a full GC: its tree's RSS and its own V8 heap, bytes. */
export interface MemoryAfterGc {
  rssTree: number;
  heapUsed: number;
  external: number;
  /** The child's event clock minus this process's (ms): subtract from its timestamps. */
  clockSkewMs: number;
}

/**
 * Asks a bench child (`mem_hook.ts`) for a full GC and reads its heap, then
 * the RSS of its process tree (read after the GC, which may return pages).
 *
 * @example
 * ```ts
 * const { rssTree, heapUsed } = await memoryAfterGc(server);
 * ```
 */
export async function memoryAfterGc(child: Child, timeoutMs = 10_000): Promise<MemoryAfterGc> {
  const read = () => {
    try {
      return JSON.parse(Deno.readTextFileSync(child.memFile)) as MemoryReading;
    } catch {
      return undefined;
    }
  };
  const before = read()?.seq ?? 0;
  Deno.kill(child.pid, "SIGUSR1");
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const r = read();
    if (r && r.seq > before) {
      await new Promise((res) => setTimeout(res, 200)); // let the allocator hand pages back
      return {
        rssTree: rssTreeBytes(child.pid),
        heapUsed: r.heapUsed,
        external: r.external,
        clockSkewMs: r.clockOffsetMs - clockOffsetMs(),
      };
    }
    if (performance.now() > deadline) throw new Error(`no memory reading from pid ${child.pid}`);
    await new Promise((res) => setTimeout(res, 20));
  }
}

/**
 * How far a bench child's event clock is ahead of this process's (ms): a
 * wall-clock step between the two starts (seen here: 9 s on a loaded VM)
 * shifts every cross-process latency by that much otherwise.
 *
 * @example
 * ```ts
 * const skew = await clockSkewMs(server);
 * const latency = arrivedAt - (event.timestamp - skew);
 * ```
 */
export async function clockSkewMs(child: Child): Promise<number> {
  return (await memoryAfterGc(child)).clockSkewMs;
}

/** CPU time (user + system) a process has used, in ms; NaN if gone. */
export function cpuMs(pid: number | "self"): number {
  try {
    const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return (Number(fields[11]) + Number(fields[12])) * TICK_MS;
  } catch {
    return NaN;
  }
}

/** Measures the CPU share of processes over a window. */
export class CpuMeter {
  readonly #pids: Record<string, number | "self">;
  #start: Record<string, number> = {};
  #t0 = 0;
  constructor(pids: Record<string, number | "self">) {
    this.#pids = pids;
  }
  /** Starts the window. */
  start(): void {
    this.#t0 = performance.now();
    for (const [k, p] of Object.entries(this.#pids)) this.#start[k] = cpuMs(p);
  }
  /** CPU ms per process over the last window (set by {@linkcode CpuMeter.stop}). */
  usedMs: Record<string, number> = {};
  /** CPU used per process over the window, as % of one core. */
  stop(): Record<string, number> {
    const wall = performance.now() - this.#t0;
    const out: Record<string, number> = {};
    this.usedMs = {};
    for (const [k, p] of Object.entries(this.#pids)) {
      this.usedMs[k] = cpuMs(p) - this.#start[k]!;
      out[k] = Math.round(this.usedMs[k]! / wall * 1000) / 10;
    }
    return out;
  }
}

/** The machine, for the record. */
export async function machineInfo(): Promise<Record<string, string | number>> {
  const cpuinfo = await Deno.readTextFile("/proc/cpuinfo").catch(() => "");
  const meminfo = await Deno.readTextFile("/proc/meminfo").catch(() => "");
  const model = /model name\s*:\s*(.+)/.exec(cpuinfo)?.[1]?.trim() ?? "unknown";
  const memKb = Number(/MemTotal:\s+(\d+)/.exec(meminfo)?.[1] ?? NaN);
  let nats = "unknown";
  try {
    const out = await new Deno.Command("nats-server", { args: ["--version"] }).output();
    nats = new TextDecoder().decode(out.stdout).trim();
  } catch { /* not on PATH */ }
  const loadavg = Deno.loadavg().join(" ");
  return {
    nproc: navigator.hardwareConcurrency,
    cpu_model: model,
    memory_gib: Math.round(memKb / 1024 / 1024 * 10) / 10,
    kernel: Deno.osRelease(),
    deno: Deno.version.deno,
    v8: Deno.version.v8,
    nats_server: nats,
    loadavg_at_start: loadavg,
  };
}
