/**
 * The KB service: resolves an action against an experience, commits it,
 * publishes its event and replies. Also answers `kb.interact` on the bus.
 *
 * @module
 */
import { z } from "zod";
import { RESERVED_SEGMENTS } from "../shared/apply.ts";
import type { Clock } from "../shared/clock.ts";
import { LruMap } from "../shared/lru.ts";
import { metrics } from "../shared/metrics.ts";
import { TokenBucket } from "../shared/rate_limit.ts";
import {
  type Bus,
  type BusMessage,
  type BusSubscription,
  type EventHistory,
  worldUpdatesStream,
} from "../shared/bus/mod.ts";
import { AppError } from "../shared/errors.ts";
import { newEventId, newRequestId } from "../shared/ids.ts";
import { log } from "../shared/log.ts";
import type { KbService } from "../shared/kb_service.ts";
import {
  conversationOnly,
  describeIssues,
  type IntentContext,
  type InteractReply,
  type InteractRequest,
  InteractRequestSchema,
  isMessageTooLarge,
  MESSAGE_TOO_LARGE,
  type Outcome,
  type WorldSnapshot,
} from "../shared/schema.ts";
import {
  KB_EXPERIENCES,
  KB_INTERACT,
  KB_INTERACT_ANY,
  KB_LOCATE,
  KB_QUEUE,
  kbInteractSubject,
} from "../shared/subjects.ts";
import type { LocateReply, PlayerPlace } from "../shared/presence_schema.ts";
import { type LeaseConflict, WorldLeases } from "./world_leases.ts";
import { Catalog, type ExperienceInfo } from "./catalog.ts";
import type { Experience } from "./content.ts";
import { EventPublisher, type EventPublisherStats } from "./event_publisher.ts";
import { worldUpdate } from "./events.ts";
import { thirdPersonLine } from "./third_person.ts";
import { PresenceView } from "./presence_view.ts";
import { type ActionPlan, describeFor, planAction, planReset, snapshotView } from "./play.ts";
import {
  KvStore,
  type OutboxLimits,
  type StateBackend,
  stateIdentity,
  StateStore,
  type Unit,
} from "./state/mod.ts";
import type { KvBucket, KvBucketSpec } from "../shared/bus/mod.ts";

/** Options of {@linkcode Kb.create}. */
export interface KbOptions {
  bus: Bus;
  /** `KB_DATA_DIR`: holds `experiences/<id>/`. */
  dataDir: string;
  /** `STATE_DIR`: live state (the `files` backend; identity files of either). */
  stateDir: string;
  /**
   * `STATE_BACKEND`: `files` (default: JSON files under flock in `stateDir`)
   * or `nats` (a JetStream KV bucket, `WORLD_REPLICAS` replicas; needs a NATS bus).
   */
  stateBackend?: "files" | "nats";
  /**
   * `files` backend on a NATS bus: claim each world with a lease so that a
   * KB with another `STATE_DIR` never acts on it (`world_leases.ts`).
   * main.ts turns it on; default off (tests that run a second KB on purpose).
   */
  leases?: boolean;
  /** How long JetStream may take to acknowledge an event before its unit pauses and retries (ms); default 5 s. */
  ackTimeoutMs?: number;
  /** Bounds of each unit's outbox of unacknowledged events (default 1,000 events, 1 MiB). */
  outboxLimits?: OutboxLimits;
  /**
   * The world stream the events go to (`WORLD_RETENTION`, `WORLD_REPLICAS`):
   * created or updated at start by whichever role starts first, and again
   * when a publish finds it missing. Default: 1 h, `"auto"` replicas.
   */
  worldStream?: { retentionMs: number; replicas?: number | "auto" };
  /** Replies remembered per request id for retries; default 10,000. */
  dedupeSize?: number;
  /**
   * Actions per second one world (a shared experience, or one player's
   * isolated world) accepts, and the burst; past it 429 `world_busy` with no
   * state change. Bounds the world-update fan-out. Default 1000/s, burst 2000.
   */
  worldUpdateRate?: { rate: number; burst: number };
  /** Time of the world-update buckets and the catalog's listing TTL (tests: a `ManualClock`). */
  clock?: Clock;
  /** `PRESENCE_GRACE` (ms): how long a silent chat process's players stay in `present` (default 10 s). */
  presenceGraceMs?: number;
}

/** Request shape accepted on the bus and by `interact`: the experience id is checked against the catalog, not by length. */
const RequestSchema = InteractRequestSchema.extend({ experience: z.string() });

function errorReply(
  requestId: string,
  code: string,
  message: string,
  status: number,
): InteractReply {
  return { ok: false, request_id: requestId, error: { code, message, status } };
}

function toReplyError(requestId: string, e: unknown): InteractReply {
  // 503: the state store is unreachable, a condition with its own code, not a bug.
  if (e instanceof AppError && (e.status < 500 || e.status === 503)) {
    return errorReply(requestId, e.code, e.message, e.status);
  }
  log("error", "interact failed", {
    request_id: requestId,
    error: String(e),
    stack: (e as Error)?.stack,
  });
  return errorReply(requestId, "internal", "the KB could not complete the action", 500);
}

/**
 * Identity of a request for retries: the same id with another message (a
 * client that reuses its `X-Request-Id`) is another action, not a retry.
 */
function requestKey(r: Pick<InteractRequest, "user_id" | "experience" | "request_id" | "message">) {
  return JSON.stringify([r.user_id, r.experience, r.request_id, r.message]);
}

/**
 * The KB.
 *
 * @example
 * ```ts
 * const kb = await Kb.create({ bus, dataDir: "./kb-data", stateDir: "./.state" });
 * kb.startResponder();
 * const reply = await kb.interact({ request_id: "r1", user_id: "alice", experience: "wylding-woods", message: "look" });
 * await kb.close();
 * ```
 */
export class Kb implements KbService {
  readonly #bus: Bus;
  readonly #catalog: Catalog;
  readonly #store: StateBackend;
  readonly #publisher: EventPublisher;
  readonly #worldRate: TokenBucket;
  /** Replies by request (see `requestKey`), for retries. */
  readonly #recent: LruMap<string, Promise<InteractReply>>;
  readonly #inflight = new Set<Promise<unknown>>();
  #sub: BusSubscription | undefined;
  #listSub: BusSubscription | undefined;
  #locateSub: BusSubscription | undefined;
  #leases: WorldLeases | undefined;
  /** Per-world request subscriptions of a KB with leases (the worlds it holds). */
  readonly #worldSubs = new Map<string, BusSubscription>();
  readonly #stateBackend: "files" | "nats";
  #swept: Promise<number> = Promise.resolve(0);
  readonly #history: EventHistory | undefined;
  /** Who is present (the snapshot's `present`), from chat's presence beats. */
  readonly #presence: PresenceView;

  private constructor(
    opts: KbOptions,
    catalog: Catalog,
    openBucket: ((spec: KvBucketSpec) => Promise<KvBucket>) | undefined,
  ) {
    this.#bus = opts.bus;
    this.#catalog = catalog;
    this.#stateBackend = opts.stateBackend ?? "files";
    // The store writes each commit's events into its unit's outbox and hands
    // the outbox to the publisher; the publisher reports acknowledgements back.
    this.#history = opts.bus.history(
      worldUpdatesStream(opts.worldStream ?? { retentionMs: 3_600_000 }),
    );
    this.#publisher = new EventPublisher(opts.bus, {
      ackTimeoutMs: opts.ackTimeoutMs,
      onAcked: (unit, version) => this.#store.acked(unit, version),
      // Nothing stores the subjects (the stream was deleted, or never made): make it again.
      onNoStream: () => this.#ensureStream({ again: true }),
    });
    const replicas = opts.worldStream?.replicas;
    this.#store = openBucket
      ? new KvStore({
        openBucket: (name, singleKey) => openBucket({ name, singleKey, replicas }),
        bus: opts.bus,
        experiences: () => catalog.list().map((e) => ({ id: e.id, model: e.state_model })),
        outbox: this.#publisher,
        outboxLimits: opts.outboxLimits,
        clock: opts.clock,
      })
      : new StateStore(opts.stateDir, {
        outbox: this.#publisher,
        outboxLimits: opts.outboxLimits,
      });
    this.#worldRate = new TokenBucket({
      ...(opts.worldUpdateRate ?? { rate: 1000, burst: 2000 }),
      clock: opts.clock,
    });
    this.#recent = new LruMap({ max: opts.dedupeSize ?? 10_000 });
    this.#presence = new PresenceView(opts.bus, {
      graceMs: opts.presenceGraceMs ?? 10_000,
      clock: opts.clock,
    });
  }

  /**
   * Loads and validates all content; throws `bad_content` (file, path, problem) when invalid.
   *
   * @example
   * ```ts
   * const kb = await Kb.create({ bus, dataDir, stateDir });
   * ```
   */
  static async create(opts: KbOptions): Promise<Kb> {
    const catalog = await Catalog.load(opts.dataDir, { clock: opts.clock });
    let openBucket: ((spec: KvBucketSpec) => Promise<KvBucket>) | undefined;
    if (opts.stateBackend === "nats") {
      const bus = opts.bus;
      if (!bus.kv) {
        throw new AppError(
          "state_unavailable",
          "STATE_BACKEND=nats keeps the state in JetStream: it needs NATS_URL (a NATS bus)",
          503,
        );
      }
      openBucket = (spec) => bus.kv!(spec);
    }
    const kb = new Kb(opts, catalog, openBucket);
    if (opts.stateBackend !== "nats" && opts.leases && opts.bus.kv) {
      const bus = opts.bus;
      const replicas = opts.worldStream?.replicas;
      kb.#leases = new WorldLeases({
        openBucket: (name) => bus.kv!({ name, singleKey: true, replicas }),
        identity: await stateIdentity(opts.stateDir),
        experiences: () => catalog.list().map((e) => e.id),
        onChange: (experience, held) => kb.#worldSubscription(experience, held),
        clock: opts.clock,
      });
      await kb.#leases.start();
    }
    await kb.#ensureStream();
    kb.#swept = kb.#store.sweep().then((units) => {
      if (units > 0) log("info", "outboxes swept: unacknowledged events resent", { units });
      return units;
    }, (e) => {
      log("error", "outbox sweep failed; those events go out when their units are next used", {
        error: String(e),
      });
      return 0;
    });
    return kb;
  }

  /**
   * Lists the loaded experiences.
   *
   * @example
   * ```ts
   * kb.experiences().map((e) => e.id); // ["lighthouse", "wylding-woods"]
   * ```
   */
  experiences(): ExperienceInfo[] {
    return this.#catalog.list();
  }

  /**
   * Picks up experience directories added under `KB_DATA_DIR` since the last
   * listing (at most once a second). Edits to known experiences need no
   * call: they are checked on every request.
   *
   * @example
   * ```ts
   * await kb.refresh();
   * kb.experiences();
   * ```
   */
  refresh(): Promise<void> {
    return this.#catalog.refresh();
  }

  /**
   * Publishing counters: events waiting for JetStream, paused units, acknowledgements.
   *
   * @example
   * ```ts
   * kb.stats().pending; // 0 when JetStream has every committed event
   * ```
   */
  stats(): EventPublisherStats {
    return this.#publisher.stats();
  }

  /**
   * Hands every unit with unacknowledged events on disk to the publisher
   * (events of a process that died, or of an outage before a restart).
   * `Kb.create` starts it; resolves with the number of units found.
   *
   * @example
   * ```ts
   * await kb.swept;
   * ```
   */
  get swept(): Promise<number> {
    return this.#swept;
  }

  /**
   * Runs one action: resolve, commit, publish, reply. Never throws; user
   * errors come back as `{ok: false, error: {code, message, status}}`. A
   * repeated request id (a retry) gets the first reply and is applied once.
   *
   * @example
   * ```ts
   * const reply = await kb.interact({ request_id, user_id, experience: "wylding-woods", message: "take lantern" });
   * if (reply.ok) console.log(reply.outcome.summary, reply.events);
   * ```
   */
  interact(req: InteractRequest): Promise<InteractReply> {
    const parsed = RequestSchema.safeParse(req);
    if (!parsed.success) {
      const fallbackId = typeof req?.request_id === "string" ? req.request_id : "";
      const tooLarge = isMessageTooLarge(parsed.error);
      return Promise.resolve(errorReply(
        fallbackId,
        tooLarge ? MESSAGE_TOO_LARGE : "bad_request",
        describeIssues(parsed.error, "(request)"),
        tooLarge ? 413 : 400,
      ));
    }
    const r = parsed.data;
    const key = requestKey(r);
    const cached = this.#recent.get(key);
    if (cached) return cached;
    const run = this.#run(r).catch((e) => toReplyError(r.request_id, e)).then((reply) => {
      // Transient refusals are not the request's final answer: a retry runs it.
      if (!reply.ok && (reply.error.status >= 500 || reply.error.status === 429)) {
        this.#recent.delete(key);
      }
      return reply;
    });
    this.#recent.set(key, run);
    this.#inflight.add(run);
    run.finally(() => this.#inflight.delete(run));
    return run;
  }

  /**
   * Whether an experience with this id exists, directories added under
   * `KB_DATA_DIR` since the last listing included (see {@linkcode refresh}).
   *
   * @example
   * ```ts
   * await kb.hasExperience("wylding-woods"); // true
   * ```
   */
  async hasExperience(id: string): Promise<boolean> {
    await this.refresh();
    return this.experiences().some((e) => e.id === id);
  }

  /**
   * Whether this process has run (or is running) this request: a retry of
   * it here gets the same reply instead of a second action.
   *
   * @example
   * ```ts
   * if (kb.hasRequest(req)) reply = await kb.interact(req); // the first reply again
   * ```
   */
  hasRequest(req: InteractRequest): boolean {
    return this.#recent.has(requestKey(req));
  }

  /** Creates or updates the world stream; a failure is logged and retried by the next publish failure. */
  async #ensureStream(opts: { again?: boolean } = {}): Promise<void> {
    try {
      // again: the publisher found no stream, so an earlier success no longer holds.
      await this.#history?.ensure(opts);
    } catch (e) {
      log("warn", "world stream setup failed; events wait in their outboxes until it exists", {
        error: String(e),
      });
    }
  }

  async #experience(id: string): Promise<Experience> {
    const exp = await this.#catalog.get(id);
    if (!exp) throw new AppError("unknown_experience", "no such experience", 404);
    if (this.#leases && !this.#leases.mayAct(exp.id)) {
      throw new AppError(
        "world_held_elsewhere",
        "this world is served by a KB with another STATE_DIR (another host); this KB does not act on it",
        409,
      );
    }
    return exp;
  }

  /**
   * What `/health` says about the state: the backend and, with the files
   * backend, the worlds another KB holds (which this one refuses).
   *
   * @example
   * ```ts
   * kb.health(); // { state_backend: "files", world_conflicts: [{ experience: "wylding-woods", held_by: "5f0c…" }] }
   * ```
   */
  health(): { state_backend: "files" | "nats"; world_conflicts?: LeaseConflict[] } {
    const conflicts = this.#leases?.conflicts() ?? [];
    return {
      state_backend: this.#stateBackend,
      ...(conflicts.length > 0 ? { world_conflicts: conflicts } : {}),
    };
  }

  /** Starts or stops answering one world's requests (a KB with leases, as they change). */
  #worldSubscription(experience: string, held: boolean): void {
    if (!this.#sub) return; // not answering yet: startResponder subscribes what is held
    const current = this.#worldSubs.get(experience);
    if (held && !current) {
      this.#worldSubs.set(experience, this.#subscribeInteract(kbInteractSubject(experience)));
    } else if (!held && current) {
      current.unsubscribe();
      this.#worldSubs.delete(experience);
    }
  }

  #subscribeInteract(subject: string): BusSubscription {
    return this.#bus.subscribe(subject, {
      queue: KB_QUEUE,
      callback: (msg) => {
        const p = this.#respond(msg);
        this.#inflight.add(p);
        p.finally(() => this.#inflight.delete(p));
      },
    });
  }

  async #run(r: InteractRequest): Promise<InteractReply> {
    const exp = await this.#experience(r.experience);
    checkUserId(r.user_id);
    const unit = await this.#store.unit(exp.id, exp.config.state.model, r.user_id);
    if (!this.#worldRate.take(unit.key).ok) {
      metrics.rateLimited.inc({ limit: "world_updates" });
      throw new AppError("world_busy", "this world is changing too fast; retry shortly", 429);
    }
    return this.#commit(
      exp,
      unit,
      r,
      (state) => planAction(exp, state, r.user_id, r.message, Date.now()),
    );
  }

  /** Commits a plan through the store with its event in the same commit, and replies. */
  async #commit(
    exp: Experience,
    unit: Unit,
    r: Pick<InteractRequest, "request_id" | "user_id">,
    plan: (
      state: { world: Record<string, unknown> | null; player: Record<string, unknown> | null },
    ) => ActionPlan,
  ): Promise<InteractReply> {
    const model = exp.config.state.model;
    // What the player can see, for chat's intent step (the plan may run twice: the last counts).
    let context: IntentContext | undefined;
    let actor = r.user_id;
    const planned = (state: Parameters<typeof plan>[0]) => {
      const p = plan(state);
      context = p.intent;
      const name = p.base.player.name;
      actor = typeof name === "string" && name ? name : r.user_id;
      return p;
    };
    const commit = await this.#store.transact<Outcome>(unit, r.user_id, planned, {
      // Part of the commit: the store writes it into the unit's outbox, and the
      // publisher sends it (in version order) once the commit is durable.
      event: (c) =>
        worldUpdate({
          id: newEventId(),
          experience: exp.id,
          userId: r.user_id,
          model,
          requestId: r.request_id,
          version: c.version,
          timestamp: c.timestamp,
          world: c.world,
          player: c.player,
          // What other players read in their story; a conversation-only event shows nothing.
          thirdPerson: conversationOnly({ changes: { world: c.world, player: c.player } })
            ? undefined
            : thirdPersonLine(c.result, actor),
        }),
    });
    const event = commit.event;
    metrics.kbActions.inc({ kind: commit.result.kind });
    log("info", "kb action", {
      request_id: r.request_id,
      experience: exp.id,
      kind: commit.result.kind,
      changed: commit.changed,
      version: event?.version,
      event_id: event?.id,
    });
    const events = event ? [event] : [];
    return {
      ok: true,
      request_id: r.request_id,
      experience: exp.id,
      outcome: { ...commit.result, changed: commit.changed },
      event_ids: events.map((e) => e.id),
      events,
      ...(context ? { context } : {}),
    };
  }

  /**
   * Puts one world back to its content's start, through the normal commit
   * path: a new version and a `world_update` every client applies. A shared
   * world needs no user (`actor` is who asked); an isolated world is one
   * player's, named by `user`. Players' profiles in a shared world start
   * afresh lazily (the world's epoch moves on).
   *
   * @example
   * ```ts
   * const reply = await kb.reset({ experience: "wylding-woods", actor: "admin", request_id: "r1" });
   * ```
   */
  reset(
    req: { experience: string; user?: string; actor: string; request_id: string },
  ): Promise<InteractReply> {
    const run = this.#reset(req);
    this.#inflight.add(run);
    run.finally(() => this.#inflight.delete(run));
    return run;
  }

  async #reset(
    req: { experience: string; user?: string; actor: string; request_id: string },
  ): Promise<InteractReply> {
    try {
      const exp = await this.#experience(req.experience);
      const model = exp.config.state.model;
      if (model === "isolated" && req.user === undefined) {
        throw new AppError(
          "bad_request",
          "an isolated experience is reset per player: give 'user'",
          400,
        );
      }
      const userId = model === "isolated" ? req.user! : req.actor;
      checkUserId(userId);
      const unit = await this.#store.unit(exp.id, model, userId);
      return await this.#commit(
        exp,
        unit,
        { request_id: req.request_id, user_id: userId },
        (state) => planReset(exp, state, userId),
      );
    } catch (e) {
      return toReplyError(req.request_id, e);
    }
  }

  /**
   * The content directory of a loaded experience; throws 404 for any other id.
   *
   * @example
   * ```ts
   * await kb.contentDir("wylding-woods"); // "./kb-data/experiences/wylding-woods"
   * ```
   */
  async contentDir(experience: string): Promise<string> {
    const exp = await this.#experience(experience);
    return `${this.#catalog.dataDir}/experiences/${exp.id}`;
  }

  /**
   * The user's view of an experience (`GET /world/state`). Never writes: a
   * player who has not acted yet sees the start location and an empty
   * inventory. Throws {@linkcode AppError} 404 for unknown experiences.
   *
   * @example
   * ```ts
   * const snap = await kb.snapshot("alice", "wylding-woods"); // { version, world, player, ... }
   * ```
   */
  async snapshot(userId: string, experience: string): Promise<WorldSnapshot> {
    const exp = await this.#experience(experience);
    checkUserId(userId);
    const model = exp.config.state.model;
    const state = await this.#store.read(await this.#store.unit(exp.id, model, userId));
    return {
      experience: exp.id,
      state_model: model,
      version: state.version,
      ...snapshotView(exp, state, userId),
      ...(model === "shared" ? { present: this.#presence.present(exp.id) } : {}),
    };
  }

  /**
   * Where the user is and under which name (`kb.locate`; a player who has
   * not acted yet is at the start). Never writes; `undefined` for an
   * unknown experience or a reserved user id.
   *
   * @example
   * ```ts
   * await kb.locate("alice", "wylding-woods"); // { name: "alice", location: "woods-edge", state_model: "shared" }
   * ```
   */
  async locate(userId: string, experience: string): Promise<PlayerPlace | undefined> {
    try {
      const snap = await this.snapshot(userId, experience);
      const { name, location } = snap.player as { name?: unknown; location?: unknown };
      if (typeof location !== "string") return undefined;
      return {
        name: typeof name === "string" ? name : userId,
        location,
        state_model: snap.state_model,
      };
    } catch (e) {
      if (e instanceof AppError && e.status < 500) return undefined;
      throw e;
    }
  }

  /**
   * Each location's description as it reads for the user now
   * (`GET /world/describe`): content can vary descriptions with state.
   *
   * @example
   * ```ts
   * const { locations } = await kb.describe("alice", "wylding-woods");
   * ```
   */
  async describe(
    userId: string,
    experience: string,
  ): Promise<{ experience: string; version: number; locations: Record<string, string> }> {
    const exp = await this.#experience(experience);
    checkUserId(userId);
    const state = await this.#store.read(
      await this.#store.unit(exp.id, exp.config.state.model, userId),
    );
    return {
      experience: exp.id,
      version: state.version,
      locations: describeFor(exp, state, userId),
    };
  }

  /**
   * Answers `kb.interact` (queue group `kb`) with the reply as JSON and the
   * request id in the `X-Request-Id` header, and `kb.experiences` with the
   * experience listing. Idempotent.
   *
   * @example
   * ```ts
   * kb.startResponder();
   * ```
   */
  startResponder(): void {
    if (this.#sub) return;
    // `kb.interact` itself: senders that do not name the world in the subject.
    this.#sub = this.#subscribeInteract(KB_INTERACT);
    if (!this.#leases) {
      this.#worldSubs.set("*", this.#subscribeInteract(KB_INTERACT_ANY));
    } else {
      for (const e of this.#catalog.list()) {
        if (this.#leases.holds(e.id)) this.#worldSubscription(e.id, true);
      }
    }
    this.#listSub = this.#bus.subscribe(KB_EXPERIENCES, {
      queue: KB_QUEUE,
      callback: (msg) => {
        this.refresh()
          .catch((e) => log("warn", "experience refresh failed", { error: String(e) }))
          .then(() => msg.respond(JSON.stringify({ experiences: this.experiences() })));
      },
    });
    this.#locateSub = this.#bus.subscribe(KB_LOCATE, {
      queue: KB_QUEUE,
      callback: (msg) => {
        const answer = async (): Promise<LocateReply> => {
          const raw = msg.json<{ user_id?: unknown; experience?: unknown }>();
          if (typeof raw?.user_id !== "string" || typeof raw.experience !== "string") {
            return { ok: false, error: { code: "bad_request", message: "user_id, experience" } };
          }
          const place = await this.locate(raw.user_id, raw.experience);
          return place
            ? { ok: true, ...place }
            : { ok: false, error: { code: "not_found", message: "no such player or experience" } };
        };
        answer()
          .catch((e): LocateReply => ({
            ok: false,
            error: { code: "internal", message: String(e) },
          }))
          .then((r) => msg.respond(JSON.stringify(r)));
      },
    });
  }

  async #respond(msg: BusMessage): Promise<void> {
    let reply: InteractReply;
    try {
      const raw = msg.json<Record<string, unknown>>();
      if (typeof raw !== "object" || raw === null) throw new Error("not an object");
      if (raw.request_id === undefined) raw.request_id = msg.requestId ?? newRequestId();
      reply = await this.interact(raw as InteractRequest);
    } catch {
      reply = errorReply(msg.requestId ?? "", "bad_request", "request is not a JSON object", 400);
    }
    msg.respond(JSON.stringify(reply), { requestId: reply.request_id || msg.requestId });
  }

  /**
   * Stops answering on the bus and waits for actions in flight. Does not close the bus.
   *
   * @example
   * ```ts
   * await kb.close();
   * ```
   */
  async close(): Promise<void> {
    this.#sub?.unsubscribe();
    this.#listSub?.unsubscribe();
    this.#locateSub?.unsubscribe();
    for (const sub of this.#worldSubs.values()) sub.unsubscribe();
    this.#worldSubs.clear();
    this.#sub = this.#listSub = this.#locateSub = undefined;
    this.#presence.close();
    await this.#leases?.close();
    await this.#swept;
    while (this.#inflight.size > 0) await Promise.allSettled([...this.#inflight]);
    // Unacknowledged events stay in their outboxes; the next process sends them.
    await this.#publisher.close();
    await this.#store.close();
  }
}

/** A user id that would be a forbidden state path segment cannot play (it would fail at commit). */
function checkUserId(userId: string): void {
  if (RESERVED_SEGMENTS.has(userId)) {
    throw new AppError("reserved_user_id", `the user id '${userId}' is reserved`, 400);
  }
}
