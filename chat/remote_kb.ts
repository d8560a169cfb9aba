/**
 * The KB as a chat process without a KB of its own (`ROLE=chat`) reaches it
 * when the bus cannot: actions over `KB_URL`, experience ids over NATS
 * (`kb.experiences`, any KB) and then `KB_URL`. It is the fallback behind
 * {@linkcode KbClient}, which asks the bus first.
 *
 * @module
 */
import { z } from "zod";
import type { Bus } from "../shared/bus/mod.ts";
import { AppError } from "../shared/errors.ts";
import { type KbCallContext, type KbService, parseInteractReply } from "../shared/kb_service.ts";
import { log } from "../shared/log.ts";
import type { InteractReply, InteractRequest } from "../shared/schema.ts";
import type { PlayerPlace } from "../shared/presence_schema.ts";
import { locateOverBus } from "./locate.ts";
import { KB_EXPERIENCES, REQUEST_ID_HEADER } from "../shared/subjects.ts";

const ListingSchema = z.object({ experiences: z.array(z.object({ id: z.string() })) });

/** Options of {@linkcode RemoteKb}. */
export interface RemoteKbOptions {
  bus: Bus;
  /** `KB_URL`: base URL of a KB process, without a trailing slash (settings strip it). */
  kbUrl?: string;
  /** Budget of one action over `KB_URL` (ms); `KB_REQUEST_TIMEOUT`. */
  timeoutMs: number;
  /** How long an experience listing is trusted (ms). Default 5 s. */
  listingTtlMs?: number;
  /** Budget of each listing question (ms). Default 2 s. */
  listingTimeoutMs?: number;
}

/**
 * A KB in another process.
 *
 * @example
 * ```ts
 * const remote = new RemoteKb({ bus, kbUrl: settings.KB_URL, timeoutMs: 5_000 });
 * await remote.hasExperience("wylding-woods"); // true
 * const reply = await remote.interact(req, { authorization });
 * ```
 */
export class RemoteKb implements KbService {
  readonly #opts: RemoteKbOptions;
  #cached: { at: number; ids: Set<string> } | undefined;
  #pending: Promise<Set<string> | undefined> | undefined;

  constructor(opts: RemoteKbOptions) {
    this.#opts = opts;
  }

  /**
   * The action over `KB_URL` (`POST /kb/experience/interact` with the user's
   * own token and the request id); 503 `kb_unavailable` without `KB_URL` or
   * when it cannot be reached, 504 `kb_timeout` when it does not answer in
   * time, 502 `kb_bad_reply` for an unreadable answer.
   */
  async interact(req: InteractRequest, ctx: KbCallContext = {}): Promise<InteractReply> {
    const { kbUrl } = this.#opts;
    if (!kbUrl) throw new AppError("kb_unavailable", "the game engine is unavailable", 503);
    const headers: Record<string, string> = {
      "Content-Type": "application/json",
      [REQUEST_ID_HEADER]: req.request_id,
    };
    if (ctx.authorization) headers["Authorization"] = ctx.authorization;
    let res: Response;
    try {
      res = await fetch(`${kbUrl}/kb/experience/interact`, {
        method: "POST",
        headers,
        body: JSON.stringify({ message: req.message, experience: req.experience }),
        signal: AbortSignal.timeout(this.#opts.timeoutMs),
      });
    } catch (e) {
      log("error", "KB_URL unreachable", { request_id: req.request_id, error: String(e) });
      const timedOut = (e as Error)?.name === "TimeoutError";
      throw timedOut
        ? new AppError("kb_timeout", "the game engine did not answer in time", 504)
        : new AppError("kb_unavailable", "the game engine is unavailable", 503);
    }
    let body: unknown;
    try {
      body = await res.json();
    } catch {
      throw new AppError("kb_bad_reply", "the game engine sent an unreadable answer", 502);
    }
    if (res.ok) {
      return parseInteractReply({ ok: true, request_id: req.request_id, ...(body as object) });
    }
    const err = (body as { error?: { code?: unknown; message?: unknown } })?.error;
    return {
      ok: false,
      request_id: req.request_id,
      error: {
        code: typeof err?.code === "string" ? err.code : "kb_error",
        message: typeof err?.message === "string" ? err.message : `KB answered ${res.status}`,
        status: res.status,
      },
    };
  }

  /** Always `false`: a KB in another process cannot be asked what it is running. */
  hasRequest(_req: InteractRequest): boolean {
    return false;
  }

  /**
   * Whether the id is in the listing of any KB (bus, then `KB_URL`),
   * remembered for `listingTtlMs` so a reconnect storm does not become a
   * storm of KB requests. When no KB can be reached at all, every id is
   * allowed (and a warning logged).
   */
  async hasExperience(id: string): Promise<boolean> {
    const ttlMs = this.#opts.listingTtlMs ?? 5_000;
    const cached = this.#cached;
    const age = cached ? performance.now() - cached.at : Infinity;
    if (cached && age <= ttlMs && cached.ids.has(id)) return true;
    // Stale, or an id the listing lacks: ask again (one question at a time,
    // at most once a second), so an experience added since is found at once.
    if (age > Math.min(ttlMs, 1_000)) {
      this.#pending ??= this.#load().finally(() => this.#pending = undefined);
      const ids = await this.#pending;
      if (!ids) return true;
      this.#cached = { at: performance.now(), ids };
    }
    return this.#cached!.ids.has(id);
  }

  /** `kb.locate` over the bus (`KB_URL` has no such route): `undefined` when no KB answers. */
  locate(userId: string, experience: string): Promise<PlayerPlace | undefined> {
    return locateOverBus(this.#opts.bus, userId, experience, this.#opts.listingTimeoutMs ?? 2_000);
  }

  async #load(): Promise<Set<string> | undefined> {
    const timeoutMs = this.#opts.listingTimeoutMs ?? 2_000;
    const errors: string[] = [];
    try {
      const msg = await this.#opts.bus.request(KB_EXPERIENCES, "{}", { timeoutMs });
      return idsOf(msg.json());
    } catch (e) {
      errors.push(`bus: ${e}`);
    }
    if (this.#opts.kbUrl) {
      try {
        const res = await fetch(`${this.#opts.kbUrl}/api/v0.3/experiences`, {
          signal: AbortSignal.timeout(timeoutMs),
        });
        if (!res.ok) {
          await res.body?.cancel();
          throw new Error(`KB_URL answered ${res.status}`);
        }
        return idsOf(await res.json());
      } catch (e) {
        errors.push(`KB_URL: ${e}`);
      }
    }
    log("warn", "no KB answered the experience listing; allowing every id", { errors });
    return undefined;
  }
}

function idsOf(listing: unknown): Set<string> {
  return new Set(ListingSchema.parse(listing).experiences.map((e) => e.id));
}
