/**
 * A unit's outbox: the committed events of the unit that JetStream has not
 * acknowledged yet, kept in the unit's own document and written by the same
 * commit as the state (DESIGN.md guarantee 9). Pure: how the next outbox
 * follows from the last one, what is acknowledged and a batch's new events,
 * within bounds. Backends store it (files: `world.json`; KV: the unit's value).
 *
 * @module
 */
import { type WorldUpdateEvent, WorldUpdateEventSchema } from "../../shared/schema.ts";
import type { OutboxLimits } from "./backend.ts";

/**
 * Default bounds of one unit's outbox: room for a JetStream leader election
 * or a short NATS outage at a busy world's full rate (1,000 changes/s for
 * ~10 s), kept small enough that rewriting it with each commit stays cheap.
 */
export const DEFAULT_OUTBOX_LIMITS: OutboxLimits = { maxEvents: 20_000, maxBytes: 8 * 1024 * 1024 };

/** The next outbox and what did not fit. */
export interface NextOutbox {
  outbox: WorldUpdateEvent[];
  /** Events dropped to respect the bounds, oldest first: they will never be delivered. */
  dropped: WorldUpdateEvent[];
}

const texts = new WeakMap<WorldUpdateEvent, string>();

/** An event's JSON, serialised once per event object. */
function eventJson(e: WorldUpdateEvent): string {
  let t = texts.get(e);
  if (t === undefined) {
    t = JSON.stringify(e);
    texts.set(e, t);
  }
  return t;
}

/** Bytes of an event's JSON (its UTF-16 length: what the bounds count). */
export function eventBytes(e: WorldUpdateEvent): number {
  return eventJson(e).length;
}

/**
 * The outbox as a JSON array, each event's text reused from earlier commits.
 *
 * @example
 * ```ts
 * outboxJson([]); // "[]"
 * ```
 */
export function outboxJson(outbox: readonly WorldUpdateEvent[]): string {
  return `[${outbox.map(eventJson).join(",")}]`;
}

/**
 * The outbox a commit writes: what the unit's outbox held and is still not
 * acknowledged (`version > acked`), then the batch's new events, dropping the
 * oldest past the bounds (the newest always stays: it is this commit's own).
 *
 * @example
 * ```ts
 * const { outbox, dropped } = nextOutbox(cached.outbox, ackedVersion, events, DEFAULT_OUTBOX_LIMITS);
 * ```
 */
export function nextOutbox(
  previous: readonly WorldUpdateEvent[],
  acked: number,
  added: readonly WorldUpdateEvent[],
  limits: OutboxLimits,
): NextOutbox {
  const all = [...previous.filter((e) => e.version > acked), ...added];
  let bytes = 0;
  let keepFrom = all.length;
  // Walk back from the newest: keep what fits.
  while (keepFrom > 0) {
    const next = all[keepFrom - 1]!;
    const size = eventBytes(next);
    const count = all.length - keepFrom + 1;
    if (keepFrom < all.length && (count > limits.maxEvents || bytes + size > limits.maxBytes)) {
      break;
    }
    bytes += size;
    keepFrom--;
  }
  return { outbox: all.slice(keepFrom), dropped: all.slice(0, keepFrom) };
}

/**
 * The outbox stored in a unit document (`[]` when the document has none, as
 * one written before outboxes existed). Entries that are not valid events
 * are dropped rather than trusted.
 *
 * @example
 * ```ts
 * const outbox = readOutbox(JSON.parse(text).outbox);
 * ```
 */
export function readOutbox(raw: unknown): WorldUpdateEvent[] {
  if (!Array.isArray(raw)) return [];
  const out: WorldUpdateEvent[] = [];
  for (const item of raw) {
    const parsed = WorldUpdateEventSchema.safeParse(item);
    if (parsed.success) out.push(parsed.data);
  }
  return out.sort((a, b) => a.version - b.version);
}
