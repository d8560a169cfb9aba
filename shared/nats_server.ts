/**
 * Starts and stops real `nats-server` child processes on free ports with
 * JetStream in temp directories: one server ({@linkcode startNatsServer}) or a
 * JetStream cluster ({@linkcode startNatsCluster}, three nodes by default).
 * Used by `deno task dev` (when `NATS_URL` is unset) and by every test and
 * benchmark that needs servers it can kill, restart in place and inspect.
 *
 * Processes are stopped by their PID only (never by name): other test runs
 * on the same machine have nats-servers of their own. Each cluster gets a
 * random cluster name, so a server of one run that finds a reused port of
 * another run's cluster is refused as a route instead of joining it.
 *
 * Just over 400 lines: one server and a cluster share the argument
 * builder, the readiness wait, restart in place and stop by PID.
 *
 * @module
 */

/** Where we look for the binary when it is not on PATH. */
const KNOWN_PATHS = ["/usr/sbin/nats-server", "/usr/bin/nats-server", "/usr/local/bin/nats-server"];

/** Hint printed when the binary is missing. */
export const NATS_INSTALL_HINT =
  "nats-server not found: install it with `apt-get install -y nats-server` (or put it on PATH, or set NATS_SERVER_BIN)";

/**
 * Finds the nats-server binary: `bin` when given (the `NATS_SERVER_BIN`
 * setting), then PATH, then the usual install paths.
 *
 * @example
 * ```ts
 * const bin = findNatsServer(); // "/usr/sbin/nats-server" or undefined
 * ```
 */
export function findNatsServer(bin?: string): string | undefined {
  if (bin) return isFile(bin) ? bin : undefined;
  const dirs = (Deno.env.get("PATH") ?? "").split(":").filter(Boolean).map((d) =>
    `${d}/nats-server`
  );
  return [...dirs, ...KNOWN_PATHS].find(isFile);
}

function isFile(path: string): boolean {
  try {
    return Deno.statSync(path).isFile;
  } catch {
    return false;
  }
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

/** How a server joins a cluster. */
export interface ClusterMembership {
  /** Cluster name, shared by every member. */
  name: string;
  /** This server's route port. */
  port: number;
  /** Route URLs of the other members (`nats-route://127.0.0.1:<port>`). */
  routes: string[];
}

/** Options of {@linkcode startNatsServer}. */
export interface NatsServerOptions {
  /** Client port; a free one when omitted (kept across restarts). */
  port?: number;
  /** JetStream store directory; a new temp dir (removed by `dispose`) when omitted. */
  storeDir?: string;
  /** Server name (`-n`); JetStream clusters need unique ones. */
  name?: string;
  /** Cluster membership; omitted: a standalone server. */
  cluster?: ClusterMembership;
  /** Path of the binary (default: {@linkcode findNatsServer}). */
  bin?: string;
  /** Extra command-line arguments (limits, debugging). */
  args?: string[];
  /** Clients must present this token (`--auth`). */
  token?: string;
  /** Clients must log in as this user (`--user`, `--pass`). */
  user?: { name: string; password: string };
  /** Clients must speak TLS to this certificate (`--tls`); the URL becomes `tls://`. */
  tls?: { certFile: string; keyFile: string };
  /**
   * Text of a configuration file (`-c`): operator mode (`.creds` users) and
   * the like. Flags override it. nats-server refuses a `store_dir` in both
   * the file and the flags: a file that says `store_dir: $NATS_STORE_DIR`
   * gets the store through that variable instead of `-sd`.
   */
  config?: string;
  /** Extra environment of the server process (a configuration's `$VARIABLE` references). */
  env?: Record<string, string>;
}

/** The command-line arguments of the client security options. */
function securityArgs(opts: NatsServerOptions, configFile: string | undefined): string[] {
  return [
    ...(opts.token ? ["--auth", opts.token] : []),
    ...(opts.user ? ["--user", opts.user.name, "--pass", opts.user.password] : []),
    ...(opts.tls ? ["--tls", "--tlscert", opts.tls.certFile, "--tlskey", opts.tls.keyFile] : []),
    ...(configFile ? ["-c", configFile] : []),
  ];
}

/** A running (or stopped) nats-server child. */
export interface NatsServerProcess {
  /** Client URL, `nats://127.0.0.1:<port>` (`tls://` with TLS). */
  readonly url: string;
  readonly port: number;
  /** HTTP monitoring port (`/varz`, `/connz`, `/subsz`, `/jsz`). */
  readonly monitorPort: number;
  readonly storeDir: string;
  /** Server name (`-n`), when one was given. */
  readonly name: string | undefined;
  /** PID while running, undefined once stopped. */
  pid(): number | undefined;
  /** Kills the process (SIGKILL by default) and waits for it to exit. */
  stop(signal?: Deno.Signal): Promise<void>;
  /** Starts it again on the same ports and store (stopping it first if it runs). */
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
  const bin = opts.bin ?? findNatsServer();
  if (!bin) throw new Error(NATS_INSTALL_HINT);
  const port = opts.port ?? freePort();
  const monitorPort = freePort();
  const ownStore = !opts.storeDir;
  const storeDir = opts.storeDir ?? await Deno.makeTempDir({ prefix: "nats-js-" });
  let configFile: string | undefined;
  if (opts.config !== undefined) {
    configFile = `${storeDir}/nats-server.conf`;
    await Deno.writeTextFile(configFile, opts.config);
  }
  const storeByEnv = opts.config?.includes("$NATS_STORE_DIR") ?? false;
  const env = { ...opts.env, ...(storeByEnv ? { NATS_STORE_DIR: storeDir } : {}) };
  const args = [
    ...["-a", "127.0.0.1", "-p", String(port), "-m", String(monitorPort), "-js"],
    ...(storeByEnv ? [] : ["-sd", storeDir]),
    ...(opts.name ? ["-n", opts.name] : []),
    ...(opts.cluster
      ? [
        ...["--cluster_name", opts.cluster.name],
        ...["--cluster", `nats://127.0.0.1:${opts.cluster.port}`],
        ...["--routes", opts.cluster.routes.join(",")],
      ]
      : []),
    ...securityArgs(opts, configFile),
    ...(opts.args ?? []),
  ];
  let child: Deno.ChildProcess | undefined;

  const spawn = async () => {
    child = new Deno.Command(bin, {
      args,
      env,
      stdin: "null",
      stdout: "null",
      stderr: "null",
    }).spawn();
    // Never keeps a program alive by itself; stop() refs it again to await its exit.
    child.unref();
    await waitForPort(port, child, 10_000);
  };

  const stop = async (signal: Deno.Signal = "SIGKILL") => {
    const c = child;
    child = undefined;
    if (!c) return;
    c.ref();
    try {
      c.kill(signal);
    } catch { /* already gone */ }
    await c.status;
  };

  await spawn();
  return {
    url: `${opts.tls ? "tls" : "nats"}://127.0.0.1:${port}`,
    port,
    monitorPort,
    storeDir,
    name: opts.name,
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

/** Options of {@linkcode startNatsCluster}. */
export interface NatsClusterOptions {
  /** Number of servers (default 3). */
  size?: number;
  /** Path of the binary (default: {@linkcode findNatsServer}). */
  bin?: string;
  /** Extra arguments for every server. */
  args?: string[];
  /** Client security of every server (see {@linkcode NatsServerOptions}). */
  token?: NatsServerOptions["token"];
  user?: NatsServerOptions["user"];
  tls?: NatsServerOptions["tls"];
  config?: NatsServerOptions["config"];
  env?: NatsServerOptions["env"];
  /** The cluster's name (default: `gaia-` and a random suffix). */
  name?: string;
  /** How long to wait for a JetStream meta leader (ms, default 15 s). */
  readyTimeoutMs?: number;
}

/** A running JetStream cluster on one machine. */
export interface NatsCluster {
  /** The members, `n1` … `nN`. */
  readonly servers: readonly NatsServerProcess[];
  /** Every member's client URL, comma-separated (the form `NATS_URL` takes). */
  readonly url: string;
  /** Cluster name (random per launch). */
  readonly name: string;
  /** The member with this server name. */
  server(name: string): NatsServerProcess;
  /** Name of the server leading a stream's replica group, from a running member's `/jsz`. */
  streamLeader(stream: string): Promise<string | undefined>;
  /** Names of the servers leading each consumer of a stream (consumer name → server), from `/jsz`. */
  consumerLeaders(stream: string): Promise<Map<string, string>>;
  /** Waits until the running members agree on a JetStream meta leader. */
  ready(timeoutMs?: number): Promise<void>;
  /** Stops every member and removes their stores. */
  dispose(): Promise<void>;
}

interface JszAccount {
  stream_detail?: Array<{
    name: string;
    cluster?: { leader?: string };
    consumer_detail?: Array<{ name: string; cluster?: { leader?: string } }>;
  }>;
}

async function jsz(server: NatsServerProcess, query = ""): Promise<Record<string, unknown>> {
  const res = await fetch(`http://127.0.0.1:${server.monitorPort}/jsz${query}`, {
    signal: AbortSignal.timeout(2_000),
  });
  return await res.json();
}

/**
 * Starts a JetStream cluster of `size` servers (default 3) on free ports,
 * each with its own temp store, and waits for a meta leader.
 *
 * @example
 * ```ts
 * const cluster = await startNatsCluster();
 * try {
 *   const bus = await NatsBus.connect(cluster.url);
 *   await cluster.server(await cluster.streamLeader("WORLD_UPDATES") ?? "n1").stop();
 * } finally {
 *   await cluster.dispose();
 * }
 * ```
 */
export async function startNatsCluster(opts: NatsClusterOptions = {}): Promise<NatsCluster> {
  const size = opts.size ?? 3;
  const name = opts.name ?? `gaia-${crypto.randomUUID().slice(0, 8)}`;
  const routePorts = Array.from({ length: size }, () => freePort());
  const servers: NatsServerProcess[] = [];
  try {
    for (let i = 0; i < size; i++) {
      servers.push(
        await startNatsServer({
          name: `n${i + 1}`,
          bin: opts.bin,
          args: opts.args,
          token: opts.token,
          user: opts.user,
          tls: opts.tls,
          config: opts.config,
          env: opts.env,
          cluster: {
            name,
            port: routePorts[i]!,
            routes: routePorts.filter((_, j) => j !== i).map((p) => `nats-route://127.0.0.1:${p}`),
          },
        }),
      );
    }
  } catch (e) {
    await Promise.all(servers.map((s) => s.dispose()));
    throw e;
  }
  const running = () => servers.filter((s) => s.pid() !== undefined);
  const cluster: NatsCluster = {
    servers,
    url: servers.map((s) => s.url).join(","),
    name,
    server(n) {
      const s = servers.find((x) => x.name === n);
      if (!s) throw new Error(`no server named ${n} in cluster ${name}`);
      return s;
    },
    async streamLeader(stream) {
      for (const s of running()) {
        try {
          const info = await jsz(s, "?streams=true");
          const accounts = (info.account_details ?? []) as JszAccount[];
          for (const a of accounts) {
            const leader = a.stream_detail?.find((d) => d.name === stream)?.cluster?.leader;
            if (leader) return leader;
          }
        } catch { /* this member is not answering: ask the next */ }
      }
      return undefined;
    },
    async consumerLeaders(stream) {
      const out = new Map<string, string>();
      for (const s of running()) {
        try {
          const info = await jsz(s, "?consumers=true");
          for (const a of (info.account_details ?? []) as JszAccount[]) {
            const d = a.stream_detail?.find((x) => x.name === stream);
            for (const c of d?.consumer_detail ?? []) {
              if (c.cluster?.leader) out.set(c.name, c.cluster.leader);
            }
          }
          if (out.size > 0) return out;
        } catch { /* this member is not answering: ask the next */ }
      }
      return out;
    },
    async ready(timeoutMs = opts.readyTimeoutMs ?? 15_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const leaders = await Promise.all(
          running().map(async (s) => {
            try {
              const meta = (await jsz(s)).meta_cluster as { leader?: string } | undefined;
              return meta?.leader ?? "";
            } catch {
              return "";
            }
          }),
        );
        if (leaders.length > 0 && leaders.every((l) => l !== "" && l === leaders[0])) return;
        if (Date.now() > deadline) {
          throw new Error(`cluster ${name}: no JetStream meta leader within ${timeoutMs} ms`);
        }
        await new Promise((r) => setTimeout(r, 100));
      }
    },
    async dispose() {
      await Promise.all(servers.map((s) => s.dispose()));
    },
  };
  try {
    await cluster.ready();
  } catch (e) {
    await cluster.dispose();
    throw e;
  }
  return cluster;
}
