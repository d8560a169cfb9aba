/**
 * Who is present in one experience, from presence beats (shared by chat's
 * presence service and the KB's snapshot): user → process → last beat. A
 * user is present while any process says so; the newest beat says where.
 * Pure: time is passed in, so callers use their injected clock.
 *
 * @module
 */
import type { Presence, PresenceBeat } from "./presence_schema.ts";

/** A user's place as the newest beat says. */
export interface RosterPlace {
  name: string;
  location: string;
}

interface Seen extends RosterPlace {
  seenAt: number;
}

/** A change of the roster: someone arrived or moved (`here`) or left. */
export type RosterChange = Presence;

/**
 * One experience's roster.
 *
 * @example
 * ```ts
 * const roster = new Roster();
 * roster.apply(beat, clock.now()); // → a `presence` change, or undefined
 * roster.expire(clock.now(), 10_000, ownProcessId); // changes of processes gone silent
 * roster.present(); // [{ user_id, name, location, state: "here" }]
 * ```
 */
export class Roster {
  readonly #users = new Map<string, Map<string, Seen>>();

  /** Applies one beat; returns the change it makes (none for a plain heartbeat). */
  apply(beat: PresenceBeat, now: number): RosterChange | undefined {
    const entries = this.#users.get(beat.user_id) ?? new Map<string, Seen>();
    const before = newest(entries);
    if (beat.state === "left") entries.delete(beat.process);
    else entries.set(beat.process, { name: beat.name, location: beat.location, seenAt: now });
    return this.#settle(beat.user_id, entries, before);
  }

  /**
   * Forgets the beats of processes (other than `keep`) not heard from for
   * `maxAgeMs`; returns the changes (users who left with them).
   */
  expire(now: number, maxAgeMs: number, keep?: string): RosterChange[] {
    const changes: RosterChange[] = [];
    for (const [userId, entries] of [...this.#users]) {
      const before = newest(entries);
      for (const [process, seen] of [...entries]) {
        if (process !== keep && now - seen.seenAt >= maxAgeMs) entries.delete(process);
      }
      const change = this.#settle(userId, entries, before);
      if (change) changes.push(change);
    }
    return changes;
  }

  /** Everyone present, where the newest beat says. */
  present(): Presence[] {
    const out: Presence[] = [];
    for (const [userId, entries] of this.#users) {
      const seen = newest(entries);
      if (seen) {
        out.push({ user_id: userId, name: seen.name, location: seen.location, state: "here" });
      }
    }
    return out;
  }

  /**
   * Up to `limit` of those present at `location` (stops looking once it has
   * them: a crowded place costs `limit` steps, not the whole roster).
   */
  presentAt(location: string, limit: number): Presence[] {
    const out: Presence[] = [];
    if (limit <= 0) return out;
    for (const [userId, entries] of this.#users) {
      const seen = newest(entries);
      if (seen?.location !== location) continue;
      out.push({ user_id: userId, name: seen.name, location, state: "here" });
      if (out.length >= limit) break;
    }
    return out;
  }

  /** Forgets everyone. */
  clear(): void {
    this.#users.clear();
  }

  get size(): number {
    return this.#users.size;
  }

  #settle(
    userId: string,
    entries: Map<string, Seen>,
    before: Seen | undefined,
  ): RosterChange | undefined {
    if (entries.size > 0) this.#users.set(userId, entries);
    else this.#users.delete(userId);
    const after = newest(entries);
    if (!after && before) {
      return { user_id: userId, name: before.name, location: before.location, state: "left" };
    }
    if (after && (!before || before.location !== after.location || before.name !== after.name)) {
      return { user_id: userId, name: after.name, location: after.location, state: "here" };
    }
    return undefined;
  }
}

function newest(entries: Map<string, Seen>): Seen | undefined {
  let best: Seen | undefined;
  for (const s of entries.values()) if (!best || s.seenAt >= best.seenAt) best = s;
  return best;
}
