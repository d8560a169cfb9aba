/**
 * Experience content as data: the zod schemas of the JSON files under
 * `KB_DATA_DIR/experiences/<id>/`, their cross-reference checks, and the
 * loader that turns a directory into a checked {@linkcode Experience}.
 *
 * Bad content fails here, at load time, with the file, the path inside it and
 * what is wrong, so it can never fail in the middle of play.
 *
 * @module
 */
import { z } from "zod";
import { RESERVED_SEGMENTS } from "../shared/apply.ts";
import { describeIssue, StateModelSchema } from "../shared/schema.ts";
import { AppError } from "../shared/errors.ts";
import {
  ArticleSchema,
  AvailabilitySchema,
  EffectSchema,
  EndingSchema,
  FlagSchema,
  GoalSchema,
  LightableSchema,
  NpcVariantSchema,
  OpenableSchema,
  VariantSchema,
} from "./content_game.ts";
import { crossCheck } from "./content_check.ts";

/**
 * Ids of locations, items and NPCs: no dots, so they are always one path segment.
 *
 * @example
 * ```ts
 * ContentIdSchema.parse("dream-bottle-1"); // ok; "a.b" fails
 * ```
 */
export const ContentIdSchema = z.string().max(64).regex(
  /^[a-z0-9][a-z0-9-]*$/,
  "ids use only a-z, 0-9 and '-' and start with a letter or digit",
).refine(
  (id) => !RESERVED_SEGMENTS.has(id),
  "this id is reserved (it cannot be a state path segment)",
);

/**
 * Every direction an exit can have.
 *
 * @example
 * ```ts
 * DIRECTIONS.includes("north"); // true
 * ```
 */
export const DIRECTIONS = [
  "north",
  "south",
  "east",
  "west",
  "northeast",
  "northwest",
  "southeast",
  "southwest",
  "up",
  "down",
  "in",
  "out",
] as const;
/** One exit direction. */
export type Direction = typeof DIRECTIONS[number];
const DirectionSchema = z.enum(DIRECTIONS);

const Text = z.string().min(1);
const Words = z.array(z.string().min(1)).default([]);

/**
 * `experience.json`: what the experience is and how its state is kept.
 *
 * @example
 * ```ts
 * ExperienceConfigSchema.parse({ name: "W", description: "W", state: { model: "shared" }, start: "edge" });
 * ```
 */
export const ExperienceConfigSchema = z.strictObject({
  name: Text,
  description: Text,
  state: z.strictObject({ model: StateModelSchema }),
  start: ContentIdSchema,
  /** Word -> canonical word used by the parser ("vial" -> "bottle"). */
  synonyms: z.record(z.string().regex(/^\S+$/, "one word"), z.string().regex(/^\S+$/, "one word"))
    .default({})
    // Looked up with player words: no prototype, so "constructor" finds nothing.
    .transform((r): Record<string, string> => Object.assign(Object.create(null), r)),
  /** What a player reads on entering, before the first look (default: `description`). */
  intro: Text.optional(),
  /** Scored goals, reached once per player. */
  goals: z.record(ContentIdSchema, GoalSchema).default({}),
  /** Endings; a player reaches the first whose condition holds, once. */
  endings: z.record(ContentIdSchema, EndingSchema).default({}),
});

const ExitSchema = z.union([
  ContentIdSchema,
  z.strictObject({
    to: ContentIdSchema,
    /** When set the exit starts closed; this is what a player hears when trying it. */
    locked: Text.optional(),
    /** An openable item here (a door): the exit is open exactly while the item is. */
    door: ContentIdSchema.optional(),
  }),
]);

/**
 * One entry of `locations.json`.
 *
 * @example
 * ```ts
 * LocationSchema.parse({ name: "Mossy Path", description: "...", exits: { east: "store" } });
 * ```
 */
export const LocationSchema = z.strictObject({
  name: Text,
  description: Text,
  aliases: Words,
  exits: z.partialRecord(DirectionSchema, ExitSchema).default({}),
  /** The name inside a sentence ("the storm beach"); default: "the" and the name in lower case. */
  called: Text.optional(),
  /** "You are <preposition> <called>" (default "in"). */
  preposition: z.string().regex(/^[a-z]+( [a-z]+)?$/, "one or two lower-case words").default("in"),
  /** Descriptions that replace `description` while their condition holds. */
  variants: z.array(VariantSchema).default([]),
});

/**
 * One entry of `items.json`; exactly one of `location`, `inside`, `held_by`.
 *
 * @example
 * ```ts
 * ItemSchema.parse({ name: "brass lantern", description: "...", location: "woods-edge" });
 * ```
 */
export const ItemSchema = z.strictObject({
  name: Text,
  description: Text,
  aliases: Words,
  adjectives: Words,
  portable: z.boolean().default(true),
  container: z.boolean().default(false),
  /** Things go on it rather than in it (a counter); implies `container`. */
  surface: z.boolean().default(false),
  location: ContentIdSchema.optional(),
  inside: ContentIdSchema.optional(),
  held_by: ContentIdSchema.optional(),
  /** Indefinite article; default "a"/"an" by the first letter. */
  article: ArticleSchema.optional(),
  /** Plural of the name when several are listed (default: regular English). */
  plural: Text.optional(),
  availability: AvailabilitySchema.default("unique"),
  /** `respawning` only: seconds until it is back at its place after it left. */
  respawn_after: z.number().positive().optional(),
  /** What `read` shows (default: the description). */
  text: Text.optional(),
  variants: z.array(VariantSchema).default([]),
  openable: OpenableSchema.optional(),
  lightable: LightableSchema.optional(),
  /** `use <this> on <target>`: what happens, by target item id. */
  uses: z.record(ContentIdSchema, EffectSchema).default({}),
}).refine(
  (i) => [i.location, i.inside, i.held_by].filter((x) => x !== undefined).length === 1,
  "give exactly one of 'location', 'inside' or 'held_by'",
);

const WantSchema = z.strictObject({
  /** What the NPC says on receiving the item. */
  reply: Text,
  /** A locked exit this gift opens: for everyone (`world`) or for the giver only (`player`). */
  unlock: z.strictObject({
    location: ContentIdSchema,
    direction: DirectionSchema,
    for: z.enum(["world", "player"]).default("world"),
  }).optional(),
  /** An item the NPC holds and hands over in return. */
  reward: ContentIdSchema.optional(),
  /** Flags set on the giver. */
  set_flags: z.array(FlagSchema).default([]),
  /** What the NPC says when this player already gave one (a trade happens once per player). */
  again: Text.default("They already have one from you."),
});

/**
 * One entry of `npcs.json`.
 *
 * @example
 * ```ts
 * NpcSchema.parse({ name: "Bramble", description: "An owl.", location: "old-oak", greeting: "Hoo." });
 * ```
 */
export const NpcSchema = z.strictObject({
  name: Text,
  description: Text,
  aliases: Words,
  location: ContentIdSchema,
  greeting: Text,
  topics: z.record(z.string().min(1), Text).default({}),
  wants: z.record(ContentIdSchema, WantSchema).default({}),
  refusal: Text.default("They do not want that."),
  /** Indefinite article (default: none for a capitalised name, else "a"/"an"). */
  article: ArticleSchema.optional(),
  /** Greeting, description and topics that follow state (the first that holds wins). */
  variants: z.array(NpcVariantSchema).default([]),
});

/** Parsed `experience.json`. */
export type ExperienceConfig = z.infer<typeof ExperienceConfigSchema>;
/** Parsed location. */
export type Location = z.infer<typeof LocationSchema>;
/** Parsed item. */
export type Item = z.infer<typeof ItemSchema>;
/** Parsed NPC. */
export type Npc = z.infer<typeof NpcSchema>;
/** Parsed `use` effect (also the verbs' `on_*` effects). */
export type ItemEffect = z.infer<typeof EffectSchema>;

/** A loaded, cross-checked experience. */
export interface Experience {
  readonly id: string;
  readonly config: ExperienceConfig;
  readonly locations: Readonly<Record<string, Location>>;
  readonly items: Readonly<Record<string, Item>>;
  readonly npcs: Readonly<Record<string, Npc>>;
}

/**
 * The files of one experience directory, in load order.
 *
 * @example
 * ```ts
 * Deno.readTextFile(`${dir}/${CONTENT_FILES.items}`);
 * ```
 */
export const CONTENT_FILES = {
  config: "experience.json",
  locations: "locations.json",
  items: "items.json",
  npcs: "npcs.json",
} as const;

/**
 * Experience directory names: the same rule as content ids.
 *
 * @example
 * ```ts
 * EXPERIENCE_ID.test("wylding-woods"); // true; "../x" is false
 * ```
 */
export const EXPERIENCE_ID = /^[a-z0-9][a-z0-9-]{0,63}$/;

function contentError(file: string, path: string, problem: string): AppError {
  return new AppError("bad_content", `${file}: at '${path || "(root)"}': ${problem}`, 500);
}

function parseFile<T extends z.ZodType>(file: string, text: string, schema: T): z.infer<T> {
  let raw: unknown;
  try {
    raw = withoutSchemaKey(JSON.parse(text));
  } catch (e) {
    throw contentError(file, "", `invalid JSON: ${(e as Error).message}`);
  }
  const parsed = schema.safeParse(raw);
  if (!parsed.success) {
    // The first problem only: later ones often follow from it.
    const { path, problem } = describeIssue(parsed.error.issues[0]!);
    throw contentError(file, path, problem);
  }
  return parsed.data;
}

/**
 * The top-level `$schema` key editors use to find a file's JSON Schema; it
 * is not content (and not an id in the files that map ids to entries).
 *
 * @example
 * ```ts
 * withoutSchemaKey({ $schema: "../../schema/items.schema.json", lantern: {} }); // { lantern: {} }
 * ```
 */
export function withoutSchemaKey(raw: unknown): unknown {
  if (!raw || typeof raw !== "object" || Array.isArray(raw) || !("$schema" in raw)) return raw;
  const { $schema: _, ...rest } = raw as Record<string, unknown>;
  return rest;
}

/**
 * The zod schema of each content file, by {@linkcode CONTENT_FILES} key (the
 * JSON Schemas in `kb-data/schema/` are generated from these).
 *
 * @example
 * ```ts
 * FILE_SCHEMAS.items.safeParse(JSON.parse(text));
 * ```
 */
export const FILE_SCHEMAS = {
  config: ExperienceConfigSchema,
  locations: z.record(ContentIdSchema, LocationSchema),
  items: z.record(ContentIdSchema, ItemSchema),
  npcs: z.record(ContentIdSchema, NpcSchema),
} as const;

/**
 * Parses and cross-checks the four files of one experience (already read as
 * text). Throws an {@linkcode AppError} `bad_content` naming the file, the
 * path inside it and the problem.
 *
 * @example
 * ```ts
 * const exp = parseExperience("demo", "kb-data/experiences/demo", texts);
 * ```
 */
export function parseExperience(
  id: string,
  dir: string,
  texts: Record<keyof typeof CONTENT_FILES, string>,
): Experience {
  const f = (k: keyof typeof CONTENT_FILES) => `${dir}/${CONTENT_FILES[k]}`;
  const config = parseFile(f("config"), texts.config, FILE_SCHEMAS.config);
  const locations = parseFile(f("locations"), texts.locations, FILE_SCHEMAS.locations);
  const items = parseFile(f("items"), texts.items, FILE_SCHEMAS.items);
  const npcs = parseFile(f("npcs"), texts.npcs, FILE_SCHEMAS.npcs);
  const exp: Experience = { id, config, locations, items, npcs };
  crossCheck(exp, (file, path, problem) => {
    throw contentError(f(file), path, problem);
  });
  return exp;
}

/**
 * Modification signature of an experience's files; changes when any is edited.
 * It runs on every action, so it stats synchronously: four `stat` calls of
 * cached inodes cost microseconds, less than four hops to the I/O thread pool.
 *
 * @example
 * ```ts
 * if (contentSignature(dir) !== loadedSignature) reload();
 * ```
 */
export function contentSignature(dir: string): string {
  return Object.values(CONTENT_FILES).map((name) => {
    try {
      const st = Deno.statSync(`${dir}/${name}`);
      return `${st.mtime?.getTime() ?? 0}:${st.size}`;
    } catch {
      return "missing";
    }
  }).join("|");
}

/**
 * Reads one experience directory. Throws `bad_content` on any problem.
 *
 * @example
 * ```ts
 * const exp = await loadExperience("kb-data", "wylding-woods");
 * ```
 */
export async function loadExperience(dataDir: string, id: string): Promise<Experience> {
  if (!EXPERIENCE_ID.test(id)) {
    throw contentError(
      `${dataDir}/experiences/${id}`,
      "",
      "directory name is not a valid experience id",
    );
  }
  const dir = `${dataDir}/experiences/${id}`;
  const texts = {} as Record<keyof typeof CONTENT_FILES, string>;
  for (const [key, name] of Object.entries(CONTENT_FILES)) {
    try {
      texts[key as keyof typeof CONTENT_FILES] = await Deno.readTextFile(`${dir}/${name}`);
    } catch (e) {
      throw contentError(`${dir}/${name}`, "", `cannot read: ${(e as Error).message}`);
    }
  }
  return parseExperience(id, dir, texts);
}
