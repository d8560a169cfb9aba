/** Types of apply.js (browser-safe delta application). */
/** One operation; structurally the `StateOperation` of `schema.ts`. */
export interface Operation {
  operation: "add" | "remove" | "update";
  path: string;
  data: Record<string, unknown>;
}
/** The parts of a world update that applying needs. */
export interface Delta {
  version: number;
  changes: { world?: Operation[]; player?: Operation[] };
}
/** The parts of a snapshot that applying changes. */
export interface Snapshot {
  version: number;
  world: Record<string, unknown>;
  player: Record<string, unknown>;
}
/** Path segments `applyOperations` refuses (prototype pollution guards). */
export const RESERVED_SEGMENTS: ReadonlySet<string>;
/** Escapes one path segment so ids containing `.` or `~` stay one segment. */
export function escapePathSegment(segment: string): string;
/** Splits a dotted path into unescaped segments. */
export function splitPath(path: string): string[];
/** Joins raw segments into a dotted path, escaping each. */
export function joinPath(...segments: string[]): string;
/** Applies operations to a plain object in place. */
export function applyOperations(target: Record<string, unknown>, ops: readonly Operation[]): void;
/** An event skipped a version: refetch the snapshot. */
export class VersionGapError extends Error {
  constructor(expected: number, got: number);
  /** The version the snapshot needed next. */
  readonly expected: number;
  /** The event's version. */
  readonly got: number;
}
/**
 * Returns a new snapshot with the event applied; the same snapshot for an
 * event it already contains; throws {@linkcode VersionGapError} when the
 * event skips a version.
 */
export function applyWorldUpdate<S extends Snapshot>(snapshot: S, event: Delta): S;
