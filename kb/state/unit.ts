/**
 * What a unit is: the set of files one lock guards and one version counts (a
 * shared experience's world with all its players' profiles, or one player's
 * view of an isolated experience), and the layout that names them under
 * `STATE_DIR` (see `kb/STATE.md`, "Layout").
 *
 * @module
 */
import type { StateModel } from "../../shared/schema.ts";
import { fileNameFor } from "../../shared/subjects.ts";

/** The files of one lock unit. All paths are under the store's `stateDir`. */
export interface Unit {
  /**
   * What names the unit to the rest of the KB (rate limits, the event
   * publisher, acknowledgements): unique per unit and backend. For files it
   * is the unit's directory.
   */
  readonly key: string;
  /** Directory of the lock and intent files. */
  readonly dir: string;
  readonly lock: string;
  readonly intent: string;
  /** `{version, world}`, relative to `dir`. */
  readonly world: string;
  /** `{user_id, player}` of the acting user, relative to `dir`. */
  readonly player: string;
  /** Metric labels: the catalog's experience id and its state model. */
  readonly experience: string;
  readonly model: StateModel;
}

/**
 * The unit `userId` acts on in `experience`. Names come from `fileNameFor`,
 * so ids such as `../x` stay one safe file name inside `stateDir`.
 *
 * @example
 * ```ts
 * const unit = await unitFor("/state", "wylding-woods", "shared", "alice");
 * unit.dir; // "/state/experiences/wylding-woods" (also its key)
 * unit.player; // "players/alice.json"
 * ```
 */
export async function unitFor(
  stateDir: string,
  experience: string,
  model: StateModel,
  userId: string,
): Promise<Unit> {
  const expDir = `${stateDir}/experiences/${await fileNameFor(experience)}`;
  const user = await fileNameFor(userId);
  const dir = model === "shared" ? expDir : `${expDir}/players/${user}`;
  const player = model === "shared" ? `players/${user}.json` : "player.json";
  return {
    key: dir,
    dir,
    lock: `${dir}/.lock`,
    intent: `${dir}/.intent`,
    world: "world.json",
    player,
    experience,
    model,
  };
}

/**
 * The unit whose files live in `dir`, for work that needs only its lock,
 * intent and world (the start-up sweep): no player file, no metric labels.
 *
 * @example
 * ```ts
 * const unit = unitAt("/state/experiences/wylding-woods");
 * await store.recover(unit);
 * ```
 */
export function unitAt(dir: string): Unit {
  return {
    key: dir,
    dir,
    lock: `${dir}/.lock`,
    intent: `${dir}/.intent`,
    world: "world.json",
    player: "player.json",
    experience: "",
    model: "shared",
  };
}
