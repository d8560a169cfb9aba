/**
 * Goals, endings, data-driven verbs, state-dependent text and shared worlds
 * that do not run out, through the engine on the shipped content.
 *
 * @module
 */
import { deepStrictEqual as eq, match, ok } from "node:assert/strict";
import { loadExperience } from "../../kb/content.ts";
import { offlineProse } from "../../chat/narrators/offline.ts";
import { SHIPPED_DATA_DIR as DATA_DIR } from "../_helpers/mod.ts";
import { Sim } from "./_sim.ts";
import { LIGHTHOUSE_WALKTHROUGH, WOODS_WALKTHROUGH } from "./_walkthroughs.ts";

const woods = await loadExperience(DATA_DIR, "wylding-woods");
const lighthouse = await loadExperience(DATA_DIR, "drowned-lighthouse");

Deno.test("game: the lighthouse is played to its ending; score and the narrator tell it", () => {
  const sim = new Sim(lighthouse);
  eq(sim.say("score"), "You have 0 of 10 points. 5 goals remain.");
  let last;
  for (const m of LIGHTHOUSE_WALKTHROUGH) {
    last = sim.run(m);
    ok(
      !["not_understood", "refused", "not_found", "blocked"].includes(last.outcome.kind),
      `${m}: ${last.outcome.summary}`,
    );
  }
  eq(last!.outcome.kind, "lit");
  eq(last!.outcome.facts.ending, {
    id: "the-light-returns",
    title: "The Light Returns",
    text: lighthouse.config.endings["the-light-returns"]!.text,
  });
  eq((last!.outcome.facts.goals as { id: string }[]).map((g) => g.id), ["lamp-lit"]);
  eq(last!.outcome.facts.score, { points: 10, max: 10 });
  match(
    offlineProse(last!.outcome),
    /Goal reached: Light the great lamp \(\+4\)\. .*Your score is 10 of 10\. The end: The Light Returns\. The great lamp wakes/,
  );
  eq(sim.player().ending?.id, "the-light-returns");
  eq(sim.player().score, 10);
  match(
    sim.say("score"),
    /^You have 10 of 10 points\. Reached: .* You reached the ending "The Light Returns"\.$/,
  );
  // State-dependent text: the lamp room and the lamp now read differently.
  match(sim.say("look"), /^You are in the lamp room\.$/);
  match(offlineProse(sim.run("look").outcome), /the great lamp blazing/);
  eq(
    sim.say("x lamp"),
    "The great lamp blazes, its lens throwing a beam across the storm. It is lit.",
  );
  const again = sim.run("extinguish lamp. light lamp");
  eq(again.outcome.facts.ending, undefined, "an ending is reached once");
});

Deno.test("game: the lighthouse puzzles refuse in the right order", () => {
  const sim = new Sim(lighthouse);
  sim.run("w");
  eq(sim.say("u"), "The iron door is locked.");
  eq(sim.say("open door"), "The iron door is locked.");
  eq(sim.say("unlock door"), "You have nothing to unlock the iron door with.");
  sim.run(
    "e. e. take spectacles. w. n. take tin. n. give spectacles to tam. take oil can. s. s. w",
  );
  eq(sim.say("unlock door with oil can"), "The oil can doesn't fit the iron door.");
  eq(sim.say("use key on door"), "You unlock the iron door with the iron key.", "a key's own use");
  eq(sim.say("lock door with key"), "You lock the iron door with the iron key.");
  eq(sim.say("unlock door with key"), "You unlock the iron door with the iron key.");
  eq(sim.say("u"), "The iron door is closed.");
  sim.run("open door");
  eq(
    sim.world.locations["lighthouse-base"]!.exits.up,
    { to: "spiral-stair" },
    "the door opens the way",
  );
  eq(sim.say("lock door"), "You have to close the iron door first.");
  sim.run("close door. lock door");
  eq(
    sim.say("open door with key"),
    "You unlock the iron door with the iron key. You open the iron door.",
  );
  sim.run("u. u");
  eq(sim.say("light lamp"), "The wick will not take: the lamp's reservoir is dry. It needs oil.");
  match(sim.say("use oil can on lamp"), /^Captain Gull spreads his wings/);
  sim.run("give tin to gull");
  eq(
    sim.say("use oil can"),
    "You fill the great lamp's reservoir to the brim and set the empty can aside.",
  );
  eq(Object.keys(sim.player().inventory).includes("oil-can"), false, "the can is used up");
  ok(sim.player().flags?.["lamp-oiled"]);
  eq(sim.say("read logbook"), "You don't see any logbook here.");
});

Deno.test("game: NPC dialogue follows state", () => {
  const sim = new Sim(lighthouse);
  sim.run("n. n");
  match(sim.say("talk to tam"), /can't see a thing/);
  sim.run("s. s. e. take spectacles. w. n. n. give spectacles to tam");
  match(sim.say("talk to tam"), /I can see you clearly now/);
  match(sim.say("ask tam about spectacles"), /Right where they belong/);
  match(sim.say("ask tam about storm"), /Worst in thirty years/, "other topics stay");
  eq(sim.say("give spectacles to tam"), "You are not carrying any spectacles.");
});

Deno.test("game: the woods are played to their ending; the silver dream opens only up the oak", () => {
  const sim = new Sim(woods);
  let last;
  for (const m of WOODS_WALKTHROUGH) {
    last = sim.run(m);
    ok(
      !["not_understood", "refused", "not_found", "blocked"].includes(last.outcome.kind),
      `${m}: ${last.outcome.summary}`,
    );
  }
  eq(last!.outcome.facts.ending, {
    id: "the-silver-dream",
    title: "The Silver Dream",
    text: woods.config.endings["the-silver-dream"]!.text,
  });
  eq(sim.player().score, 10);
  const early = new Sim(woods);
  early.run("n. w. take moonpetal. e. e. give moonpetal to woander. n. take silver bottle");
  match(early.say("open silver bottle"), /^You hesitate/);
  eq(early.player().ending, undefined);
});

Deno.test("game: in a shared world every puzzle works for the next player too", () => {
  const sim = new Sim(woods);
  for (const m of WOODS_WALKTHROUGH) sim.run(m, "ann");
  eq(sim.player("ann").ending?.id, "the-silver-dream");
  // Bob finds the moonpetal, the acorn, the silver bottle and the riddle stone still there.
  sim.run("n. w", "bob");
  match(offlineProse(sim.run("look", "bob").outcome), /moonpetal/);
  sim.run("take moonpetal. e. e", "bob");
  eq(
    sim.say("n", "bob"),
    "A curtain of woven thorns hangs across the back doorway, and Woander watches it closely.",
    "the thorns opened for ann only",
  );
  match(sim.say("talk to woander", "bob"), /Welcome, welcome!/, "Woander greets bob as a stranger");
  sim.teleport("woanders-store", "ann");
  match(sim.say("talk to woander", "ann"), /My friend of the woods!/);
  let last;
  for (const m of WOODS_WALKTHROUGH.slice(3)) last = sim.run(m, "bob");
  eq((last!.outcome.facts.ending as { id: string }).id, "the-silver-dream");
  eq(sim.player("bob").score, 10);
  // Both hold their own copies; the originals stay where content put them.
  ok("moonpetal" in sim.world.locations["silver-brook"]!.items);
  ok("dream-bottle-5" in sim.world.locations["back-room"]!.items);
  ok("riddle-stone" in sim.world.npcs.bramble!.has);
  const ids = (u: string) => Object.keys(sim.player(u).inventory).sort();
  eq(ids("ann").map((i) => i.replace(/_\d+$/, "")), ["dream-bottle-5", "riddle-stone"]);
  ok(ids("ann").every((i) => !ids("bob").includes(i)), "no item is in two inventories");
  // A trade happens once per player: a spare copy someone left does not buy a second stone.
  sim.world.locations["old-oak"]!.items["acorn_9"] = { name: "golden acorn" };
  sim.run("d. take acorn", "bob");
  eq(
    sim.say("give acorn to bramble", "bob"),
    "You offer the golden acorn to Bramble. Bramble already has your acorn tucked away. 'One trade each, walker. Fair is fair.'",
  );
});

Deno.test("game: a respawning item comes back after its time, or at once when taken out of play", () => {
  const sim = new Sim(woods);
  sim.run("take lantern", "ann");
  eq(sim.world.respawn, { lantern: { since: sim.now } }, "marked with the time it left");
  sim.now += 60_000;
  eq(sim.say("look", "bob"), "You are at the edge of the Wylding Woods.");
  ok(!Object.keys(sim.world.locations["woods-edge"]!.items).some((i) => i.startsWith("lantern")));
  sim.now += 60_000; // 120 s after it left
  const back = sim.run("look", "bob");
  eq(back.outcome.changed, true, "the respawn is a change, decided from the time of this action");
  ok("lantern_2" in sim.world.locations["woods-edge"]!.items);
  eq(sim.world.respawn, {}, "the mark is gone once it is back");
  eq(sim.run("take lantern", "bob").outcome.kind, "took");
  // Two dream bottles given away: the place is refilled at once.
  sim.run("n. e. take blue bottle. take amber bottle", "cy");
  eq(
    sim.run("give blue bottle to woander", "cy").outcome.kind,
    "refused",
    "Woander does not want it",
  );
  ok(!("dream-bottle-1" in sim.world.locations["woanders-store"]!.items));
});

Deno.test("game: a reply drops a respawning item back at once when an NPC keeps it", () => {
  const exp = structuredClone(woods) as typeof woods;
  (exp.npcs.woander!.wants as Record<string, unknown>)["lantern"] = {
    reply: "Thank you.",
    set_flags: [],
    again: "Again?",
  };
  const sim = new Sim(exp);
  sim.run("take lantern. n. e");
  ok(sim.world.respawn?.lantern);
  sim.run("give lantern to woander");
  ok("lantern_2" in sim.world.locations["woods-edge"]!.items, "back at its place at once");
  eq(Object.keys(sim.world.respawn ?? {}), []);
});

Deno.test("game: state-dependent location text follows a per-player exit", () => {
  const sim = new Sim(woods);
  sim.run("n. w. take moonpetal. e. e", "ann");
  match(offlineProse(sim.run("look", "ann").outcome), /hidden by a curtain of thorns/);
  sim.run("give moonpetal to woander", "ann");
  const after = offlineProse(sim.run("look", "ann").outcome);
  ok(!after.includes("hidden by a curtain of thorns"), after);
  match(after, /the back doorway stands open/);
  match(after, /north to Woander's back room/);
  sim.run("n. e. e", "bob");
  match(offlineProse(sim.run("look", "bob").outcome), /hidden by a curtain of thorns/);
});
