/**
 * A unit's documents: the copies cached with its open handles, the check
 * that says when they may be trusted, and reading them from the files with a
 * committed intent overlaid (`kb/STATE.md`, "Cached documents"). Every
 * method is called with the unit's lock held.
 *
 * @module
 */
import { LruMap } from "../../shared/lru.ts";
import type { WorldUpdateEvent } from "../../shared/schema.ts";
import type { UnitState } from "./backend.ts";
import type { DecidedBatch } from "./batch.ts";
import type { UnitHandles, UnitIo } from "./commit.ts";
import { deepFreeze, peekVersion, readJson, sameFile } from "./files.ts";
import { parseIntent } from "./intent.ts";
import { readOutbox } from "./outbox.ts";
import type { Unit } from "./unit.ts";

type Doc = Record<string, unknown>;

/**
 * A unit's documents as of `version` (deep-frozen). Valid while `world.json`
 * starts with that version and `.intent` is empty: every commit by any
 * process rewrites `world.json` with a higher version, and a writer that died
 * before doing so left a non-empty intent.
 */
export interface Cached {
  version: number;
  world: Doc | null;
  /** The unit's outbox as `world.json` holds it (see `outbox.ts`). */
  outbox: readonly WorldUpdateEvent[];
  /** Player file (relative) -> its document; null when the file does not exist. */
  players: LruMap<string, Doc | null>;
}

/** A unit's open handles with its cached documents. */
export interface CachedUnit extends UnitHandles {
  cache?: Cached;
}

/**
 * Cached documents of units and their reading from files.
 *
 * @example
 * ```ts
 * const docs = new UnitDocs(io, 1000);
 * const c = docs.valid(unit, u); // under the lock
 * const player = c ? docs.player(unit, c) : docs.read(unit, u).player;
 * ```
 */
export class UnitDocs {
  readonly #io: UnitIo;
  readonly #maxPlayers: number;

  constructor(io: UnitIo, maxPlayers: number) {
    this.#io = io;
    this.#maxPlayers = Math.max(1, maxPlayers);
  }

  /**
   * The cached documents if they are still what is on disk (see
   * {@linkcode Cached}); otherwise forgets them and returns undefined.
   */
  valid(unit: Unit, u: CachedUnit): Cached | undefined {
    const c = u.cache;
    if (!c) return undefined;
    // The lock check catches a unit directory deleted and recreated by another
    // process up to the same version: its files are not the ones we cached.
    if (
      this.#io.intentSize(unit, u) === 0 &&
      peekVersion(`${unit.dir}/${unit.world}`) === c.version &&
      sameFile(unit.lock, u.lock)
    ) {
      return c;
    }
    u.cache = undefined;
    return undefined;
  }

  /** A player's document from the cache, read from disk on a miss. */
  player(unit: Unit, c: Cached): Doc | null {
    let doc = c.players.get(unit.player);
    if (doc === undefined) {
      const raw = readJson(`${unit.dir}/${unit.player}`);
      doc = deepFreeze((raw?.player as Doc | undefined) ?? null);
      c.players.set(unit.player, doc);
    }
    return doc;
  }

  /**
   * Reads the files, a committed intent in place of the ones it replaces
   * (readers never replay), with the unit's outbox as they hold it. Caches
   * what it read when no commit is pending.
   */
  read(unit: Unit, u: CachedUnit): { state: UnitState; outbox: readonly WorldUpdateEvent[] } {
    const w = readJson(`${unit.dir}/${unit.world}`);
    const p = readJson(`${unit.dir}/${unit.player}`);
    const state: UnitState = {
      version: typeof w?.version === "number" ? w.version : 0,
      world: deepFreeze((w?.world as Doc | undefined) ?? null),
      player: deepFreeze((p?.player as Doc | undefined) ?? null),
    };
    const outbox = deepFreeze(readOutbox(w?.outbox));
    const text = this.#io.intentText(unit, u);
    if (text === "") {
      // No commit in flight: this is the unit as of its version, worth caching.
      if (state.version > 0) {
        u.cache = this.#cached(state.version, state.world, outbox);
        u.cache.players.set(unit.player, state.player);
      }
      return { state, outbox };
    }
    const intent = parseIntent(text);
    if (!intent || intent.version < state.version) return { state, outbox };
    const iw = intent.files[unit.world] ? JSON.parse(intent.files[unit.world]!) : undefined;
    const ip = intent.files[unit.player];
    return {
      state: {
        version: intent.version,
        world: iw ? deepFreeze(iw.world) : state.world,
        player: ip ? deepFreeze(JSON.parse(ip).player) : state.player,
      },
      outbox: iw ? deepFreeze(readOutbox(iw.outbox)) : outbox,
    };
  }

  /** Reads the unit's world and outbox after recovery (no intent pending) and caches them if the unit exists. */
  load(unit: Unit, u: CachedUnit): Cached {
    const doc = readJson(`${unit.dir}/${unit.world}`);
    const c = this.#cached(
      typeof doc?.version === "number" ? doc.version : 0,
      deepFreeze((doc?.world as Doc | undefined) ?? null),
      deepFreeze(readOutbox(doc?.outbox)),
    );
    if (c.version > 0) u.cache = c;
    return c;
  }

  /** Keeps what a completed commit wrote: the files now hold exactly this. */
  keep(
    u: CachedUnit,
    c: Cached,
    b: DecidedBatch,
    outbox: readonly WorldUpdateEvent[],
  ): void {
    for (const [rel, pd] of b.players) {
      if (pd.dirty) c.players.set(rel, deepFreeze(pd.player));
    }
    u.cache = {
      version: b.version,
      world: deepFreeze(b.world),
      outbox: deepFreeze(outbox),
      players: c.players,
    };
  }

  #cached(version: number, world: Doc | null, outbox: readonly WorldUpdateEvent[]): Cached {
    return { version, world, outbox, players: new LruMap({ max: this.#maxPlayers }) };
  }
}
