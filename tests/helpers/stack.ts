/**
 * The whole server for end-to-end tests: a real nats-server on free ports,
 * `startServer` from main.ts on a real port, a temp STATE_DIR, and a login
 * helper. `dispose()` stops everything and removes the temp dirs.
 *
 * @module
 */
import { type RunningServer, startServer } from "../../main.ts";
import { loadSettings } from "../../shared/settings.ts";
import { type LogLevel, setLogLevel } from "../../shared/log.ts";

// One JSON line per request would bury test failures; LOG_LEVEL=info brings
// them back (the log module itself never reads the environment).
setLogLevel((Deno.env.get("LOG_LEVEL") as LogLevel | undefined) ?? "warn");
import { type NatsServerProcess, startNatsServer } from "../../shared/nats_server.ts";

/** A running test stack. */
export interface TestStack {
  nats: NatsServerProcess;
  server: RunningServer;
  url: string;
  stateDir: string;
  /** Dev login: a bearer token for `user`. */
  login(user: string): Promise<string>;
  /** Headers with the bearer token and JSON content type. */
  headers(token: string): HeadersInit;
  dispose(): Promise<void>;
}

/**
 * Starts nats-server and the server (`ROLE=all` unless overridden).
 *
 * @example
 * ```ts
 * const stack = await startStack();
 * try { ... } finally { await stack.dispose(); }
 * ```
 */
export async function startStack(env: Record<string, string> = {}): Promise<TestStack> {
  const nats = await startNatsServer();
  const stateDir = await Deno.makeTempDir({ prefix: "gaia-state-" });
  let server: RunningServer;
  try {
    server = await startServer(loadSettings({
      DEV: "1",
      PORT: "0",
      NATS_URL: nats.url,
      STATE_DIR: stateDir,
      KB_DATA_DIR: new URL("../../kb-data", import.meta.url).pathname,
      JWT_SECRET: "test-secret-test-secret-test-secret",
      ACTION_RATE: "0", // tests that exercise the limit set it
      MAX_STREAMS_PER_USER: "1000",
      ...env,
    }));
  } catch (e) {
    await nats.dispose();
    throw e;
  }
  const url = server.url;
  return {
    nats,
    server,
    url,
    stateDir,
    async login(user) {
      const res = await fetch(`${url}/api/v0.3/dev/login`, {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ user }),
      });
      const body = await res.json();
      if (res.status !== 200) {
        throw new Error(`login ${user}: ${res.status} ${JSON.stringify(body)}`);
      }
      return body.token as string;
    },
    headers: (token) => ({
      "Authorization": `Bearer ${token}`,
      "Content-Type": "application/json",
    }),
    async dispose() {
      await server.close();
      await nats.dispose();
      await Deno.remove(stateDir, { recursive: true }).catch(() => {});
    },
  };
}

/**
 * Median and p99 (nearest rank) of a list of numbers.
 *
 * @example
 * ```ts
 * const { p50, p99 } = percentiles([1, 2, 3]);
 * ```
 */
export function percentiles(values: number[]): { p50: number; p99: number; max: number } {
  const s = [...values].sort((a, b) => a - b);
  const at = (q: number) => s[Math.min(s.length - 1, Math.ceil(q * s.length) - 1)] ?? NaN;
  return { p50: at(0.5), p99: at(0.99), max: s[s.length - 1] ?? NaN };
}
