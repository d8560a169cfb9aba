/**
 * Typed entry point of the delta implementation in `apply.js` (plain
 * JavaScript so the browser client loads the very same file).
 *
 * @example
 * ```ts
 * import { applyWorldUpdate } from "./apply.ts";
 * const next = applyWorldUpdate(snapshot, event);
 * ```
 *
 * @module
 */
export {
  applyOperations,
  applyWorldUpdate,
  escapePathSegment,
  joinPath,
  RESERVED_SEGMENTS,
  splitPath,
  VersionGapError,
} from "./apply.js";
export type { Delta, Operation, Snapshot } from "./apply.js";
