/**
 * Small pieces of presence (chat/presence.ts): a place without extra
 * fields, the `presence` frame, a tolerant parse of bus messages, and where
 * a user's own world update puts them.
 *
 * @module
 */
import { splitPath } from "../shared/apply.ts";
import type { Presence } from "../shared/presence_schema.ts";
import type { HubEvent } from "./hub.ts";
import { encodeEvent } from "./sse.ts";

/** A name and a location. */
export interface Place {
  name: string;
  location: string;
}

/**
 * A place's name and location only.
 *
 * @example
 * ```ts
 * place({ name: "ada", location: "glade", state_model: "shared" }); // { name: "ada", location: "glade" }
 * ```
 */
export function place(p: Place): Place {
  return { name: p.name, location: p.location };
}

/**
 * The `presence` SSE frame.
 *
 * @example
 * ```ts
 * ws.sendEphemeral(presenceFrame({ user_id: "ada", name: "ada", location: "glade", state: "here" }));
 * ```
 */
export function presenceFrame(p: Presence): Uint8Array {
  return encodeEvent("presence", p);
}

const decoder = new TextDecoder();

/**
 * A bus message's JSON checked by a schema, or `undefined` (never throws).
 *
 * @example
 * ```ts
 * const beat = parseOrNull(PresenceBeatSchema, msg.data);
 * ```
 */
export function parseOrNull<T>(
  schema: { safeParse(v: unknown): { success: true; data: T } | { success: false } },
  data: Uint8Array,
): T | undefined {
  try {
    const r = schema.safeParse(JSON.parse(decoder.decode(data)));
    return r.success ? r.data : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Where a user's own event puts them: the profile's location (`player` op at
 * the root) or their entry in the shared world's `players`.
 *
 * @example
 * ```ts
 * const moved = placeIn(hubEvent, "ada"); // { location: "store" } or undefined
 * ```
 */
export function placeIn(
  h: HubEvent,
  userId: string,
): { location: string; name?: string } | undefined {
  let found: { location: string; name?: string } | undefined;
  const consider = (data: Record<string, unknown>) => {
    if (typeof data.location !== "string") return;
    found = {
      location: data.location,
      ...(typeof data.name === "string" ? { name: data.name } : {}),
    };
  };
  for (const op of h.event.changes.world ?? []) {
    const s = splitPath(op.path);
    if (s.length === 2 && s[0] === "players" && s[1] === userId && op.operation !== "remove") {
      consider(op.data);
    }
  }
  for (const op of h.event.changes.player ?? []) {
    if (op.path === "" && op.operation !== "remove") consider(op.data);
  }
  return found;
}
