/**
 * How chat reaches the KB: the `kb.interact` NATS request first, then a
 * fallback when the bus cannot deliver it (down, no responders, timed out):
 * the KB in-process (`ROLE=all`) or over HTTP (`ROLE=chat`, `KB_URL`).
 *
 * A request that may have reached a KB (timed out, or the connection failed
 * after sending) is never sent to another KB: that one would act a second
 * time (retries are recognised per process only). It is answered from the
 * in-process KB when that KB is the one running it, otherwise with a 504
 * that says the action may have happened; the world stream shows whether it did.
 *
 * @module
 */
import { type Bus, BusError } from "../shared/bus/mod.ts";
import { type InteractReply, InteractReplySchema, type InteractRequest } from "../shared/schema.ts";
import { KB_INTERACT } from "../shared/subjects.ts";
import { AppError } from "../shared/errors.ts";
import { log } from "../shared/log.ts";

/** What the KB client needs. */
export interface KbClientOptions {
  bus: Bus;
  /** The KB in this process (`ROLE=all`). */
  localKb?: (req: InteractRequest) => Promise<InteractReply>;
  /** Whether the in-process KB has this request (then `localKb` returns its reply again). */
  localKbHas?: (req: InteractRequest) => boolean;
  /** Base URL of a KB process (`ROLE=chat`). */
  kbUrl?: string;
  /** NATS request timeout (the HTTP fallback gets the same budget). */
  kbTimeoutMs: number;
}

/** Per-call context the HTTP fallback forwards. */
export interface KbCallContext {
  /** The user's own `Authorization` header (the KB route authenticates it again). */
  authorization?: string;
}

/**
 * Calls the KB.
 *
 * @example
 * ```ts
 * const kb = new KbClient({ bus, kbTimeoutMs: 5000, localKb });
 * const reply = await kb.interact({ request_id, user_id, experience, message });
 * ```
 */
export class KbClient {
  readonly #opts: KbClientOptions;

  constructor(opts: KbClientOptions) {
    this.#opts = opts;
  }

  /**
   * Sends one interaction. Resolves with the KB's reply (which may be an
   * `ok: false` error of the KB); rejects with an {@linkcode AppError} when no
   * KB could be reached.
   */
  async interact(req: InteractRequest, ctx: KbCallContext = {}): Promise<InteractReply> {
    const { bus } = this.#opts;
    let busError: BusError | undefined;
    if (bus.status() === "connected" || bus.status() === "in-process") {
      try {
        const msg = await bus.request(KB_INTERACT, JSON.stringify(req), {
          timeoutMs: this.#opts.kbTimeoutMs,
          requestId: req.request_id,
        });
        return parseReply(msg.json());
      } catch (e) {
        if (!(e instanceof BusError)) throw e;
        busError = e;
      }
    } else {
      busError = new BusError("disconnected", `bus is ${bus.status()}`);
    }
    if (busError.mayHaveArrived && !this.#opts.localKbHas?.(req)) {
      log("warn", "kb request may have arrived; not retried elsewhere", {
        request_id: req.request_id,
        reason: busError.code,
      });
      throw new AppError(
        "kb_timeout",
        "the game engine did not answer in time; the action may still have happened (the world stream shows it)",
        504,
      );
    }
    if (this.#opts.localKb) {
      log("warn", "kb request over the bus failed; using the in-process KB", {
        request_id: req.request_id,
        reason: busError.code,
      });
      try {
        return parseReply(await this.#opts.localKb(req));
      } catch (e) {
        if (e instanceof AppError) throw e;
        log("error", "in-process KB failed", { request_id: req.request_id, error: String(e) });
        throw new AppError("kb_failed", "the game engine failed", 502);
      }
    }
    if (this.#opts.kbUrl) {
      log("warn", "kb request over the bus failed; using KB_URL", {
        request_id: req.request_id,
        reason: busError.code,
      });
      return await this.#overHttp(req, ctx);
    }
    throw new AppError("kb_unavailable", "the game engine is unavailable", 503);
  }

  async #overHttp(req: InteractRequest, ctx: KbCallContext): Promise<InteractReply> {
    const url = `${this.#opts.kbUrl!.replace(/\/+$/, "")}/kb/experience/interact`;
    const headers: Record<string, string> = {
      "Content-Type": "application/json",
      "X-Request-Id": req.request_id,
    };
    if (ctx.authorization) headers["Authorization"] = ctx.authorization;
    let res: Response;
    try {
      res = await fetch(url, {
        method: "POST",
        headers,
        body: JSON.stringify({ message: req.message, experience: req.experience }),
        signal: AbortSignal.timeout(this.#opts.kbTimeoutMs),
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
    if (res.ok) return parseReply({ ok: true, request_id: req.request_id, ...(body as object) });
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
}

function parseReply(raw: unknown): InteractReply {
  const parsed = InteractReplySchema.safeParse(raw);
  if (!parsed.success) {
    log("error", "invalid KB reply", { error: parsed.error.message });
    throw new AppError("kb_bad_reply", "the game engine sent an invalid answer", 502);
  }
  return parsed.data;
}
