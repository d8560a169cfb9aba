/**
 * The wire contract of DESIGN.md as zod schemas: world-update events, the
 * `kb.interact` request and reply, and the data of every SSE event type.
 *
 * This module is browser-safe: it imports nothing but zod.
 *
 * @module
 */
import { z } from "zod";

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
});
/** A world snapshot. */
export type WorldSnapshot = z.infer<typeof WorldSnapshotSchema>;

const message = z.string().min(1, "message must not be empty").refine(
  (m) => new TextEncoder().encode(m).length <= MAX_MESSAGE_BYTES,
  `message must be at most ${MAX_MESSAGE_BYTES} bytes`,
);
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

/** Data of the SSE `metadata` event. */
export const MetadataEventSchema = z.object({
  conversation_id: z.string(),
  model: z.string(),
  timestamp: z.number(),
});
/** Data of the SSE `content` event. */
export const ContentEventSchema = z.object({ content: z.string() });
/** Data of the SSE `resync` event. */
export const ResyncEventSchema = z.object({ reason: z.string() });

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
