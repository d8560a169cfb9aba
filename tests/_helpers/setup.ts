/**
 * `setup()` / `dispose()`: a whole GAIA process for a test, wired by the
 * builder main.ts uses (`loadSettings` then `buildProcess`, or
 * `startServer` to serve it on a real port), with what it needs around it:
 * a nats-server (or a 3-node cluster, or the in-process bus), a temp
 * `STATE_DIR`, and the shipped content or a fixture experience written to a
 * temp `KB_DATA_DIR`. `dispose()` closes the process (chat, KB, bus), stops
 * the servers the kit started and removes the temp dirs.
 *
 * @module
 */
import type { Hono } from "hono";
import {
  type BuildOptions,
  buildProcess,
  type GaiaProcess,
  type RunningServer,
  startServer,
} from "../../main.ts";
import type { Chat, Narrator } from "../../chat/mod.ts";
import type { Kb } from "../../kb/mod.ts";
import { issueToken } from "../../shared/auth.ts";
import { type Bus, NatsBus } from "../../shared/bus/mod.ts";
import type { Clock } from "../../shared/clock.ts";
import { type LogLevel, setLogLevel } from "../../shared/log.ts";
import { loadSettings, type Settings } from "../../shared/settings.ts";
import {
  copyShippedContent,
  SHIPPED_DATA_DIR,
  writeGladeContent,
  writeVaultContent,
} from "./content.ts";
import { type NatsCluster, natsCluster, natsServer, type NatsServerProcess } from "./nats.ts";
import { SseClient, type SseMessage } from "./sse.ts";
import { bearer, TEST_SECRET } from "./tokens.ts";

/** Which content the KB serves. */
export type SetupContent =
  /** `kb-data/` as shipped (read in place). */
  | "shipped"
  /** A copy of `kb-data/` in the temp dir (for tests that edit content). */
  | "shipped-copy"
  /** The glade fixture (`content.ts`, `GLADE`). */
  | "glade"
  /** The crash-test vault (`content.ts`, `writeVaultContent`). */
  | "vault"
  /** A `KB_DATA_DIR` the test prepared. */
  | { dataDir: string };

/** Options of {@linkcode setup}. */
export interface SetupOptions {
  /**
   * The bus: a new nats-server (`"server"`, default), a new 3-node JetStream
   * cluster (`"cluster"`), the in-process bus, or a running server or
   * cluster of another `setup()` (shared, not stopped by this one).
   */
  nats?: "server" | "cluster" | "in-process" | NatsServerProcess | NatsCluster;
  /** `ROLE` (default `all`). */
  role?: "all" | "kb" | "chat";
  /** Default `"shipped"`. */
  content?: SetupContent;
  /** A `STATE_DIR` to use (another setup's, for two processes on one state); default: a temp dir. */
  stateDir?: string;
  /** Settings, as environment strings; they override the kit's defaults. */
  env?: Record<string, string>;
  /** Serve on a real port (default true); false: `app.request()` only. */
  serve?: boolean;
  /** Time of the token buckets and the catalog's listing TTL. */
  clock?: Clock;
  /** Base reconnect wait of the process's NATS connection (ms, default 100). */
  reconnectTimeWaitMs?: number;
  /** A narrator object instead of the one the settings describe. */
  narrator?: Narrator;
  /** How long a stream that ended with `resync` may drain before it is cut (ms). */
  slowClientDropMs?: number;
  /** Log level of this test file (default `LOG_LEVEL` of the environment, else `error`). */
  logLevel?: LogLevel;
}

/** A `{status, body}` answer of a JSON route. */
export interface JsonAnswer {
  status: number;
  // deno-lint-ignore no-explicit-any
  body: any;
  headers: Headers;
}

/** A running process under test; see {@linkcode setup}. */
export interface TestStack extends AsyncDisposable {
  readonly settings: Settings;
  readonly process: GaiaProcess;
  /** The served process (its lifecycle announcements); undefined with `serve: false`. */
  readonly server: RunningServer | undefined;
  /** The whole HTTP app (`app.request()` needs no socket). */
  readonly app: Hono;
  readonly bus: Bus;
  /** The KB of this process (`ROLE` `all` or `kb`). */
  readonly kb: Kb;
  /** The chat module of this process (`ROLE` `all` or `chat`). */
  readonly chat: Chat;
  /** The nats-server (the cluster's first member with `nats: "cluster"`), if any. */
  readonly nats: NatsServerProcess | undefined;
  readonly cluster: NatsCluster | undefined;
  /** `http://127.0.0.1:<port>`; throws when not served. */
  readonly url: string;
  readonly port: number;
  /** The temp dir this setup owns (holds `state/` and a written `data/`). */
  readonly root: string;
  readonly stateDir: string;
  readonly dataDir: string;
  /** A token for `user`, signed with the process's secret (1 h unless `ttlS`). */
  token(user: string, ttlS?: number): Promise<string>;
  /** Dev login (`POST /api/v0.3/dev/login`): a token for `user`. */
  login(user: string): Promise<string>;
  /** Bearer and JSON content-type headers for `token`. */
  headers(token: string): Record<string, string>;
  /** A request to the process: over its port when served, else `app.request()`. */
  fetch(path: string, init?: RequestInit): Promise<Response>;
  /** `POST /api/v0.3/chat` with `stream: false`. */
  act(user: string, message: string, experience: string): Promise<JsonAnswer>;
  /** `POST /kb/experience/interact`. */
  interact(user: string, message: string, experience: string): Promise<JsonAnswer>;
  /** `GET /api/v0.3/world/state` (throws unless 200). */
  // deno-lint-ignore no-explicit-any
  state(user: string, experience: string): Promise<any>;
  /**
   * Opens `GET /api/v0.3/world/stream` (`Last-Event-ID` header, or the
   * query form); `paused`: read by hand (`readChunks`) until `resume()`.
   */
  world(
    user: string,
    experience: string,
    opts?: { lastEventId?: string; query?: boolean; paused?: boolean },
  ): Promise<SseClient>;
  /** Opens `POST /api/v0.3/chat` as a stream. */
  chatStream(
    user: string,
    message: string,
    experience: string,
    headers?: Record<string, string>,
  ): Promise<SseClient>;
  /** One action over SSE: every message up to the end of the stream. */
  play(user: string, message: string, experience: string): Promise<SseMessage[]>;
  /** Stops everything in order and removes the temp dirs; idempotent. */
  dispose(): Promise<void>;
}

async function contentDir(content: SetupContent, root: string): Promise<string> {
  if (typeof content === "object") return content.dataDir;
  if (content === "shipped") return SHIPPED_DATA_DIR;
  const dataDir = `${root}/data`;
  if (content === "glade") await writeGladeContent(dataDir);
  else if (content === "vault") await writeVaultContent(dataDir);
  else await copyShippedContent(dataDir);
  return dataDir;
}

/**
 * Starts what a test asks for and builds the process as main.ts does.
 * Defaults: a new nats-server, `ROLE=all`, the shipped content, served on a
 * free port, `DEV=1` (dev login), `JWT_SECRET` = `TEST_SECRET`,
 * `ACTION_RATE=0` and `MAX_STREAMS_PER_USER=1000` (the tests of limits set
 * them).
 *
 * @example
 * ```ts
 * await using stack = await setup({ content: "glade", env: { KEEPALIVE_INTERVAL: "100ms" } });
 * const world = await stack.world("bob", "glade");
 * const reply = await stack.act("alice", "north", "glade");
 * const [update] = await world.take(1);
 * ```
 */
export async function setup(opts: SetupOptions = {}): Promise<TestStack> {
  setLogLevel(opts.logLevel ?? (Deno.env.get("LOG_LEVEL") as LogLevel | undefined) ?? "error");
  const cleanups: (() => Promise<void>)[] = [];
  const cleanup = async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  };
  try {
    const root = await Deno.makeTempDir({ prefix: "gaia-test-" });
    cleanups.push(() => Deno.remove(root, { recursive: true }).catch(() => {}));
    const stateDir = opts.stateDir ?? `${root}/state`;
    const dataDir = await contentDir(opts.content ?? "shipped", root);
    const role = opts.role ?? "all";

    let nats: NatsServerProcess | undefined;
    let cluster: NatsCluster | undefined;
    const choice = opts.nats ?? "server";
    if (choice === "server") {
      nats = await natsServer();
      cleanups.push(() => nats!.dispose());
    } else if (choice === "cluster") {
      cluster = await natsCluster();
      cleanups.push(() => cluster!.dispose());
    } else if (choice !== "in-process") {
      if ("servers" in choice) cluster = choice;
      else nats = choice;
    }
    nats ??= cluster?.servers[0];
    const natsUrl = cluster?.url ?? nats?.url;

    const settings = loadSettings({
      DEV: "1",
      PORT: "0",
      HOST: "127.0.0.1",
      ROLE: role,
      STATE_DIR: stateDir,
      KB_DATA_DIR: dataDir,
      JWT_SECRET: TEST_SECRET,
      ACTION_RATE: "0",
      MAX_STREAMS_PER_USER: "1000",
      ...(natsUrl ? { NATS_URL: natsUrl } : {}),
      ...opts.env,
    });
    // Over NATS the kit opens the connection (its reconnect wait is a test
    // knob); without, main.ts's own choice applies: dev, no NATS_URL, no
    // local nats-server: the in-process bus.
    const bus: Bus | undefined = settings.NATS_URL
      ? await NatsBus.connect(settings.NATS_URL, {
        name: `gaia-test-${role}`,
        reconnectTimeWaitMs: opts.reconnectTimeWaitMs ?? 100,
      })
      : undefined;
    const build: BuildOptions = {
      bus,
      localNats: false,
      clock: opts.clock,
      chat: { narratorImpl: opts.narrator, slowClientDropMs: opts.slowClientDropMs },
    };
    const serve = opts.serve ?? true;
    const running = serve ? await startServer(settings, build) : undefined;
    const proc: GaiaProcess = running
      ? { ...running, settings, natsServer: running.natsServer }
      : await buildProcess(settings, build);
    cleanups.push(() => proc.close());
    return makeStack({ settings, proc, running, nats, cluster, root, stateDir, dataDir, cleanup });
  } catch (e) {
    await cleanup();
    throw e;
  }
}

interface Parts {
  settings: Settings;
  proc: GaiaProcess;
  running: RunningServer | undefined;
  nats: NatsServerProcess | undefined;
  cluster: NatsCluster | undefined;
  root: string;
  stateDir: string;
  dataDir: string;
  cleanup: () => Promise<void>;
}

function makeStack(p: Parts): TestStack {
  const { proc, running } = p;
  let disposing: Promise<void> | undefined;
  const url = () => {
    if (!running) throw new Error("not served: setup({ serve: true })");
    return running.url;
  };
  const doFetch = (path: string, init?: RequestInit) =>
    running ? fetch(`${running.url}${path}`, init) : Promise.resolve(proc.app.request(path, init));
  const json = async (res: Response): Promise<JsonAnswer> => {
    const text = await res.text();
    let body: unknown = text;
    try {
      body = JSON.parse(text);
    } catch { /* not JSON: the text */ }
    return { status: res.status, body, headers: res.headers };
  };
  const token = (user: string, ttlS = 3600) => issueToken(user, proc.jwtSecret, ttlS);
  const post = async (path: string, user: string, body: unknown) =>
    json(
      await doFetch(path, {
        method: "POST",
        headers: bearer(await token(user)),
        body: JSON.stringify(body),
      }),
    );
  const stack: TestStack = {
    settings: p.settings,
    process: proc,
    server: running,
    app: proc.app,
    bus: proc.bus,
    get kb(): Kb {
      if (!proc.kb) throw new Error(`no KB in a ROLE=${p.settings.ROLE} process`);
      return proc.kb;
    },
    get chat(): Chat {
      if (!proc.chat) throw new Error(`no chat in a ROLE=${p.settings.ROLE} process`);
      return proc.chat;
    },
    nats: p.nats,
    cluster: p.cluster,
    get url() {
      return url();
    },
    get port() {
      url();
      return running!.port;
    },
    root: p.root,
    stateDir: p.stateDir,
    dataDir: p.dataDir,
    token,
    async login(user) {
      const r = await json(
        await doFetch("/api/v0.3/dev/login", {
          method: "POST",
          headers: { "Content-Type": "application/json" },
          body: JSON.stringify({ user }),
        }),
      );
      if (r.status !== 200) throw new Error(`login ${user}: ${r.status} ${JSON.stringify(r.body)}`);
      return r.body.token as string;
    },
    headers: bearer,
    fetch: doFetch,
    act: (user, message, experience) =>
      post("/api/v0.3/chat", user, { message, experience, stream: false }),
    interact: (user, message, experience) =>
      post("/kb/experience/interact", user, { message, experience }),
    async state(user, experience) {
      const res = await doFetch(
        `/api/v0.3/world/state?experience=${encodeURIComponent(experience)}`,
        { headers: bearer(await token(user)) },
      );
      if (res.status !== 200) throw new Error(`world/state ${res.status}: ${await res.text()}`);
      return await res.json();
    },
    async world(user, experience, o = {}) {
      const t = await token(user);
      const q = new URLSearchParams({ experience });
      const headers: Record<string, string> = {};
      if (o.query) {
        q.set("access_token", t);
        if (o.lastEventId !== undefined) q.set("last_event_id", o.lastEventId);
      } else {
        headers.Authorization = `Bearer ${t}`;
        if (o.lastEventId !== undefined) headers["Last-Event-ID"] = o.lastEventId;
      }
      const res = await doFetch(`/api/v0.3/world/stream?${q}`, { headers });
      return await SseClient.from(res, { paused: o.paused });
    },
    async chatStream(user, message, experience, headers = {}) {
      return await SseClient.from(
        await doFetch("/api/v0.3/chat", {
          method: "POST",
          headers: { ...bearer(await token(user)), ...headers },
          body: JSON.stringify({ message, experience }),
        }),
      );
    },
    async play(user, message, experience) {
      const s = await stack.chatStream(user, message, experience);
      try {
        return await s.untilEnd();
      } finally {
        await s.close();
      }
    },
    dispose: () => disposing ??= p.cleanup(),
    [Symbol.asyncDispose]: () => stack.dispose(),
  };
  return stack;
}
