/**
 * The one process: wires settings, the bus, the KB and chat modules and the
 * HTTP server together. `ROLE=all` runs both modules; `kb` or `chat` one.
 *
 * @example
 * ```ts
 * const server = await startServer(loadSettings({ DEV: "1", PORT: "0" }));
 * console.log(server.url);
 * await server.close();
 * ```
 *
 * @module
 */
import { Hono } from "hono";
import { z } from "zod";
import {
  AppError,
  type Bus,
  findNatsServer,
  httpMetrics,
  InProcessBus,
  issueToken,
  jsonErrorHandler,
  limitBody,
  loadSettings,
  log,
  metrics,
  NatsBus,
  type NatsServerProcess,
  requestId,
  type RequestIdVariables,
  requireUser,
  SERVICE_READY,
  setLogLevel,
  type Settings,
  startNatsServer,
  validate,
  validateUserId,
} from "./shared/mod.ts";
import { TokenBucket } from "./shared/rate_limit.ts";
import type { MiddlewareHandler } from "hono";
import { Kb, kbRoutes } from "./kb/mod.ts";
import { Chat, clientRoutes, experienceDirectory } from "./chat/mod.ts";

/** A started server and how to stop it. */
export interface RunningServer {
  readonly url: string;
  readonly port: number;
  readonly bus: Bus;
  readonly jwtSecret: string;
  readonly kb?: Kb;
  readonly chat?: Chat;
  /** The nats-server this process started for dev, if any. */
  readonly natsServer?: NatsServerProcess;
  /** Stops accepting, ends streams, drains the bus; idempotent. */
  close(): Promise<void>;
}

/** Options that are not settings: test hooks. */
export interface StartOptions {
  /** Print the dev banner (URL and a curl line). */
  banner?: boolean;
  /** Dev without NATS_URL: start a nats-server from PATH (default true); false forces the in-process bus. */
  localNats?: boolean;
}

async function devSecret(stateDir: string): Promise<string> {
  // Persisted so browser tokens survive a dev restart.
  const path = `${stateDir}/.dev-jwt-secret`;
  try {
    return (await Deno.readTextFile(path)).trim();
  } catch {
    const bytes = crypto.getRandomValues(new Uint8Array(32));
    const secret = Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
    await Deno.mkdir(stateDir, { recursive: true });
    await Deno.writeTextFile(path, secret, { mode: 0o600 });
    return secret;
  }
}

async function openBus(
  settings: Settings,
  localNats: boolean,
): Promise<{ bus: Bus; natsServer?: NatsServerProcess }> {
  if (settings.NATS_URL) {
    return { bus: await NatsBus.connect(settings.NATS_URL, { name: `gaia-${settings.ROLE}` }) };
  }
  // Only reachable in dev: loadSettings rejects a missing NATS_URL otherwise.
  if (localNats && findNatsServer()) {
    const natsServer = await startNatsServer();
    log("info", "started a local nats-server for dev", { url: natsServer.url });
    return { bus: await NatsBus.connect(natsServer.url, { name: "gaia-dev" }), natsServer };
  }
  log(
    "warn",
    "no NATS_URL and no nats-server on PATH: using an in-process bus (single process only, no replay). Install nats-server (apt-get install -y nats-server) for the real thing.",
  );
  return { bus: new InProcessBus() };
}

const DevLoginSchema = z.object({ user: z.string() });

/**
 * Starts the server described by `settings`.
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
  const jwtSecret = settings.JWT_SECRET ?? await devSecret(settings.STATE_DIR);
  const { bus, natsServer } = await openBus(settings, opts.localNats ?? true);
  const app = new Hono<{ Variables: RequestIdVariables }>();
  app.onError(jsonErrorHandler);
  app.use("*", requestId());
  app.use("*", httpMetrics());
  watchBus(bus);

  let kb: Kb | undefined;
  let chat: Chat | undefined;
  if (settings.ROLE !== "chat") {
    kb = await Kb.create({
      bus,
      dataDir: settings.KB_DATA_DIR,
      stateDir: settings.STATE_DIR,
      jwtSecret,
      worldUpdateRate: { rate: settings.WORLD_UPDATE_RATE, burst: settings.WORLD_UPDATE_BURST },
    });
    kb.startResponder();
  }
  if (settings.ROLE !== "kb") {
    const localKb = kb;
    chat = await Chat.create({
      bus,
      jwtSecret,
      localKb: localKb ? (req) => localKb.interact(req) : undefined,
      localKbHas: localKb ? (req) => localKb.hasRequest(req) : undefined,
      kbUrl: settings.KB_URL,
      kbTimeoutMs: settings.KB_REQUEST_TIMEOUT,
      retentionMs: settings.WORLD_RETENTION,
      keepAliveMs: settings.KEEPALIVE_INTERVAL,
      narrator: settings.NARRATOR,
      narratorPacing: settings.NARRATOR_PACING,
      narratorEnv: Deno.env.toObject(),
      narratorTimeoutMs: settings.NARRATOR_TIMEOUT,
      experienceExists: localKb
        ? async (id) => {
          await localKb.refresh();
          return localKb.experiences().some((e) => e.id === id);
        }
        : experienceDirectory({ bus, kbUrl: settings.KB_URL }),
      maxQueuedBytes: settings.STREAM_BUFFER_BYTES,
      maxStreamsPerUser: settings.MAX_STREAMS_PER_USER,
      maxStreams: settings.MAX_STREAMS,
    });
  }

  // Per-user token bucket on actions, before the modules' own handlers.
  const actions = new TokenBucket({ rate: settings.ACTION_RATE, burst: settings.ACTION_BURST });
  const actionLimit: MiddlewareHandler<{ Variables: { userId: string } }> = async (c, next) => {
    const r = actions.take(c.get("userId"));
    if (!r.ok) {
      metrics.rateLimited.inc({ limit: "actions" });
      const err = new AppError("rate_limited", "too many actions; retry later", 429);
      c.header("Retry-After", String(Math.max(1, Math.ceil(r.retryAfterMs / 1000))));
      return c.json(err.toBody(), 429);
    }
    await next();
  };
  for (const path of ["/api/v0.3/chat", "/kb/experience/interact"]) {
    app.post(path, limitBody(), requireUser(jwtSecret), actionLimit);
  }

  app.get("/metrics", async (c) => {
    metrics.subscriptionsActive.set(bus.subscriptionCount());
    return c.body(await metrics.registry.metrics(), 200, {
      "Content-Type": metrics.registry.contentType,
    });
  });
  app.get("/health", (c) =>
    c.json({
      status: "ok",
      role: settings.ROLE,
      nats: bus.status(),
      streams: chat?.openStreams(),
    }));
  if (settings.DEV) {
    app.post("/api/v0.3/dev/login", limitBody(), validate("json", DevLoginSchema), async (c) => {
      const user = validateUserId(c.req.valid("json").user);
      return c.json({ user, token: await issueToken(user, jwtSecret) });
    });
  }
  if (kb) {
    app.route(
      "/",
      kbRoutes(kb, { jwtSecret, dev: settings.DEV, adminSecret: settings.ADMIN_SECRET }),
    );
  }
  if (chat) app.route("/", chat.routes());
  if (chat) app.route("/", clientRoutes());
  // Answered, not thrown: a throw here skips the middleware's view of the
  // status (metrics and the access log would record 200).
  app.notFound((c) => c.json(new AppError("not_found", "no such route", 404).toBody(), 404));

  const server = Deno.serve({
    port: settings.PORT,
    hostname: settings.HOST,
    onListen: () => {},
  }, app.fetch);
  const port = server.addr.port;
  const url = `http://${settings.HOST}:${port}`;
  bus.publish(SERVICE_READY, JSON.stringify({ role: settings.ROLE, url, timestamp: Date.now() }));
  log("info", "listening", { url, role: settings.ROLE, nats: bus.status() });
  if (opts.banner) printBanner(url);

  let closing: Promise<void> | undefined;
  // Stop accepting first, then end streams (Deno's shutdown waits for open
  // responses, and SSE responses never end by themselves), let in-flight
  // actions finish against a still-running KB, then drain the bus. A client
  // that stalls mid-request would hold Deno's shutdown forever: after half
  // the shutdown budget the KB and the bus are closed anyway.
  const close = () =>
    closing ??= (async () => {
      const stopped = server.shutdown();
      await chat?.close();
      let timer: ReturnType<typeof setTimeout> | undefined;
      const waited = await Promise.race([
        stopped.then(() => true),
        new Promise<false>((r) =>
          timer = setTimeout(() => r(false), settings.SHUTDOWN_TIMEOUT / 2)
        ),
      ]);
      clearTimeout(timer);
      if (!waited) {
        log("warn", "open requests still running at shutdown; closing the KB and the bus anyway", {
          waited_ms: settings.SHUTDOWN_TIMEOUT / 2,
        });
      }
      await kb?.close();
      await bus.close();
      await natsServer?.dispose();
    })();
  return { url, port, bus, jwtSecret, kb, chat, natsServer, close };
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
    console.error(`error: ${(e as Error).message}`);
    Deno.exit(2);
  }
  setLogLevel(settings.LOG_LEVEL);
  const server = await startServer(settings, { banner: settings.DEV });
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
