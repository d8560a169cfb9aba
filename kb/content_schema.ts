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
