/**
 * Which experience ids exist, for a chat process without a KB of its own
 * (`ROLE=chat`): asked of any KB over NATS (`kb.experiences`), then over
 * `KB_URL`, and remembered for a few seconds so a reconnect storm does not
 * become a storm of KB requests.
 *
 * @module
 */
import { z } from "zod";
import type { Bus } from "../shared/bus/mod.ts";
import { log } from "../shared/log.ts";
import { KB_EXPERIENCES } from "../shared/subjects.ts";

const ListingSchema = z.object({ experiences: z.array(z.object({ id: z.string() })) });

/** What the directory asks. */
export interface ExperienceDirectoryOptions {
  bus: Bus;
  /** Base URL of a KB process, asked when no KB answers on the bus. */
  kbUrl?: string;
  /** How long a listing is trusted (ms). Default 5 s. */
  ttlMs?: number;
  /** Budget of each question (ms). Default 2 s. */
  timeoutMs?: number;
}

/**
 * Builds `experienceExists` for {@linkcode Chat.create}. When no KB can be
 * reached at all, every id is allowed (and a warning logged): the stream may
 * still serve events, and refusing would turn a KB outage into a chat outage.
 *
 * @example
 * ```ts
 * const exists = experienceDirectory({ bus, kbUrl: Deno.env.get("KB_URL") });
 * await exists("wylding-woods"); // true
 * await exists("no-such-world"); // false
 * ```
 */
export function experienceDirectory(
  opts: ExperienceDirectoryOptions,
): (id: string) => Promise<boolean> {
  const ttlMs = opts.ttlMs ?? 5_000;
  const timeoutMs = opts.timeoutMs ?? 2_000;
  let cached: { at: number; ids: Set<string> } | undefined;
  let pending: Promise<Set<string> | undefined> | undefined;

  const fromBus = async (): Promise<Set<string>> => {
    const msg = await opts.bus.request(KB_EXPERIENCES, "{}", { timeoutMs });
    return new Set(ListingSchema.parse(msg.json()).experiences.map((e) => e.id));
  };
  const fromHttp = async (kbUrl: string): Promise<Set<string>> => {
    const res = await fetch(`${kbUrl.replace(/\/+$/, "")}/api/v0.3/experiences`, {
      signal: AbortSignal.timeout(timeoutMs),
    });
    if (!res.ok) {
      await res.body?.cancel();
      throw new Error(`KB_URL answered ${res.status}`);
    }
    return new Set(ListingSchema.parse(await res.json()).experiences.map((e) => e.id));
  };
  const load = async (): Promise<Set<string> | undefined> => {
    const errors: string[] = [];
    try {
      return await fromBus();
    } catch (e) {
      errors.push(`bus: ${e}`);
    }
    if (opts.kbUrl) {
      try {
        return await fromHttp(opts.kbUrl);
      } catch (e) {
        errors.push(`KB_URL: ${e}`);
      }
    }
    log("warn", "no KB answered the experience listing; allowing every id", { errors });
    return undefined;
  };

  return async (id) => {
    const age = cached ? performance.now() - cached.at : Infinity;
    if (age <= ttlMs && cached!.ids.has(id)) return true;
    // Stale, or an id the listing lacks: ask again (one question at a time,
    // at most once a second), so an experience added since is found at once.
    if (age > Math.min(ttlMs, 1_000)) {
      pending ??= load().finally(() => pending = undefined);
      const ids = await pending;
      if (!ids) return true;
      cached = { at: performance.now(), ids };
    }
    return cached!.ids.has(id);
  };
}
