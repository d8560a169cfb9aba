/**
 * The record of a run: every figure with its unit, conditions, CPU shares
 * and the id of the floor it is compared with.
 *
 * @module
 */
import { ratio, summarize, type Summary } from "./stats.ts";
import type { CpuMeter } from "./procs.ts";

/** One measured figure. */
export interface Figure {
  /** Stable id, e.g. `actor.update.1000`. */
  id: string;
  /** Scenario group (floor, actor, fanout, rate, throughput, connections). */
  group: string;
  label: string;
  unit: string;
  /** Latency distribution (ms). */
  summary?: Summary;
  /** A scalar figure (rates, bytes). */
  value?: number;
  /** Id of the floor figure this one is compared with. */
  floor?: string;
  /** Ratios to the floor: p50/p99 for latencies, value for scalars. */
  ratio?: { p50?: number; p99?: number; value?: number };
  conditions: Record<string, unknown>;
  /** CPU used during the measurement, % of one core, per process. */
  cpu?: Record<string, number>;
  /** Raw samples (ms), kept for the chart and the JSON. */
  samples?: number[];
}

/**
 * At most `max` samples that keep the distribution: sorted, every k-th
 * value plus the maximum (rounded to µs). Summaries use all samples.
 */
export function keepDistribution(samples: number[], max: number): number[] {
  const s = samples.filter(Number.isFinite).sort((a, b) => a - b);
  const step = Math.max(1, Math.ceil(s.length / max));
  const out: number[] = [];
  for (let i = 0; i < s.length; i += step) out.push(Math.round(s[i]! * 1000) / 1000);
  if (s.length > 0 && step > 1) out.push(Math.round(s[s.length - 1]! * 1000) / 1000);
  return out;
}

/** Builds a latency figure. */
export function latencyFigure(
  id: string,
  group: string,
  label: string,
  samples: number[],
  conditions: Record<string, unknown>,
  extra: Partial<Figure> = {},
): Figure {
  return {
    id,
    group,
    label,
    unit: "ms",
    summary: summarize(samples),
    conditions,
    samples: keepDistribution(samples, 20_000),
    ...extra,
  };
}

/** Builds a scalar figure. */
export function valueFigure(
  id: string,
  group: string,
  label: string,
  unit: string,
  value: number,
  conditions: Record<string, unknown>,
  extra: Partial<Figure> = {},
): Figure {
  return { id, group, label, unit, value: Math.round(value * 100) / 100, conditions, ...extra };
}

/** Fills in `ratio` of every figure that names a floor present in the list. */
export function applyFloors(figures: Figure[]): void {
  const byId = new Map(figures.map((f) => [f.id, f]));
  for (const f of figures) {
    const floor = f.floor ? byId.get(f.floor) : undefined;
    if (!floor) continue;
    if (f.summary && floor.summary) {
      f.ratio = {
        p50: ratio(f.summary.p50, floor.summary.p50),
        p99: ratio(f.summary.p99, floor.summary.p99),
      };
    } else if (f.value !== undefined && floor.value !== undefined) {
      f.ratio = { value: ratio(f.value, floor.value) };
    }
  }
}

/**
 * CPU per delivered event of one process (`who` in the meter), µs: its CPU
 * time over a window divided by the events it delivered to streams in it.
 *
 * @example
 * ```ts
 * figures.push(cpuPerEvent("fanout.cpu.1000", "server", meter, 300 * 1001, {}));
 * ```
 */
export function cpuPerEvent(
  id: string,
  who: string,
  cpu: CpuMeter,
  delivered: number,
  conditions: Record<string, unknown>,
  floor?: string,
): Figure {
  const ms = cpu.usedMs[who] ?? NaN;
  return valueFigure(
    id,
    id.split(".")[0]!,
    `${who}: CPU per delivered event (${delivered} deliveries)`,
    "µs",
    ms * 1000 / delivered,
    { ...conditions, cpu_ms: ms, delivered, tick_ms: 10 },
    floor ? { floor } : {},
  );
}
