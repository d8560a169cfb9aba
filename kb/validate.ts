/**
 * `deno task validate [dir]`: checks experience content and prints every
 * problem (file, path inside it, what is wrong, and a did-you-mean for a
 * misspelt key), not just the first; exits 1 if there is any.
 *
 * `dir` is a data directory holding `experiences/<id>/` (default
 * `./kb-data`) or one experience directory. The checks are the loader's
 * own: the zod schemas of each file and the cross-references between them.
 *
 * @module
 */
import { z } from "zod";
import {
  CONTENT_FILES,
  type Experience,
  EXPERIENCE_ID,
  FILE_SCHEMAS,
  withoutSchemaKey,
} from "./content.ts";
import { crossCheck } from "./content_check.ts";
import { editDistance } from "./typo.ts";

/** One problem in one file. */
export interface ContentProblem {
  file: string;
  /** Dotted path inside the file ("" for the whole file). */
  path: string;
  problem: string;
}

type FileKey = keyof typeof CONTENT_FILES;

/**
 * One problem as a line: `file: at 'path': problem`.
 *
 * @example
 * ```ts
 * formatProblem({ file: "x/items.json", path: "lamp.name", problem: "expected string" });
 * ```
 */
export function formatProblem(p: ContentProblem): string {
  return `${p.file}: at '${p.path || "(root)"}': ${p.problem}`;
}

const pathText = (path: readonly PropertyKey[]) =>
  path.map((p) => /[.\s]/.test(String(p)) ? JSON.stringify(String(p)) : String(p)).join(".");

/** Unwraps optional, default, pipe and lazy layers down to the schema that has a shape. */
function unwrap(schema: z.ZodType): z.ZodType {
  let s = schema as unknown as { _zod: { def: Record<string, unknown> } };
  for (let i = 0; i < 20; i++) {
    const def = s._zod.def;
    const next = def.innerType ?? (def.type === "pipe" ? def.in : undefined) ??
      (def.type === "lazy" ? (def.getter as () => unknown)() : undefined);
    if (!next) break;
    s = next as typeof s;
  }
  return s as unknown as z.ZodType;
}

/** The keys an object schema at `path` accepts (for did-you-mean). */
function keysAt(schema: z.ZodType, path: readonly PropertyKey[]): string[] {
  const s = unwrap(schema) as unknown as { _zod: { def: Record<string, unknown> } };
  const def = s._zod.def;
  const [head, ...rest] = path;
  if (def.type === "object") {
    const shape = def.shape as Record<string, z.ZodType>;
    if (head === undefined) return Object.keys(shape);
    const child = shape[String(head)];
    return child ? keysAt(child, rest) : [];
  }
  if (def.type === "record") {
    return head === undefined ? [] : keysAt(def.valueType as z.ZodType, rest);
  }
  if (def.type === "array") return head === undefined ? [] : keysAt(def.element as z.ZodType, rest);
  if (def.type === "union") {
    return [...new Set((def.options as z.ZodType[]).flatMap((o) => keysAt(o, path)))];
  }
  return [];
}

/** "did you mean 'name'?" when a known key is within two edits. */
function didYouMean(key: string, known: string[]): string {
  let best: { k: string; d: number } | undefined;
  for (const k of known) {
    const d = editDistance(key.toLowerCase(), k.toLowerCase());
    if (d <= 2 && d < key.length && (!best || d < best.d)) best = { k, d };
  }
  return best ? ` (did you mean '${best.k}'?)` : "";
}

function issues(file: string, schema: z.ZodType, raw: unknown): ContentProblem[] {
  const parsed = schema.safeParse(raw);
  if (parsed.success) return [];
  const out: ContentProblem[] = [];
  for (const issue of parsed.error.issues) {
    const path = pathText(issue.path);
    if (issue.code === "unrecognized_keys") {
      const known = keysAt(schema, issue.path);
      for (const key of issue.keys) {
        out.push({ file, path, problem: `unknown key '${key}'${didYouMean(key, known)}` });
      }
      continue;
    }
    const inner = "issues" in issue && Array.isArray(issue.issues)
      ? (issue.issues as Array<{ message?: string } | Array<{ message?: string }>>).flat()[0]
        ?.message
      : undefined;
    out.push({ file, path, problem: inner ? `${issue.message}: ${inner}` : issue.message });
  }
  return out;
}

/**
 * Every problem of one experience's files (already read: `null` for a file
 * that could not be read).
 *
 * @example
 * ```ts
 * const problems = checkTexts("kb-data/experiences/demo", texts);
 * ```
 */
export function checkTexts(dir: string, texts: Record<FileKey, string | null>): ContentProblem[] {
  const problems: ContentProblem[] = [];
  const parsed: Partial<Record<FileKey, unknown>> = {};
  for (const key of Object.keys(CONTENT_FILES) as FileKey[]) {
    const file = `${dir}/${CONTENT_FILES[key]}`;
    const text = texts[key];
    if (text === null) {
      problems.push({ file, path: "", problem: "missing (every experience has this file)" });
      continue;
    }
    let raw: unknown;
    try {
      raw = withoutSchemaKey(JSON.parse(text));
    } catch (e) {
      problems.push({ file, path: "", problem: `invalid JSON: ${(e as Error).message}` });
      continue;
    }
    const found = issues(file, FILE_SCHEMAS[key], raw);
    problems.push(...found);
    if (found.length === 0) parsed[key] = FILE_SCHEMAS[key].parse(raw);
  }
  // Cross-references only between files that parsed: the rest would repeat their errors.
  if (Object.keys(parsed).length === 4) {
    const exp = { id: "", ...parsed } as unknown as Experience;
    crossCheck(
      { config: exp.config, locations: exp.locations, items: exp.items, npcs: exp.npcs },
      (file, path, problem) =>
        problems.push({ file: `${dir}/${CONTENT_FILES[file]}`, path, problem }),
    );
  }
  return problems;
}

/**
 * Every problem of one experience directory.
 *
 * @example
 * ```ts
 * const problems = await checkExperienceDir("kb-data/experiences/wylding-woods");
 * ```
 */
export async function checkExperienceDir(dir: string): Promise<ContentProblem[]> {
  const texts = {} as Record<FileKey, string | null>;
  for (const [key, name] of Object.entries(CONTENT_FILES)) {
    texts[key as FileKey] = await Deno.readTextFile(`${dir}/${name}`).catch(() => null);
  }
  const name = dir.replace(/\/+$/, "").split("/").pop() ?? "";
  const problems = checkTexts(dir, texts);
  if (!EXPERIENCE_ID.test(name)) {
    problems.unshift({
      file: dir,
      path: "",
      problem: "directory name is not a valid experience id",
    });
  }
  return problems;
}

/**
 * The experience directories under `dir`: `dir` itself when it holds an
 * `experience.json`, else each directory of `dir/experiences/`.
 *
 * @example
 * ```ts
 * await experienceDirs("kb-data"); // ["kb-data/experiences/drowned-lighthouse", ...]
 * ```
 */
export async function experienceDirs(dir: string): Promise<string[]> {
  const root = dir.replace(/\/+$/, "") || ".";
  if (await Deno.stat(`${root}/${CONTENT_FILES.config}`).then(() => true, () => false)) {
    return [root];
  }
  const out: string[] = [];
  for await (const e of Deno.readDir(`${root}/experiences`)) {
    if (e.isDirectory && !e.name.startsWith(".")) out.push(`${root}/experiences/${e.name}`);
  }
  return out.sort();
}

if (import.meta.main) {
  const dir = Deno.args[0] ?? "./kb-data";
  let dirs: string[];
  try {
    dirs = await experienceDirs(dir);
  } catch (e) {
    console.error(
      `${dir}: no experience.json and no experiences/ directory (${(e as Error).message})`,
    );
    Deno.exit(1);
  }
  let count = 0;
  for (const d of dirs) {
    const problems = await checkExperienceDir(d);
    for (const p of problems) console.log(formatProblem(p));
    count += problems.length;
  }
  const summary = `${dirs.length} experience${dirs.length === 1 ? "" : "s"}, ${count} problem${
    count === 1 ? "" : "s"
  }`;
  if (count) {
    console.error(summary);
    Deno.exit(1);
  }
  console.error(`${summary}: all good`);
}
