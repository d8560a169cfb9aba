/**
 * JSON Schemas of the content files, generated from the zod schemas the
 * loader uses (`z.toJSONSchema`), so an editor validates as you type. The
 * shipped files point at them with `$schema`; `deno task schema` rewrites
 * them in `kb-data/schema/` and a test fails when they are out of date.
 *
 * @module
 */
import { z } from "zod";
import { CONTENT_FILES, FILE_SCHEMAS } from "./content.ts";

type Json = Record<string, unknown>;

const TITLES: Record<keyof typeof CONTENT_FILES, string> = {
  config: "An experience: its name, state model, start, goals and endings",
  locations: "The locations of an experience, by id",
  items: "The items of an experience, by id",
  npcs: "The characters of an experience, by id",
};

/**
 * Hover text for the fields of each file (the authoring guide says more),
 * by file: the top-level fields of `experience.json`, the fields of one
 * entry of the files that map ids to entries.
 */
const FIELD_DOCS: Record<keyof typeof CONTENT_FILES, Record<string, string>> = {
  config: {
    name: "Shown in the experience list and the page header.",
    description: "What the game is about, in one or two sentences (the experience list).",
    intro: "What a player reads on entering, before the first look (default: description).",
    state: "isolated: a world per player; shared: one world for all its players.",
    start: "The location id where players begin.",
    synonyms: "Word -> the word the content uses, for words the content does not use itself.",
    goals: "Scored goals by id: { title, score, when, message }; reached once per player.",
    endings: "Endings by id: { title, text, when }; a player reaches the first that holds, once.",
  },
  locations: {
    name: "The heading of the place.",
    called:
      "The name inside a sentence ('the storm beach'); default: 'the' + the name in lower case.",
    preposition: "'You are <preposition> <called>' (default 'in').",
    description: "What a look shows before the items, people and exits.",
    aliases: "Other words for the place ('go to garden').",
    exits: "Direction -> location id, or { to, locked } (opened by an NPC's want) or { to, door }.",
    variants: "[{ when, description }]: the first whose condition holds replaces the description.",
  },
  items: {
    name: "Lower case unless a proper name; the last word is the head noun.",
    description: "What examine shows.",
    aliases: "Other nouns for it.",
    adjectives: "Words that tell it apart; the engine asks by them when words fit several things.",
    portable: "false: it cannot be taken (default true).",
    container: "Things can be put in it.",
    surface: "Things go on it (implies container).",
    location: "Starts at this location (exactly one of location, inside, held_by).",
    inside: "Starts in this container or on this surface.",
    held_by: "An NPC holds it (can be that NPC's reward).",
    article: "a, an, some (mass nouns), the, or '' for a proper name; default a/an by sound.",
    plural: "The plural for counts; default regular English.",
    availability:
      "Shared worlds: unique, respawning (back after a while) or per-player (a copy each).",
    respawn_after: "respawning only: seconds until a new one is back at its place (default 300).",
    text: "What read shows (default: the description).",
    variants: "[{ when, description }]: the first whose condition holds replaces the description.",
    openable: "open/close, lock/unlock with key: { open, locked, key, on_open, on_close }.",
    lightable: "light/extinguish: { lit, on_light, on_extinguish }.",
    uses:
      "use <this> on <target>: target id -> { requires, refusal, text, set_flags, clear_flags, consume }.",
  },
  npcs: {
    name: "As it is used in a sentence ('Old Tam'; a common noun in lower case).",
    description: "What examine shows.",
    aliases: "Other words for them.",
    location: "Where they are.",
    greeting: "What talk to says.",
    topics: "Topic -> answer, for ask <npc> about <topic>.",
    wants:
      "Item id -> { reply, reward, unlock, set_flags, again }: what giving it does, once per player.",
    refusal: "What they say to a gift they do not want.",
    article: "As for items (default: none for a capitalised name).",
    variants: "[{ when, description, greeting, topics }]: dialogue that follows state.",
  },
};

function describeFields(schema: Json, docs: Record<string, string>): void {
  const entry = (schema.propertyNames ? schema.additionalProperties : schema) as Json;
  const props = (entry?.properties ?? {}) as Record<string, Json>;
  for (const [field, text] of Object.entries(docs)) {
    if (props[field]) props[field] = { description: text, ...props[field] };
  }
}

/**
 * The file a content file's schema is written to.
 *
 * @example
 * ```ts
 * schemaFileName("items.json"); // "items.schema.json"
 * ```
 */
export const schemaFileName = (file: string): string => file.replace(/\.json$/, ".schema.json");

/**
 * The JSON Schema of every content file, by file name
 * (`experience.schema.json`, ...), each allowing the `$schema` key.
 *
 * @example
 * ```ts
 * contentJsonSchemas()["items.schema.json"].title; // "The items of an experience, by id"
 * ```
 */
export function contentJsonSchemas(): Record<string, Json> {
  const out: Record<string, Json> = {};
  for (
    const [key, file] of Object.entries(CONTENT_FILES) as [keyof typeof CONTENT_FILES, string][]
  ) {
    const schema = z.toJSONSchema(FILE_SCHEMAS[key], {
      io: "input",
      unrepresentable: "any",
    }) as Json;
    describeFields(schema, FIELD_DOCS[key]);
    const properties = (schema.properties ?? {}) as Json;
    schema.properties = {
      $schema: { type: "string", description: "this file's JSON Schema" },
      ...properties,
    };
    // Files that map ids to entries: "$schema" is not an id.
    if (schema.propertyNames) {
      schema.propertyNames = {
        anyOf: [{ const: "$schema" }, schema.propertyNames],
      };
    }
    out[schemaFileName(file)] = { $schema: schema.$schema, title: TITLES[key], ...schema };
  }
  return out;
}

/**
 * Writes the schemas into `dir` (default `kb-data/schema`).
 *
 * @example
 * ```ts
 * await writeContentSchemas("kb-data/schema");
 * ```
 */
export async function writeContentSchemas(dir: string): Promise<string[]> {
  await Deno.mkdir(dir, { recursive: true });
  const written: string[] = [];
  for (const [name, schema] of Object.entries(contentJsonSchemas())) {
    await Deno.writeTextFile(`${dir}/${name}`, JSON.stringify(schema, null, 2) + "\n");
    written.push(`${dir}/${name}`);
  }
  return written;
}

if (import.meta.main) {
  for (const f of await writeContentSchemas(Deno.args[0] ?? "./kb-data/schema")) console.log(f);
}
