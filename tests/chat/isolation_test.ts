/**
 * Isolation (DESIGN.md guarantee 2): hostile and unusual user ids all play at
 * once; every event every stream receives is one DESIGN.md allows, and each
 * stream receives all of those, in order, once.
 */
import assert from "node:assert/strict";
import type { WorldUpdateEvent } from "../../shared/schema.ts";
import { openWorld, playSse, type SseClient, startHarness } from "./harness.ts";

const USERS = [
  "*",
  ">",
  "a.b",
  "a",
  "player@example.com",
  "../x",
  "L" + "ong-".repeat(49) + "xyz", // 200 characters
  "Jörmungandr-名前-🙂",
];

/** What DESIGN.md lets `user` see on a world stream of `experience`. */
function allowed(user: string, experience: string, e: WorldUpdateEvent): boolean {
  if (e.experience !== experience) return false;
  if (e.user_id === user) return true;
  // Every version of a shared world reaches every player of it (world scope only).
  return e.metadata.state_model === "shared";
}

Deno.test("isolation: crafted user ids playing at once see only what they may", async () => {
  assert.equal(USERS[6]!.length, 200);
  const h = await startHarness();
  try {
    const streams = new Map<string, SseClient>();
    for (const u of USERS) {
      for (const x of ["shared-woods", "solo-cave"]) {
        streams.set(`${u}\u0000${x}`, await openWorld(h, u, x));
      }
    }
    const chats = await Promise.all(
      USERS.flatMap((u) =>
        ["take gem", "whisper mine", "touch", "look"].flatMap((m) => [
          playSse(h, u, m, "shared-woods").then((msgs) => ({ u, msgs })),
          playSse(h, u, m, "solo-cave").then((msgs) => ({ u, msgs })),
        ])
      ),
    );
    // Every chat stream: only the actor's own events, world_update before content.
    for (const { u, msgs } of chats) {
      const wus = msgs.filter((m) => m.event === "world_update");
      for (const m of wus) assert.equal(m.data.user_id, u);
      const firstContent = msgs.findIndex((m) => m.event === "content");
      const lastUpdate = msgs.findLastIndex((m) => m.event === "world_update");
      assert.ok(lastUpdate < firstContent, "world_update before content");
      assert.equal(msgs.at(-1)!.event, "done");
    }
    const published = h.kb.published;
    assert.equal(published.length, USERS.length * 6); // 3 changing verbs × 2 experiences
    let checked = 0;
    for (const [key, s] of streams) {
      const [u, x] = key.split("\u0000") as [string, string];
      const expected = published.filter((e) => allowed(u, x, e));
      const got = await s.take(expected.length, "world_update", 10_000);
      await new Promise((r) => setTimeout(r, 20));
      const all = s.messages.filter((m) => m.event === "world_update");
      for (const m of all) {
        const e = m.data as WorldUpdateEvent;
        assert.ok(allowed(u, x, e), `${JSON.stringify(u)} on ${x} got ${e.user_id}'s event`);
        if (e.user_id !== u) assert.equal(e.changes.player, undefined, "no foreign player scope");
        checked++;
      }
      assert.equal(
        all.length,
        expected.length,
        `${JSON.stringify(u)} on ${x}: exactly the allowed events`,
      );
      // Per-subject order: own events in version order; others' in publish order.
      assert.deepEqual(got.map((m) => m.id).sort(), expected.map((e) => e.id).sort());
      const own = got.filter((m) => m.data.user_id === u).map((m) => m.data.version);
      assert.deepEqual(own, [...own].sort((p, q) => p - q));
      // Others' events all come on one subject (the experience's): publish order.
      assert.deepEqual(
        got.filter((m) => m.data.user_id !== u).map((m) => m.id),
        expected.filter((e) => e.user_id !== u).map((e) => e.id),
        `${JSON.stringify(u)} on ${x}: others' events in publish order`,
      );
    }
    console.log(`isolation: checked ${checked} events on ${streams.size} streams`);
    await Promise.all([...streams.values()].map((s) => s.close()));
  } finally {
    await h.close();
  }
});
