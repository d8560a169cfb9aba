/**
 * The KB on the bus: answers `kb.interact` (and the per-world subjects
 * `kb.interact.<experience>`), `kb.experiences` and `kb.locate`, all in
 * queue group `kb`. A KB with world leases (the files backend on NATS)
 * answers only the per-world subjects of the worlds it holds, so a KB with
 * another `STATE_DIR` never takes their requests.
 *
 * @module
 */
import type { Bus, BusMessage, BusSubscription } from "../shared/bus/mod.ts";
import { newRequestId } from "../shared/ids.ts";
import { log } from "../shared/log.ts";
import type { InteractReply, InteractRequest } from "../shared/schema.ts";
import type { LocateReply, PlayerPlace } from "../shared/presence_schema.ts";
import {
  KB_EXPERIENCES,
  KB_INTERACT,
  KB_INTERACT_ANY,
  KB_LOCATE,
  KB_QUEUE,
  kbInteractSubject,
} from "../shared/subjects.ts";
import type { ExperienceInfo } from "./catalog.ts";
import { errorReply } from "./replies.ts";

/** What the responder answers with: the KB's own calls. */
export interface ResponderDeps {
  bus: Bus;
  interact(req: InteractRequest): Promise<InteractReply>;
  refresh(): Promise<void>;
  experiences(): ExperienceInfo[];
  locate(userId: string, experience: string): Promise<PlayerPlace | undefined>;
  /**
   * With world leases: whether this KB holds a world (only those get their
   * per-world subject). Without: every world's requests are taken.
   */
  holds?: (experience: string) => boolean;
  /** Registers an answer in flight (the KB waits for them at close). */
  track(p: Promise<unknown>): void;
}

/**
 * The KB's subscriptions on the bus.
 *
 * @example
 * ```ts
 * const responder = new KbResponder({ bus, interact, refresh, experiences, locate, track });
 * responder.start();
 * responder.world("wylding-woods", false); // a lease was lost: stop taking its requests
 * responder.stop();
 * ```
 */
export class KbResponder {
  readonly #deps: ResponderDeps;
  #subs: BusSubscription[] = [];
  /** Per-world request subscriptions (`*` for all of them, without leases). */
  readonly #worldSubs = new Map<string, BusSubscription>();
  #started = false;

  constructor(deps: ResponderDeps) {
    this.#deps = deps;
  }

  /** Subscribes everything (idempotent). */
  start(): void {
    if (this.#started) return;
    this.#started = true;
    const { bus, holds } = this.#deps;
    // `kb.interact` itself: senders that do not name the world in the subject.
    this.#subs.push(this.#subscribeInteract(KB_INTERACT));
    if (!holds) {
      this.#worldSubs.set("*", this.#subscribeInteract(KB_INTERACT_ANY));
    } else {
      for (const e of this.#deps.experiences()) if (holds(e.id)) this.world(e.id, true);
    }
    this.#subs.push(bus.subscribe(KB_EXPERIENCES, {
      queue: KB_QUEUE,
      callback: (msg) => {
        this.#deps.refresh()
          .catch((e) => log("warn", "experience refresh failed", { error: String(e) }))
          .then(() => msg.respond(JSON.stringify({ experiences: this.#deps.experiences() })));
      },
    }));
    this.#subs.push(bus.subscribe(KB_LOCATE, {
      queue: KB_QUEUE,
      callback: (msg) => {
        this.#locate(msg)
          .catch((e): LocateReply => ({
            ok: false,
            error: { code: "internal", message: String(e) },
          }))
          .then((r) => msg.respond(JSON.stringify(r)));
      },
    }));
  }

  /** Starts or stops answering one world's requests (a KB with leases, as they change). */
  world(experience: string, held: boolean): void {
    if (!this.#started) return; // start() subscribes what is held
    const current = this.#worldSubs.get(experience);
    if (held && !current) {
      this.#worldSubs.set(experience, this.#subscribeInteract(kbInteractSubject(experience)));
    } else if (!held && current) {
      current.unsubscribe();
      this.#worldSubs.delete(experience);
    }
  }

  /** Unsubscribes everything (answers in flight still finish). */
  stop(): void {
    for (const sub of [...this.#subs, ...this.#worldSubs.values()]) sub.unsubscribe();
    this.#subs = [];
    this.#worldSubs.clear();
    this.#started = false;
  }

  #subscribeInteract(subject: string): BusSubscription {
    return this.#deps.bus.subscribe(subject, {
      queue: KB_QUEUE,
      callback: (msg) => this.#deps.track(this.#respond(msg)),
    });
  }

  async #respond(msg: BusMessage): Promise<void> {
    let reply: InteractReply;
    try {
      const raw = msg.json<Record<string, unknown>>();
      if (typeof raw !== "object" || raw === null) throw new Error("not an object");
      if (raw.request_id === undefined) raw.request_id = msg.requestId ?? newRequestId();
      reply = await this.#deps.interact(raw as InteractRequest);
    } catch {
      reply = errorReply(msg.requestId ?? "", "bad_request", "request is not a JSON object", 400);
    }
    msg.respond(JSON.stringify(reply), { requestId: reply.request_id || msg.requestId });
  }

  async #locate(msg: BusMessage): Promise<LocateReply> {
    const raw = msg.json<{ user_id?: unknown; experience?: unknown }>();
    if (typeof raw?.user_id !== "string" || typeof raw.experience !== "string") {
      return { ok: false, error: { code: "bad_request", message: "user_id, experience" } };
    }
    const place = await this.#deps.locate(raw.user_id, raw.experience);
    return place
      ? { ok: true, ...place }
      : { ok: false, error: { code: "not_found", message: "no such player or experience" } };
  }
}
