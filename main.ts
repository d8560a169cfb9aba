/**
 * The one process: wires settings, the bus, the KB and chat modules and the
 * HTTP app together ({@linkcode buildProcess}), then serves it and shuts it
 * down ({@linkcode startServer}). `ROLE=all` runs both modules; `kb` or
 * `chat` one.
 *
 * @example
 * ```ts
 * const server = await startServer(loadSettings({ DEV: "1", PORT: "0" }));
 * console.log(server.url);
 * await server.close();
 * ```
 *
 * Over 400 lines on purpose: the process's wiring reads top to bottom in
 * one place (settings, bus, KB, chat, app, serving, shutdown order); every
 * piece it wires lives in its own module.
 *
 * @module
 */
import type { Hono } from "hono";
import {
  type AppOptions,
  type AuthOptions,
  buildApp,
  type Bus,
  findNatsServer,
  InProcessBus,
  type KbService,
  loadSettings,
  log,
  metrics,
  type NatsServerProcess,
  setLogLevel,
  type Settings,
  SettingsError,
  startNatsServer,
  TokenBucket,
  withTimeout,
} from "./shared/mod.ts";
import type { Clock } from "./shared/clock.ts";
import { connectNats } from "./shared/nats_connect.ts";
import { readiness, type ServiceHealth, startAnnouncer } from "./shared/service.ts";
import { WORLD_STREAM, worldUpdatesStream } from "./shared/bus/streams.ts";
import { serveHttp } from "./shared/http_server.ts";
import { Kb, kbRoutes } from "./kb/mod.ts";
import { Chat, type ChatOptions, clientRoutes, RemoteKb } from "./chat/mod.ts";

/** The wired process, not yet serving: what {@linkcode buildProcess} returns. */
export interface GaiaProcess {
  readonly settings: Settings;
  /** The whole HTTP app; `app.request()` works without a socket. */
  readonly app: Hono;
  readonly bus: Bus;
  /** The secret tokens are signed with (`JWT_SECRET`, or the dev one). */
  readonly jwtSecret: string;
  readonly kb?: Kb;
  readonly chat?: Chat;
  /** The nats-server this process started for dev, if any. */
  readonly natsServer?: NatsServerProcess;
  /** The readiness checks `GET /ready` answers with. */
  ready(): ReturnType<typeof readiness>;
  /** Ends streams, lets in-flight actions finish, drains the bus; idempotent. */
  close(): Promise<void>;
}

/** A started server and how to stop it. */
export interface RunningServer {
  readonly url: string;
  readonly port: number;
  readonly app: Hono;
  readonly bus: Bus;
  readonly jwtSecret: string;
  readonly kb?: Kb;
  readonly chat?: Chat;
  /** The nats-server this process started for dev, if any. */
  readonly natsServer?: NatsServerProcess;
  /** The readiness checks `GET /ready` answers with. */
  ready(): ReturnType<typeof readiness>;
  /** Resolves once `gaia.service.ready` is published. */
  readonly announced: Promise<void>;
  /** The next `gaia.service.health` this process publishes (`HEALTH_INTERVAL`, on the clock). */
  nextHealth(): Promise<ServiceHealth>;
  /** Stops accepting, ends streams, drains the bus; idempotent. */
  close(): Promise<void>;
}

/** Options that are not settings: test hooks. */
export interface BuildOptions {
  /** Dev without NATS_URL: start a nats-server (default true); false forces the in-process bus. */
  localNats?: boolean;
  /** A bus to use instead of opening one from the settings; `close()` closes it. */
  bus?: Bus;
  /** Time of the token buckets, the catalog's listing TTL and the health announcements (tests pass a `ManualClock`). */
  clock?: Clock;
  /** Chat options that are not settings (a narrator object, the slow-client cut). */
  chat?: Pick<ChatOptions, "narratorImpl" | "slowClientDropMs">;
}

/** Options of {@linkcode startServer}. */
export interface StartOptions extends BuildOptions {
  /** Print the dev banner (URL and a curl line). */
  banner?: boolean;
}

function randomHex(bytes: number): string {
  return Array.from(
    crypto.getRandomValues(new Uint8Array(bytes)),
    (b) => b.toString(16).padStart(2, "0"),
  ).join("");
}

/** Deno's answer to an operation the process was not granted (an edge host's limits). */
function notPermitted(e: unknown): boolean {
  return e instanceof Deno.errors.NotCapable || e instanceof Deno.errors.PermissionDenied;
}

async function devSecret(stateDir: string): Promise<string> {
  // Persisted so browser tokens survive a dev restart.
  const path = `${stateDir}/.dev-jwt-secret`;
  try {
    return (await Deno.readTextFile(path)).trim();
  } catch { /* none yet (or unreadable): make one */ }
  const secret = randomHex(32);
  try {
    await Deno.mkdir(stateDir, { recursive: true });
    await Deno.writeTextFile(path, secret, { mode: 0o600 });
  } catch (e) {
    if (!notPermitted(e)) throw e;
    log(
      "warn",
      "no write access: the dev JWT secret lives in memory; tokens end with the process",
      {
        path,
      },
    );
  }
  return secret;
}

async function openBus(
  settings: Settings,
  localNats: boolean,
): Promise<{ bus: Bus; natsServer?: NatsServerProcess }> {
  if (settings.NATS_URL) {
    return {
      bus: await connectNats(settings.NATS_URL, settings, { name: `gaia-${settings.ROLE}` }),
    };
  }
  // Only reachable in dev: loadSettings rejects a missing NATS_URL otherwise.
  const bin = localNats ? findNatsServer(settings.NATS_SERVER_BIN) : undefined;
  if (localNats && settings.NATS_SERVER_BIN && !bin) {
    throw new SettingsError(
      ["NATS_SERVER_BIN"],
      `NATS_SERVER_BIN: no file at ${settings.NATS_SERVER_BIN}`,
    );
  }
  if (bin) {
    // A random token: another dev server or test run on this machine that
    // reuses the port can never join this server and take its requests.
    const token = settings.NATS_TOKEN ?? randomHex(16);
    let natsServer: NatsServerProcess | undefined;
    try {
      natsServer = await startNatsServer({ bin, token });
    } catch (e) {
      if (!notPermitted(e)) throw e;
      log(
        "warn",
        "no permission to run nats-server: using an in-process bus (single process only)",
      );
      return { bus: new InProcessBus() };
    }
    log("info", "started a local nats-server for dev", { url: natsServer.url });
    const bus = await connectNats(natsServer.url, { NATS_TOKEN: token }, { name: "gaia-dev" })
      .catch(async (e) => {
        await natsServer.dispose();
        throw e;
      });
    return { bus, natsServer };
  }
  log(
    "warn",
    "no NATS_URL and no nats-server on PATH: using an in-process bus (single process only, no replay). Install nats-server (apt-get install -y nats-server) for the real thing.",
  );
  return { bus: new InProcessBus() };
}

/**
 * Wires the process `settings` describe: the bus, the KB (unless
 * `ROLE=chat`), chat (unless `ROLE=kb`) and the HTTP app around them. Serves
 * nothing: {@linkcode startServer} does, and tests may call `app.request()`.
 *
 * @example
 * ```ts
 * const proc = await buildProcess(loadSettings({ DEV: "1" }), { localNats: false });
 * const res = await proc.app.request("/health");
 * await proc.close();
 * ```
 */
export async function buildProcess(
  settings: Settings,
  opts: BuildOptions = {},
): Promise<GaiaProcess> {
  const jwtSecret = settings.JWT_SECRET ?? await devSecret(settings.STATE_DIR);
  const auth: AuthOptions = { secret: jwtSecret, maxTtlMs: settings.JWT_MAX_TTL };
  const { bus, natsServer } = opts.bus
    ? { bus: opts.bus }
    : await openBus(settings, opts.localNats ?? true);
  watchBus(bus);
  let kb: Kb | undefined;
  let chat: Chat | undefined;
  try {
    // One bucket per user for every action route of the process, whichever module serves it.
    const actions = new TokenBucket({
      rate: settings.ACTION_RATE,
      burst: settings.ACTION_BURST,
      clock: opts.clock,
    });
    const routes: AppOptions["routes"][number][] = [];
    if (settings.ROLE !== "chat") {
      kb = await Kb.create({
        bus,
        dataDir: settings.KB_DATA_DIR,
        stateDir: settings.STATE_DIR,
        stateBackend: settings.STATE_BACKEND,
        // Files on a NATS bus: never act on a world a KB with another STATE_DIR holds.
        leases: true,
        worldUpdateRate: { rate: settings.WORLD_UPDATE_RATE, burst: settings.WORLD_UPDATE_BURST },
        worldStream: { retentionMs: settings.WORLD_RETENTION, replicas: settings.WORLD_REPLICAS },
        outboxLimits: {
          maxEvents: settings.OUTBOX_MAX_EVENTS,
          maxBytes: settings.OUTBOX_MAX_BYTES,
        },
        clock: opts.clock,
        presenceGraceMs: settings.PRESENCE_GRACE,
      });
      kb.startResponder();
      routes.push(
        kbRoutes(kb, { auth, actions, dev: settings.DEV, adminSecret: settings.ADMIN_SECRET }),
      );
    }
    if (settings.ROLE !== "kb") {
      const fallback: KbService = kb ??
        new RemoteKb({ bus, kbUrl: settings.KB_URL, timeoutMs: settings.KB_REQUEST_TIMEOUT });
      chat = await Chat.create({
        bus,
        auth,
        kb: fallback,
        actions,
        kbTimeoutMs: settings.KB_REQUEST_TIMEOUT,
        retentionMs: settings.WORLD_RETENTION,
        worldReplicas: settings.WORLD_REPLICAS,
        keepAliveMs: settings.KEEPALIVE_INTERVAL,
        narrator: settings,
        maxQueuedBytes: settings.STREAM_BUFFER_BYTES,
        gapWaitMs: settings.WORLD_GAP_WAIT,
        maxStreamsPerUser: settings.MAX_STREAMS_PER_USER,
        maxStreams: settings.MAX_STREAMS,
        presenceGraceMs: settings.PRESENCE_GRACE,
        presenceWideMax: settings.PRESENCE_WIDE_MAX,
        say: { rate: settings.SAY_RATE, burst: settings.SAY_BURST },
        clock: opts.clock,
        ...opts.chat,
      });
      routes.push(chat.routes(), clientRoutes());
    }
    const worldStream = bus.history(worldUpdatesStream({
      retentionMs: settings.WORLD_RETENTION,
      replicas: settings.WORLD_REPLICAS,
    }));
    const localKb = kb;
    const ready = () =>
      readiness({ bus, worldStream, experiences: localKb && (() => localKb.experiences().length) });
    const app = buildApp({
      role: settings.ROLE,
      bus,
      ready,
      streams: chat && (() => chat!.openStreams()),
      state: kb && (() => kb!.health()),
      devLogin: settings.DEV ? auth : undefined,
      routes,
    });
    let closing: Promise<void> | undefined;
    const close = () =>
      closing ??= (async () => {
        await chat?.close();
        await kb?.close();
        await bus.close();
        await natsServer?.dispose();
      })();
    return { settings, app, bus, jwtSecret, kb, chat, natsServer, ready, close };
  } catch (e) {
    await chat?.close();
    await kb?.close();
    await bus.close();
    await natsServer?.dispose();
    throw e;
  }
}

/**
 * Builds the process ({@linkcode buildProcess}) and serves it.
 *
 * @example
 * ```ts
 * const server = await startServer(loadSettings());
 * ```
 */
export async function startServer(
  settings: Settings,
  opts: StartOptions = {},
): Promise<RunningServer> {
  const proc = await buildProcess(settings, opts);
  const { app, bus, chat } = proc;
  // node:http, not Deno.serve: a third of the memory per idle stream (shared/http_server.ts).
  const server = await serveHttp(app.fetch, { port: settings.PORT, hostname: settings.HOST });
  const port = server.port;
  const url = `http://${settings.HOST}:${port}`;
  const announcer = startAnnouncer({
    bus,
    role: settings.ROLE,
    url,
    streams: bus.kind === "nats" ? [WORLD_STREAM] : [],
    check: proc.ready,
    openStreams: chat && (() => chat.openStreams()),
    intervalMs: settings.HEALTH_INTERVAL,
    clock: opts.clock,
  });
  log("info", "listening", { url, role: settings.ROLE, nats: bus.status() });
  if (opts.banner) printBanner(url);

  let closing: Promise<void> | undefined;
  // Stop accepting first, then end streams (the shutdown waits for open
  // responses, and SSE responses never end by themselves), let in-flight
  // actions finish against a still-running KB, then drain the bus. A client
  // that stalls mid-request would hold Deno's shutdown forever: after half
  // the shutdown budget the KB and the bus are closed anyway.
  const close = () =>
    closing ??= (async () => {
      announcer.stop();
      const stopped = server.shutdown();
      await chat?.close();
      const waitedMs = settings.SHUTDOWN_TIMEOUT / 2;
      if (!await withTimeout(stopped.then(() => true), waitedMs, () => false)) {
        log("warn", "open requests still running at shutdown; closing the KB and the bus anyway", {
          waited_ms: waitedMs,
        });
        server.closeAll();
      }
      await proc.close();
    })();
  return {
    url,
    port,
    app,
    bus,
    jwtSecret: proc.jwtSecret,
    kb: proc.kb,
    chat,
    natsServer: proc.natsServer,
    ready: proc.ready,
    announced: announcer.announced,
    nextHealth: announcer.nextHealth,
    close,
  };
}

function watchBus(bus: Bus): void {
  const states = ["connected", "reconnecting", "closed", "in-process"] as const;
  const show = (current: string) => {
    for (const s of states) metrics.busState.set({ state: s }, s === current ? 1 : 0);
  };
  show(bus.status());
  bus.onStatus((s) => {
    if (s === "reconnecting") metrics.connectionFailures.inc();
    show(s);
  });
}

function printBanner(url: string): void {
  const login =
    `TOKEN=$(curl -s -X POST ${url}/api/v0.3/dev/login -H 'Content-Type: application/json' ` +
    `-d '{"user":"alice"}' | sed -E 's/.*"token":"([^"]+)".*/\\1/')`;
  const play = `curl -N -X POST ${url}/api/v0.3/chat -H "Authorization: Bearer $TOKEN" ` +
    `-H 'Content-Type: application/json' -d '{"message":"take the lantern","experience":"wylding-woods"}'`;
  console.log(`\nGAIA is up at ${url}\n\nPlay one action:\n  ${login}\n  ${play}\n`);
}

if (import.meta.main) {
  let settings: Settings;
  try {
    settings = loadSettings();
  } catch (e) {
    if (!(e instanceof SettingsError)) throw e;
    console.error(`error: ${e.message}`);
    Deno.exit(2);
  }
  setLogLevel(settings.LOG_LEVEL);
  let server: RunningServer;
  try {
    server = await startServer(settings, { banner: settings.DEV });
  } catch (e) {
    if (!(e instanceof SettingsError)) throw e;
    console.error(`error: ${e.message}`);
    Deno.exit(2);
  }
  const stop = async (signal: string) => {
    log("info", "shutting down", { signal });
    const timer = setTimeout(() => {
      log("error", "shutdown timed out", { timeout_ms: settings.SHUTDOWN_TIMEOUT });
      Deno.exit(1);
    }, settings.SHUTDOWN_TIMEOUT);
    await server.close();
    clearTimeout(timer);
    Deno.exit(0);
  };
  Deno.addSignalListener("SIGINT", () => stop("SIGINT"));
  Deno.addSignalListener("SIGTERM", () => stop("SIGTERM"));
}
