/**
 * Runs `main.ts` as a child process (for shutdown, split-role and crash
 * tests): free port, captured stderr lines, wait-until-healthy, signals.
 *
 * @module
 */
import { freePort } from "../../shared/nats_server.ts";

/** A server child process. */
export interface ServerProcess {
  url: string;
  port: number;
  child: Deno.ChildProcess;
  /** stderr lines so far (JSON log records and anything else). */
  lines: string[];
  /** Resolves with the exit status. */
  status: Promise<Deno.CommandStatus>;
  kill(signal?: Deno.Signal): void;
}

/**
 * Spawns `deno run main.ts` with `env` and waits until `/health` answers.
 *
 * @example
 * ```ts
 * const srv = await spawnServer({ NATS_URL: nats.url, STATE_DIR: dir, DEV: "1" });
 * srv.kill("SIGTERM"); await srv.status;
 * ```
 */
export async function spawnServer(env: Record<string, string>): Promise<ServerProcess> {
  const port = freePort();
  const main = new URL("../../main.ts", import.meta.url).pathname;
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", main],
    env: {
      PORT: String(port),
      KB_DATA_DIR: new URL("../../kb-data", import.meta.url).pathname,
      JWT_SECRET: "test-secret-test-secret-test-secret",
      ACTION_RATE: "0",
      ...env,
    },
    stdin: "null",
    stdout: "null",
    stderr: "piped",
  }).spawn();
  const lines: string[] = [];
  const pump = (async () => {
    const reader = child.stderr.pipeThrough(new TextDecoderStream()).getReader();
    let rest = "";
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      const parts = (rest + value).split("\n");
      rest = parts.pop()!;
      lines.push(...parts);
    }
    if (rest) lines.push(rest);
  })();
  const status = Promise.all([child.status, pump]).then(([s]) => s);
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 20_000;
  for (;;) {
    try {
      const res = await fetch(`${url}/health`);
      await res.body?.cancel();
      if (res.ok) break;
    } catch { /* not up yet */ }
    if (Date.now() > deadline) {
      child.kill("SIGKILL");
      await status;
      throw new Error(`server did not start: ${lines.slice(-5).join("\n")}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return { url, port, child, lines, status, kill: (s = "SIGTERM") => child.kill(s) };
}
