/**
 * Who is present, as the KB's snapshot says it (`present`): the KB listens
 * to every experience's presence beats (`presence.experience.*`, sent by the
 * chat processes that hold the players' world streams) and keeps a
 * {@linkcode Roster} per experience. A KB that just started knows a player
 * from their next heartbeat on (at most half `PRESENCE_GRACE`); a player
 * whose process went silent is dropped `PRESENCE_GRACE` after its last beat.
 *
 * @module
 */
import type { Bus, BusSubscription } from "../shared/bus/mod.ts";
import { type Clock, systemClock } from "../shared/clock.ts";
import { Roster } from "../shared/presence_roster.ts";
import { type Presence, PresenceBeatSchema } from "../shared/presence_schema.ts";
import { PRESENCE_PREFIX } from "../shared/subjects.ts";

const decoder = new TextDecoder();

/**
 * The KB's view of presence.
 *
 * @example
 * ```ts
 * const view = new PresenceView(bus, { graceMs: 10_000 });
 * view.present("wylding-woods"); // [{ user_id, name, location, state: "here" }]
 * view.close();
 * ```
 */
export class PresenceView {
  readonly #rosters = new Map<string, Roster>();
  readonly #sub: BusSubscription;
  readonly #graceMs: number;
  readonly #clock: Clock;

  constructor(bus: Bus, opts: { graceMs: number; clock?: Clock }) {
    this.#graceMs = opts.graceMs;
    this.#clock = opts.clock ?? systemClock;
    this.#sub = bus.subscribe(`${PRESENCE_PREFIX}.*`, {
      callback: (msg) => {
        let raw: unknown;
        try {
          raw = JSON.parse(decoder.decode(msg.data));
        } catch {
          return;
        }
        const beat = PresenceBeatSchema.safeParse(raw);
        if (!beat.success) return;
        let roster = this.#rosters.get(beat.data.experience);
        if (!roster) this.#rosters.set(beat.data.experience, roster = new Roster());
        roster.apply(beat.data, this.#clock.now());
        if (roster.size === 0) this.#rosters.delete(beat.data.experience);
      },
    });
  }

  /** The players present in an experience (user id, name, location). */
  present(experience: string): Omit<Presence, "state">[] {
    const roster = this.#rosters.get(experience);
    if (!roster) return [];
    roster.expire(this.#clock.now(), this.#graceMs);
    return roster.present().map(({ state: _state, ...p }) => p);
  }

  /** Stops listening. */
  close(): void {
    this.#sub.unsubscribe();
    this.#rosters.clear();
  }
}
