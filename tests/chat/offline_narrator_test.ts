/**
 * The offline narrator: deterministic prose from an outcome, and from the
 * real engine's outcomes.
 */
import assert from "node:assert/strict";
import { offlineProse } from "../../chat/mod.ts";
import { startKb } from "../_helpers/mod.ts";

Deno.test("offline narrator: deterministic prose from the outcome", () => {
  const outcome = {
    kind: "looked",
    changed: false,
    summary: "You are in Woander's store",
    facts: {
      location: {
        id: "store",
        name: "Woander's store",
        description: "Shelves of glass bottles catch the light.",
        exits: [
          { direction: "west", to: "clearing", name: "the clearing" },
          { direction: "south", to: "river-path", name: "the river path" },
        ],
        items: [{ id: "bottle", name: "a blue dream bottle" }, {
          id: "lantern",
          name: "a lantern",
        }],
        npcs: [{ id: "woander", name: "Woander" }],
        players: [],
      },
    },
    needs_capable_model: false,
  };
  const text = offlineProse(outcome);
  assert.equal(
    text,
    "You are in Woander's store. Shelves of glass bottles catch the light. You notice a blue dream " +
      "bottle and a lantern here. Woander is here. From here you can go west to the clearing or south to the river path.",
  );
  assert.equal(offlineProse(outcome), text);
  assert.match(
    offlineProse({ ...outcome, kind: "not_understood", summary: "You cannot fly", facts: {} }),
    /Try look, go <place>/,
  );
  const moved = offlineProse({
    kind: "moved",
    changed: true,
    summary: "You go north to The Old Oak.",
    facts: {
      from: "mossy-path",
      direction: "north",
      location: {
        name: "The Old Oak",
        description: "An ancient oak, wider than a cottage.",
        exits: [{ direction: "south", name: "Mossy Path" }, {
          direction: "up",
          name: "Oak Canopy",
        }],
        items: [{ id: "acorn", name: "golden acorn" }],
        npcs: [{ id: "bramble", name: "Bramble" }],
        players: ["ada"],
      },
    },
    needs_capable_model: false,
  });
  assert.equal(
    moved,
    "You go north to The Old Oak. An ancient oak, wider than a cottage. You notice the golden acorn here. " +
      "Bramble is here. Also here: ada. From here you can go south to Mossy Path or up to Oak Canopy.",
  );
  // Identical items are counted, not repeated; named ones stay as they are.
  const store = offlineProse({
    kind: "looked",
    changed: false,
    summary: "You are in Woander's Store.",
    facts: {
      location: {
        items: [
          "dream bottle",
          "dream bottle",
          "oak counter",
          "dream bottle",
          "Woander's key",
          "box",
        ]
          .map((name, i) => ({ id: `i${i}`, name })),
      },
    },
    needs_capable_model: false,
  });
  assert.match(
    store,
    /You notice three dream bottles, the oak counter, Woander's key and the box here\./,
  );
  // A location named by id only (a refused move, a missing item) adds nothing to the summary.
  const blocked = {
    kind: "blocked",
    changed: false,
    summary: "The thorns will not let you pass.",
    facts: { direction: "north", location: "mossy-path" },
    needs_capable_model: false,
  };
  assert.equal(offlineProse(blocked), "The thorns will not let you pass.");
  const talked = offlineProse({
    kind: "talked",
    changed: false,
    summary: "You talk to Woander. Welcome!",
    facts: {
      npc: { id: "woander", name: "Woander" },
      greeting: "Welcome!",
      topics: ["bottles", "the back room"],
    },
    needs_capable_model: true,
  });
  assert.match(talked, /You could ask about bottles or the back room\.$/);
});

Deno.test("offline narrator: prose from the real engine's outcomes", async () => {
  await using fx = await startKb();
  {
    const act = async (message: string) => {
      const reply = await fx.kb.interact({
        request_id: crypto.randomUUID(),
        user_id: "reader",
        experience: "wylding-woods",
        message,
      });
      assert.ok(reply.ok, JSON.stringify(reply));
      return offlineProse(reply.outcome);
    };
    const look = await act("look");
    const snap = await fx.kb.snapshot("reader", "wylding-woods");
    const here = snap.player.location as string;
    assert.ok(look.includes(snap.descriptions!.locations[here]!), look);
    assert.match(look, /From here you can go \w+ to /);
    assert.match(await act("go north"), /From here you can go \w+ to /);
  }
});
