/**
 * The KB's `not_understood` reply carries what the player can see (the
 * intent step's context), built from the real engine and content: the
 * location, its open exits, items with their contents, NPCs and other
 * players there, the inventory and the grammar's command forms; nothing
 * hidden; always within the reply schema's bounds. Other replies carry none.
 */
import assert from "node:assert/strict";
import { InteractReplySchema } from "../../shared/schema.ts";
import { startKb } from "../_helpers/mod.ts";

async function withKb(
  fn: (act: (user: string, message: string) => Promise<unknown>) => Promise<void>,
) {
  await using fx = await startKb({ responder: false });
  await fn(async (user, message) => {
    const reply = await fx.kb.interact({
      request_id: crypto.randomUUID(),
      user_id: user,
      experience: "wylding-woods",
      message,
    });
    // What crosses the bus is checked against the schema on the chat side.
    return InteractReplySchema.parse(JSON.parse(JSON.stringify(reply)));
  });
}

Deno.test("kb: a not_understood reply carries the visible context, nothing hidden", async () => {
  await withKb(async (act) => {
    // deno-lint-ignore no-explicit-any
    const go = async (user: string, m: string) => (await act(user, m)) as any;
    assert.equal((await go("ada", "look")).context, undefined, "understood: no context");
    for (const m of ["north", "east", "take blue dream bottle"]) {
      assert.equal((await go("ada", m)).context, undefined, m);
    }
    // Another player in the store, with the longest user id there is.
    const long = "b".repeat(256);
    await go(long, "north");
    await go(long, "east");
    const r = await go("ada", "could you hand me one of those glowing vials?");
    assert.equal(r.outcome.kind, "not_understood");
    const c = r.context;
    assert.equal(c.location, "Woander's Store");
    assert.deepEqual(c.exits, [
      { direction: "west", to: "Mossy Path" },
      { direction: "out", to: "Mossy Path" },
    ]);
    assert.deepEqual(c.npcs, ["Woander"]);
    assert.deepEqual(c.players, ["b".repeat(200)], "names are clamped to the schema's bound");
    assert.deepEqual(c.inventory, [{ name: "dream bottle" }]);
    assert.equal(c.items.filter((i: { name: string }) => i.name === "dream bottle").length, 3);
    assert.ok(c.verbs.some((v: string) => v.startsWith("take")));
    const json = JSON.stringify(c);
    // The locked back room, its silver bottle, what Woander wants: not visible from here.
    for (const hidden of ["Back Room", "back-room", "silver", "moonpetal", "thorn"]) {
      assert.ok(!json.includes(hidden), `context shows ${hidden}: ${json}`);
    }
    // A refusal or an incomplete command is understood: no context.
    assert.equal((await go("ada", "take")).context, undefined);
  });
});

Deno.test("kb: the context shows a container's contents where the player is", async () => {
  await withKb(async (act) => {
    // deno-lint-ignore no-explicit-any
    const go = async (m: string) => (await act("cy", m)) as any;
    await go("north");
    await go("west"); // the Silver Brook: a wicker basket, a pebble
    await go("take pebble");
    await go("put pebble in basket");
    const here = (await go("look")).outcome.facts.location;
    const r = await go("wiggle my ears");
    const names = r.context.items.map((i: { name: string }) => i.name);
    assert.deepEqual(names, here.items.map((i: { name: string }) => i.name));
    const basket = r.context.items.find((i: { contents?: string[] }) => i.contents?.length);
    assert.ok(basket, JSON.stringify(r.context.items));
    for (const [i, item] of here.items.entries()) {
      const contents = item.contents?.map((x: { name: string }) => x.name);
      assert.deepEqual(r.context.items[i].contents, contents);
    }
  });
});
