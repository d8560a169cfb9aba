/**
 * Load shapes over the GAIA clients: a set of world streams of distinct
 * users (`Watchers`), and an open-loop action schedule spread over players
 * (`driveRate`) that corrects for coordinated omission (a late action's
 * latency counts from when it was due, not from when it could be sent).
 *
 * @module
 */
import {
  type ActionTiming,
  openWorldStream,
  type Player,
  pool,
  type TokenSigner,
  type WorldStreamConn,
} from "./gaia_client.ts";
import { nowMs } from "./http_client.ts";
import { sleep } from "./stats.ts";
import { ArrivalTracker } from "./tracker.ts";

/** World streams of distinct users in one experience, with arrival tracking. */
export class Watchers {
  readonly streams: WorldStreamConn[] = [];
  readonly tracker = new ArrivalTracker();
  /** The server's event clock minus ours (ms, `clockSkewMs`): taken off its timestamps. */
  skewMs = 0;
  readonly #prefix: string;
  readonly #experience: string;

  constructor(prefix: string, experience: string) {
    this.#prefix = prefix;
    this.#experience = experience;
  }

  /** Number of open streams. */
  get size(): number {
    return this.streams.length;
  }

  /** Opens `n` more streams (users `<prefix>-<i>`), `concurrency` at a time. */
  async add(
    port: number,
    signer: TokenSigner,
    n: number,
    opts: { concurrency?: number; bufSize?: number } = {},
  ): Promise<void> {
    const base = this.streams.length;
    const opened = await pool(n, opts.concurrency ?? 64, async (i) => {
      const token = await signer.token(`${this.#prefix}-${base + i}`);
      return openWorldStream(
        port,
        token,
        this.#experience,
        (a) => this.tracker.record(a.id, a.committed - this.skewMs, a.at),
        opts.bufSize,
      );
    });
    this.streams.push(...opened);
  }

  /** Closes every stream. */
  close(): void {
    for (const s of this.streams) s.close();
    this.streams.length = 0;
  }
}

/** One action of a rate step. */
export interface Completed {
  /** When it was due by the schedule. */
  due: number;
  timing: ActionTiming | undefined;
  error?: string;
}

/** Result of one step of {@linkcode driveRate}. */
export interface StepResult {
  offered: number;
  /** Committed actions (answered 200 with a `world_update`) per second. */
  achieved: number;
  /** Due time → `world_update` at the actor (coordinated-omission corrected), ms. */
  latencies: number[];
  /** Send → `world_update` (what the client saw once it could send), ms. */
  serviceTimes: number[];
  errors: number;
  firstError?: string;
  durationMs: number;
}

/**
 * Runs `rate` actions per second for `durationMs`, spread evenly over
 * `players` (player i acts at offsets i/P of the per-player period). Each
 * player has one connection and one action in flight; `message(i, k)` names
 * the k-th action of player i.
 */
export async function driveRate(
  players: Player[],
  experience: string,
  rate: number,
  durationMs: number,
  message: (player: number, k: number) => string,
  counters: number[],
): Promise<StepResult> {
  const P = players.length;
  const period = P / rate * 1000; // ms between two actions of one player
  const start = nowMs() + 20;
  const end = start + durationMs;
  const done: Completed[] = [];
  await Promise.all(players.map(async (p, i) => {
    for (let k = 0;; k++) {
      const due = start + (i / P + k) * period;
      if (due >= end) break;
      const wait = due - nowMs();
      if (wait > 1) await sleep(wait);
      const seq = counters[i]!++;
      try {
        done.push({ due, timing: await p.act(message(i, seq), experience) });
      } catch (e) {
        done.push({ due, timing: undefined, error: String((e as Error).message ?? e) });
      }
    }
  }));
  const ok = done.filter((d) => d.timing?.eventId !== undefined);
  const lastDone = ok.reduce((m, d) => Math.max(m, d.timing!.done), end);
  const errors = done.filter((d) => d.error !== undefined);
  return {
    offered: rate,
    achieved: ok.length / ((lastDone - start) / 1000),
    latencies: ok.map((d) => d.timing!.update - d.due),
    serviceTimes: ok.map((d) => d.timing!.update - d.timing!.sent),
    errors: done.length - ok.length,
    firstError: errors[0]?.error,
    durationMs: lastDone - start,
  };
}
