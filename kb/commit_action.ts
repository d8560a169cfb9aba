/**
 * Commits an action's plan through the state store, with its event written
 * into the same commit, and builds the KB's reply.
 *
 * @module
 */
import { metrics } from "../shared/metrics.ts";
import { newEventId } from "../shared/ids.ts";
import { log } from "../shared/log.ts";
import {
  conversationOnly,
  type IntentContext,
  type InteractReply,
  type InteractRequest,
  type Outcome,
} from "../shared/schema.ts";
import type { Experience } from "./content.ts";
import { worldUpdate } from "./events.ts";
import { thirdPersonLine } from "./third_person.ts";
import type { ActionPlan } from "./play.ts";
import type { StateBackend, Unit } from "./state/mod.ts";

/**
 * Runs `plan` in one transaction of `store` on `unit` (the plan may run more
 * than once: the store re-decides after a conflict; the last run counts) and
 * replies with the outcome, the event and what the player can see.
 *
 * @example
 * ```ts
 * const reply = await commitAction(store, exp, unit, { request_id, user_id }, (s) => planAction(exp, s, user_id, "look", Date.now()));
 * ```
 */
export async function commitAction(
  store: StateBackend,
  exp: Experience,
  unit: Unit,
  r: Pick<InteractRequest, "request_id" | "user_id">,
  plan: (
    state: { world: Record<string, unknown> | null; player: Record<string, unknown> | null },
  ) => ActionPlan,
): Promise<InteractReply> {
  const model = exp.config.state.model;
  // What the player can see, for chat's intent step (the plan may run twice: the last counts).
  let context: IntentContext | undefined;
  let actor = r.user_id;
  const planned = (state: Parameters<typeof plan>[0]) => {
    const p = plan(state);
    context = p.intent;
    const name = p.base.player.name;
    actor = typeof name === "string" && name ? name : r.user_id;
    return p;
  };
  const commit = await store.transact<Outcome>(unit, r.user_id, planned, {
    // Part of the commit: the store writes it into the unit's outbox, and the
    // publisher sends it (in version order) once the commit is durable.
    event: (c) =>
      worldUpdate({
        id: newEventId(),
        experience: exp.id,
        userId: r.user_id,
        model,
        requestId: r.request_id,
        version: c.version,
        timestamp: c.timestamp,
        world: c.world,
        player: c.player,
        // What other players read in their story; a conversation-only event shows nothing.
        thirdPerson: conversationOnly({ changes: { world: c.world, player: c.player } })
          ? undefined
          : thirdPersonLine(c.result, actor),
      }),
  });
  const event = commit.event;
  metrics.kbActions.inc({ kind: commit.result.kind });
  log("info", "kb action", {
    request_id: r.request_id,
    experience: exp.id,
    kind: commit.result.kind,
    changed: commit.changed,
    version: event?.version,
    event_id: event?.id,
  });
  const events = event ? [event] : [];
  return {
    ok: true,
    request_id: r.request_id,
    experience: exp.id,
    outcome: { ...commit.result, changed: commit.changed },
    event_ids: events.map((e) => e.id),
    events,
    ...(context ? { context } : {}),
  };
}
