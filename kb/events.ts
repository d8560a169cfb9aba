/**
 * The events of a committed change and the messages that carry them
 * (DESIGN.md "WorldUpdateEvent" and "NATS subjects"). Pure: the store writes
 * the events into the commit, and the publisher turns them into messages
 * whenever it (re)sends them, so a republish after a crash sends the very
 * same bytes with the same de-duplication ids.
 *
 * @module
 */
import type { StateModel, StateOperation, WorldUpdateEvent } from "../shared/schema.ts";
import { experienceSubject, userSubject } from "../shared/subjects.ts";

/** What one committed action changed. */
export interface CommittedChange {
  id: string;
  experience: string;
  userId: string;
  model: StateModel;
  requestId: string;
  version: number;
  /** ms since the epoch (with a fraction) of the commit. */
  timestamp: number;
  world: readonly StateOperation[];
  player: readonly StateOperation[];
  /** What other players read of it (`third_person`), if anything. */
  thirdPerson?: string;
}

/** One message of an event. */
export interface EventMessage {
  subject: string;
  payload: string;
  /** `Nats-Msg-Id`: JetStream stores one copy per id within its duplicate window. */
  msgId: string;
  /** Metric label. */
  scope: "user" | "experience";
}

function changes(
  world: readonly StateOperation[],
  player: readonly StateOperation[],
): WorldUpdateEvent["changes"] {
  return {
    ...(world.length ? { world: [...world] } : {}),
    ...(player.length ? { player: [...player] } : {}),
  };
}

/**
 * The `world_update` event of a committed change.
 *
 * @example
 * ```ts
 * const event = worldUpdate({ id: newEventId(), experience, userId, model, requestId, version, timestamp, world, player });
 * ```
 */
export function worldUpdate(c: CommittedChange): WorldUpdateEvent {
  return {
    type: "world_update",
    id: c.id,
    experience: c.experience,
    user_id: c.userId,
    version: c.version,
    changes: changes(c.world, c.player),
    timestamp: c.timestamp,
    metadata: { source: "kb", state_model: c.model, request_id: c.requestId },
    ...(c.thirdPerson ? { third_person: c.thirdPerson } : {}),
  };
}

/**
 * The messages of an event: the full event to the actor's user subject and,
 * in a shared world, the same id with only `changes.world` (possibly `{}`,
 * so the experience subject has every version) to the experience subject.
 *
 * @example
 * ```ts
 * for (const m of eventMessages(event)) bus.publishAcked(m.subject, m.payload, { msgId: m.msgId });
 * ```
 */
export function eventMessages(event: WorldUpdateEvent): EventMessage[] {
  const out: EventMessage[] = [{
    subject: userSubject(event.user_id),
    payload: JSON.stringify(event),
    msgId: `${event.id}.user`,
    scope: "user",
  }];
  if (event.metadata.state_model === "shared") {
    const { player: _player, ...world } = event.changes;
    out.push({
      subject: experienceSubject(event.experience),
      payload: JSON.stringify({ ...event, changes: world }),
      msgId: `${event.id}.experience`,
      scope: "experience",
    });
  }
  return out;
}
