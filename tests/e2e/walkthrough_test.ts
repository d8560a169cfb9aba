/**
 * Each shipped experience played from its start to its ending by scripted
 * players through the real HTTP API (a real server on a real port, a real
 * nats-server): every command goes through `POST /api/v0.3/chat`, each
 * answer's events applied to the snapshot before give the snapshot after,
 * and the narrative tells the ending. In the shared woods a second player
 * still reaches the ending after the first did.
 *
 * @module
 */
import { deepStrictEqual as eq, ok } from "node:assert/strict";
import { applyWorldUpdate } from "../../shared/apply.ts";
import { setup, type TestStack } from "../_helpers/mod.ts";
import { LIGHTHOUSE_WALKTHROUGH, WOODS_WALKTHROUGH } from "../kb/_walkthroughs.ts";

/** Plays the commands as `user` over `POST /api/v0.3/chat`; returns the last answer. */
async function play(stack: TestStack, user: string, experience: string, commands: string[]) {
  let last: Record<string, unknown> = {};
  let before = await stack.state(user, experience);
  for (const message of commands) {
    const { status, body } = await stack.act(user, message, experience);
    last = body;
    eq(status, 200, `${user}: ${message}: ${JSON.stringify(last)}`);
    const outcome = last.outcome as { kind: string; summary: string };
    ok(
      !["not_understood", "refused", "not_found", "blocked", "ambiguous"].includes(outcome.kind),
      `${user}: '${message}' -> ${outcome.kind}: ${outcome.summary}`,
    );
    let applied = before;
    for (const e of last.world_updates as never[]) applied = applyWorldUpdate(applied, e);
    const after = await stack.state(user, experience);
    eq(applied.world, after.world, `${user}: '${message}': world deltas`);
    eq(applied.player, after.player, `${user}: '${message}': player deltas`);
    before = after;
  }
  return { last, state: before };
}

function endedWith(result: Awaited<ReturnType<typeof play>>, id: string, title: string) {
  const outcome = result.last.outcome as { facts: { ending?: { id: string } } };
  eq(outcome.facts.ending?.id, id);
  ok(String(result.last.narrative).includes(`The end: ${title}.`), String(result.last.narrative));
  eq(result.state.player.ending.id, id);
  eq(result.state.player.score, result.state.descriptions.max_score);
}

Deno.test("walkthrough: the Wylding Woods to its ending, then a second player to the same ending", async () => {
  await using stack = await setup();
  const first = await play(stack, "walker-one", "wylding-woods", WOODS_WALKTHROUGH);
  endedWith(first, "the-silver-dream", "The Silver Dream");
  const second = await play(stack, "walker-two", "wylding-woods", WOODS_WALKTHROUGH);
  endedWith(second, "the-silver-dream", "The Silver Dream");
  // Each holds their own silver bottle and riddle stone; the originals stay for a third.
  const ids = (s: { player: { inventory: Record<string, unknown> } }) =>
    Object.keys(s.player.inventory).sort();
  ok(ids(first.state).every((i) => !ids(second.state).includes(i)), "no item held twice");
  ok("dream-bottle-5" in second.state.world.locations["back-room"].items);
  ok("riddle-stone" in second.state.world.npcs.bramble.has);
});

Deno.test("walkthrough: the Drowned Lighthouse to its ending, for two players in their own worlds", async () => {
  await using stack = await setup();
  for (const user of ["keeper-one", "keeper-two"]) {
    const r = await play(stack, user, "drowned-lighthouse", LIGHTHOUSE_WALKTHROUGH);
    endedWith(r, "the-light-returns", "The Light Returns");
    // The snapshot keeps the content's text (deltas stay exact); /world/describe reads it now.
    ok(
      r.state.descriptions.locations["lamp-room"].startsWith("Glass on every side and the storm"),
    );
    const res = await stack.fetch("/api/v0.3/world/describe?experience=drowned-lighthouse", {
      headers: stack.headers(await stack.token(user)),
    });
    const described = await res.json();
    eq(res.status, 200);
    ok(
      described.locations["lamp-room"].includes("the great lamp blazing"),
      JSON.stringify(described),
    );
  }
  const anon = await stack.fetch("/api/v0.3/world/describe?experience=drowned-lighthouse");
  eq(anon.status, 401);
  await anon.body?.cancel();
});
