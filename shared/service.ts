/**
 * Readiness and lifecycle announcements. `GET /ready` is 200 only when the
 * process can serve a player: the bus is connected, the world stream exists
 * and content is there (this KB's, or for `ROLE=chat` a KB that answers
 * `kb.experiences`). `/health` stays liveness. Every process announces
 * `gaia.service.ready` once it listens and `gaia.service.health` every
 * `HEALTH_INTERVAL` (DESIGN.md "NATS subjects"), both with the payloads of
 * the zod schemas below.
 *
 * @module
 */
import { z } from "zod";
import type { Bus, EventHistory } from "./bus/mod.ts";
import { BusError } from "./bus/types.ts";
import { type Clock, systemClock, type TimerHandle } from "./clock.ts";
import { log } from "./log.ts";
import { KB_EXPERIENCES, SERVICE_HEALTH, SERVICE_READY } from "./subjects.ts";
import { withTimeout } from "./timeout.ts";

/** This server's version, as the lifecycle announcements and `/ready` report it. */
export const VERSION = "0.3.0";

/** How long one readiness check may take before it counts as failed (ms). */
const CHECK_TIMEOUT_MS = 1_500;

/** One check's answer: `ok`, or what is wrong. */
const CheckSchema = z.union([z.literal("ok"), z.string().min(1)]);

/** The three checks of readiness. */
export const ReadinessChecksSchema = z.object({
  bus: CheckSchema,
  world_stream: CheckSchema,
  content: CheckSchema,
});

/** Who is announcing: the fields every lifecycle message carries. */
const IdentitySchema = z.object({
  service: z.literal("gaia"),
  role: z.enum(["all", "kb", "chat"]),
  version: z.string(),
  /** Random per process start: tells two processes of one role apart. */
  instance: z.string().min(1),
  /** Where this process serves HTTP. */
  url: z.string(),
  /** JetStream streams the process uses (today the world stream). */
  streams: z.array(z.string()),
  timestamp: z.number().int(),
});

/**
 * Payload of `gaia.service.ready`: published once, when the process listens.
 *
 * @example
 * ```ts
 * const ready = ServiceReadySchema.parse(msg.json());
 * console.log(ready.role, ready.url, ready.ready);
 * ```
 */
export const ServiceReadySchema = IdentitySchema.extend({
  /** Whether `/ready` would answer 200 at that moment. */
  ready: z.boolean(),
  checks: ReadinessChecksSchema,
});

/**
 * Payload of `gaia.service.health`: published every `HEALTH_INTERVAL`.
 *
 * @example
 * ```ts
 * const health = ServiceHealthSchema.parse(msg.json());
 * if (!health.ready) alert(health.instance, health.checks);
 * ```
 */
export const ServiceHealthSchema = ServiceReadySchema.extend({
  /** Bus status (`connected`, `reconnecting`, ...). */
  nats: z.string(),
  /** Open SSE streams, in a process that serves chat. */
  open_streams: z.object({ chat: z.number().int(), world: z.number().int() }).optional(),
});

/** `/ready`'s verdict. */
export type ReadinessChecks = z.infer<typeof ReadinessChecksSchema>;
/** Payload of `gaia.service.ready`. */
export type ServiceReady = z.infer<typeof ServiceReadySchema>;
/** Payload of `gaia.service.health`. */
export type ServiceHealth = z.infer<typeof ServiceHealthSchema>;

/** What readiness is judged from. */
export interface ReadinessSources {
  bus: Pick<Bus, "status" | "request">;
  /** The world stream (undefined on the in-process bus: nothing to check). */
  worldStream: EventHistory | undefined;
  /** Experiences loaded in this process (a KB), or undefined: ask a KB over the bus. */
  experiences?: () => number;
}

async function worldStreamCheck(history: EventHistory | undefined): Promise<string> {
  if (!history) return "ok";
  try {
    await withTimeout(history.state(), CHECK_TIMEOUT_MS, () => {
      throw new BusError("timeout", "no answer");
    });
    return "ok";
  } catch (e) {
    return e instanceof BusError && e.code === "stream_not_found"
      ? `stream ${history.stream} missing`
      : `stream ${history.stream} not answering (${e instanceof BusError ? e.code : "error"})`;
  }
}

async function contentCheck(src: ReadinessSources): Promise<string> {
  if (src.experiences) return src.experiences() > 0 ? "ok" : "no experiences loaded";
  try {
    const msg = await src.bus.request(KB_EXPERIENCES, "{}", { timeoutMs: CHECK_TIMEOUT_MS });
    const listed = z.object({ experiences: z.array(z.unknown()) }).safeParse(msg.json());
    if (!listed.success) return "a KB answered kb.experiences with something else";
    return listed.data.experiences.length > 0 ? "ok" : "the KB has no experiences";
  } catch (e) {
    return `no KB answers ${KB_EXPERIENCES} (${e instanceof BusError ? e.code : "error"})`;
  }
}

/**
 * Runs the three checks; the process is ready when all are `ok`.
 *
 * @example
 * ```ts
 * const checks = await readiness({ bus, worldStream: bus.history(spec), experiences: () => 2 });
 * const ready = isReady(checks);
 * ```
 */
export async function readiness(src: ReadinessSources): Promise<ReadinessChecks> {
  const status = src.bus.status();
  if (status !== "connected" && status !== "in-process") {
    // The other two would only time out: say what is wrong at once.
    return { bus: status, world_stream: "unknown: bus down", content: "unknown: bus down" };
  }
  const [world_stream, content] = await Promise.all([
    worldStreamCheck(src.worldStream),
    contentCheck(src),
  ]);
  return { bus: "ok", world_stream, content };
}

/**
 * Whether every check passed.
 *
 * @example
 * ```ts
 * if (!isReady(checks)) return c.json({ checks }, 503);
 * ```
 */
export function isReady(checks: ReadinessChecks): boolean {
  return checks.bus === "ok" && checks.world_stream === "ok" && checks.content === "ok";
}

/** Options of {@linkcode startAnnouncer}. */
export interface AnnouncerOptions {
  bus: Pick<Bus, "publish" | "status">;
  role: "all" | "kb" | "chat";
  url: string;
  streams: string[];
  /** Runs the readiness checks. */
  check: () => Promise<ReadinessChecks>;
  /** Open SSE streams, in a process that serves chat. */
  openStreams?: () => { chat: number; world: number };
  /** `HEALTH_INTERVAL` (ms). */
  intervalMs: number;
  /** Timer source (tests pass a `ManualClock`). */
  clock?: Clock;
  /** Wall-clock time for the payloads' `timestamp` (default `Date.now`). */
  now?: () => number;
}

/** A running announcer. */
export interface Announcer {
  /** Resolves once `gaia.service.ready` is published. */
  readonly announced: Promise<void>;
  /** Resolves after the next health announcement (tests wait on it after advancing the clock). */
  nextHealth(): Promise<ServiceHealth>;
  /** Stops the periodic health (idempotent). */
  stop(): void;
}

/**
 * Publishes `gaia.service.ready` now and `gaia.service.health` every
 * `intervalMs` until stopped. Core NATS publishes: an announcement nobody
 * hears is simply gone, as a heartbeat should be.
 *
 * @example
 * ```ts
 * const announcer = startAnnouncer({ bus, role: "kb", url, streams: ["WORLD_UPDATES"], check, intervalMs: 30_000 });
 * // on shutdown:
 * announcer.stop();
 * ```
 */
export function startAnnouncer(opts: AnnouncerOptions): Announcer {
  const clock = opts.clock ?? systemClock;
  const now = opts.now ?? Date.now;
  const instance = crypto.randomUUID();
  let timer: TimerHandle | undefined;
  let stopped = false;
  let waiters: ((h: ServiceHealth) => void)[] = [];
  const identity = () => ({
    service: "gaia" as const,
    role: opts.role,
    version: VERSION,
    instance,
    url: opts.url,
    streams: opts.streams,
    timestamp: now(),
  });
  const announced = opts.check().then((checks) => {
    const ready: ServiceReady = { ...identity(), ready: isReady(checks), checks };
    opts.bus.publish(SERVICE_READY, JSON.stringify(ServiceReadySchema.parse(ready)));
    log("info", "announced", { subject: SERVICE_READY, ready: ready.ready, checks });
  }).catch((e) => log("warn", "ready announcement failed", { error: String(e) }));
  const health = async () => {
    const checks = await opts.check();
    if (stopped) return;
    const body: ServiceHealth = {
      ...identity(),
      ready: isReady(checks),
      checks,
      nats: opts.bus.status(),
      open_streams: opts.openStreams?.(),
    };
    opts.bus.publish(SERVICE_HEALTH, JSON.stringify(ServiceHealthSchema.parse(body)));
    const wake = waiters;
    waiters = [];
    for (const w of wake) w(body);
  };
  const schedule = () => {
    if (stopped) return;
    timer = clock.setTimeout(() => {
      health().catch((e) => log("warn", "health announcement failed", { error: String(e) }))
        .finally(schedule);
    }, opts.intervalMs);
  };
  announced.then(schedule);
  return {
    announced,
    nextHealth: () => new Promise((resolve) => waiters.push(resolve)),
    stop() {
      stopped = true;
      clock.clearTimeout(timer);
    },
  };
}
