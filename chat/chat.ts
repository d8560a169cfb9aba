/**
 * The chat module as one object: wires the hub, the replayer, the KB client,
 * the narrator and the stream registry, and exposes the routes.
 *
 * @module
 */
import type { Hono } from "hono";
import type { Bus } from "../shared/bus/mod.ts";
import type { InteractReply, InteractRequest } from "../shared/schema.ts";
import type { AuthVariables } from "../shared/auth.ts";
import type { RequestIdVariables } from "../shared/http.ts";
import { SubjectHub } from "./hub.ts";
import { KbClient } from "./kb_client.ts";
import { createNarrator, narratorTimeoutMs } from "./narrators/mod.ts";
import type { Narrator } from "./narrators/types.ts";
import { StreamRegistry } from "./registry.ts";
import { createReplayer } from "./replay.ts";
import { chatRoutes } from "./routes.ts";
import type { WorldStreamConfig } from "./world_stream.ts";

/** Options of {@linkcode Chat.create}. */
export interface ChatOptions {
  /** The bus (NatsBus or InProcessBus). */
  bus: Bus;
  jwtSecret: string;
  /** `ROLE=all`: the KB in-process, used when the bus cannot reach a KB. */
  localKb?: (req: InteractRequest) => Promise<InteractReply>;
  /** Whether the in-process KB has this request already (see `KbClientOptions.localKbHas`). */
  localKbHas?: (req: InteractRequest) => boolean;
  /** `ROLE=chat`: a KB process to fall back to over HTTP. */
  kbUrl?: string;
  /** NATS request timeout for `kb.interact` (ms). */
  kbTimeoutMs: number;
  /** `WORLD_RETENTION` (ms): how long missed events can be replayed. */
  retentionMs: number;
  /** Keep-alive comment interval on idle world streams (ms). */
  keepAliveMs: number;
  narrator: "offline" | "anthropic" | "openai";
  /** Offline narrator imitates LLM first-token delay and token rate. */
  narratorPacing?: boolean;
  /** Narrator settings; see chat/narrators/mod.ts for the variable names. */
  narratorEnv?: Record<string, string | undefined>;
  /** Stall timeout between narrator chunks (ms); default from `NARRATOR_TIMEOUT` in `narratorEnv`. */
  narratorTimeoutMs?: number;
  /** Queued-but-unread bytes per world stream before it ends with `resync` (default 1 MiB). */
  maxQueuedBytes?: number;
  /** How long a stream that ended with `resync` may take to drain before it is cut (default 10 s). */
  slowClientDropMs?: number;
  /** `retry:` hint at the start of world streams (default 2 s). */
  retryMs?: number;
  /** A narrator to use instead of `narrator` (tests, embedding). */
  narratorImpl?: Narrator;
  /**
   * Whether an experience exists, so a world stream for an unknown one is a
   * 404 rather than a silent empty stream. Without it every id is accepted.
   */
  experienceExists?: (experience: string) => Promise<boolean>;
  /** Most open streams (chat + world) per user; past it 429 (default unlimited). */
  maxStreamsPerUser?: number;
  /** Most open streams in this process; past it 503 (default unlimited). */
  maxStreams?: number;
}

type Env = { Variables: AuthVariables & RequestIdVariables };

/** A bus flush (PING/PONG) bounded in time; never rejects. */
async function flushWithin(bus: Bus, ms: number): Promise<void> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    await Promise.race([bus.flush(), new Promise((r) => timer = setTimeout(r, ms))]);
  } catch {
    /* disconnected: the reconnect hook takes over */
  } finally {
    clearTimeout(timer);
  }
}

/**
 * The chat module.
 *
 * @example
 * ```ts
 * const chat = await Chat.create({
 *   bus, jwtSecret, kbTimeoutMs: 5000, retentionMs: 3_600_000, keepAliveMs: 15_000, narrator: "offline",
 * });
 * app.route("/", chat.routes());
 * // on shutdown:
 * await chat.close();
 * ```
 */
export class Chat {
  readonly #opts: ChatOptions;
  readonly #hub: SubjectHub;
  readonly #registry: StreamRegistry;
  readonly #routes: Hono<Env>;
  #closed = false;

  private constructor(
    opts: ChatOptions,
    routes: Hono<Env>,
    hub: SubjectHub,
    registry: StreamRegistry,
  ) {
    this.#opts = opts;
    this.#routes = routes;
    this.#hub = hub;
    this.#registry = registry;
  }

  /**
   * Builds the module; over NATS this creates or updates the JetStream
   * stream that retains world updates for replay.
   */
  static async create(opts: ChatOptions): Promise<Chat> {
    const env = opts.narratorEnv ?? {};
    // Settings first: a bad value fails before anything is opened.
    const stallMs = opts.narratorTimeoutMs ?? narratorTimeoutMs(env);
    const narrator = opts.narratorImpl ??
      createNarrator(opts.narrator, opts.narratorPacing ?? false, env);
    const replayer = await createReplayer(opts.bus, { retentionMs: opts.retentionMs });
    const hub = new SubjectHub(opts.bus);
    const registry = new StreamRegistry(opts.bus, opts.keepAliveMs, {
      perUser: opts.maxStreamsPerUser ?? Infinity,
      perProcess: opts.maxStreams ?? Infinity,
    });
    const world: WorldStreamConfig = {
      hub,
      replayer,
      maxQueuedBytes: opts.maxQueuedBytes ?? 1024 * 1024,
      dropAfterMs: opts.slowClientDropMs ?? 10_000,
      retryMs: opts.retryMs ?? 2_000,
      busConnected: () => opts.bus.status() === "connected",
      subscribed: () => flushWithin(opts.bus, 2_000),
    };
    const routes = chatRoutes({
      jwtSecret: opts.jwtSecret,
      hub,
      kb: new KbClient({
        bus: opts.bus,
        localKb: opts.localKb,
        localKbHas: opts.localKbHas,
        kbUrl: opts.kbUrl,
        kbTimeoutMs: opts.kbTimeoutMs,
      }),
      narrator,
      narratorTimeoutMs: stallMs,
      inflight: new Set(),
      registry,
      world,
      experienceExists: opts.experienceExists,
    });
    return new Chat(opts, routes, hub, registry);
  }

  /**
   * `POST /api/v0.3/chat` and `GET /api/v0.3/world/stream`. The mounting app
   * must install `requestId()` and `jsonErrorHandler`; the sub-app's own
   * context variables (user id, request id) are an internal detail, hence the
   * plain `Hono` type.
   */
  routes(): Hono {
    return this.#routes as unknown as Hono;
  }

  /** Open stream counts (for `/metrics`). */
  openStreams(): { chat: number; world: number } {
    return this.#registry.counts();
  }

  /** Bus subscriptions the hub holds (one per subject in use). */
  subscribedSubjects(): number {
    return this.#hub.subjectCount();
  }

  /**
   * Ends open streams (chat: `error` + `done`; world: a jittered `retry:`
   * hint), then unsubscribes. Does not close the bus.
   */
  close(): Promise<void> {
    if (this.#closed) return Promise.resolve();
    this.#closed = true;
    this.#registry.shutdownAll(this.#opts.retryMs ?? 2_000);
    this.#hub.close();
    return Promise.resolve();
  }
}
