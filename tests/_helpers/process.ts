/**
 * `main.ts` as a child process, for tests whose point is a separate OS
 * process: SIGKILL and SIGTERM, split roles, startup errors. One helper
 * spawns it: free port, the kit's secret, captured stderr lines (the JSON
 * log), wait-until-healthy or wait-until-exit.
 *
 * @module
 */
import { freePort } from "./nats.ts";
import { SHIPPED_DATA_DIR } from "./content.ts";
import { TEST_SECRET } from "./tokens.ts";

const MAIN = decodeURIComponent(new URL("../../main.ts", import.meta.url).pathname);

/** A running server child. */
export interface ServerProcess extends AsyncDisposable {
  readonly url: string;
  readonly port: number;
  readonly child: Deno.ChildProcess;
  /** stderr lines so far (JSON log records and anything else). */
  readonly lines: string[];
  /** Resolves with the exit status (once stderr is drained too). */
  readonly status: Promise<Deno.CommandStatus>;
  /** The JSON log records among `lines`. */
  records(): Record<string, unknown>[];
  /** Sends a signal (SIGTERM by default); a process already gone is ignored. */
  kill(signal?: Deno.Signal): void;
  /** SIGKILL unless it exited, and waits for the exit. */
  dispose(): Promise<void>;
}

/** Only what Deno itself needs from this environment. */
function denoEnv(): Record<string, string> {
  const keep = ["PATH", "HOME", "DENO_DIR", "XDG_CACHE_HOME", "NATS_SERVER_BIN"];
  return Object.fromEntries(keep.flatMap((k) => {
    const v = Deno.env.get(k);
    return v === undefined ? [] : [[k, v]];
  }));
}

function lineReader(stream: ReadableStream<Uint8Array>, lines: string[]): Promise<void> {
  return (async () => {
    let rest = "";
    for await (const chunk of stream.pipeThrough(new TextDecoderStream())) {
      const parts = (rest + chunk).split("\n");
      rest = parts.pop()!;
      lines.push(...parts);
    }
    if (rest) lines.push(rest);
  })();
}

/**
 * Spawns `deno run -A main.ts` with `env` over the kit's defaults (free
 * `PORT`, shipped `KB_DATA_DIR`, `JWT_SECRET` = `TEST_SECRET`,
 * `ACTION_RATE=0`) and waits until `/health` answers 200. `opts.permissions`
 * replaces `-A` (an edge host's limits). A free port that
 * another process took first is retried with a new one, twice.
 *
 * @example
 * ```ts
 * await using kb = await spawnServer({ NATS_URL: nats.url, STATE_DIR: dir, ROLE: "kb" });
 * kb.kill("SIGTERM");
 * assert.equal((await kb.status).code, 0);
 * ```
 */
export async function spawnServer(
  env: Record<string, string>,
  opts: SpawnOptions = {},
): Promise<ServerProcess> {
  for (let attempt = 1;; attempt++) {
    try {
      return await spawnOnce(env, opts.timeoutMs ?? 20_000, opts.permissions ?? ["-A"]);
    } catch (e) {
      if (env.PORT || attempt >= 3 || !/AddrInUse|address already in use/i.test(String(e))) throw e;
    }
  }
}

/** Options of {@linkcode spawnServer}. */
export interface SpawnOptions {
  /** How long to wait for `/health` (ms, default 20 s). */
  timeoutMs?: number;
  /** Deno permission flags (default `-A`), e.g. the edge role's `--allow-net --allow-env --allow-read`. */
  permissions?: string[];
}

async function spawnOnce(
  env: Record<string, string>,
  timeoutMs: number,
  permissions: string[],
): Promise<ServerProcess> {
  const port = freePort();
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", ...permissions, MAIN],
    env: {
      PORT: String(port),
      KB_DATA_DIR: SHIPPED_DATA_DIR,
      JWT_SECRET: TEST_SECRET,
      ACTION_RATE: "0",
      ...env,
    },
    stdin: "null",
    stdout: "null",
    stderr: "piped",
  }).spawn();
  const lines: string[] = [];
  const pump = lineReader(child.stderr, lines);
  const status = Promise.all([child.status, pump]).then(([s]) => s);
  let exited = false;
  status.then(() => exited = true);
  const kill = (signal: Deno.Signal = "SIGTERM") => {
    try {
      child.kill(signal);
    } catch { /* already gone */ }
  };
  const url = `http://127.0.0.1:${env.PORT ?? port}`;
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    try {
      const res = await fetch(`${url}/health`);
      await res.body?.cancel();
      if (res.ok) break;
    } catch { /* not up yet */ }
    if (exited || performance.now() > deadline) {
      kill("SIGKILL");
      await status;
      throw new Error(`server did not start: ${lines.slice(-5).join("\n")}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  const dispose = async () => {
    if (!exited) kill("SIGKILL");
    await status;
  };
  return {
    url,
    port: Number(env.PORT ?? port),
    child,
    lines,
    status,
    records: () =>
      lines.filter((l) => l.startsWith("{")).map((l) => JSON.parse(l) as Record<string, unknown>),
    kill,
    dispose,
    [Symbol.asyncDispose]: dispose,
  };
}

/**
 * Runs `main.ts` with nothing of this process's environment but what Deno
 * needs, plus `env`, until it exits (startup errors).
 *
 * @example
 * ```ts
 * const { code, stderr } = await runToExit({ DEV: "1", NARRATOR_MAX_TOKENS: "lots" });
 * ```
 */
export async function runToExit(
  env: Record<string, string>,
): Promise<{ code: number; stderr: string }> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", MAIN],
    clearEnv: true,
    env: { ...denoEnv(), ...env },
    stdin: "null",
    stdout: "null",
    stderr: "piped",
  }).output();
  return { code: out.code, stderr: new TextDecoder().decode(out.stderr) };
}
