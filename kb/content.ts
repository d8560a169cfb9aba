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
});

const ExitSchema = z.union([
  ContentIdSchema,
  z.strictObject({
    to: ContentIdSchema,
    /** When set the exit starts closed; this is what a player hears when trying it. */
    locked: Text.optional(),
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
  location: ContentIdSchema.optional(),
  inside: ContentIdSchema.optional(),
  held_by: ContentIdSchema.optional(),
}).refine(
  (i) => [i.location, i.inside, i.held_by].filter((x) => x !== undefined).length === 1,
  "give exactly one of 'location', 'inside' or 'held_by'",
);

const WantSchema = z.strictObject({
  /** What the NPC says on receiving the item. */
  reply: Text,
  /** A locked exit this gift opens. */
  unlock: z.strictObject({ location: ContentIdSchema, direction: DirectionSchema }).optional(),
  /** An item the NPC holds and hands over in return. */
  reward: ContentIdSchema.optional(),
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
});

/** Parsed `experience.json`. */
export type ExperienceConfig = z.infer<typeof ExperienceConfigSchema>;
/** Parsed location. */
export type Location = z.infer<typeof LocationSchema>;
/** Parsed item. */
export type Item = z.infer<typeof ItemSchema>;
/** Parsed NPC. */
export type Npc = z.infer<typeof NpcSchema>;

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
    raw = JSON.parse(text);
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
  const config = parseFile(f("config"), texts.config, ExperienceConfigSchema);
  const locations = parseFile(
    f("locations"),
    texts.locations,
    z.record(ContentIdSchema, LocationSchema),
  );
  const items = parseFile(f("items"), texts.items, z.record(ContentIdSchema, ItemSchema));
  const npcs = parseFile(f("npcs"), texts.npcs, z.record(ContentIdSchema, NpcSchema));
  const exp: Experience = { id, config, locations, items, npcs };
  crossCheck(exp, f);
  return exp;
}

function crossCheck(exp: Experience, f: (k: keyof typeof CONTENT_FILES) => string): void {
  const { config, locations, items, npcs } = exp;
  const need = (ok: boolean, file: string, path: string, problem: string) => {
    if (!ok) throw contentError(file, path, problem);
  };
  need(config.start in locations, f("config"), "start", `unknown location '${config.start}'`);
  for (const [id, loc] of Object.entries(locations)) {
    for (const [dir, exit] of Object.entries(loc.exits)) {
      const to = typeof exit === "string" ? exit : exit!.to;
      need(to in locations, f("locations"), `${id}.exits.${dir}`, `unknown location '${to}'`);
    }
  }
  for (const [id, item] of Object.entries(items)) {
    need(!(id in npcs), f("items"), id, `'${id}' is also an NPC id`);
    if (item.location !== undefined) {
      need(
        item.location in locations,
        f("items"),
        `${id}.location`,
        `unknown location '${item.location}'`,
      );
    }
    if (item.held_by !== undefined) {
      need(item.held_by in npcs, f("items"), `${id}.held_by`, `unknown NPC '${item.held_by}'`);
    }
    if (item.inside !== undefined) {
      const parent = items[item.inside];
      need(parent !== undefined, f("items"), `${id}.inside`, `unknown item '${item.inside}'`);
      need(parent!.container, f("items"), `${id}.inside`, `'${item.inside}' is not a container`);
      need(
        parent!.inside === undefined,
        f("items"),
        `${id}.inside`,
        "containers nest one level only",
      );
      need(!item.container, f("items"), `${id}.inside`, "a container cannot start inside another");
    }
  }
  for (const [id, npc] of Object.entries(npcs)) {
    need(
      npc.location in locations,
      f("npcs"),
      `${id}.location`,
      `unknown location '${npc.location}'`,
    );
    for (const [itemId, want] of Object.entries(npc.wants)) {
      need(itemId in items, f("npcs"), `${id}.wants.${itemId}`, `unknown item '${itemId}'`);
      if (want.reward !== undefined) {
        need(
          items[want.reward]?.held_by === id,
          f("npcs"),
          `${id}.wants.${itemId}.reward`,
          `reward '${want.reward}' must be an item held_by '${id}'`,
        );
      }
      if (want.unlock) {
        const { location, direction } = want.unlock;
        const exit = locations[location]?.exits[direction];
        need(
          typeof exit === "object" && exit.locked !== undefined,
          f("npcs"),
          `${id}.wants.${itemId}.unlock`,
          `'${location}' has no locked exit '${direction}'`,
        );
      }
    }
  }
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
