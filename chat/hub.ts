/**
 * A refcounted fan-out hub: one bus subscription per subject per process,
 * shared by every stream of this process that needs the subject. A shared
 * experience subject with 5,000 watchers is still one NATS subscription, and
 * each event is parsed, validated and SSE-encoded once.
 *
 * @module
 */
import type { Bus, BusMessage, BusSubscription } from "../shared/bus/mod.ts";
import { metrics } from "../shared/metrics.ts";
import { type WorldUpdateEvent, WorldUpdateEventSchema } from "../shared/schema.ts";
import { WORLD_UPDATES_PREFIX } from "../shared/subjects.ts";
import { log } from "../shared/log.ts";
import { encodeWorldUpdate } from "./sse.ts";
import { clearImmediate, setImmediate } from "node:timers";

/** One delivered event: the validated event and its pre-encoded SSE frame. */
export interface HubEvent {
  readonly subject: string;
  readonly event: WorldUpdateEvent;
  /** The `world_update` SSE frame; the same bytes go to every listener. */
  readonly frame: Uint8Array;
}

/**
 * Receives every event of a subject it is attached to. Must not throw.
 * `now` is `performance.now()` at delivery, read once per few dozen
 * listeners (a fan-out to thousands of streams need not read the clock
 * thousands of times).
 */
export type HubListener = (event: HubEvent, now: number) => void;

/** Listeners served per clock reading. */
const PER_CLOCK_READ = 32;

interface Entry {
  sub: BusSubscription;
  /** World streams: served from the process-wide queue, in arrival order. */
  listeners: Set<HubListener>;
  /** Chat actions waiting for their own event: served at once (made on first use). */
  urgent: Set<HubListener> | undefined;
}

const EXPERIENCE_PREFIX = `${WORLD_UPDATES_PREFIX}.experience.`;
const decoder = new TextDecoder();

/**
 * Parses, validates and encodes one bus message; `undefined` when it is not a
 * valid world update. Experience-subject events lose any `changes.player`:
 * the KB never sends player scope there, and if it ever did, fanning it out to
 * every player would break isolation (DESIGN.md guarantee 2).
 *
 * @example
 * ```ts
 * const hubEvent = decodeWorldUpdate(subject, bytes);
 * ```
 */
export function decodeWorldUpdate(subject: string, data: Uint8Array): HubEvent | undefined {
  let raw: unknown;
  try {
    raw = JSON.parse(decoder.decode(data));
  } catch {
    log("warn", "dropping non-JSON message", { subject });
    return undefined;
  }
  const parsed = WorldUpdateEventSchema.safeParse(raw);
  if (!parsed.success) {
    log("warn", "dropping invalid world_update", { subject, error: parsed.error.message });
    return undefined;
  }
  let event = parsed.data;
  if (subject.startsWith(EXPERIENCE_PREFIX) && event.changes.player !== undefined) {
    const { player: _dropped, ...rest } = event.changes;
    event = { ...event, changes: rest };
  }
  return { subject, event, frame: encodeWorldUpdate(event) };
}

/** Calls each listener; the caller passes a copy (a listener may detach others). */
function deliver(subject: string, listeners: readonly HubListener[], hubEvent: HubEvent): void {
  let now = 0;
  for (let i = 0; i < listeners.length; i++) {
    if (i % PER_CLOCK_READ === 0) now = performance.now();
    try {
      listeners[i]!(hubEvent, now);
    } catch (e) {
      log("error", "hub listener failed", { subject, error: String(e) });
    }
  }
}

/**
 * The subject hub.
 *
 * @example
 * ```ts
 * const hub = new SubjectHub(bus);
 * const detach = hub.attach(userSubject("alice"), ({ event, frame }) => send(frame));
 * // ... later, when the stream ends:
 * detach();
 * ```
 */
export class SubjectHub {
  readonly #bus: Bus;
  readonly #entries = new Map<string, Entry>();

  constructor(bus: Bus) {
    this.#bus = bus;
  }

  /**
   * Adds a listener to a subject, subscribing on first use. Returns the
   * detach function (idempotent); the last detach unsubscribes.
   */
  attach(subject: string, listener: HubListener, opts: { urgent?: boolean } = {}): () => void {
    const entry = this.#add(subject, listener, opts.urgent === true);
    let attached = true;
    return () => {
      if (!attached) return;
      attached = false;
      this.#remove(subject, entry, listener);
    };
  }

  /**
   * {@linkcode SubjectHub.attach} without a detach closure, for the many
   * long-lived world streams: undo with {@linkcode SubjectHub.unlisten}.
   */
  listen(subject: string, listener: HubListener): void {
    this.#add(subject, listener, false);
  }

  /** Removes a listener added with {@linkcode SubjectHub.listen} (no-op if absent). */
  unlisten(subject: string, listener: HubListener): void {
    const entry = this.#entries.get(subject);
    if (entry) this.#remove(subject, entry, listener);
  }

  #add(subject: string, listener: HubListener, urgent: boolean): Entry {
    let entry = this.#entries.get(subject);
    if (!entry) {
      const created: Entry = {
        sub: undefined!,
        listeners: new Set<HubListener>(),
        urgent: undefined,
      };
      created.sub = this.#bus.subscribe(subject, {
        callback: (msg) => this.#dispatch(subject, created, msg),
      });
      this.#entries.set(subject, entry = created);
    }
    if (urgent) (entry.urgent ??= new Set()).add(listener);
    else entry.listeners.add(listener);
    return entry;
  }

  #remove(subject: string, entry: Entry, listener: HubListener): void {
    if (!entry.listeners.delete(listener)) entry.urgent?.delete(listener);
    if (
      entry.listeners.size + (entry.urgent?.size ?? 0) === 0 &&
      this.#entries.get(subject) === entry
    ) {
      this.#entries.delete(subject);
      entry.sub.unsubscribe();
    }
  }

  #dispatch(subject: string, entry: Entry, msg: BusMessage): void {
    metrics.worldUpdatesReceived.inc({ scope: subject.includes(".user.") ? "user" : "experience" });
    const { listeners, urgent } = entry;
    if (listeners.size + (urgent?.size ?? 0) === 0) return;
    const hubEvent = decodeWorldUpdate(subject, msg.data);
    if (!hubEvent) return;
    if (urgent && urgent.size > 0) deliver(subject, [...urgent], hubEvent);
    if (listeners.size === 0) return;
    // nats.js hands over a whole socket read at once, so an actor's own event
    // and the fan-out of the same change to every other stream arrive
    // together. Streams are served in a later macrotask, from one queue for
    // all subjects (each stream keeps the order of arrival across its user
    // and experience subjects, which replay relies on), so the actor's answer,
    // a chain of microtasks, starts before thousands of stream writes. An
    // immediate, not a timer: `setTimeout(0)` waits about 2 ms here
    // (measured on Deno 2.9.6), on every fan-out.
    // The listener set is copied now: a stream opened after this event
    // arrived must not get it.
    this.#queue.push({ subject, listeners: [...listeners], hubEvent });
    if (this.#queue.length === 1) this.#immediate = setImmediate(this.#drain);
  }

  readonly #queue: { subject: string; listeners: HubListener[]; hubEvent: HubEvent }[] = [];
  #immediate: ReturnType<typeof setImmediate> | undefined;
  readonly #drain = () => {
    this.#immediate = undefined;
    for (const { subject, listeners, hubEvent } of this.#queue.splice(0)) {
      deliver(subject, listeners, hubEvent);
    }
  };

  /** Number of subjects with a live bus subscription. */
  subjectCount(): number {
    return this.#entries.size;
  }

  /** Unsubscribes everything (listeners get nothing more). */
  close(): void {
    for (const e of this.#entries.values()) {
      e.listeners.clear();
      e.urgent?.clear();
      e.sub.unsubscribe();
    }
    this.#entries.clear();
    this.#queue.length = 0;
    if (this.#immediate !== undefined) clearImmediate(this.#immediate);
    this.#immediate = undefined;
  }
}
