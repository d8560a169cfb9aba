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
import type { Bus, BusMessage, BusSubscription } from "../shared/bus/mod.ts";
import { AppError } from "../shared/errors.ts";
import { newEventId, newRequestId } from "../shared/ids.ts";
import { log } from "../shared/log.ts";
import type { KbService } from "../shared/kb_service.ts";
import {
  describeIssues,
  type InteractReply,
  type InteractRequest,
  InteractRequestSchema,
  isMessageTooLarge,
  MESSAGE_TOO_LARGE,
  type Outcome,
  type StateOperation,
  type WorldSnapshot,
  type WorldUpdateEvent,
} from "../shared/schema.ts";
import {
  experienceSubject,
  KB_EXPERIENCES,
  KB_INTERACT,
  KB_QUEUE,
  userSubject,
} from "../shared/subjects.ts";
import { Catalog, type ExperienceInfo } from "./catalog.ts";
import type { Experience } from "./content.ts";
import { decide } from "./engine.ts";
import { type OutMessage, Publisher, type PublisherStats, type Sent } from "./publisher.ts";
import { type StateBackend, StateStore } from "./state/mod.ts";
import {
  creationOps,
  initialWorld,
  newPlayer,
  PlayerStateSchema,
  WorldStateSchema,
} from "./world.ts";

/** Options of {@linkcode Kb.create}. */
export interface KbOptions {
  bus: Bus;
  /** `KB_DATA_DIR`: holds `experiences/<id>/`. */
  dataDir: string;
  /** `STATE_DIR`: live state. */
  stateDir: string;
  /** Longest time publishing may add to an action (ms); default 250. */
  publishTimeoutMs?: number;
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
  if (e instanceof AppError && e.status < 500) {
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
  readonly #publisher: Publisher;
  readonly #worldRate: TokenBucket;
  /** Replies by request (see `requestKey`), for retries. */
  readonly #recent: LruMap<string, Promise<InteractReply>>;
  readonly #inflight = new Set<Promise<unknown>>();
  #sub: BusSubscription | undefined;
  #listSub: BusSubscription | undefined;

  private constructor(opts: KbOptions, catalog: Catalog) {
    this.#bus = opts.bus;
    this.#catalog = catalog;
    this.#store = new StateStore(opts.stateDir);
    this.#publisher = new Publisher(opts.bus, { timeoutMs: opts.publishTimeoutMs ?? 250 });
    this.#worldRate = new TokenBucket({
      ...(opts.worldUpdateRate ?? { rate: 1000, burst: 2000 }),
      clock: opts.clock,
    });
    this.#recent = new LruMap({ max: opts.dedupeSize ?? 10_000 });
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
    return new Kb(opts, await Catalog.load(opts.dataDir, { clock: opts.clock }));
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
   * Breaker state and publish counters (for `/metrics`).
   *
   * @example
   * ```ts
   * kb.stats().state; // "closed"
   * ```
   */
  stats(): PublisherStats {
    return this.#publisher.stats();
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

  async #experience(id: string): Promise<Experience> {
    const exp = await this.#catalog.get(id);
    if (!exp) throw new AppError("unknown_experience", "no such experience", 404);
    return exp;
  }

  async #run(r: InteractRequest): Promise<InteractReply> {
    const exp = await this.#experience(r.experience);
    checkUserId(r.user_id);
    const model = exp.config.state.model;
    const unit = await this.#store.unit(exp.id, model, r.user_id);
    if (!this.#worldRate.take(unit.dir).ok) {
      metrics.rateLimited.inc({ limit: "world_updates" });
      throw new AppError("world_busy", "this world is changing too fast; retry shortly", 429);
    }
    let event: WorldUpdateEvent | undefined;
    let sent: Sent | undefined;
    const commit = await this.#store.transact<Outcome>(unit, r.user_id, (state) => {
      const world = state.world ?? initialWorld(exp);
      const player = state.player ?? newPlayer(exp, r.user_id);
      const result = decide({
        exp,
        world: WorldStateSchema.parse(world),
        player: PlayerStateSchema.parse(player),
        userId: r.user_id,
        message: r.message,
      });
      let ops = { world: result.world, player: result.player };
      if (result.outcome.changed && state.player === null) {
        const created = creationOps(exp, r.user_id, model);
        ops = {
          world: [...created.world, ...ops.world],
          player: [...created.player, ...ops.player],
        };
      }
      return { base: { world, player }, ...ops, result: result.outcome };
    }, (c) => {
      event = {
        type: "world_update",
        id: newEventId(),
        experience: exp.id,
        user_id: r.user_id,
        version: c.version,
        changes: changes(c.world, c.player),
        timestamp: c.timestamp,
        metadata: { source: "kb", state_model: model, request_id: r.request_id },
      };
      const messages: OutMessage[] = [{
        subject: userSubject(r.user_id),
        payload: JSON.stringify(event),
        experience: exp.id,
        scope: "user",
        msgId: `${event.id}.user`,
      }];
      if (model === "shared") {
        const worldOnly = { ...event, changes: changes(c.world, []) };
        messages.push({
          subject: experienceSubject(exp.id),
          payload: JSON.stringify(worldOnly),
          experience: exp.id,
          scope: "experience",
          msgId: `${event.id}.experience`,
        });
      }
      sent = this.#publisher.send(messages, r.request_id);
    });
    // The reply does not wait for the server's acknowledgement: the actor
    // gets its events in the reply anyway, and in a busy process the PONG
    // queues behind the fan-out of this very change. The breaker still learns.
    const confirmed = this.#publisher.confirm(sent);
    this.#inflight.add(confirmed);
    confirmed.finally(() => this.#inflight.delete(confirmed));
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
    };
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
      world: state.world ?? initialWorld(exp),
      player: state.player ?? newPlayer(exp, userId),
      descriptions: {
        locations: Object.fromEntries(
          Object.entries(exp.locations).map(([id, loc]) => [id, loc.description]),
        ),
      },
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
    this.#sub = this.#bus.subscribe(KB_INTERACT, {
      queue: KB_QUEUE,
      callback: (msg) => {
        const p = this.#respond(msg);
        this.#inflight.add(p);
        p.finally(() => this.#inflight.delete(p));
      },
    });
    this.#listSub = this.#bus.subscribe(KB_EXPERIENCES, {
      queue: KB_QUEUE,
      callback: (msg) => {
        this.refresh()
          .catch((e) => log("warn", "experience refresh failed", { error: String(e) }))
          .then(() => msg.respond(JSON.stringify({ experiences: this.experiences() })));
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
    this.#sub = this.#listSub = undefined;
    while (this.#inflight.size > 0) await Promise.allSettled([...this.#inflight]);
    this.#publisher.close();
    await this.#store.close();
  }
}

/** A user id that would be a forbidden state path segment cannot play (it would fail at commit). */
function checkUserId(userId: string): void {
  if (RESERVED_SEGMENTS.has(userId)) {
    throw new AppError("reserved_user_id", `the user id '${userId}' is reserved`, 400);
  }
}

function changes(world: StateOperation[], player: StateOperation[]): WorldUpdateEvent["changes"] {
  return { ...(world.length ? { world } : {}), ...(player.length ? { player } : {}) };
}
