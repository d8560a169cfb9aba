/**
 * The parser table of issue 14, one test per row, played through the engine
 * on the shipped content (what players of classic interactive fiction type
 * without thinking).
 *
 * @module
 */
import { deepStrictEqual as eq, match, ok } from "node:assert/strict";
import { loadExperience } from "../../kb/content.ts";
import { SHIPPED_DATA_DIR as DATA_DIR } from "../_helpers/mod.ts";
import { Sim } from "./_sim.ts";

const woods = await loadExperience(DATA_DIR, "wylding-woods");
const lighthouse = await loadExperience(DATA_DIR, "drowned-lighthouse");
const held = (sim: Sim) => Object.keys(sim.player().inventory).sort();

Deno.test("parser: take all, drop all, all except X", () => {
  const sim = new Sim(lighthouse);
  eq(sim.say("take all"), "You take the spiral shell and the driftwood.");
  eq(held(sim), ["driftwood", "shell"]);
  eq(sim.say("take all"), "There is nothing here to take.", 'not "You don\'t see any all here."');
  eq(sim.say("drop all"), "You drop the spiral shell and the driftwood.");
  eq(sim.say("take all except the shell"), "You take the driftwood.");
  eq(held(sim), ["driftwood"]);
  sim.run("w"); // the tower base: a door and a fixed-in-place iron door are skipped by "all"
  eq(sim.say("take everything but the bucket"), "You take the coil of rope.");
  eq(sim.say("drop all but the rope"), "You drop the driftwood.");
});

Deno.test("parser: several objects with 'and' and commas", () => {
  const sim = new Sim(lighthouse);
  eq(sim.say("take shell and driftwood"), "You take the spiral shell and the driftwood.");
  sim.run("drop all");
  eq(sim.say("take driftwood, shell"), "You take the driftwood and the spiral shell.");
  eq(
    sim.say("drop shell and starfish"),
    "You drop the spiral shell. You are not carrying any starfish.",
    "one missing object is told; the others still happen",
  );
});

Deno.test("parser: pronouns, 'take it' and 'examine them'", () => {
  const sim = new Sim(lighthouse);
  eq(sim.say("take it"), "I'm not sure what 'it' refers to.");
  sim.run("x shell");
  eq(sim.say("take it"), "You take the spiral shell.");
  eq(sim.say("drop it"), "You drop the spiral shell.");
  sim.run("take shell and driftwood");
  match(
    sim.say("examine them"),
    /^The spiral shell: Hold it to your ear.* The driftwood: A bleached branch/,
  );
  eq(sim.say("drop them"), "You drop the spiral shell and the driftwood.");
  // The last noun is per player and travels in the profile.
  eq(sim.player().context?.it, ["shell", "driftwood"]);
});

Deno.test("parser: again and g repeat the last command", () => {
  const sim = new Sim(lighthouse);
  eq(sim.say("again"), "There is nothing to repeat.");
  sim.run("n");
  eq(sim.say("g"), "You go north to the keeper's cottage.");
  eq(sim.player().location, "cottage");
  sim.run("x kettle");
  eq(sim.say("again"), sim.say("x kettle"));
});

Deno.test("parser: wait and z pass time", () => {
  const sim = new Sim(lighthouse);
  eq(sim.say("wait"), "Time passes.");
  eq(sim.say("z"), "Time passes.");
  eq(sim.run("z").outcome.changed, false);
});

Deno.test("parser: x me describes the player", () => {
  const sim = new Sim(lighthouse);
  sim.run("take shell");
  eq(sim.say("x me"), "You are alice, on the storm beach. You are carrying a spiral shell.");
  eq(sim.say("examine myself"), sim.say("x me"));
});

Deno.test("parser: open X (and close, lock, unlock)", () => {
  const sim = new Sim(lighthouse);
  sim.kinds(["n", "n"]);
  eq(sim.say("take logbook"), "You don't see any logbook here.", "inside the closed chest");
  eq(sim.say("open chest"), "You open the sea chest. In the sea chest you see a keeper's logbook.");
  eq(sim.say("open chest"), "The sea chest is already open.");
  eq(sim.say("take logbook"), "You take the keeper's logbook from the sea chest.");
  eq(sim.say("close chest"), "You close the sea chest.");
  eq(sim.say("open the kettle"), "You can't open the iron kettle.");
});

Deno.test("parser: look in X lists the contents (and search)", () => {
  const sim = new Sim(woods);
  sim.kinds(["n", "w"]);
  eq(sim.say("look in the basket"), "The wicker basket is empty.");
  sim.run("take pebble");
  sim.run("put pebble in basket");
  eq(sim.say("look in basket"), "In the wicker basket you see a smooth pebble.");
  eq(sim.say("search basket"), "In the wicker basket you see a smooth pebble.");
  eq(sim.say("look in the moonpetal"), "You find nothing of interest in the moonpetal.");
  const chest = new Sim(lighthouse);
  chest.kinds(["n", "n"]);
  eq(chest.say("look in chest"), "The sea chest is closed.");
});

Deno.test("parser: put X on Y", () => {
  const sim = new Sim(woods);
  sim.kinds(["n", "take mushroom", "e"]);
  eq(
    sim.say("put the mushroom on the counter"),
    "You put the glowing mushroom on the oak counter.",
  );
  eq(sim.say("look in counter"), "On the oak counter you see a glowing mushroom.");
  eq(sim.say("take mushroom from counter"), "You take the glowing mushroom from the oak counter.");
  eq(sim.say("put mushroom on woander"), "You don't see any woander here.");
});

Deno.test("parser: a question is answered by the next input with just the noun or an adjective", () => {
  const sim = new Sim(woods);
  sim.kinds(["n", "e"]);
  match(sim.say("take bottle"), /^Which do you mean: the blue dream bottle, the amber/);
  ok(sim.player().context?.pending, "the question waits in the profile");
  const r = sim.run("amber");
  eq([r.outcome.kind, (r.outcome.facts.item as { id: string }).id], ["took", "dream-bottle-2"]);
  eq(sim.player().context?.pending, undefined);
  match(sim.say("take bottle"), /^Which do you mean/);
  eq(sim.say("the green one"), "You take the dream bottle.");
  match(sim.say("drop bottle"), /^Which do you mean: the amber dream bottle or the green/);
  eq(sim.say("both"), "You drop two dream bottles.");
  match(sim.say("take bottle"), /^Which do you mean/);
  eq(sim.say("north"), sim.say("north"), "a command instead of an answer is just a command");
  eq(sim.say("blue"), "That is not something this world understands.", "the question is gone");
});

Deno.test("parser: one-edit typos are read as what they are one edit from, and said", () => {
  const sim = new Sim(lighthouse);
  eq(sim.say("tkae shell"), "(taking 'tkae' as 'take') You take the spiral shell.");
  eq(sim.say("nroth"), "(taking 'nroth' as 'north') You go north to the grass dunes.");
  eq(
    sim.say("x sardnes"),
    "(taking 'sardnes' as 'sardines') A dented tin of sardines. Gulls would sell their souls for it.",
  );
  eq(sim.say("xyzzy"), "That is not something this world understands.");
});

Deno.test("parser: exits lists each way once, grouped by destination", () => {
  const sim = new Sim(lighthouse);
  eq(
    sim.say("exits"),
    "You can go north to the grass dunes, east to the tide pools or west to the base of the lighthouse.",
  );
  sim.kinds(["n", "n"]);
  eq(sim.say("exits"), "You can go south or out to the grass dunes.");
});

Deno.test("parser: chained commands with '.' and 'then' run in order", () => {
  const sim = new Sim(lighthouse);
  const r = sim.run("n. n");
  eq(r.outcome.kind, "several");
  eq(r.outcome.summary, "You go north to the grass dunes. You go north to the keeper's cottage.");
  eq(sim.player().location, "cottage");
  eq(
    sim.say("s then s then take shell"),
    "You go south to the grass dunes. You go south to the storm beach. You take the spiral shell.",
  );
  // A chain stops at the first command not understood.
  eq(
    sim.say("n. dance. n"),
    "You go north to the grass dunes. That is not something this world understands.",
  );
  eq(sim.player().location, "dunes");
});

Deno.test("parser: 'I only understood you as far as ...' for partial matches", () => {
  const sim = new Sim(lighthouse);
  eq(
    sim.say("take shell driftwood"),
    "I only understood you as far as wanting to take the spiral shell.",
  );
  eq(sim.say("wait for the tide"), "I only understood you as far as wanting to wait.");
  eq(sim.say("north quickly"), "I only understood you as far as wanting to go north.");
  eq(sim.player().location, "beach", "a partial command does nothing");
});

Deno.test("parser: identical items are taken without asking and counted in the inventory", () => {
  const sim = new Sim(woods);
  sim.run("n. e");
  // Respawned copies of one bottle are identical; the originals differ.
  sim.run("take blue bottle");
  sim.now += 601_000;
  sim.run("look"); // the blue bottle is back on the shelf, as a copy
  ok("dream-bottle-1_2" in sim.world.locations["woanders-store"]!.items);
  sim.run("take blue bottle");
  eq(sim.say("i"), "You are carrying two dream bottles.");
});

Deno.test("parser: a stored command of another shape is nothing to repeat, not a failure", () => {
  const sim = new Sim(lighthouse);
  sim.run("n");
  sim.player().context = { last: { verb: "take", objects: "not a list" } };
  eq(sim.say("again"), "There is nothing to repeat.");
  sim.player().context = {
    pending: { command: { verb: "drop" }, slot: "objects", index: 0, candidates: ["shell"] },
  };
  sim.teleport("beach");
  ok(sim.run("shell").outcome.kind !== "took");
});

Deno.test("parser: a plural means every thing the words fit", () => {
  const sim = new Sim(woods);
  sim.run("n. e");
  eq(sim.say("take the bottles"), "You take four dream bottles.");
  eq(sim.say("drop bottles"), "You drop four dream bottles.");
  eq(sim.say("take the blue bottles"), "You take the dream bottle.");
  eq(Object.keys(sim.player().inventory), ["dream-bottle-1"]);
  eq(sim.say("take all except the amber bottle"), "You take two dream bottles.");
});
