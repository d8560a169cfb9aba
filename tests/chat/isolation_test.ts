/**
 * Isolation (DESIGN.md guarantee 2), against the real KB: hostile and
 * unusual user ids all play at once in a shared and an isolated world;
 * every event every stream receives is one DESIGN.md allows, with no other
 * player's player scope, and each stream receives all of those, in order,
 * once.
 */
import assert from "node:assert/strict";
import type { WorldUpdateEvent } from "../../shared/schema.ts";
import { COLORS, GLADE, setup, type SseClient } from "../_helpers/mod.ts";

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
const EXPERIENCES = [GLADE.shared, GLADE.solo];

/** Each player's own items: a change of world and player, a player-only one, none, a move. */
const script = (color: string) => [
  `take ${color} sack`,
  `take ${color} stone`,
  `put ${color} stone in ${color} sack`,
  "dance wildly", // not understood: no change
  "north",
];

/** What DESIGN.md lets `user` see on a world stream of `experience`. */
function allowed(user: string, experience: string, e: WorldUpdateEvent): boolean {
  if (e.experience !== experience) return false;
  return e.user_id === user || e.metadata.state_model === "shared";
}

/** The copy of `e` that `user` receives: the actor's full event, or the world part. */
function copyFor(user: string, e: WorldUpdateEvent): WorldUpdateEvent {
  if (e.user_id === user) return e;
  return { ...e, changes: e.changes.world ? { world: e.changes.world } : {} };
}

Deno.test("isolation: crafted user ids playing at once see only what they may", async () => {
  assert.equal(USERS[6]!.length, 200);
  assert.ok(COLORS.length >= USERS.length);
  await using h = await setup({ content: "glade" });
  const streams = new Map<string, SseClient>();
  for (const u of USERS) {
    for (const x of EXPERIENCES) streams.set(`${u}\u0000${x}`, await h.world(u, x));
  }
  const published: WorldUpdateEvent[] = [];
  const play = async (u: string, message: string, x: string) => {
    const msgs = await h.play(u, message, x);
    // Every chat stream: only the actor's own event, world_update before content.
    const wus = msgs.filter((m) => m.event === "world_update");
    for (const m of wus) assert.equal(m.data.user_id, u);
    const firstContent = msgs.findIndex((m) => m.event === "content");
    const lastUpdate = msgs.findLastIndex((m) => m.event === "world_update");
    assert.ok(lastUpdate < firstContent, "world_update before content");
    assert.equal(msgs.at(-1)!.event, "done");
    published.push(...wus.map((m) => m.data as WorldUpdateEvent));
  };
  // Everyone at once; each player's commands in order (each needs the one before).
  await Promise.all(
    USERS.flatMap((u, i) =>
      EXPERIENCES.map(async (x) => {
        for (const m of script(COLORS[i]!)) await play(u, m, x);
      })
    ),
  );
  assert.equal(published.length, USERS.length * 2 * 4, "4 changing commands each");
  const playerOnly = published.filter((e) => e.changes.world === undefined);
  assert.ok(playerOnly.some((e) => e.metadata.state_model === "shared"), "player-only changes");
  // A last action of everyone, in both worlds, after all of the above: any
  // duplicate or stray copy of an earlier event would arrive before these.
  await Promise.all(USERS.flatMap((u) => EXPERIENCES.map((x) => play(u, "south", x))));

  let checked = 0;
  for (const [key, s] of streams) {
    const [u, x] = key.split("\u0000") as [string, string];
    const expected = published.filter((e) => allowed(u, x, e));
    const got = (await s.take(expected.length, "world_update", 10_000)).map((m) => {
      assert.equal(m.id, m.data.id);
      return m.data as WorldUpdateEvent;
    });
    for (const e of got) {
      assert.ok(allowed(u, x, e), `${JSON.stringify(u)} on ${x} got ${e.user_id}'s event`);
      if (e.user_id !== u) assert.equal(e.changes.player, undefined, "no foreign player scope");
      checked++;
    }
    const byId = (a: WorldUpdateEvent, b: WorldUpdateEvent) => a.id < b.id ? -1 : 1;
    assert.deepEqual(
      [...got].sort(byId),
      expected.map((e) => copyFor(u, e)).sort(byId),
      `${JSON.stringify(u)} on ${x}: exactly the allowed events, once`,
    );
    // Per subject, in version order: own events (user subject), others' (experience subject).
    for (const mine of [true, false]) {
      const versions = got.filter((e) => (e.user_id === u) === mine).map((e) => e.version);
      assert.deepEqual(versions, [...versions].sort((p, q) => p - q), `${u} on ${x}: order`);
    }
  }
  console.log(`isolation: checked ${checked} events on ${streams.size} streams`);
  await Promise.all([...streams.values()].map((s) => s.close()));
});
