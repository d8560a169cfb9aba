/**
 * The kit's nats-server launcher: `shared/nats_server.ts` (the one the dev
 * server uses) with the binary taken from `NATS_SERVER_BIN` or PATH. A
 * missing binary fails the test with the install hint; it never skips.
 * Servers and clusters get free ports and temp JetStream stores, restart in
 * place (`restart()`), and are stopped by PID (`stop()`, `dispose()`).
 *
 * @module
 */
import {
  findNatsServer,
  NATS_INSTALL_HINT,
  type NatsCluster,
  type NatsClusterOptions,
  type NatsServerOptions,
  type NatsServerProcess,
  startNatsCluster,
  startNatsServer,
} from "../../shared/nats_server.ts";

export { freePort } from "../../shared/nats_server.ts";
export type { NatsCluster, NatsServerProcess } from "../../shared/nats_server.ts";

/**
 * The nats-server binary: `NATS_SERVER_BIN`, else PATH (and the usual
 * install paths); throws with the install hint when there is none.
 *
 * @example
 * ```ts
 * const bin = natsBinary(); // "/usr/sbin/nats-server"
 * ```
 */
export function natsBinary(): string {
  const wanted = Deno.env.get("NATS_SERVER_BIN") || undefined;
  const bin = findNatsServer(wanted);
  if (bin) return bin;
  throw new Error(
    wanted ? `NATS_SERVER_BIN=${wanted}: no such file. ${NATS_INSTALL_HINT}` : NATS_INSTALL_HINT,
  );
}

/**
 * Starts one nats-server with JetStream on free ports and a temp store. A
 * free port taken by another process before the server binds it (other
 * test runs share this machine) is retried with new ports, twice.
 *
 * @example
 * ```ts
 * await using nats = await natsServer(); // or: try { ... } finally { await nats.dispose(); }
 * await nats.restart(); // SIGKILL, then the same ports and store
 * ```
 */
export async function natsServer(
  opts: Omit<NatsServerOptions, "bin"> = {},
): Promise<NatsServerProcess & AsyncDisposable> {
  const bin = natsBinary();
  const server = await retryBusyPorts(() => startNatsServer({ ...opts, bin }), !opts.port);
  return Object.assign(server, { [Symbol.asyncDispose]: () => server.dispose() });
}

/**
 * Starts a JetStream cluster (three nodes unless `size` says otherwise) and
 * waits for its meta leader; busy ports are retried as in {@linkcode natsServer}.
 *
 * @example
 * ```ts
 * const cluster = await natsCluster();
 * const leader = await cluster.streamLeader("WORLD_UPDATES");
 * await cluster.server(leader!).stop();
 * await cluster.dispose();
 * ```
 */
export async function natsCluster(
  opts: Omit<NatsClusterOptions, "bin"> = {},
): Promise<NatsCluster & AsyncDisposable> {
  const bin = natsBinary();
  const cluster = await retryBusyPorts(() => startNatsCluster({ ...opts, bin }), true);
  return Object.assign(cluster, { [Symbol.asyncDispose]: () => cluster.dispose() });
}

/** Runs `start` again (new free ports) when a server exits at start-up, up to 3 attempts. */
async function retryBusyPorts<T>(start: () => Promise<T>, retry: boolean): Promise<T> {
  for (let attempt = 1;; attempt++) {
    try {
      return await start();
    } catch (e) {
      if (!retry || attempt >= 3 || !/exited during start-up/.test(String(e))) throw e;
    }
  }
}

/**
 * Subscriptions the server holds (all clients), from its `/subsz` monitor.
 *
 * @example
 * ```ts
 * await eventually(async () => (await natsSubscriptions(nats)) === before);
 * ```
 */
export async function natsSubscriptions(server: NatsServerProcess): Promise<number> {
  const res = await fetch(`http://127.0.0.1:${server.monitorPort}/subsz`, {
    signal: AbortSignal.timeout(2_000),
  });
  return (await res.json()).num_subscriptions as number;
}
