/**
 * The world updates of one chat action as a `ReadableStream`: events that
 * arrive on the actor's user subject (subscribed before the KB request) and
 * the events in the KB reply, whichever comes first, each once. It closes
 * once the reply is in and every event of it has been emitted.
 *
 * @module
 */
import { conversationOnly, type WorldUpdateEvent } from "../shared/schema.ts";
import { userSubject } from "../shared/subjects.ts";
import type { HubEvent, SubjectHub } from "./hub.ts";
import type { ChatPart } from "./parts.ts";

/**
 * One action's updates.
 *
 * @example
 * ```ts
 * const updates = new ActionUpdates(hub, userId, requestId); // before the KB request
 * const reply = await kb.interact(req);
 * updates.complete(reply.ok ? reply.events : []);
 * ```
 */
export class ActionUpdates {
  readonly stream: ReadableStream<ChatPart>;
  #controller!: ReadableStreamDefaultController<ChatPart>;
  #seen = new Set<string>();
  #detach: (() => void) | undefined;
  #closed = false;
  #firstArrived!: () => void;
  /**
   * Resolves when the first event of this action that changes more than the
   * player's conversation arrives on the bus (a conversation-only event, such
   * as a `look` or a `talk` after another command, says nothing about the
   * outcome, so the answer waits for the KB's reply and its model choice).
   */
  readonly first: Promise<void> = new Promise((r) => this.#firstArrived = r);

  constructor(hub: SubjectHub, userId: string, requestId: string) {
    this.stream = new ReadableStream<ChatPart>({
      start: (c) => {
        this.#controller = c;
      },
      cancel: () => this.#end(false),
    });
    this.#detach = hub.attach(userSubject(userId), (h: HubEvent) => {
      if (h.event.metadata.request_id !== requestId) return;
      this.#emit(h.event, h.frame);
      if (!conversationOnly(h.event)) this.#firstArrived();
    }, { urgent: true });
  }

  #emit(event: WorldUpdateEvent, frame?: Uint8Array): void {
    if (this.#closed || this.#seen.has(event.id)) return;
    this.#seen.add(event.id);
    this.#controller.enqueue({ type: "world_update", event, frame });
  }

  /** The KB replied: emit what the bus has not delivered yet, then close. */
  complete(events: readonly WorldUpdateEvent[]): void {
    for (const e of events) this.#emit(e);
    this.#end(true);
  }

  /** The action failed or the client left: stop listening. */
  cancel(): void {
    this.#end(true);
  }

  #end(close: boolean): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#detach?.();
    this.#detach = undefined;
    if (close) {
      try {
        this.#controller.close();
      } catch { /* already closed or cancelled */ }
    }
  }
}
