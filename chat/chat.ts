/**
 * The chat module as one object: wires the hub, the replayer, the KB client,
 * the narrator and the stream registry, and exposes the routes.
 *
 * @module
 */
import type { Hono } from "hono";
import type { AuthOptions, AuthVariables } from "../shared/auth.ts";
import type { Bus } from "../shared/bus/mod.ts";
import type { RequestIdVariables } from "../shared/http.ts";
import type { KbService } from "../shared/kb_service.ts";
import { TokenBucket } from "../shared/rate_limit.ts";
import type { NarratorSettings } from "../shared/settings.ts";
import { withTimeout } from "../shared/timeout.ts";
import { SubjectHub } from "./hub.ts";
import { IntentStep } from "./intent.ts";
import { KbClient } from "./kb_client.ts";
import { createNarrator } from "./narrators/mod.ts";
import type { Narrator } from "./narrators/types.ts";
import { StreamRegistry } from "./registry.ts";
import { createReplayer } from "./replay.ts";
import { chatRoutes } from "./routes.ts";
import { PresenceService } from "./presence.ts";
import type { Clock } from "../shared/clock.ts";
import type { WorldStreamConfig } from "./world_stream.ts";

/** Options of {@linkcode Chat.create}. */
export interface ChatOptions {
  /** The bus (NatsBus or InProcessBus). */
  bus: Bus;
  /** How tokens are checked (`JWT_SECRET`, `JWT_MAX_TTL`). */
  auth: AuthOptions;
  /**
   * The KB behind the bus: asked when `kb.interact` cannot be delivered, and
   * whether an experience exists (world streams for unknown ones are 404).
   * `ROLE=all`: the in-process `Kb`; `ROLE=chat`: a `RemoteKb` (chat/remote_kb.ts).
   */
  kb: KbService;
  /** The per-user action bucket, shared with the KB's route; default: no limit. */
  actions?: TokenBucket;
  /** NATS request timeout for `kb.interact` (ms). */
  kbTimeoutMs: number;
  /** `WORLD_RETENTION` (ms): how long missed events can be replayed. */
  retentionMs: number;
  /** `WORLD_REPLICAS`: replicas of the world stream (default `"auto"`: 3 with ≥ 3 JetStream servers). */
  worldReplicas?: number | "auto";
  /** Keep-alive comment interval on idle world streams (ms). */
  keepAliveMs: number;
  /**
   * Which narrator and how (`NARRATOR*`, `ANTHROPIC_*`, `OPENAI_*`); `NARRATOR_TIMEOUT` is the
   * stall timeout. A remote narrator's provider also runs the intent step (`INTENT_*`).
   */
  narrator: NarratorSettings;
  /** A narrator to use instead of the one `narrator` describes (tests, embedding). */
  narratorImpl?: Narrator;
  /** Queued-but-unread bytes per world stream before it ends with `resync` (default 1 MiB). */
  maxQueuedBytes?: number;
  /** How long a stream that ended with `resync` may take to drain before it is cut (default 10 s). */
  slowClientDropMs?: number;
  /** How long a missing version may hold later ones before `resync` (`gap`); default 5 s. */
  gapWaitMs?: number;
  /** `retry:` hint at the start of world streams (default 2 s). */
  retryMs?: number;
  /** Most open streams (chat + world) per user; past it 429 (default unlimited). */
  maxStreamsPerUser?: number;
  /** Most open streams in this process; past it 503 (default unlimited). */
  maxStreams?: number;
  /** `PRESENCE_GRACE` (ms): how long a player stays present after their last stream closed (default 10 s). */
  presenceGraceMs?: number;
  /** `PRESENCE_WIDE_MAX`: present players past which presence events stay at their location (default 200). */
  presenceWideMax?: number;
  /** `SAY_RATE`/`SAY_BURST`: speech lines per second per user and the burst (default 1 and 5). */
  say?: { rate: number; burst: number };
  /** Time of presence (grace, heartbeats) and of the speech bucket (tests pass a `ManualClock`). */
  clock?: Clock;
}

type Env = { Variables: AuthVariables & RequestIdVariables };

/** A bus flush (PING/PONG) bounded in time; never rejects. */
async function flushWithin(bus: Bus, ms: number): Promise<void> {
  try {
    await withTimeout(bus.flush(), ms, () => undefined);
  } catch {
    /* disconnected: the reconnect hook takes over */
  }
}

/**
 * The chat module.
 *
 * @example
 * ```ts
 * const chat = await Chat.create({
 *   bus, auth: { secret }, kb, actions, kbTimeoutMs: 5000, retentionMs: 3_600_000,
 *   keepAliveMs: 15_000, narrator: settings,
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
  /** Who is present in the experiences this process has streams in. */
  readonly presence: PresenceService;
  #closed = false;

  private constructor(
    opts: ChatOptions,
    routes: Hono<Env>,
    hub: SubjectHub,
    registry: StreamRegistry,
    presence: PresenceService,
  ) {
    this.#opts = opts;
    this.#routes = routes;
    this.#hub = hub;
    this.#registry = registry;
    this.presence = presence;
  }

  /**
   * Builds the module; over NATS this creates or updates the JetStream
   * stream that retains world updates for replay.
   */
  static async create(opts: ChatOptions): Promise<Chat> {
    const narrator = opts.narratorImpl ?? createNarrator(opts.narrator);
    const replayer = await createReplayer(opts.bus, {
      retentionMs: opts.retentionMs,
      replicas: opts.worldReplicas,
    });
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
      gapWaitMs: opts.gapWaitMs,
      retryMs: opts.retryMs ?? 2_000,
      busConnected: () => opts.bus.status() === "connected",
      subscribed: () => flushWithin(opts.bus, 2_000),
    };
    const kb = new KbClient({ bus: opts.bus, fallback: opts.kb, kbTimeoutMs: opts.kbTimeoutMs });
    const presence = new PresenceService({
      bus: opts.bus,
      hub,
      kb,
      graceMs: opts.presenceGraceMs ?? 10_000,
      wideMax: opts.presenceWideMax,
      clock: opts.clock,
    });
    const routes = chatRoutes({
      auth: opts.auth,
      actions: opts.actions ?? new TokenBucket({ rate: 0, burst: 1 }),
      hub,
      kb,
      presence,
      sayLimit: new TokenBucket({
        rate: opts.say?.rate ?? 1,
        burst: opts.say?.burst ?? 5,
        clock: opts.clock,
      }),
      narrator,
      narratorTimeoutMs: opts.narrator.NARRATOR_TIMEOUT,
      intent: IntentStep.fromSettings(opts.narrator),
      inflight: new Set(),
      registry,
      world,
    });
    return new Chat(opts, routes, hub, registry, presence);
  }

  /**
   * `POST /api/v0.3/chat` and `GET /api/v0.3/world/stream`. The mounting app
   * (shared/app.ts `buildApp`) installs `requestId()` and `jsonErrorHandler`; the sub-app's own
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
    this.presence.close();
    this.#hub.close();
    return Promise.resolve();
  }
}
