/**
 * A world stream waits `WORLD_GAP_WAIT` for a missing version before it
 * gives up with `resync` (`gap`): a version that arrives late (its publish
 * resent after a JetStream election) fills the gap with nothing skipped; one
 * that never comes is given up after the wait, never silently.
 */
import assert from "node:assert/strict";
import { ulid } from "ulid";
import { experienceSubject } from "../../shared/subjects.ts";
import type { WorldUpdateEvent } from "../../shared/schema.ts";
import { delay, GLADE, setup, type SseClient } from "../_helpers/mod.ts";

const SHARED = GLADE.shared;

/** Another player's world change at `version`, as the KB would publish it. */
const forged = (like: WorldUpdateEvent, version: number): WorldUpdateEvent => ({
  ...like,
  id: ulid(),
  version,
  user_id: "zed",
  changes: {},
  timestamp: Date.now(),
});

/** The next `world_update` or `resync` as `v<version>` / `resync:<reason>`. */
async function next(s: SseClient): Promise<string> {
  for (;;) {
    const m = await s.next(10_000);
    if (m.event === "world_update") return `v${m.data.version}`;
    if (m.event === "resync") return `resync:${m.data.reason}`;
  }
}

Deno.test("gap wait: a missing version that arrives within WORLD_GAP_WAIT fills the gap; one that never does ends in resync gap", async () => {
  await using h = await setup({ content: "glade", env: { WORLD_GAP_WAIT: "1500ms" } });
  const carol = await h.world("carol", SHARED);
  const { body } = await h.act("alice", "take bottle", SHARED);
  const first = body.world_updates[0] as WorldUpdateEvent;
  const v = first.version;
  assert.equal(await next(carol), `v${v}`);

  // v+2 first; v+1 600 ms later, after the catch-up for it found nothing.
  h.bus.publish(experienceSubject(SHARED), JSON.stringify(forged(first, v + 2)));
  await delay(600);
  h.bus.publish(experienceSubject(SHARED), JSON.stringify(forged(first, v + 1)));
  assert.deepEqual([await next(carol), await next(carol)], [`v${v + 1}`, `v${v + 2}`]);

  // v+4 with v+3 never published: held for the wait, then given up, said so.
  const since = performance.now();
  h.bus.publish(experienceSubject(SHARED), JSON.stringify(forged(first, v + 4)));
  assert.deepEqual([await next(carol), await next(carol)], ["resync:gap", `v${v + 4}`]);
  const waited = performance.now() - since;
  assert.ok(waited >= 1_500, `the stream held v${v + 4} for the wait (${waited.toFixed(0)} ms)`);
  await carol.close();
});
