/**
 * Starts and stops a real `nats-server` child process on free ports with
 * JetStream in a temp directory. Used by `deno task dev` (when `NATS_URL` is
 * unset) and by every test that needs a server it can kill and restart.
 *
 * @module
 */

/** Where we look for the binary when it is not on PATH. */
const KNOWN_PATHS = ["/usr/sbin/nats-server", "/usr/bin/nats-server", "/usr/local/bin/nats-server"];

/** Hint printed when the binary is missing. */
export const NATS_INSTALL_HINT =
  "nats-server not found: install it with `apt-get install -y nats-server` (or put it on PATH, or set NATS_SERVER_BIN)";

/**
 * Finds the nats-server binary: `NATS_SERVER_BIN`, then PATH, then known paths.
 *
 * @example
 * ```ts
 * const bin = findNatsServer(); // "/usr/sbin/nats-server" or undefined
 * ```
 */
export function findNatsServer(): string | undefined {
  const explicit = Deno.env.get("NATS_SERVER_BIN");
  const dirs = (Deno.env.get("PATH") ?? "").split(":").filter(Boolean).map((d) =>
    `${d}/nats-server`
  );
  for (const p of [explicit, ...dirs, ...KNOWN_PATHS]) {
    if (!p) continue;
    try {
      if (Deno.statSync(p).isFile) return p;
    } catch { /* not here */ }
  }
  return undefined;
}

/**
 * A free TCP port on 127.0.0.1 (bind to 0, read, close).
 *
 * @example
 * ```ts
 * const port = freePort();
 * ```
 */
export function freePort(): number {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  return port;
}

/** Options of {@linkcode startNatsServer}. */
export interface NatsServerOptions {
  /** Client port; a free one when omitted (reused across restarts). */
  port?: number;
  /** JetStream store directory; a new temp dir when omitted. */
  storeDir?: string;
  /** Extra command-line arguments. */
  args?: string[];
}

/** A running (or stopped) nats-server child. */
export interface NatsServerProcess {
  readonly url: string;
  readonly port: number;
  /** HTTP monitoring port (`/connz`, `/subsz`, `/jsz`). */
  readonly monitorPort: number;
  readonly storeDir: string;
  pid(): number | undefined;
  /** Kills the process (SIGKILL by default) and waits for it to exit. */
  stop(signal?: Deno.Signal): Promise<void>;
  /** Starts it again on the same ports and store. */
  restart(): Promise<void>;
  /** Stops it and removes a store dir this helper created. */
  dispose(): Promise<void>;
}

async function waitForPort(port: number, child: Deno.ChildProcess, timeoutMs: number) {
  const deadline = Date.now() + timeoutMs;
  let exited = false;
  child.status.then(() => exited = true);
  while (Date.now() < deadline) {
    if (exited) throw new Error(`nats-server exited during start-up (port ${port} busy?)`);
    try {
      const conn = await Deno.connect({ hostname: "127.0.0.1", port });
      conn.close();
      return;
    } catch {
      await new Promise((r) => setTimeout(r, 20));
    }
  }
  throw new Error(`nats-server did not listen on ${port} within ${timeoutMs} ms`);
}

/**
 * Starts nats-server with JetStream on free ports; fails with an install
 * hint when the binary is missing.
 *
 * @example
 * ```ts
 * const nats = await startNatsServer();
 * try { ... nats.url ... } finally { await nats.dispose(); }
 * ```
 */
export async function startNatsServer(opts: NatsServerOptions = {}): Promise<NatsServerProcess> {
  const bin = findNatsServer();
  if (!bin) throw new Error(NATS_INSTALL_HINT);
  const port = opts.port ?? freePort();
  const monitorPort = freePort();
  const ownStore = !opts.storeDir;
  const storeDir = opts.storeDir ?? await Deno.makeTempDir({ prefix: "nats-js-" });
  let child: Deno.ChildProcess | undefined;

  const spawn = async () => {
    const cmd = new Deno.Command(bin, {
      args: [
        "-a",
        "127.0.0.1",
        "-p",
        String(port),
        "-m",
        String(monitorPort),
        "-js",
        "-sd",
        storeDir,
        ...(opts.args ?? []),
      ],
      stdin: "null",
      stdout: "null",
      stderr: "null",
    });
    child = cmd.spawn();
    child.unref();
    await waitForPort(port, child, 10_000);
  };

  const stop = async (signal: Deno.Signal = "SIGKILL") => {
    const c = child;
    child = undefined;
    if (!c) return;
    // The child is unref'ed so it never keeps a program alive; awaiting its
    // exit needs it ref'ed again, or Deno sees an idle loop with a pending promise.
    c.ref();
    try {
      c.kill(signal);
    } catch { /* already gone */ }
    await c.status;
  };

  await spawn();
  return {
    url: `nats://127.0.0.1:${port}`,
    port,
    monitorPort,
    storeDir,
    pid: () => child?.pid,
    stop,
    restart: async () => {
      await stop();
      await spawn();
    },
    dispose: async () => {
      await stop();
      if (ownStore) await Deno.remove(storeDir, { recursive: true }).catch(() => {});
    },
  };
}
