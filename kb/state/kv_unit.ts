/**
 * A unit of the `nats` state backend: one key of the state bucket, and the
 * value stored under it. The value holds everything one commit changes, so
 * one compare-and-set write covers a whole batch:
 *
 * ```
 * {"version":n,"acked":a,"outbox":[...],"world":{...},"players":{"<user id>":{...}}}
 * ```
 *
 * - `version`: the unit's version (every commit bumps it, as with files);
 * - `acked`: the highest version known acknowledged by JetStream (whoever
 *   commits next drops those events from the outbox, whichever KB it is);
 * - `outbox`: the committed events not known to be acknowledged;
 * - `players`: the profile of each player who ever changed something in
 *   this unit (a shared world's players, or the one player of an isolated
 *   world). A player who only looks is never written.
 *
 * Buckets and keys: one bucket per experience, `gaia_state_<experience>`;
 * in it the key `world` (a shared experience: its only key) or one key
 * `p.<user>` per player (an isolated experience); names are `fileNameFor`
 * of the ids (subject-safe, injective, at most 160 characters or a SHA-256).
 * A shared world is alone in its bucket so that its compare-and-set can be
 * on the bucket stream's last sequence, which nats-server checks atomically
 * in a cluster; the per-key check is not atomic there before 2.9.21
 * (nats-server#4320: measured here on 2.9.10, 160 of 626 concurrent writes
 * won from the same revision).
 *
 * @module
 */
import type { StateModel, WorldUpdateEvent } from "../../shared/schema.ts";
import { fileNameFor } from "../../shared/subjects.ts";
import { deepFreeze } from "./files.ts";
import { outboxJson, readOutbox } from "./outbox.ts";
import type { Unit } from "./unit.ts";

type Doc = Record<string, unknown>;

/** What one key of the state bucket holds. */
export interface KvUnitDoc {
  version: number;
  acked: number;
  outbox: readonly WorldUpdateEvent[];
  world: Doc | null;
  /** User id -> profile (frozen as handed out). */
  players: Readonly<Record<string, Doc>>;
}

/** The value of a unit that was never written. */
export const EMPTY_UNIT: KvUnitDoc = Object.freeze({
  version: 0,
  acked: 0,
  outbox: [],
  world: null,
  players: {},
});

/** Prefix of the state buckets: one bucket per experience, `gaia_state_<experience>`. */
export const STATE_BUCKET_PREFIX = "gaia_state_";

/** The key of a shared world in its experience's bucket (the bucket's only key). */
export const WORLD_KEY = "world";

/**
 * The unit `userId` acts on in `experience`, on the `nats` backend: `dir`
 * is the experience's bucket, `lock` the key in it (`world` for a shared
 * world, the bucket's only key; `p.<user>` for a player's isolated world),
 * `key` both (what names the unit to the publisher), and `player` the user
 * id (the entry of `players` the action reads).
 *
 * @example
 * ```ts
 * const unit = await kvUnitFor("wylding-woods", "shared", "alice");
 * unit.dir; // "gaia_state_wylding-woods"
 * unit.lock; // "world"
 * ```
 */
export async function kvUnitFor(
  experience: string,
  model: StateModel,
  userId: string,
): Promise<Unit> {
  const bucket = `${STATE_BUCKET_PREFIX}${await fileNameFor(experience)}`;
  const key = model === "shared" ? WORLD_KEY : `p.${await fileNameFor(userId)}`;
  return {
    key: `${bucket}/${key}`,
    dir: bucket,
    lock: key,
    intent: "",
    world: "",
    player: userId,
    experience,
    model,
  };
}

const texts = new WeakMap<object, string>();

/** A document's JSON, serialised once per (frozen) object: unchanged profiles are not re-encoded. */
function docJson(doc: Doc): string {
  let t = texts.get(doc);
  if (t === undefined) {
    t = JSON.stringify(doc);
    if (Object.isFrozen(doc)) texts.set(doc, t);
  }
  return t;
}

/**
 * The text stored for a unit.
 *
 * @example
 * ```ts
 * encodeUnit(EMPTY_UNIT); // '{"version":0,"acked":0,"outbox":[],"world":null,"players":{}}'
 * ```
 */
export function encodeUnit(doc: KvUnitDoc): string {
  const players = Object.entries(doc.players).map(([id, p]) =>
    `${JSON.stringify(id)}:${docJson(p)}`
  );
  return `{"version":${doc.version},"acked":${doc.acked},"outbox":${
    outboxJson(doc.outbox)
  },"world":${JSON.stringify(doc.world)},"players":{${players.join(",")}}}`;
}

/**
 * Parses a stored unit (deep-frozen). A value that is not a unit throws:
 * the store must not decide on a document it cannot read.
 *
 * @example
 * ```ts
 * const doc = decodeUnit(entry.value);
 * ```
 */
export function decodeUnit(value: Uint8Array | string): KvUnitDoc {
  const text = typeof value === "string" ? value : new TextDecoder().decode(value);
  const raw = JSON.parse(text);
  if (typeof raw !== "object" || raw === null || typeof raw.version !== "number") {
    throw new Error("not a state unit");
  }
  const players = typeof raw.players === "object" && raw.players !== null ? raw.players : {};
  return deepFreeze({
    version: raw.version,
    acked: typeof raw.acked === "number" ? raw.acked : 0,
    outbox: readOutbox(raw.outbox),
    world: typeof raw.world === "object" ? raw.world : null,
    players,
  });
}
