/**
 * Moving a world between backends: copies a `files` state directory into
 * the `nats` backend's buckets, and back, unit by unit, with its version,
 * its outbox and what is acknowledged, so a world changes backend without
 * loss. Run it while no KB serves the worlds (stop them first): it does
 * not lock against a running KB.
 *
 * - files → nats: each unit's pending intent is replayed first (a KB that
 *   died mid-commit), then its documents become one value (`kv_unit.ts`).
 *   A key that already holds a version above 0 is left alone unless `force`.
 * - nats → files: each key becomes the unit's `world.json` (with its outbox),
 *   its players' files and `.acked`. A unit whose `world.json` exists is
 *   left alone unless `force`.
 *
 * @module
 */
import type { KvBucket } from "../../shared/bus/mod.ts";
import type { StateModel } from "../../shared/schema.ts";
import { fileNameFor } from "../../shared/subjects.ts";
import { ACKED_FILE } from "./ack_marks.ts";
import { worldDocument } from "./batch.ts";
import { readJson, readTextOrUndefined } from "./files.ts";
import {
  decodeUnit,
  encodeUnit,
  type KvUnitDoc,
  STATE_BUCKET_PREFIX,
  WORLD_KEY,
} from "./kv_unit.ts";
import { readOutbox } from "./outbox.ts";
import { StateStore } from "./store.ts";
import { unitAt } from "./unit.ts";

type Doc = Record<string, unknown>;

/** What a copy did, per unit. */
export interface CopyReport {
  copied: { unit: string; version: number }[];
  /** Units left alone: the target already had them. */
  skipped: { unit: string; reason: string }[];
}

/** Opens a state bucket of the `nats` backend (`NatsBus.kv`). */
export type OpenBucket = (name: string, singleKey: boolean) => Promise<KvBucket>;

/** The experiences to copy: ids with their state models (the catalog's listing). */
export type ExperienceList = readonly { id: string; state_model: StateModel }[];

/**
 * Copies every unit of `experiences` from `stateDir` into the buckets.
 *
 * @example
 * ```ts
 * const report = await copyFilesToNats("./.state", experiences, (name, singleKey) => bus.kv({ name, singleKey }));
 * ```
 */
export async function copyFilesToNats(
  stateDir: string,
  experiences: ExperienceList,
  openBucket: OpenBucket,
  opts: { force?: boolean } = {},
): Promise<CopyReport> {
  const report: CopyReport = { copied: [], skipped: [] };
  const store = new StateStore(stateDir);
  try {
    for (const exp of experiences) {
      const token = await fileNameFor(exp.id);
      const expDir = `${stateDir}/experiences/${token}`;
      const shared = exp.state_model === "shared";
      const bucket = await openBucket(`${STATE_BUCKET_PREFIX}${token}`, shared);
      const units = shared
        ? [{ dir: expDir, key: WORLD_KEY }]
        : listDirs(`${expDir}/players`).map((u) => ({
          dir: `${expDir}/players/${u}`,
          key: `p.${u}`,
        }));
      for (const { dir, key } of units) {
        await store.recover(unitAt(dir));
        const doc = readUnitFiles(dir, shared);
        if (!doc) continue; // never written
        const name = `${bucket.name}/${key}`;
        const existing = await bucket.get(key);
        if (existing && decodeUnit(existing.value).version > 0 && !opts.force) {
          report.skipped.push({ unit: name, reason: "the bucket already holds this unit" });
          continue;
        }
        const value = encodeUnit(doc);
        if (existing) await bucket.update(key, value, existing.revision);
        else await bucket.create(key, value);
        report.copied.push({ unit: name, version: doc.version });
      }
    }
  } finally {
    await store.close();
  }
  return report;
}

/**
 * Copies every unit of `experiences` from the buckets into `stateDir`.
 *
 * @example
 * ```ts
 * const report = await copyNatsToFiles(experiences, openBucket, "./.state");
 * ```
 */
export async function copyNatsToFiles(
  experiences: ExperienceList,
  openBucket: OpenBucket,
  stateDir: string,
  opts: { force?: boolean } = {},
): Promise<CopyReport> {
  const report: CopyReport = { copied: [], skipped: [] };
  for (const exp of experiences) {
    const token = await fileNameFor(exp.id);
    const shared = exp.state_model === "shared";
    const bucket = await openBucket(`${STATE_BUCKET_PREFIX}${token}`, shared);
    for (const key of await bucket.keys()) {
      const e = await bucket.get(key);
      if (!e) continue;
      const doc = decodeUnit(e.value);
      const name = `${bucket.name}/${key}`;
      if (doc.version === 0) continue; // created empty, never written
      const expDir = `${stateDir}/experiences/${token}`;
      const dir = shared ? expDir : `${expDir}/players/${key.slice(2)}`;
      if (readTextOrUndefined(`${dir}/world.json`) !== undefined && !opts.force) {
        report.skipped.push({ unit: name, reason: `${dir}/world.json exists` });
        continue;
      }
      await writeUnitFiles(dir, shared, doc);
      report.copied.push({ unit: name, version: doc.version });
    }
  }
  return report;
}

/** A unit's documents from its files (after recovery), or undefined when it has none. */
function readUnitFiles(dir: string, shared: boolean): KvUnitDoc | undefined {
  const w = readJson(`${dir}/world.json`);
  if (!w || typeof w.version !== "number") return undefined;
  const players: Record<string, Doc> = {};
  const files = shared
    ? listFiles(`${dir}/players`).map((f) => `${dir}/players/${f}`)
    : [`${dir}/player.json`];
  for (const path of files) {
    const p = readJson(path);
    if (p && typeof p.user_id === "string" && p.player) players[p.user_id] = p.player as Doc;
  }
  const acked = Number(readTextOrUndefined(`${dir}/${ACKED_FILE}`)?.trim() ?? 0);
  return {
    version: w.version,
    acked: Number.isSafeInteger(acked) ? acked : 0,
    outbox: readOutbox(w.outbox),
    world: (w.world as Doc | undefined) ?? null,
    players,
  };
}

/** Writes a unit's files (each through a temp file and a rename). */
async function writeUnitFiles(dir: string, shared: boolean, doc: KvUnitDoc): Promise<void> {
  await Deno.mkdir(shared ? `${dir}/players` : dir, { recursive: true });
  const write = async (path: string, text: string) => {
    await Deno.writeTextFile(`${path}.tmp`, text);
    await Deno.rename(`${path}.tmp`, path);
  };
  for (const [userId, player] of Object.entries(doc.players)) {
    const path = shared ? `${dir}/players/${await fileNameFor(userId)}.json` : `${dir}/player.json`;
    await write(path, JSON.stringify({ user_id: userId, player }));
  }
  await write(`${dir}/${ACKED_FILE}`, String(doc.acked));
  // Last: a unit counts as present once its world is.
  await write(`${dir}/world.json`, worldDocument(doc.version, doc.outbox, doc.world));
}

function listDirs(dir: string): string[] {
  try {
    return [...Deno.readDirSync(dir)].filter((e) => e.isDirectory).map((e) => e.name).sort();
  } catch {
    return [];
  }
}

function listFiles(dir: string): string[] {
  try {
    return [...Deno.readDirSync(dir)]
      .filter((e) => e.isFile && e.name.endsWith(".json"))
      .map((e) => e.name)
      .sort();
  } catch {
    return [];
  }
}
