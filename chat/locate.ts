/**
 * `kb.locate` over the bus: where a player is and under which name, asked
 * of any KB (queue group `kb`). Presence and speech need it; a failure is
 * `undefined`, never an error a player sees.
 *
 * @module
 */
import type { Bus } from "../shared/bus/mod.ts";
import { log } from "../shared/log.ts";
import { LocateReplySchema, type PlayerPlace } from "../shared/presence_schema.ts";
import { KB_LOCATE } from "../shared/subjects.ts";

/**
 * Asks the KBs on the bus where `userId` is in `experience`.
 *
 * @example
 * ```ts
 * const place = await locateOverBus(bus, "ada", "wylding-woods", 2_000); // { name, location, state_model }
 * ```
 */
export async function locateOverBus(
  bus: Bus,
  userId: string,
  experience: string,
  timeoutMs: number,
): Promise<PlayerPlace | undefined> {
  const status = bus.status();
  if (status !== "connected" && status !== "in-process") return undefined;
  try {
    const msg = await bus.request(
      KB_LOCATE,
      JSON.stringify({ user_id: userId, experience }),
      { timeoutMs },
    );
    const reply = LocateReplySchema.safeParse(msg.json());
    if (!reply.success) {
      log("warn", "invalid kb.locate reply", { error: reply.error.message });
      return undefined;
    }
    if (!reply.data.ok) return undefined;
    const { ok: _ok, ...place } = reply.data;
    return place;
  } catch (e) {
    log("debug", "kb.locate failed", { user_id: userId, experience, error: String(e) });
    return undefined;
  }
}
