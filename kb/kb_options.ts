/**
 * Options of `Kb.create`: the bus, content and state directories, the state
 * backend, and the bounds and clocks of a KB.
 *
 * @module
 */
import type { Bus } from "../shared/bus/mod.ts";
import type { Clock } from "../shared/clock.ts";
import type { OutboxLimits } from "./state/mod.ts";

/**
 * Options of `Kb.create`.
 *
 * @example
 * ```ts
 * const opts: KbOptions = { bus, dataDir: "./kb-data", stateDir: "./.state", stateBackend: "files" };
 * ```
 */
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
  /**
   * `STATE_BACKEND=nats`: compare-and-set losses one batch survives before
   * `429 world_busy` (default 16; tests lower it to reach that answer).
   */
  stateRetries?: number;
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
