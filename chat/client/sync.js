/**
 * Keeps the client's snapshot in step with the server: applies every
 * `world_update` once (deduplicated by id, since the actor gets its event on
 * both the chat stream and the world stream), in version order, with the
 * shared `applyWorldUpdate` (served from `/shared/apply.js`, the file the
 * server uses).
 *
 * Versions: one strictly increasing counter per world (a shared world counts
 * every action, even player-only ones, and publishes every event to all its
 * players), so a snapshot at version v already contains every event <= v and
 * the next event is v + 1. An event further ahead waits briefly for the
 * missing ones (the chat stream may overtake the world stream); if they do
 * not come, the snapshot is refetched (`applyWorldUpdate` refuses to skip a
 * version), and held events newer than it are applied on top.
 *
 * @module
 */
import { applyWorldUpdate } from "/shared/apply.js";

const SEEN_LIMIT = 4096;
const RECENT_LIMIT = 128;

/**
 * One experience's live snapshot.
 *
 * @example
 * ```js
 * const sync = new WorldSync({ experience, fetchSnapshot, onChange });
 * await sync.load("initial");
 * sync.receive(event);
 * ```
 */
export class WorldSync {
  /**
   * @param {{
   *   experience: string,
   *   fetchSnapshot: () => Promise<any>,
   *   onChange: (prev: any, next: any, events: any[], reason: string) => void,
   *   onError?: (e: unknown) => void,
   *   holdMs?: number,
   * }} opts
   */
  constructor(opts) {
    this.opts = opts;
    this.snapshot = null;
    this.seen = new Set();
    /** Applied events, newest last: re-applied if a refetched snapshot predates them. */
    this.recent = [];
    /** Events that arrived while a snapshot was being fetched. */
    this.buffered = [];
    /** Events ahead of the snapshot, by version. */
    this.held = new Map();
    this.holdTimer = undefined;
    this.loading = null;
    this.again = false;
    this.closed = false;
    this.stats = { applied: 0, duplicates: 0, stale: 0, gaps: 0, loads: 0 };
  }

  /** Fetches the snapshot (coalescing concurrent calls) and re-applies newer events. */
  load(reason) {
    if (this.loading) {
      this.again = true;
      return this.loading;
    }
    this.loading = (async () => {
      do {
        this.again = false;
        const snap = await this.opts.fetchSnapshot();
        if (this.closed) return;
        this.stats.loads++;
        this.install(snap, reason);
      } while (this.again);
    })().finally(() => this.loading = null);
    return this.loading;
  }

  /** @returns {boolean} whether the event was new */
  receive(event) {
    if (this.closed || event.experience !== this.opts.experience) return false;
    if (this.seen.has(event.id)) {
      this.stats.duplicates++;
      return false;
    }
    this.seen.add(event.id);
    if (this.seen.size > SEEN_LIMIT) this.seen.delete(this.seen.values().next().value);
    if (!this.snapshot || this.loading) this.buffered.push(event);
    else this.ingest([event], "update");
    return true;
  }

  install(snap, reason) {
    const prev = this.snapshot;
    this.snapshot = snap;
    const pool = [...this.recent, ...this.buffered, ...this.held.values()];
    this.buffered = [];
    this.held.clear();
    this.recent = [];
    const applied = this.advance(pool);
    this.opts.onChange(prev, this.snapshot, applied, reason);
    this.checkGap();
  }

  ingest(events, reason) {
    const prev = this.snapshot;
    const applied = this.advance(events);
    if (applied.length) this.opts.onChange(prev, this.snapshot, applied, reason);
    this.checkGap();
  }

  /** Holds events ahead of the snapshot, then applies every contiguous one. */
  advance(events) {
    for (const e of events) {
      if (e.version <= this.snapshot.version) this.stats.stale++;
      else if (!this.held.has(e.version)) this.held.set(e.version, e);
    }
    const applied = [];
    for (;;) {
      const next = this.held.get(this.snapshot.version + 1);
      if (!next) break;
      this.held.delete(next.version);
      this.apply(next);
      applied.push(next);
    }
    return applied;
  }

  apply(event) {
    this.snapshot = applyWorldUpdate(this.snapshot, event);
    this.stats.applied++;
    this.recent.push(event);
    if (this.recent.length > RECENT_LIMIT) this.recent.shift();
  }

  checkGap() {
    if (this.held.size === 0) {
      clearTimeout(this.holdTimer);
      this.holdTimer = undefined;
      return;
    }
    if (this.holdTimer !== undefined) return;
    this.holdTimer = setTimeout(() => {
      this.holdTimer = undefined;
      if (this.closed || this.held.size === 0 || this.loading) return;
      // The missing versions did not come: the server's snapshot has them.
      // What is held stays held and is applied on top if still newer.
      this.stats.gaps++;
      this.load("gap").catch((e) => this.opts.onError?.(e));
    }, this.opts.holdMs ?? 300);
  }

  close() {
    this.closed = true;
    clearTimeout(this.holdTimer);
  }
}
