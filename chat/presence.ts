/**
 * Presence and speech across chat processes. Holding an open world stream
 * of a shared experience is being present in it; every chat process says
 * who is present through it on `presence.experience.<token>` (core NATS):
 *
 * - `here` when a user's first stream opens (once the KB said where they
 *   are, `kb.locate`), when their own events move them, and every
 *   heartbeat interval (half the grace period) while they are present;
 * - `left` once their last stream in that process has been closed for the
 *   grace period (`PRESENCE_GRACE`), so a reconnect does not flicker.
 *
 * Each process keeps a roster per experience it has streams in: user →
 * process → last beat. A user is present while any process says so; a
 * process that stops beating (killed) is forgotten between one grace
 * period and one grace period plus a heartbeat interval after its last beat;
 * a process that starts listening to an experience says `hello` in its
 * first beat and the others answer with their users' beats at once, so a
 * new stream's roster fills without waiting for a heartbeat. Changes of the roster (arrived,
 * moved, left) become `presence` events on the world streams of that
 * experience in this process, and a stream that opens gets the roster.
 *
 * Speech travels on `talk.experience.<token>`: every process delivers a line
 * to its streams whose user stands at the speaker's location, the
 * speaker's own excepted (the speaker's chat answer confirms it). User ids
 * travel only in payloads, and every receiver checks the experience again.
 *
 * A process applies its own beats and lines at once, without waiting for
 * the bus to echo them (and ignores the echo), so presence and speech keep
 * working in one process while NATS is down. Time (the grace period, the
 * heartbeats, expiry) comes from an injected {@linkcode Clock}.
 *
 * Over 400 lines on purpose: the roster, the heartbeats, the `hello`
 * exchange and speech share one entry per experience and one pair of bus
 * subscriptions; split, each part would reach into the other's state. The
 * pure pieces (frames, the roster) are `presence_parts.ts` and
 * `shared/presence_roster.ts`.
 *
 * @module
 */
import type { Bus, BusSubscription } from "../shared/bus/mod.ts";
import { type Clock, systemClock, type TimerHandle } from "../shared/clock.ts";
import type { KbService } from "../shared/kb_service.ts";
import { log } from "../shared/log.ts";
import {
  type Presence,
  type PresenceBeat,
  PresenceBeatSchema,
  type Say,
  type TalkMessage,
  TalkMessageSchema,
} from "../shared/presence_schema.ts";
import type { Speech } from "../shared/speech.ts";
import {
  experienceSubject,
  presenceSubject,
  talkSubject,
  userSubject,
} from "../shared/subjects.ts";
import type { HubEvent, SubjectHub } from "./hub.ts";
import { Roster } from "../shared/presence_roster.ts";
import { parseOrNull, type Place, place, placeIn, presenceFrame } from "./presence_parts.ts";
import { encodeEvent } from "./sse.ts";

/** What presence needs of a world stream. */
export interface PresenceMember {
  readonly userId: string;
  readonly experience: string;
  /** Queues an event that is not a world update (presence, speech). */
  sendEphemeral(frame: Uint8Array): void;
}

/** Options of {@linkcode PresenceService}. */
export interface PresenceOptions {
  bus: Bus;
  hub: SubjectHub;
  kb: Pick<KbService, "locate">;
  /** `PRESENCE_GRACE` (ms). */
  graceMs: number;
  /**
   * `PRESENCE_WIDE_MAX` (default 200): while more players than this are
   * present in an experience, a presence change reaches only the streams
   * of players at its location (none but the player's own where that
   * location is crowded past it too), and a new stream gets at most this
   * many of its location's roster. Every player learning of every other is
   * quadratic: 10,000 players arriving would be 10^8 frames. The snapshot's
   * `present` still lists everyone.
   */
  wideMax?: number;
  clock?: Clock;
  /** Tells this process's beats apart (default: a random id). */
  processId?: string;
}

/** A user with streams (or in their grace period) in this process. */
interface LocalUser extends Partial<Place> {
  readonly userId: string;
  readonly members: Set<PresenceMember>;
  /** The KB said where they are, or an event did. */
  located: boolean;
  /** An event placed them: a `kb.locate` answer still in flight is older. */
  placedByEvent: boolean;
  /** Not a shared world: no presence, no speech. */
  unshared: boolean;
  leaveTimer?: TimerHandle;
  detach: () => void;
}

interface ExperienceEntry {
  readonly id: string;
  readonly locals: Map<string, LocalUser>;
  readonly roster: Roster;
  /** The next beat asks the other processes for theirs (we just started listening). */
  hello: boolean;
  readonly subs: BusSubscription[];
  detachEvents: () => void;
}

/**
 * The presence service of one chat process.
 *
 * @example
 * ```ts
 * const presence = new PresenceService({ bus, hub, kb, graceMs: 10_000 });
 * const leave = presence.join(worldStream); // on the stream's end: leave()
 * const line = await presence.speak("ada", "wylding-woods", { kind: "say", text: "hello" });
 * presence.close();
 * ```
 */
export class PresenceService {
  readonly #opts: PresenceOptions;
  readonly #clock: Clock;
  readonly #process: string;
  readonly #beatMs: number;
  readonly #experiences = new Map<string, ExperienceEntry>();
  #timer: TimerHandle | undefined;
  #closed = false;

  constructor(opts: PresenceOptions) {
    this.#opts = opts;
    this.#clock = opts.clock ?? systemClock;
    this.#process = opts.processId ?? crypto.randomUUID();
    this.#beatMs = Math.max(1, opts.graceMs / 2);
  }

  /**
   * Makes a stream's user present (after the grace period of an earlier
   * stream, nothing changes for others) and sends it the roster. Returns
   * the leave function (idempotent).
   */
  join(member: PresenceMember): () => void {
    if (this.#closed) return () => {};
    const exp = this.#experience(member.experience);
    let user = exp.locals.get(member.userId);
    if (!user) {
      user = this.#newLocal(member.userId);
      exp.locals.set(member.userId, user);
    }
    if (exp.subs.length === 0) this.#listen(exp);
    if (user.members.size === 0) {
      this.#clock.clearTimeout(user.leaveTimer);
      user.leaveTimer = undefined;
      this.#follow(exp, user);
      // New: ask the KB where they are. Back within the grace period (a
      // reconnect, the common case): they are where they were (moving takes
      // a command, and the client that sends it holds a stream), so a
      // reconnect storm costs the KB nothing.
      if (!user.located) this.#locate(exp, user);
    }
    user.members.add(member);
    for (const p of this.#rosterFor(exp, user)) member.sendEphemeral(presenceFrame(p));
    this.#schedule();
    const joined = user;
    let left = false;
    return () => {
      if (left) return;
      left = true;
      this.#leave(exp, joined, member);
    };
  }

  /**
   * Speaks a line at the speaker's location: every stream of another user
   * there gets a `say` event. Returns the event (the speaker's
   * confirmation), or `undefined` when the KB cannot say where they are.
   */
  async speak(userId: string, experience: string, speech: Speech): Promise<Say | undefined> {
    const local = this.#experiences.get(experience)?.locals.get(userId);
    let where: Place | undefined;
    if (local?.located && local.name !== undefined && local.location !== undefined) {
      where = place(local as Place);
    } else {
      const found = await this.#opts.kb.locate(userId, experience);
      if (found) where = place(found);
    }
    if (!where) return undefined;
    const say: Say = {
      user_id: userId,
      ...where,
      kind: speech.kind,
      text: speech.text,
      timestamp: Date.now(),
    };
    const message: TalkMessage = {
      ...say,
      experience,
      process: this.#process,
    };
    this.#opts.bus.publish(talkSubject(experience), JSON.stringify(message));
    this.#onTalk(experience, message);
    return say;
  }

  /** Who this process counts as present in an experience it has streams in (tests, metrics). */
  present(experience: string): Presence[] {
    return this.#experiences.get(experience)?.roster.present() ?? [];
  }

  /** Stops beating and listening (no `left` is sent: other processes expire our beats). */
  close(): void {
    this.#closed = true;
    this.#clock.clearTimeout(this.#timer);
    this.#timer = undefined;
    for (const exp of this.#experiences.values()) this.#drop(exp);
    this.#experiences.clear();
  }

  #experience(id: string): ExperienceEntry {
    let exp = this.#experiences.get(id);
    if (!exp) {
      exp = {
        id,
        locals: new Map(),
        roster: new Roster(),
        hello: false,
        subs: [],
        detachEvents: () => {},
      };
      this.#experiences.set(id, exp);
    }
    return exp;
  }

  /**
   * Subscribes to an experience's beats and lines while this process has
   * streams in it (not during a grace period alone: a closed stream's
   * subscriptions go at once, DESIGN.md guarantee 6).
   */
  #listen(exp: ExperienceEntry): void {
    const { bus, hub } = this.#opts;
    const id = exp.id;
    exp.hello = true;
    exp.subs.push(
      bus.subscribe(presenceSubject(id), {
        callback: (msg) => {
          const beat = parseOrNull(PresenceBeatSchema, msg.data);
          if (!beat || beat.process === this.#process) return;
          this.#onBeat(exp, beat, this.#clock.now());
          // A process that just started listening learns our users now rather
          // than at our next heartbeat.
          if (beat.hello) {
            for (const user of exp.locals.values()) {
              if (user.located && !user.unshared) this.#beat(exp, user, "here");
            }
          }
        },
      }),
      bus.subscribe(talkSubject(id), {
        callback: (msg) => {
          const talk = parseOrNull(TalkMessageSchema, msg.data);
          if (talk && talk.process !== this.#process) this.#onTalk(id, talk);
        },
      }),
    );
    // A reset puts everyone back at the start: ask the KB again.
    exp.detachEvents = hub.attach(experienceSubject(id), (h: HubEvent) => {
      if (h.event.experience !== id) return;
      const reset = (h.event.changes.world ?? []).some((op) => op.path === "" && op.data.epoch);
      if (!reset) return;
      for (const user of exp.locals.values()) {
        user.placedByEvent = false;
        this.#locate(exp, user);
      }
    });
    // Our own users in their grace period are still here.
    for (const user of exp.locals.values()) {
      if (user.located && !user.unshared) this.#beat(exp, user, "here");
    }
  }

  #unlisten(exp: ExperienceEntry): void {
    for (const s of exp.subs) s.unsubscribe();
    exp.subs.length = 0;
    exp.detachEvents();
    exp.detachEvents = () => {};
    exp.roster.clear();
  }

  #newLocal(userId: string): LocalUser {
    return {
      userId,
      members: new Set(),
      located: false,
      placedByEvent: false,
      unshared: false,
      detach: () => {},
    };
  }

  /** The user's own events say where they go (and under which name), while they have streams. */
  #follow(exp: ExperienceEntry, user: LocalUser): void {
    user.detach();
    user.detach = this.#opts.hub.attach(userSubject(user.userId), (h: HubEvent) => {
      if (h.event.experience !== exp.id || user.unshared) return;
      const moved = placeIn(h, user.userId);
      if (!moved) return;
      const changed = moved.location !== user.location || moved.name !== user.name;
      user.location = moved.location;
      user.name = moved.name ?? user.name ?? user.userId;
      user.located = true;
      user.placedByEvent = true;
      if (changed) this.#beat(exp, user, "here");
    });
  }

  #locate(exp: ExperienceEntry, user: LocalUser): void {
    this.#opts.kb.locate(user.userId, exp.id).then((found) => {
      if (this.#closed || exp.locals.get(user.userId) !== user || user.placedByEvent) return;
      if (!found) return; // asked again at the next heartbeat
      if (found.state_model !== "shared") {
        user.unshared = true;
        return;
      }
      user.name = found.name;
      user.location = found.location;
      user.located = true;
      this.#beat(exp, user, "here");
    }, (e) => log("warn", "presence: locate failed", { user_id: user.userId, error: String(e) }));
  }

  #leave(exp: ExperienceEntry, user: LocalUser, member: PresenceMember): void {
    user.members.delete(member);
    if (user.members.size > 0 || this.#closed) return;
    user.detach();
    user.detach = () => {};
    if (![...exp.locals.values()].some((u) => u.members.size > 0)) this.#unlisten(exp);
    user.leaveTimer = this.#clock.setTimeout(() => {
      user.leaveTimer = undefined;
      if (user.members.size > 0 || exp.locals.get(user.userId) !== user) return;
      exp.locals.delete(user.userId);
      if (user.located && !user.unshared) this.#beat(exp, user, "left");
      if (exp.locals.size === 0 && exp.subs.length === 0) this.#experiences.delete(exp.id);
    }, this.#opts.graceMs);
  }

  #drop(exp: ExperienceEntry): void {
    this.#unlisten(exp);
    for (const user of exp.locals.values()) {
      this.#clock.clearTimeout(user.leaveTimer);
      user.detach();
    }
  }

  /** Publishes a beat and applies it here at once. */
  #beat(exp: ExperienceEntry, user: LocalUser, state: "here" | "left"): void {
    if (user.location === undefined) return;
    const beat: PresenceBeat = {
      experience: exp.id,
      process: this.#process,
      user_id: user.userId,
      name: user.name ?? user.userId,
      location: user.location,
      state,
      ...(exp.hello && state === "here" ? { hello: true } : {}),
    };
    if (state === "here") exp.hello = false;
    this.#opts.bus.publish(presenceSubject(exp.id), JSON.stringify(beat));
    this.#onBeat(exp, beat, this.#clock.now());
  }

  #onBeat(exp: ExperienceEntry, beat: PresenceBeat, now: number): void {
    // Not listening (no streams here): nobody to tell, and the roster would go stale.
    if (beat.experience !== exp.id || exp.subs.length === 0) return;
    const change = exp.roster.apply(beat, now);
    if (change) this.#announce(exp, change);
  }

  /** Tells this process's streams of a roster change (arrived, moved, left). */
  #announce(exp: ExperienceEntry, change: Presence): void {
    const frame = presenceFrame(change);
    const max = this.#opts.wideMax ?? 200;
    const wide = exp.roster.size <= max;
    // Past the limit: only the change's location hears, and only while it is not crowded too.
    const local = !wide && exp.roster.presentAt(change.location, max + 1).length <= max;
    for (const user of exp.locals.values()) {
      const hears = wide || user.userId === change.user_id ||
        (local && user.location === change.location);
      if (hears) { for (const m of user.members) m.sendEphemeral(frame); }
    }
  }

  /** The roster a new stream gets: everyone, or past `wideMax` its location's first `wideMax`. */
  #rosterFor(exp: ExperienceEntry, user: LocalUser): Presence[] {
    const max = this.#opts.wideMax ?? 200;
    if (exp.roster.size <= max) return exp.roster.present();
    return user.location === undefined ? [] : exp.roster.presentAt(user.location, max);
  }

  #onTalk(experience: string, message: TalkMessage): void {
    const exp = this.#experiences.get(experience);
    if (!exp || message.experience !== experience) return;
    const { experience: _experience, process: _process, ...say } = message;
    let frame: Uint8Array | undefined;
    for (const user of exp.locals.values()) {
      if (user.userId === say.user_id || user.unshared || !user.located) continue;
      if (user.location !== say.location) continue;
      frame ??= encodeEvent("say", say);
      for (const m of user.members) m.sendEphemeral(frame);
    }
  }

  /** Runs while any experience is followed: heartbeats, expiry, locates that failed. */
  #schedule(): void {
    if (this.#timer !== undefined || this.#closed || this.#experiences.size === 0) return;
    this.#timer = this.#clock.setTimeout(() => {
      this.#timer = undefined;
      this.#tick(this.#clock.now());
      this.#schedule();
    }, this.#beatMs);
  }

  #tick(now: number): void {
    // Ticks come every heartbeat interval: a silent process's users go between
    // one grace period and one grace period plus a heartbeat after its last beat.
    const expireMs = this.#opts.graceMs;
    for (const exp of this.#experiences.values()) {
      for (const user of exp.locals.values()) {
        if (user.unshared) continue;
        if (user.located) this.#beat(exp, user, "here");
        else this.#locate(exp, user);
      }
      for (const change of exp.roster.expire(now, expireMs, this.#process)) {
        this.#announce(exp, change);
      }
    }
  }
}
