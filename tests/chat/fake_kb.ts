/**
 * A small fake KB for chat tests (chat must not import kb/). It answers
 * `kb.interact` (queue `kb`) and can be called in-process, and publishes
 * exactly as the real KB does: the full event to the actor's user subject
 * and, in shared worlds, the same id with only `changes.world` to the
 * experience subject; then it replies. Idempotent per request id.
 *
 * Commands: `look` (no change), `take <item>` (world + player change),
 * `touch` (world only), `whisper` (player only), `say <words>` (no change,
 * needs the capable model), `pad <bytes>` (world change with a big payload),
 * anything else: `not_understood`.
 *
 * Like the real KB must, it keeps an outbox while its NATS connection is
 * down and publishes it (same event ids) once reconnected: nats.js v3 drops
 * whatever was published while disconnected when it reconnects.
 *
 * @module
 */
import type { Bus, BusSubscription } from "../../shared/bus/mod.ts";
import { newEventId } from "../../shared/ids.ts";
import type {
  InteractReply,
  InteractRequest,
  Outcome,
  StateModel,
  WorldUpdateEvent,
} from "../../shared/schema.ts";
import { escapePathSegment } from "../../shared/apply.ts";
import { experienceSubject, KB_INTERACT, KB_QUEUE, userSubject } from "../../shared/subjects.ts";

/** Default experiences of the fake. */
export const FAKE_EXPERIENCES: Record<string, StateModel> = {
  "shared-woods": "shared",
  "solo-cave": "isolated",
};

/** The fake KB. */
export class FakeKb {
  readonly bus: Bus;
  readonly experiences: Record<string, StateModel>;
  /** Every event published, in order (full events as sent to user subjects). */
  readonly published: WorldUpdateEvent[] = [];
  /** Replies sent over NATS vs. computed in-process. */
  readonly calls = { bus: 0, local: 0 };
  #versions = new Map<string, number>();
  #replies = new Map<string, InteractReply>();
  #sub: BusSubscription | undefined;
  #outbox: [string, string, string][] = [];
  #offStatus: () => void;

  constructor(bus: Bus, experiences: Record<string, StateModel> = FAKE_EXPERIENCES) {
    this.bus = bus;
    this.experiences = experiences;
    this.#offStatus = bus.onStatus((status) => {
      if (status !== "connected") return;
      const pending = this.#outbox;
      this.#outbox = [];
      for (const [subject, payload, requestId] of pending) {
        this.#publish(subject, payload, requestId);
      }
    });
  }

  #publish(subject: string, payload: string, requestId: string): void {
    if (this.bus.kind === "nats" && this.bus.status() !== "connected") {
      this.#outbox.push([subject, payload, requestId]);
      return;
    }
    this.bus.publish(subject, payload, { requestId });
  }

  /** While set, bus requests wait for it before they are applied. */
  gate: Promise<void> | undefined;

  /** Starts answering `kb.interact`. */
  start(): this {
    this.#sub = this.bus.subscribe(KB_INTERACT, {
      queue: KB_QUEUE,
      callback: async (msg) => {
        this.calls.bus++;
        await this.gate;
        const reply = this.apply(msg.json<InteractRequest>());
        msg.respond(JSON.stringify(reply), { requestId: msg.requestId });
      },
    });
    return this;
  }

  /** The in-process path (`KbService.interact`, as chat's fallback). */
  interact = (req: InteractRequest): Promise<InteractReply> => {
    this.calls.local++;
    return Promise.resolve(this.apply(req));
  };

  /** Stops answering. */
  stop(): void {
    this.#sub?.unsubscribe();
    this.#offStatus();
  }

  /** Applies a request (idempotent per request id) and publishes its events. */
  apply(req: InteractRequest): InteractReply {
    const cached = this.#replies.get(req.request_id);
    if (cached) return cached;
    const model = this.experiences[req.experience];
    if (!model) {
      return {
        ok: false,
        request_id: req.request_id,
        error: {
          code: "unknown_experience",
          message: `no experience '${req.experience}'`,
          status: 404,
        },
      };
    }
    const [verb = "", ...rest] = req.message.trim().split(/\s+/);
    const arg = rest.join(" ");
    let world: WorldUpdateEvent["changes"]["world"];
    let player: WorldUpdateEvent["changes"]["player"];
    let outcome: Outcome;
    const me = escapePathSegment(req.user_id);
    switch (verb) {
      case "look":
        // The real engine's shape (kb/engine_ctx.ts describeLocation).
        outcome = o("looked", false, "You are in a quiet glade.", {
          location: {
            id: "glade",
            name: "a quiet glade",
            description: "Moss covers the stones.",
            items: [{ id: "bottle", name: "a dream bottle" }],
            npcs: [],
            players: [],
            exits: [
              { direction: "north", to: "store", name: "the store" },
              { direction: "east", to: "river", name: "the river" },
            ],
          },
        });
        break;
      case "take":
        world = [{ operation: "remove", path: `items.${escapePathSegment(arg)}`, data: {} }];
        player = [{
          operation: "add",
          path: `inventory.${escapePathSegment(arg)}`,
          data: { name: arg },
        }];
        outcome = o("took", true, `You take the ${arg}.`, { item: arg });
        break;
      case "touch":
        world = [{ operation: "update", path: "stones", data: { touched_by: req.user_id } }];
        outcome = o("touched", true, "The stones hum.", {});
        break;
      case "whisper":
        player = [{ operation: "update", path: `secrets.${me}`, data: { text: arg } }];
        outcome = o("whispered", true, "You whisper to yourself.", {});
        break;
      case "pad":
        world = [{
          operation: "update",
          path: "pad",
          data: { text: "x".repeat(Number(arg) || 1000) },
        }];
        outcome = o("padded", true, "Padding.", {});
        break;
      case "say":
        outcome = { ...o("dialogue", false, `You say: ${arg}.`, {}), needs_capable_model: true };
        break;
      default:
        outcome = {
          ...o("not_understood", false, `You cannot '${req.message}' here.`, {}),
          needs_capable_model: true,
        };
    }
    const events: WorldUpdateEvent[] = [];
    if (world || player) {
      const key = model === "shared" ? req.experience : `${req.experience}\u0000${req.user_id}`;
      const version = (this.#versions.get(key) ?? 0) + 1;
      this.#versions.set(key, version);
      const changes: WorldUpdateEvent["changes"] = {};
      if (world) changes.world = world;
      if (player) changes.player = player;
      const event: WorldUpdateEvent = {
        type: "world_update",
        id: newEventId(),
        experience: req.experience,
        user_id: req.user_id,
        version,
        changes,
        timestamp: performance.timeOrigin + performance.now(),
        metadata: { source: "kb", state_model: model, request_id: req.request_id },
      };
      events.push(event);
      this.published.push(event);
      this.#publish(userSubject(req.user_id), JSON.stringify(event), req.request_id);
      if (model === "shared") {
        // Every version of a shared world goes to the experience subject (as the KB does).
        const shared = { ...event, changes: world ? { world } : {} };
        this.#publish(experienceSubject(req.experience), JSON.stringify(shared), req.request_id);
      }
    }
    const reply: InteractReply = {
      ok: true,
      request_id: req.request_id,
      experience: req.experience,
      outcome,
      event_ids: events.map((e) => e.id),
      events,
    };
    this.#replies.set(req.request_id, reply);
    return reply;
  }
}

function o(
  kind: string,
  changed: boolean,
  summary: string,
  facts: Record<string, unknown>,
): Outcome {
  return { kind, changed, summary, facts, needs_capable_model: false };
}
