/**
 * The KB service: resolves an action against an experience, commits it,
 * publishes its event and replies. Also answers `kb.interact` on the bus.
 *
 * Over 400 lines on purpose: `Kb` is the module's facade, the one object
 * main.ts, the routes and chat's `KbService` talk to. Each method delegates
 * to the module that does the work (`responder.ts` on the bus,
 * `commit_action.ts` for a commit, `replies.ts`, `play.ts`, `state/`,
 * `world_leases.ts`); what remains is wiring and the doc comments of a
 * public API.
 *
 * @module
 */
import type { KbOptions } from "./kb_options.ts";
export type { KbOptions } from "./kb_options.ts";
import { LruMap } from "../shared/lru.ts";
import { metrics } from "../shared/metrics.ts";
import { TokenBucket } from "../shared/rate_limit.ts";
import { type Bus, type EventHistory, worldUpdatesStream } from "../shared/bus/mod.ts";
import { AppError } from "../shared/errors.ts";
import { log } from "../shared/log.ts";
import type { KbService } from "../shared/kb_service.ts";
import {
  describeIssues,
  type InteractReply,
  type InteractRequest,
  isMessageTooLarge,
  MESSAGE_TOO_LARGE,
  type WorldSnapshot,
} from "../shared/schema.ts";
import type { PlayerPlace } from "../shared/presence_schema.ts";
import { KbResponder } from "./responder.ts";
import { commitAction } from "./commit_action.ts";
import { checkUserId, errorReply, KbRequestSchema, requestKey, toReplyError } from "./replies.ts";
import { type LeaseConflict, WorldLeases } from "./world_leases.ts";
import { Catalog, type ExperienceInfo } from "./catalog.ts";
import type { Experience } from "./content.ts";
import { EventPublisher, type EventPublisherStats } from "./event_publisher.ts";
import { PresenceView } from "./presence_view.ts";
import { describeFor, planAction, planReset, snapshotView } from "./play.ts";
import { KvStore, type StateBackend, stateIdentity, StateStore } from "./state/mod.ts";
import type { KvBucket, KvBucketSpec } from "../shared/bus/mod.ts";

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
  #leases: WorldLeases | undefined;
  /** Answers on the bus (`startResponder`). */
  #responder: KbResponder | undefined;
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
        maxRetries: opts.stateRetries,
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
        onChange: (experience, held) => kb.#responder?.world(experience, held),
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
    const parsed = KbRequestSchema.safeParse(req);
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

  async #run(r: InteractRequest): Promise<InteractReply> {
    const exp = await this.#experience(r.experience);
    checkUserId(r.user_id);
    const unit = await this.#store.unit(exp.id, exp.config.state.model, r.user_id);
    if (!this.#worldRate.take(unit.key).ok) {
      metrics.rateLimited.inc({ limit: "world_updates" });
      throw new AppError("world_busy", "this world is changing too fast; retry shortly", 429);
    }
    return commitAction(
      this.#store,
      exp,
      unit,
      r,
      (state) => planAction(exp, state, r.user_id, r.message, Date.now()),
    );
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
      return await commitAction(this.#store, exp, unit, {
        request_id: req.request_id,
        user_id: userId,
      }, (state) => planReset(exp, state, userId));
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
    const leases = this.#leases;
    this.#responder ??= new KbResponder({
      bus: this.#bus,
      interact: (req) => this.interact(req),
      refresh: () => this.refresh(),
      experiences: () => this.experiences(),
      locate: (userId, experience) => this.locate(userId, experience),
      holds: leases && ((experience) => leases.holds(experience)),
      track: (p) => {
        this.#inflight.add(p);
        p.finally(() => this.#inflight.delete(p));
      },
    });
    this.#responder.start();
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
    this.#responder?.stop();
    this.#presence.close();
    await this.#leases?.close();
    await this.#swept;
    while (this.#inflight.size > 0) await Promise.allSettled([...this.#inflight]);
    // Unacknowledged events stay in their outboxes; the next process sends them.
    await this.#publisher.close();
    await this.#store.close();
  }
}
