/**
 * How chat reaches the KB: the `kb.interact` NATS request first, then one
 * fallback {@linkcode KbService} when the bus cannot deliver it (down, no
 * responders): the KB in this process (`ROLE=all`) or a `RemoteKb`
 * (`ROLE=chat`: `KB_URL`, or 503 without it).
 *
 * A request that may have reached a KB (timed out, or the connection failed
 * after sending) is never sent to another KB: that one would act a second
 * time (retries are recognised per process only). It goes to the fallback
 * only when the fallback says it has that very request (the in-process KB
 * running it), otherwise it is answered with a 504 that says the action may
 * have happened; the world stream shows whether it did.
 *
 * @module
 */
import { type Bus, BusError } from "../shared/bus/mod.ts";
import { AppError } from "../shared/errors.ts";
import { type KbCallContext, type KbService, parseInteractReply } from "../shared/kb_service.ts";
import { log } from "../shared/log.ts";
import type { InteractReply, InteractRequest } from "../shared/schema.ts";
import type { PlayerPlace } from "../shared/presence_schema.ts";
import { locateOverBus } from "./locate.ts";
import { kbInteractSubject } from "../shared/subjects.ts";

export type { KbCallContext } from "../shared/kb_service.ts";

/** What the KB client needs. */
export interface KbClientOptions {
  bus: Bus;
  /** Asked when the bus cannot deliver a request; also answers `hasRequest`/`hasExperience`. */
  fallback: KbService;
  /** NATS request timeout (ms). */
  kbTimeoutMs: number;
}

/**
 * Calls the KB: the bus first, then the fallback.
 *
 * @example
 * ```ts
 * const kb = new KbClient({ bus, fallback: localKb, kbTimeoutMs: 5000 });
 * const reply = await kb.interact({ request_id, user_id, experience, message });
 * ```
 */
export class KbClient implements KbService {
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
    const { bus, fallback } = this.#opts;
    let busError: BusError | undefined;
    if (bus.status() === "connected" || bus.status() === "in-process") {
      try {
        // The world's own subject: only KBs that may act on it answer.
        const msg = await bus.request(kbInteractSubject(req.experience), JSON.stringify(req), {
          timeoutMs: this.#opts.kbTimeoutMs,
          requestId: req.request_id,
        });
        return parseInteractReply(msg.json());
      } catch (e) {
        if (!(e instanceof BusError)) throw e;
        busError = e;
      }
    } else {
      busError = new BusError("disconnected", `bus is ${bus.status()}`);
    }
    if (busError.mayHaveArrived && !fallback.hasRequest(req)) {
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
    log("warn", "kb request over the bus failed; asking the fallback KB", {
      request_id: req.request_id,
      reason: busError.code,
    });
    try {
      return await fallback.interact(req, ctx);
    } catch (e) {
      if (e instanceof AppError) throw e;
      log("error", "fallback KB failed", { request_id: req.request_id, error: String(e) });
      throw new AppError("kb_failed", "the game engine failed", 502);
    }
  }

  /** The fallback's answer (the bus cannot say what a KB is running). */
  hasRequest(req: InteractRequest): boolean {
    return this.#opts.fallback.hasRequest(req);
  }

  /** The fallback's answer: the in-process KB's catalog, or `RemoteKb`'s directory. */
  hasExperience(id: string): Promise<boolean> {
    return this.#opts.fallback.hasExperience(id);
  }

  /** `kb.locate` on the bus, else the fallback's answer. */
  async locate(userId: string, experience: string): Promise<PlayerPlace | undefined> {
    return await locateOverBus(this.#opts.bus, userId, experience, this.#opts.kbTimeoutMs) ??
      await this.#opts.fallback.locate(userId, experience);
  }
}
