/**
 * The wire formats of presence and speech: the `presence` and `say` SSE
 * events of a world stream, the heartbeats chat processes exchange on
 * `presence.experience.<token>`, the speech messages on
 * `talk.experience.<token>`, and the `kb.locate` reply that says where a
 * player is. Browser-safe: imports nothing but zod.
 *
 * @module
 */
import { z } from "zod";
import { StateModelSchema } from "./schema.ts";

/**
 * Longest player or location name these formats carry: a player's name is
 * their user id until content names them (user ids have at most 256
 * characters), location names come from content.
 */
const name = z.string().max(1024);
const userId = z.string().max(1024);

/**
 * The `presence` SSE event: someone arrived (`here`), moved (`here` with the
 * new location) or left (`left`, after the grace period).
 *
 * @example
 * ```ts
 * const p = PresenceSchema.parse({ user_id: "ada", name: "ada", location: "glade", state: "here" });
 * ```
 */
export const PresenceSchema = z.object({
  user_id: userId,
  name,
  location: name,
  state: z.enum(["here", "left"]),
});
/** A `presence` event. */
export type Presence = z.infer<typeof PresenceSchema>;

/** Longest `say` or `emote` text, in characters (code points). */
export const MAX_SAY_CHARS = 500;

/**
 * The `say` SSE event: a line spoken (`say`) or acted (`emote`) at a location.
 *
 * @example
 * ```ts
 * SaySchema.parse({ user_id: "ada", name: "ada", location: "glade", kind: "say", text: "hi", timestamp: Date.now() });
 * ```
 */
export const SaySchema = z.object({
  user_id: userId,
  name,
  location: name,
  kind: z.enum(["say", "emote"]),
  text: z.string().min(1).refine((t) => [...t].length <= MAX_SAY_CHARS, {
    message: `at most ${MAX_SAY_CHARS} characters`,
  }),
  /** ms since the epoch when the server accepted it. */
  timestamp: z.number(),
});
/** A `say` event. */
export type Say = z.infer<typeof SaySchema>;

/**
 * A message on a talk subject: the `say` event, its experience (checked
 * again by every receiver, so a message can never cross experiences) and
 * the process that sent it.
 *
 * @example
 * ```ts
 * const m = TalkMessageSchema.parse(msg.json());
 * ```
 */
export const TalkMessageSchema = SaySchema.extend({
  experience: z.string().min(1),
  /** The sending chat process (it delivered the line itself and ignores the echo). */
  process: z.string().min(1).max(100),
});
/** A talk message. */
export type TalkMessage = z.infer<typeof TalkMessageSchema>;

/**
 * A presence heartbeat of one chat process for one user: `here` (sent on
 * arrival, on a move and every heartbeat interval while a stream is open)
 * or `left` (the user's last stream in that process closed a grace period
 * ago). `process` tells the processes apart: a user is present while any
 * process says so.
 *
 * @example
 * ```ts
 * const beat = PresenceBeatSchema.parse(msg.json());
 * ```
 */
export const PresenceBeatSchema = PresenceSchema.extend({
  experience: z.string().min(1),
  process: z.string().min(1).max(100),
  /** The sender just started listening: every other process answers with its users' beats. */
  hello: z.boolean().optional(),
});
/** A presence heartbeat. */
export type PresenceBeat = z.infer<typeof PresenceBeatSchema>;

/**
 * Where a player is, as the KB sees it (`kb.locate`): a player who has not
 * acted yet is at the experience's start.
 *
 * @example
 * ```ts
 * const place = PlayerPlaceSchema.parse({ name: "ada", location: "glade", state_model: "shared" });
 * ```
 */
export const PlayerPlaceSchema = z.object({
  name,
  location: name,
  state_model: StateModelSchema,
});
/** A player's place. */
export type PlayerPlace = z.infer<typeof PlayerPlaceSchema>;

/**
 * The `kb.locate` reply.
 *
 * @example
 * ```ts
 * const r = LocateReplySchema.parse(msg.json());
 * if (r.ok) console.log(r.location);
 * ```
 */
export const LocateReplySchema = z.discriminatedUnion("ok", [
  PlayerPlaceSchema.extend({ ok: z.literal(true) }),
  z.object({ ok: z.literal(false), error: z.object({ code: z.string(), message: z.string() }) }),
]);
/** A `kb.locate` reply. */
export type LocateReply = z.infer<typeof LocateReplySchema>;
