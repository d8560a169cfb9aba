/**
 * The write-ahead intent codec: the full new content of every file of one
 * commit, with a checksum so a torn write is recognisable, naming only the
 * store's own state files. Writing, syncing and replaying it is `commit.ts`.
 *
 * @module
 */
import { createHash } from "node:crypto";

/** A write-ahead intent: the full new content of every file of one commit. */
export interface Intent {
  version: number;
  /** Path relative to the unit directory -> new content. */
  files: Record<string, string>;
}

/** Relative paths an intent may name: our own state files, nothing else. */
const SAFE_REL = /^(players\/)?[A-Za-z0-9_-]+\.json$/;

/**
 * Whether an intent may name `rel` (a unit's `world.json`, `player.json` or
 * `players/<user>.json`): a forged intent cannot reach outside the unit.
 *
 * @example
 * ```ts
 * isStatePath("players/alice.json"); // true
 * isStatePath("../x.json"); // false
 * ```
 */
export function isStatePath(rel: string): boolean {
  return SAFE_REL.test(rel);
}

function sha256(text: string): string {
  return createHash("sha256").update(text).digest("hex");
}

/**
 * Serialises an intent with a checksum, so a torn write is recognisable.
 *
 * @example
 * ```ts
 * const text = encodeIntent({ version, files });
 * ```
 */
export function encodeIntent(intent: Intent): string {
  const body = JSON.stringify(intent);
  return JSON.stringify({ body, sum: sha256(body) });
}

/**
 * The intent in `text` if it is complete and names only state files;
 * undefined for "" (no intent) and for a torn or foreign one.
 *
 * @example
 * ```ts
 * const intent = parseIntent(Deno.readTextFileSync(unit.intent));
 * ```
 */
export function parseIntent(text: string): Intent | undefined {
  if (text === "") return undefined;
  try {
    const { body, sum } = JSON.parse(text) as { body: unknown; sum: unknown };
    if (typeof body !== "string" || sum !== sha256(body)) return undefined;
    const intent = JSON.parse(body) as Intent;
    if (typeof intent.version !== "number") return undefined;
    if (Object.keys(intent.files).some((rel) => !isStatePath(rel))) return undefined;
    return intent;
  } catch {
    return undefined;
  }
}
