import { deepStrictEqual as eq, ok } from "node:assert/strict";
import { loadExperience, parseExperience } from "../../kb/content.ts";
import { SHIPPED_DATA_DIR as DATA_DIR } from "../_helpers/mod.ts";
import { Sim } from "./_sim.ts";

const woods = await loadExperience(DATA_DIR, "wylding-woods");
const lighthouse = await loadExperience(DATA_DIR, "drowned-lighthouse");

const id = (r: { outcome: { facts: Record<string, unknown> } }) =>
  (r.outcome.facts.item as { id: string }).id;

Deno.test("engine: 'take the dream bottle' among different bottles asks; identifying words take one", () => {
  const sim = new Sim(woods);
  for (const step of ["n", "e"]) eq(sim.run(step).outcome.kind, "moved");
  const q = sim.run("take the dream bottle");
  eq([q.outcome.kind, q.outcome.changed], ["ambiguous", false]);
  eq(
    q.outcome.summary,
    "Which do you mean: the blue dream bottle, the amber dream bottle, the green dream bottle or the violet dream bottle?",
  );
  const first = sim.run("take the blue dream bottle");
  eq(first.outcome.kind, "took");
  eq(id(first), "dream-bottle-1");
  eq(first.world.slice(0, 1), [{
    operation: "remove",
    path: "locations.woanders-store.items.dream-bottle-1",
    data: {},
  }]);
  eq(first.player, [{
    operation: "add",
    path: "inventory.dream-bottle-1",
    data: { name: "dream bottle" },
  }]);
  const second = sim.run("take the sparkly amber vial"); // unknown adjective ignored, synonym applied
  eq(id(second), "dream-bottle-2");
  eq(id(sim.run("get violet bottle")), "dream-bottle-4");
  eq(sim.run("take blue bottle").outcome.kind, "already_have");
  eq(sim.run("take bottle").outcome.kind, "took", "only one left here: no question");
  eq(Object.keys(sim.player().inventory).sort(), [
    "dream-bottle-1",
    "dream-bottle-2",
    "dream-bottle-3",
    "dream-bottle-4",
  ]);
});

Deno.test("engine: fixed items, NPCs and absent things cannot be taken and change nothing", () => {
  const sim = new Sim(woods);
  const sign = sim.run("take the signpost");
  eq([sign.outcome.kind, sign.outcome.changed], ["cannot_take", false]);
  eq(sign.outcome.summary, "The weathered signpost won't budge.");
  eq(sim.run("take the acorn").outcome.kind, "not_found"); // exists, but elsewhere
  eq(sim.run("take xyzzy").outcome.kind, "not_found");
  sim.run("n");
  sim.run("e");
  eq(sim.run("take woander").outcome.kind, "cannot_take");
  eq(sim.run("take counter").outcome.kind, "cannot_take");
});

Deno.test("engine: not understood and dialogue need the capable model; nothing changes", () => {
  const sim = new Sim(woods);
  const before = structuredClone(sim.world);
  const nu = sim.run("sing a song of sixpence");
  eq([nu.outcome.kind, nu.outcome.changed, nu.outcome.needs_capable_model], [
    "not_understood",
    false,
    true,
  ]);
  sim.run("n");
  sim.run("e");
  const talk = sim.run("talk to woander");
  eq([talk.outcome.kind, talk.outcome.needs_capable_model], ["talked", true]);
  const ask = sim.run("ask the shopkeeper about the back room");
  eq([ask.outcome.kind, ask.outcome.needs_capable_model], ["answered", true]);
  eq(ask.outcome.facts.topic, "back room");
  ok(String(ask.outcome.facts.answer).includes("moonpetal"));
  const unknownTopic = sim.run("ask woander about taxes");
  eq([unknownTopic.outcome.facts.known, unknownTopic.outcome.needs_capable_model], [false, true]);
  eq(sim.run("look").outcome.changed, false);
  eq(sim.run("inventory").outcome.summary, "You are carrying nothing.");
  eq(sim.run("help").outcome.kind, "help");
  eq(sim.run("take").outcome.kind, "incomplete");
  eq(before.locations, sim.world.locations); // only moves happened
});

Deno.test("engine: the give-item puzzle opens the thorn door for the giver; the owl trades its stone", () => {
  const sim = new Sim(woods);
  const path = ["n", "w", "take moonpetal", "e", "e"];
  for (const m of path) ok(sim.run(m).outcome.changed, m);
  const blocked = sim.run("north");
  eq(blocked.outcome.kind, "blocked");
  ok(blocked.outcome.summary.includes("thorns"));
  eq(sim.run("give moonpetal to the pebble").outcome.kind, "no_one");
  const gave = sim.run("give the flower to woander");
  eq(gave.outcome.kind, "gave");
  eq(gave.outcome.facts.unlocked, {
    location: "woanders-store",
    direction: "north",
    to: "back-room",
  });
  eq(
    Object.keys(sim.world.npcs.woander!.has),
    ["moonpetal_2"],
    "a copy: the flower stays at the brook",
  );
  eq(sim.world.locations["woanders-store"]!.exits.north, undefined, "open for this player only");
  eq(sim.player().exits, { "woanders-store": { north: { to: "back-room" } } });
  eq(sim.run("n").outcome.kind, "moved");
  eq(sim.player().location, "back-room");
  for (const m of ["s", "w", "n", "take the golden acorn"]) ok(sim.run(m).outcome.changed, m);
  eq(sim.run("give lantern to bramble").outcome.kind, "not_carrying");
  eq(sim.run("ask owl about acorn").outcome.facts.known, true, "plural topic, singular word");
  const trade = sim.run("give the owl the acorn"); // no "to": the engine finds the NPC
  eq(trade.outcome.kind, "gave");
  eq(Object.keys(sim.player().inventory).map((i) => i.replace(/_\d+$/, "")), ["riddle-stone"]);
  const refused = sim.run("give the riddle stone to bramble");
  eq(refused.outcome.kind, "refused", "an item the NPC does not want");
  eq(refused.outcome.changed, false);
  ok(
    Object.keys(sim.world.npcs.bramble!.has).includes("riddle-stone"),
    "the owl keeps one for others",
  );
});

Deno.test("engine: go by place name, containers, put and examine", () => {
  const sim = new Sim(woods);
  sim.run("n");
  eq(sim.run("go to the brook").outcome.facts.direction, "west");
  eq(sim.run("take pebble").outcome.kind, "took");
  eq(sim.run("put pebble in pebble").outcome.kind, "invalid");
  eq(sim.run("put the pebble in the basket").outcome.kind, "put");
  eq(sim.run("x basket").outcome.facts.item, {
    id: "basket",
    name: "wicker basket",
    phrase: "a wicker basket",
    description: "A small wicker basket someone left on the bank.",
    contents: [{ id: "pebble", name: "smooth pebble" }],
  });
  eq(sim.run("take basket").outcome.kind, "took");
  eq(sim.player().inventory.basket!.contents, { pebble: { name: "smooth pebble" } });
  eq(sim.run("drop the pebble").outcome.kind, "dropped"); // out of the carried basket
  ok("pebble" in sim.world.locations["silver-brook"]!.items);
  eq(sim.run("go nowhere").outcome.kind, "no_exit");
  eq(sim.run("south").outcome.kind, "no_exit");
});

Deno.test("engine: shared moves update presence; isolated has none", () => {
  const sim = new Sim(woods, "a.b");
  sim.player("a.b");
  sim.player("bob");
  sim.teleport("mossy-path", "bob");
  const moved = sim.run("north");
  eq(moved.world, [{
    operation: "update",
    path: "players.a~1b",
    data: { location: "mossy-path" },
  }]);
  eq((moved.outcome.facts.location as { players: string[] }).players, ["bob"]);
  const iso = new Sim(lighthouse);
  const m = iso.run("north");
  eq([m.world.length, m.player.length], [0, 1]);
  const kinds = iso.kinds(["s", "e", "take the glasses", "w", "w"]);
  eq(kinds, ["moved", "moved", "took", "moved", "moved"]);
  eq(iso.run("up").outcome.kind, "blocked");
});

const keys = parseExperience("keys", "fixture", {
  config: JSON.stringify({
    name: "K",
    description: "K",
    state: { model: "isolated" },
    start: "hall",
  }),
  locations: JSON.stringify({ hall: { name: "Hall", description: "A hall." } }),
  items: JSON.stringify({
    "brass-key": { name: "brass key", description: "Brass.", location: "hall" },
    "iron-key": { name: "iron key", description: "Iron.", location: "hall" },
    "coin-1": { name: "copper coin", description: "A coin.", location: "hall" },
    "coin-2": { name: "copper coin", description: "A coin.", location: "hall" },
    "coin-3": { name: "copper coin", description: "A coin.", location: "hall" },
  }),
  npcs: "{}",
});

Deno.test("engine: a tie between different things is a question; identical things are not", () => {
  const sim = new Sim(keys);
  const r = sim.run("take the key");
  eq([r.outcome.kind, r.outcome.changed], ["ambiguous", false]);
  eq(r.outcome.summary, "Which do you mean: the brass key or the iron key?");
  eq(id(sim.run("take iron key")), "iron-key");
  eq(sim.run("take key").outcome.kind, "took"); // only one left here
  const coin = sim.run("take coin");
  eq([coin.outcome.kind, id(coin)], ["took", "coin-1"], "identical coins: the first, no question");
  sim.run("take coin");
  eq(sim.say("i"), "You are carrying an iron key, a brass key and two copper coins.");
});

Deno.test("engine: words that name Object's own properties are ordinary unknown words", () => {
  const words = ["constructor", "__proto__", "toString", "hasOwnProperty", "valueOf", "prototype"];
  const forms = [
    "{w}",
    "go {w}",
    "take {w}",
    "examine {w}",
    "talk to {w}",
    "ask woander about {w}",
    "open {w}",
    "use {w} on {w}",
  ];
  for (const exp of [woods, lighthouse]) {
    const sim = new Sim(exp);
    for (const w of words) {
      for (const form of forms) {
        const r = sim.run(form.replaceAll("{w}", w));
        ok(
          !/function|native code|\[object/.test(r.outcome.summary),
          `${form} / ${w}: ${r.outcome.summary}`,
        );
        eq(r.outcome.changed, false, `${form} / ${w} changed the world`);
      }
    }
  }
});

Deno.test("engine: a word the content uses is not replaced by a synonym; containers do not nest", () => {
  const sim = new Sim(lighthouse); // starts on the beach
  eq(sim.run("w").outcome.kind, "moved");
  eq(sim.run("take tin bucket").outcome.kind, "took", '"tin" names the bucket here');
  for (const m of ["e", "e", "take the spectacles", "w", "n"]) {
    eq(sim.run(m).outcome.changed, true, m);
  }
  eq(sim.run("take the tin").outcome.kind, "took", 'here "tin" is the sardine tin');
  eq(sim.run("put spectacles in bucket").outcome.kind, "put");
  eq(sim.run("n").outcome.kind, "moved"); // the cottage, with the sea chest
  eq(sim.run("open chest").outcome.kind, "opened");
  const nested = sim.run("put bucket in sea chest");
  eq(nested.outcome.kind, "invalid", "a container in a container");
  eq(nested.outcome.changed, false);
});
