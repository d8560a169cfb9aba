/**
 * The wire contract of DESIGN.md as zod schemas: world-update events, the
 * `kb.interact` request and reply, the chat and interact bodies, and the one
 * formatter that turns zod issues into the `message` of an error.
 *
 * This module is browser-safe: it imports nothing but zod.
 *
 * @module
 */
import { z } from "zod";

/**
 * Where a player's profile keeps the conversation with the parser (the last
 * command for `again`, the things `it` and `them` refer to, a pending
 * question). Writing it is a player-scope change like any other, but not one
 * to show ahead of the narrative: chat starts an answer early only for
 * events that change more than this.
 */
export const CONVERSATION_PATH = "context";

/**
 * Whether an event changes nothing but the player's conversation ({@linkcode CONVERSATION_PATH}).
 *
 * @example
 * ```ts
 * if (!conversationOnly(event)) startNow();
 * ```
 */
export function conversationOnly(event: { changes: WorldChanges }): boolean {
  const { world, player } = event.changes;
  if (world && world.length > 0) return false;
  return (player ?? []).every((op) =>
    op.path === CONVERSATION_PATH || op.path.startsWith(`${CONVERSATION_PATH}.`)
  );
}

/** Largest accepted chat/interact message in bytes (DESIGN.md guarantee 7). */
export const MAX_MESSAGE_BYTES = 16 * 1024;

/** One change inside a world update: where (dotted path) and what. */
export const StateOperationSchema = z.object({
  operation: z.enum(["add", "remove", "update"]),
  /** Dotted path; segments escaped with {@linkcode escapePathSegment}. "" is the root. */
  path: z.string(),
  data: z.record(z.string(), z.unknown()),
});
/** A single state operation. */
export type StateOperation = z.infer<typeof StateOperationSchema>;

/** Either state model of an experience. */
export const StateModelSchema = z.enum(["shared", "isolated"]);
/** `shared` (one world for all players) or `isolated` (one world per player). */
export type StateModel = z.infer<typeof StateModelSchema>;

/** The changes of one committed action, split by scope. */
export const WorldChangesSchema = z.object({
  world: z.array(StateOperationSchema).optional(),
  player: z.array(StateOperationSchema).optional(),
});
/** Changes of one action. */
export type WorldChanges = z.infer<typeof WorldChangesSchema>;

/**
 * The `world_update` event of DESIGN.md.
 *
 * @example
 * ```ts
 * const event = WorldUpdateEventSchema.parse(JSON.parse(text));
 * ```
 */
export const WorldUpdateEventSchema = z.object({
  type: z.literal("world_update"),
  /** Unique, lexicographically sortable (ULID). Also the SSE `id:`. */
  id: z.string().min(1),
  experience: z.string().min(1),
  user_id: z.string(),
  version: z.number().int().nonnegative(),
  changes: WorldChangesSchema,
  /** Milliseconds since the epoch when the KB committed the change (may carry a fraction). */
  timestamp: z.number(),
  metadata: z.object({
    source: z.literal("kb"),
    state_model: StateModelSchema,
    request_id: z.string(),
  }),
  /**
   * What the change looks like to other players, one short third-person line
   * the KB writes from the outcome ("ada takes the dream bottle"). Plain
   * text, never markup. Absent where nothing shows (a conversation-only event).
   */
  // The KB clips it to 200 characters; the bound here is in UTF-16 units, with room.
  third_person: z.string().max(1000).optional(),
});
/** A world update event. */
export type WorldUpdateEvent = z.infer<typeof WorldUpdateEventSchema>;

/** What a client sees of one world: `GET /api/v0.3/world/state`. */
export const WorldSnapshotSchema = z.object({
  experience: z.string(),
  state_model: StateModelSchema,
  version: z.number().int().nonnegative(),
  world: z.record(z.string(), z.unknown()),
  player: z.record(z.string(), z.unknown()),
  /**
   * Static text from the experience's content, which no delta changes (so
   * events stay small): each location's description by location id (as
   * content writes it; `GET /world/describe` gives them as they read for the
   * player now, where content varies them with state).
   */
  descriptions: z.object({
    locations: z.record(z.string(), z.string()),
    /** The most points the experience's goals give (its `score` command counts up to it). */
    max_score: z.number().int().nonnegative().optional(),
  }).optional(),
  /**
   * Shared worlds: the players present now (holding a world stream), where
   * presence says they are. `world.players` lists every player who ever
   * acted; this says who is here.
   */
  present: z.array(z.object({ user_id: z.string(), name: z.string(), location: z.string() }))
    .optional(),
});
/** A world snapshot. */
export type WorldSnapshot = z.infer<typeof WorldSnapshotSchema>;

/** A failed parse's issues (any zod error, classic or core). */
export type ZodIssues = { readonly issues: readonly z.core.$ZodIssue[] };

/** Error code (and zod issue marker) of a message over {@linkcode MAX_MESSAGE_BYTES}. */
export const MESSAGE_TOO_LARGE = "message_too_large";

const message = z.string().min(1, "message must not be empty").check((ctx) => {
  if (new TextEncoder().encode(ctx.value).length <= MAX_MESSAGE_BYTES) return;
  // Marked in `params`, so callers tell "too large" (413) from other problems
  // (400) by the issue, not by its wording.
  ctx.issues.push({
    code: "custom",
    input: ctx.value,
    message: `message must be at most ${MAX_MESSAGE_BYTES} bytes`,
    params: { code: MESSAGE_TOO_LARGE },
  });
});

/**
 * Whether a failed parse failed (also) because the message is over
 * {@linkcode MAX_MESSAGE_BYTES}: such a request is answered 413
 * `message_too_large` rather than 400.
 *
 * @example
 * ```ts
 * const r = ChatRequestSchema.safeParse(body);
 * if (!r.success && isMessageTooLarge(r.error)) status = 413;
 * ```
 */
export function isMessageTooLarge(error: ZodIssues): boolean {
  return error.issues.some((i) => i.code === "custom" && i.params?.code === MESSAGE_TOO_LARGE);
}

const experienceId = z.string().min(1).max(200);

/** Body of `POST /api/v0.3/chat`. */
export const ChatRequestSchema = z.object({
  message,
  experience: experienceId,
  conversation_id: z.string().max(200).optional(),
  stream: z.boolean().default(true),
});
/** A chat request. */
export type ChatRequest = z.infer<typeof ChatRequestSchema>;

/** Body of `POST /kb/experience/interact`. */
export const InteractBodySchema = z.object({ message, experience: experienceId });

/** The `kb.interact` NATS request (and the in-process call with the same shape). */
export const InteractRequestSchema = z.object({
  request_id: z.string().min(1),
  user_id: z.string().min(1),
  experience: experienceId,
  message,
});
/** A KB interaction request. */
export type InteractRequest = z.infer<typeof InteractRequestSchema>;

/** What the KB decided: a short machine-readable kind plus the facts a narrator needs. */
export const OutcomeSchema = z.object({
  /** e.g. `looked`, `moved`, `took`, `dropped`, `inventory`, `not_found`, `not_understood`. */
  kind: z.string(),
  /** Whether state changed (and events were published). */
  changed: z.boolean(),
  /** One plain sentence that is true: the offline narrator starts from it. */
  summary: z.string(),
  /** Structured facts for a narrator (location, items, descriptions, ...). */
  facts: z.record(z.string(), z.unknown()),
  /** True when the command needs the capable narrator model (not understood, dialogue). */
  needs_capable_model: z.boolean().default(false),
});
/** A KB outcome. */
export type Outcome = z.infer<typeof OutcomeSchema>;

/** Longest name the intent context carries (names of other players are user-chosen). */
const contextName = z.string().max(200);
const contextList = z.array(contextName).max(64);

/**
 * What the player can see, sent with a `not_understood` reply only: the
 * command forms of the grammar and the player's surroundings by name, so
 * that chat's intent step can ask a model what the player meant. Only what
 * the snapshot shows this player (their location, its open exits, items
 * and who is there, their inventory): never hidden state such as locked
 * exits' targets, what NPCs hold, or other locations.
 */
export const IntentContextSchema = z.object({
  /** The command forms the grammar accepts, one line each (`HELP_LINES`). */
  verbs: contextList,
  location: contextName,
  /** Open exits: the direction word and where it leads. */
  exits: z.array(z.object({ direction: contextName, to: contextName })).max(64),
  /** Items here; a container's visible contents by name. */
  items: z.array(z.object({ name: contextName, contents: contextList.optional() })).max(64),
  npcs: contextList,
  /** Other players here. */
  players: contextList,
  inventory: z.array(z.object({ name: contextName, contents: contextList.optional() })).max(64),
});
/** The visible context of a `not_understood` reply. */
export type IntentContext = z.infer<typeof IntentContextSchema>;

/** Error shape used in HTTP bodies, SSE `error` events and KB replies. */
export const ErrorBodySchema = z.object({ code: z.string(), message: z.string() });
/** An error body. */
export type ErrorBody = z.infer<typeof ErrorBodySchema>;

/** The `kb.interact` reply: either an outcome with its events, or an error. */
export const InteractReplySchema = z.discriminatedUnion("ok", [
  z.object({
    ok: z.literal(true),
    request_id: z.string(),
    experience: z.string(),
    outcome: OutcomeSchema,
    event_ids: z.array(z.string()),
    events: z.array(WorldUpdateEventSchema),
    /** With a `not_understood` outcome only: what the player can see (chat's intent step). */
    context: IntentContextSchema.optional(),
  }),
  z.object({
    ok: z.literal(false),
    request_id: z.string(),
    error: ErrorBodySchema.extend({ status: z.number().int() }),
  }),
]);
/** A KB reply. */
export type InteractReply = z.infer<typeof InteractReplySchema>;
/** A successful KB reply. */
export type InteractSuccess = Extract<InteractReply, { ok: true }>;

/**
 * JSON Schema of {@linkcode WorldUpdateEventSchema} for client authors.
 *
 * @example
 * ```ts
 * Deno.writeTextFileSync("world_update.schema.json", JSON.stringify(worldUpdateJsonSchema()));
 * ```
 */
export function worldUpdateJsonSchema(): Record<string, unknown> {
  return z.toJSONSchema(WorldUpdateEventSchema) as Record<string, unknown>;
}

/**
 * The one way zod issues become text here (settings, request validation,
 * `kb.interact`, content files): `path: message` per issue, joined with
 * `; `. Path segments holding a dot or a space are quoted, and an issue of
 * a record key or element carries its first inner problem.
 *
 * @example
 * ```ts
 * describeIssues(r.error, "(body)"); // "message: message must not be empty; experience: Invalid input: expected string, received undefined"
 * ```
 */
export function describeIssues(error: ZodIssues, root = "(root)"): string {
  return error.issues.map((i) => {
    const { path, problem } = describeIssue(i);
    return `${path || root}: ${problem}`;
  }).join("; ");
}

/**
 * One issue as a dotted path (`""` at the root) and its problem, for callers
 * that place them in their own message (content errors name the file too).
 *
 * @example
 * ```ts
 * const { path, problem } = describeIssue(error.issues[0]!);
 * ```
 */
export function describeIssue(issue: z.core.$ZodIssue): { path: string; problem: string } {
  const path = issue.path.map((p) => {
    const s = String(p);
    return /[.\s]/.test(s) ? JSON.stringify(s) : s;
  }).join(".");
  // A record key or map element that failed says why in its own issues.
  const inner = "issues" in issue && Array.isArray(issue.issues)
    ? (issue.issues[0] as { message?: string } | undefined)?.message
    : undefined;
  return { path, problem: inner ? `${issue.message}: ${inner}` : issue.message };
}
