/**
 * The streams this system retains, defined once for every module: the KB
 * publishes into them and chat replays from them.
 *
 * @module
 */
import { WORLD_UPDATES_PREFIX } from "../subjects.ts";
import type { HistoryStreamSpec } from "./history.ts";

/** Name of the JetStream stream that retains world updates. */
export const WORLD_STREAM = "WORLD_UPDATES";

/** Settings of the world-updates stream. */
export interface WorldStreamSettings {
  /** How long events stay replayable (ms): `WORLD_RETENTION`. */
  retentionMs: number;
  /** Copies kept in a cluster (`WORLD_REPLICAS`); default `"auto"`: 3 with ≥ 3 JetStream servers, else 1. */
  replicas?: number | "auto";
}

/**
 * The world-updates stream: every `world.updates.>` subject, kept for the
 * retention window.
 *
 * @example
 * ```ts
 * const history = bus.history(worldUpdatesStream({ retentionMs: 3_600_000 }));
 * ```
 */
export function worldUpdatesStream(settings: WorldStreamSettings): HistoryStreamSpec {
  return {
    name: WORLD_STREAM,
    subjects: [`${WORLD_UPDATES_PREFIX}.>`],
    maxAgeMs: settings.retentionMs,
    replicas: settings.replicas ?? "auto",
  };
}
