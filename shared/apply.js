// @ts-self-types="./apply.d.ts"
/**
 * The one implementation of applying world-update deltas, used by the KB to
 * change its state, by tests, and by the browser client (this file is
 * browser-safe: plain JavaScript, no imports, no Deno APIs, served as-is to
 * the browser client; types live in apply.d.ts).
 *
 * Operations (all on dotted paths, segments escaped with
 * {@linkcode escapePathSegment}; "" is the root object):
 * - `add`: set the value at `path` to `data` (creating parents).
 * - `remove`: delete the key at `path` (`data` is ignored).
 * - `update`: shallow-merge `data` into the object at `path` (creating it).
 *
 * @module
 */

/**
 * Escapes one path segment so ids containing `.` or `~` stay one segment.
 *
 * @example
 * ```ts
 * escapePathSegment("a.b"); // "a~1b"
 * ```
 */
export function escapePathSegment(segment) {
  return segment.replaceAll("~", "~0").replaceAll(".", "~1");
}

/**
 * Splits a dotted path into unescaped segments.
 *
 * @example
 * ```ts
 * splitPath("players.a~1b"); // ["players", "a.b"]
 * ```
 */
export function splitPath(path) {
  if (path === "") return [];
  return path.split(".").map((s) => s.replaceAll("~1", ".").replaceAll("~0", "~"));
}

/**
 * Joins raw segments into a dotted path, escaping each.
 *
 * @example
 * ```ts
 * joinPath("players", "a.b"); // "players.a~1b"
 * ```
 */
export function joinPath(...segments) {
  return segments.map(escapePathSegment).join(".");
}

/**
 * Path segments {@linkcode applyOperations} refuses (they could reach or
 * replace prototypes), so they can be neither content ids nor user ids. The
 * one list: the KB's checks use this set.
 *
 * @example
 * ```ts
 * RESERVED_SEGMENTS.has("constructor"); // true
 * ```
 */
export const RESERVED_SEGMENTS = new Set(["__proto__", "prototype", "constructor"]);

/** @param {unknown} v @returns {v is Record<string, unknown>} */
function isObject(v) {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** @template T @param {T} value @returns {T} */
function clone(value) {
  return structuredClone(value);
}

/**
 * Applies operations to a plain object in place. Throws on paths that try to
 * reach prototypes or walk through non-objects.
 *
 * @example
 * ```ts
 * const world = { items: {} };
 * applyOperations(world, [{ operation: "add", path: "items.bottle", data: { name: "Bottle" } }]);
 * ```
 */
export function applyOperations(target, ops) {
  for (const op of ops) {
    const segments = splitPath(op.path);
    for (const s of segments) {
      if (RESERVED_SEGMENTS.has(s)) throw new Error(`forbidden path segment in ${op.path}`);
    }
    if (segments.length === 0) {
      if (op.operation !== "update") throw new Error(`${op.operation} needs a non-empty path`);
      Object.assign(target, clone(op.data));
      continue;
    }
    /** @type {Record<string, unknown> | undefined} */
    let node = target;
    for (const s of segments.slice(0, -1)) {
      let next = node[s];
      if (next === undefined) {
        // Removing under a missing parent is a no-op, not a reason to create it.
        if (op.operation === "remove") {
          node = undefined;
          break;
        }
        next = {};
        node[s] = next;
      }
      if (!isObject(next)) throw new Error(`path ${op.path} walks through a non-object`);
      node = next;
    }
    if (!node) continue;
    const last = segments[segments.length - 1];
    switch (op.operation) {
      case "add":
        node[last] = clone(op.data);
        break;
      case "remove":
        delete node[last];
        break;
      case "update": {
        const current = node[last];
        if (current !== undefined && !isObject(current)) {
          throw new Error(`update target ${op.path} is not an object`);
        }
        node[last] = Object.assign(current ?? {}, clone(op.data));
        break;
      }
    }
  }
}

/**
 * The event's version skips ahead of the snapshot: an event between them is
 * missing, so applying this one would show a world that never was. The
 * caller refetches the snapshot (and may then apply the event, if it is
 * still newer).
 */
export class VersionGapError extends Error {
  /**
   * @param {number} expected the version the snapshot needs next
   * @param {number} got the event's version
   */
  constructor(expected, got) {
    super(`world_update version ${got} does not follow the snapshot (next is ${expected})`);
    this.name = "VersionGapError";
    this.expected = expected;
    this.got = got;
  }
}

/**
 * Returns a new snapshot with the event applied: world operations to
 * `world`, player operations to `player`, and the event's version. The
 * input snapshot is not modified. An event the snapshot already contains
 * (version not above the snapshot's) changes nothing and returns the same
 * snapshot; one that skips a version throws {@linkcode VersionGapError}, the
 * signal to refetch the snapshot (DESIGN.md guarantee 9).
 *
 * @example
 * ```ts
 * try {
 *   snapshot = applyWorldUpdate(snapshot, event);
 * } catch (e) {
 *   if (e instanceof VersionGapError) snapshot = await refetch();
 *   else throw e;
 * }
 * ```
 */
export function applyWorldUpdate(snapshot, event) {
  if (event.version <= snapshot.version) return snapshot;
  if (event.version !== snapshot.version + 1) {
    throw new VersionGapError(snapshot.version + 1, event.version);
  }
  const next = clone(snapshot);
  applyOperations(next.world, event.changes.world ?? []);
  applyOperations(next.player, event.changes.player ?? []);
  next.version = event.version;
  return next;
}
