/**
 * What chat needs of a KB, as one named interface: run an action, say
 * whether an action is already known (a retry), say whether an experience
 * exists. `Kb` (kb/kb.ts) implements it in process (`ROLE=all`); chat's
 * `RemoteKb` implements it for a chat process without a KB of its own
 * (`ROLE=chat`: `KB_URL` and `kb.experiences`); chat's `KbClient` implements
 * it by asking the bus first and one of those two after.
 *
 * @module
 */
import { AppError } from "./errors.ts";
import { log } from "./log.ts";
import { type InteractReply, InteractReplySchema, type InteractRequest } from "./schema.ts";
import type { PlayerPlace } from "./presence_schema.ts";

/** Per-call context a KB reached over HTTP needs. */
export interface KbCallContext {
  /** The user's own `Authorization` header (the KB route authenticates it again). */
  authorization?: string;
}

/**
 * A KB as chat sees it.
 *
 * @example
 * ```ts
 * async function act(kb: KbService, req: InteractRequest) {
 *   if (!(await kb.hasExperience(req.experience))) throw new Error("no such experience");
 *   const reply = await kb.interact(req);
 *   return reply.ok ? reply.outcome : reply.error;
 * }
 * ```
 */
export interface KbService {
  /**
   * Runs one action. Resolves with the KB's reply, which may be an
   * `ok: false` refusal of the KB (unknown experience, world busy, ...);
   * rejects with an `AppError` (503, 504, 502) when no KB could be asked or
   * none answered usably. A repeated request (same user, experience,
   * request id and message) gets the first reply, not a second action.
   */
  interact(req: InteractRequest, ctx?: KbCallContext): Promise<InteractReply>;
  /**
   * Whether this KB has run, or is running, this very request, so that
   * `interact` would return that reply again rather than act. A KB reached
   * over the network cannot know: it answers `false`.
   */
  hasRequest(req: InteractRequest): boolean;
  /**
   * Whether an experience with this id exists (content added since start
   * included). A directory that can reach no KB at all answers `true`:
   * refusing would turn a KB outage into a chat outage.
   */
  hasExperience(id: string): Promise<boolean>;
  /**
   * Where a player is now and under which name (a player who has not acted
   * yet: the start). `undefined` when no KB could say (unknown experience,
   * KB unreachable): presence and speech then wait for the player's next
   * event.
   */
  locate(userId: string, experience: string): Promise<PlayerPlace | undefined>;
}

/**
 * A reply that crossed a wire (bus or HTTP), checked: a KB reply, or 502
 * `kb_bad_reply` (logged) for anything else.
 *
 * @example
 * ```ts
 * const reply = parseInteractReply(msg.json());
 * ```
 */
export function parseInteractReply(raw: unknown): InteractReply {
  const parsed = InteractReplySchema.safeParse(raw);
  if (!parsed.success) {
    log("error", "invalid KB reply", { error: parsed.error.message });
    throw new AppError("kb_bad_reply", "the game engine sent an invalid answer", 502);
  }
  return parsed.data;
}
