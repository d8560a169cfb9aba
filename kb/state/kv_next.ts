/**
 * The value a batch writes on the `nats` backend, the pure part: the
 * batch's events built with its timestamp, the outbox bounded (to a quarter
 * of what one message may carry, since it shares the value with the state),
 * the changed profiles merged in, and the encoded value checked against the
 * server's max payload.
 *
 * @module
 */
import { AppError } from "../../shared/errors.ts";
import type { WorldUpdateEvent } from "../../shared/schema.ts";
import type { OutboxLimits } from "./backend.ts";
import type { DecidedBatch } from "./batch.ts";
import { deepFreeze } from "./files.ts";
import { encodeUnit, type KvUnitDoc } from "./kv_unit.ts";
import { nextOutbox } from "./outbox.ts";

const encoder = new TextEncoder();

/** The next unit, its encoded value and how many old events the outbox bound dropped. */
export interface NextUnit {
  doc: KvUnitDoc;
  value: Uint8Array;
  dropped: number;
}

/**
 * Builds the unit a decided batch leaves. Throws what an event builder
 * throws, or `409 world_too_large` when the value would not fit.
 *
 * @example
 * ```ts
 * const { doc, value } = nextUnit(entry.doc, decided, { acked: 3, limits, maxValueBytes: 1 << 20 });
 * ```
 */
export function nextUnit(
  previous: KvUnitDoc,
  b: DecidedBatch,
  opts: { acked: number; limits: OutboxLimits; maxValueBytes: number },
): NextUnit {
  const timestamp = performance.timeOrigin + performance.now();
  const events: WorldUpdateEvent[] = [];
  for (const d of b.changed) {
    d.commit!.timestamp = timestamp;
    if (!d.p.event) continue;
    d.commit!.event = d.p.event(d.commit!);
    events.push(d.commit!.event);
  }
  const limits = {
    ...opts.limits,
    maxBytes: Math.min(opts.limits.maxBytes, opts.maxValueBytes >> 2),
  };
  const next = nextOutbox(previous.outbox, opts.acked, events, limits);
  const players: Record<string, Record<string, unknown>> = { ...previous.players };
  for (const [userId, pd] of b.players) {
    if (pd.dirty && pd.player) players[userId] = pd.player;
  }
  const doc: KvUnitDoc = deepFreeze({
    version: b.version,
    acked: opts.acked,
    outbox: next.outbox,
    world: b.world,
    players,
  });
  const value = encoder.encode(encodeUnit(doc));
  if (value.length > opts.maxValueBytes) {
    throw new AppError(
      "world_too_large",
      `this world's state would be ${value.length} bytes, over the ${opts.maxValueBytes} bytes one NATS message may carry (max_payload); nothing was changed`,
      409,
    );
  }
  return { doc, value, dropped: next.dropped.length };
}
