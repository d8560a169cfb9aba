/**
 * The game parts of experience content: conditions over the world and the
 * player, effects of data-driven verbs, goals, endings and state-dependent
 * text. Every field is optional with a default, so content written before
 * these existed still loads and plays as it did.
 *
 * @module
 */
import { z } from "zod";

const Text = z.string().min(1);
const Ref = z.string().max(64).regex(/^[a-z0-9][a-z0-9-]*$/, "ids use only a-z, 0-9 and '-'");

/**
 * Flag names: what a puzzle remembers about a player ("lamp-oiled").
 *
 * @example
 * ```ts
 * FlagSchema.parse("lamp-oiled");
 * ```
 */
export const FlagSchema = Ref;

/**
 * The states a condition can ask an item about.
 *
 * @example
 * ```ts
 * ITEM_STATES.includes("lit"); // true
 * ```
 */
export const ITEM_STATES = ["open", "closed", "locked", "unlocked", "lit", "unlit"] as const;

/** A condition over the world and the acting player (every key given must hold). */
export interface Condition {
  flag?: string;
  not_flag?: string;
  holds?: string;
  at?: string;
  item_at?: { item: string; location: string };
  exit_open?: { location: string; direction: string };
  given?: { npc: string; item: string };
  item_is?: { item: string; state: typeof ITEM_STATES[number] };
  goal?: string;
  score_at_least?: number;
  all?: Condition[];
  any?: Condition[];
  not?: Condition;
}

/**
 * A condition: every key given must hold (`all`, `any` and `not` combine them).
 *
 * @example
 * ```ts
 * ConditionSchema.parse({ holds: "lantern", at: "woods-edge" });
 * ```
 */
export const ConditionSchema: z.ZodType<Condition> = z.strictObject({
  /** A flag is set on the player. */
  flag: FlagSchema.optional(),
  /** A flag is not set on the player. */
  not_flag: FlagSchema.optional(),
  /** The player carries the item (or a copy of it). */
  holds: Ref.optional(),
  /** The player is at this location. */
  at: Ref.optional(),
  /** The item (or a copy) lies at the location, or in a container there. */
  item_at: z.strictObject({ item: Ref, location: Ref }).optional(),
  /** The exit is open (for everyone, or for this player). */
  exit_open: z.strictObject({ location: Ref, direction: z.string() }).optional(),
  /** This player gave the NPC the item it wanted. */
  given: z.strictObject({ npc: Ref, item: Ref }).optional(),
  /** The item the player can see or carries is in this state. */
  item_is: z.strictObject({ item: Ref, state: z.enum(ITEM_STATES) }).optional(),
  /** The player has reached this goal. */
  goal: Ref.optional(),
  /** The player's score is at least this. */
  score_at_least: z.number().int().min(0).optional(),
  get all() {
    return z.array(ConditionSchema).optional();
  },
  get any() {
    return z.array(ConditionSchema).optional();
  },
  get not() {
    return ConditionSchema.optional();
  },
});

/**
 * What a data-driven verb does besides its own job (opening, lighting, use).
 *
 * @example
 * ```ts
 * EffectSchema.parse({ text: "You fill the lamp.", set_flags: ["lamp-oiled"], consume: true });
 * ```
 */
export const EffectSchema = z.strictObject({
  /** Must hold first; otherwise the player hears `refusal` and nothing happens. */
  requires: ConditionSchema.optional(),
  refusal: Text.optional(),
  /** What the player hears when it works. */
  text: Text.optional(),
  /** Flags set on (or cleared from) the acting player. */
  set_flags: z.array(FlagSchema).default([]),
  clear_flags: z.array(FlagSchema).default([]),
  /** `use` only: the item used is taken out of play. */
  consume: z.boolean().default(false),
});
/** A parsed effect. */
export type Effect = z.infer<typeof EffectSchema>;

/**
 * `open`/`close`/`lock`/`unlock` for an item (a door, a chest, a bottle).
 *
 * @example
 * ```ts
 * OpenableSchema.parse({ open: false, locked: true, key: "iron-key" });
 * ```
 */
export const OpenableSchema = z.strictObject({
  /** Whether it starts open. */
  open: z.boolean().default(false),
  /** Whether it starts locked (needs `key` to unlock). */
  locked: z.boolean().default(false),
  /** The item that locks and unlocks it. */
  key: Ref.optional(),
  on_open: EffectSchema.optional(),
  on_close: EffectSchema.optional(),
});

/**
 * `light`/`extinguish` for an item.
 *
 * @example
 * ```ts
 * LightableSchema.parse({ lit: false, on_light: { requires: { flag: "lamp-oiled" }, refusal: "It is dry." } });
 * ```
 */
export const LightableSchema = z.strictObject({
  lit: z.boolean().default(false),
  on_light: EffectSchema.optional(),
  on_extinguish: EffectSchema.optional(),
});

/**
 * Text that replaces a description while a condition holds (the first that holds wins).
 *
 * @example
 * ```ts
 * VariantSchema.parse({ when: { exit_open: { location: "store", direction: "north" } }, description: "..." });
 * ```
 */
export const VariantSchema = z.strictObject({
  when: ConditionSchema,
  description: Text,
});

/**
 * What an NPC says and knows while a condition holds (dialogue that follows state).
 *
 * @example
 * ```ts
 * NpcVariantSchema.parse({ when: { given: { npc: "woander", item: "moonpetal" } }, greeting: "Friend!" });
 * ```
 */
export const NpcVariantSchema = z.strictObject({
  when: ConditionSchema,
  description: Text.optional(),
  greeting: Text.optional(),
  /** Replace topics of the same name; other topics stay. */
  topics: z.record(z.string().min(1), Text).default({}),
});

/**
 * One goal of `experience.json`: a scored condition, reached once per player.
 *
 * @example
 * ```ts
 * GoalSchema.parse({ title: "Light the lamp", score: 4, when: { item_is: { item: "great-lamp", state: "lit" } } });
 * ```
 */
export const GoalSchema = z.strictObject({
  title: Text,
  score: z.number().int().min(0).default(1),
  when: ConditionSchema,
  /** Told when the player reaches it. */
  message: Text.optional(),
});
/** A parsed goal. */
export type Goal = z.infer<typeof GoalSchema>;

/**
 * One ending of `experience.json`: reached once per player, the first whose condition holds.
 *
 * @example
 * ```ts
 * EndingSchema.parse({ title: "The Light Returns", text: "...", when: { goal: "lamp-lit" } });
 * ```
 */
export const EndingSchema = z.strictObject({
  title: Text,
  text: Text,
  when: ConditionSchema,
});
/** A parsed ending. */
export type Ending = z.infer<typeof EndingSchema>;

/**
 * How items behave in a shared world: `unique` (one for everyone), `respawning`
 * (back at its place a while after it left, or at once when taken out of
 * play) or `per-player` (each player takes their own copy).
 *
 * @example
 * ```ts
 * AvailabilitySchema.parse("per-player");
 * ```
 */
export const AvailabilitySchema = z.enum(["unique", "respawning", "per-player"]);

/**
 * Articles an author may declare for an item or an NPC: `some` for mass
 * nouns ("some driftwood"), `""` for proper names ("Woander's ledger").
 *
 * @example
 * ```ts
 * ArticleSchema.parse("some");
 * ```
 */
export const ArticleSchema = z.enum(["a", "an", "some", "the", ""]);
