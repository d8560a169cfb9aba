/**
 * Prose rules over everything both shipped experiences can say about their
 * places and things: every location looked at (engine summary and the
 * offline narrator's text), its exits, and every item examined, taken,
 * carried and dropped.
 *
 * Rules: articles (a/an by sound, declared mass nouns never get "a"),
 * sentences start with a capital letter, places inside sentences use their
 * sentence name ("on the storm beach", never "in Storm Beach"), things of
 * one name are counted ("four dream bottles"), and no destination is listed
 * twice among the exits.
 *
 * @module
 */
import { deepStrictEqual as eq, ok } from "node:assert/strict";
import { type Experience, loadExperience } from "../../kb/content.ts";
import { offlineProse } from "../../chat/narrators/offline.ts";
import { calledName } from "../../kb/prose.ts";
import { SHIPPED_DATA_DIR as DATA_DIR } from "../_helpers/mod.ts";
import { Sim } from "./_sim.ts";

const EXPERIENCES = await Promise.all(
  ["wylding-woods", "drowned-lighthouse"].map((id) => loadExperience(DATA_DIR, id)),
);

/** Every rule, for one text; returns the broken ones. */
function problems(exp: Experience, text: string): string[] {
  const out: string[] = [];
  for (const s of text.split(/(?<=[.!?])\s+(?=\S)/)) {
    const first = /\p{L}/u.exec(s)?.[0];
    if (first && first !== first.toUpperCase()) out.push(`lower-case sentence: "${s}"`);
  }
  for (const m of text.matchAll(/\b(a|an) (\w+)/gi)) {
    const [, art, word] = m;
    const vowel = /^[aeiou]/i.test(word!) && !/^(one|uni|use|eu)/i.test(word!);
    if (art!.toLowerCase() === "a" && vowel) out.push(`"${m[0]}"`);
    if (art!.toLowerCase() === "an" && !vowel && !/^hour|^honest/i.test(word!)) {
      out.push(`"${m[0]}"`);
    }
  }
  for (const item of Object.values(exp.items)) {
    if (item.article === "some" && new RegExp(`\\ban? ${item.name}\\b`).test(text)) {
      out.push(`mass noun with "a": ${item.name}`);
    }
  }
  for (const loc of Object.values(exp.locations)) {
    const called = calledName(loc);
    if (called === loc.name) continue;
    const inSentence = new RegExp(`\\b(in|on|at|to|by|from|beneath|among) ${loc.name}\\b`);
    if (inSentence.test(text)) out.push(`place name mid-sentence: "${loc.name}" (say "${called}")`);
  }
  for (const m of text.matchAll(/You notice ([^.]*) here\./g)) {
    const parts = m[1]!.split(/, | and /);
    if (new Set(parts).size !== parts.length) out.push(`uncounted repeats: "${m[0]}"`);
  }
  for (const m of text.matchAll(/(?:From here you can go|You can go) ([^.]*)\./g)) {
    const places = [...m[1]!.matchAll(/\bto ((?:the )?[\w' ]+?)(?=,| or |$)/g)].map((x) => x[1]);
    if (new Set(places).size !== places.length) out.push(`a destination twice: "${m[0]}"`);
  }
  if (/You don't see any (all|everything) here/.test(text)) out.push(`"all" as a thing: ${text}`);
  return out;
}

function check(exp: Experience, what: string, texts: string[]) {
  for (const t of texts) {
    const bad = problems(exp, t);
    eq(bad, [], `${exp.id} ${what}: ${t}`);
  }
}

/** Where an item can be seen: its location, its container's, or its holder's (moved there). */
function placeFor(sim: Sim, id: string): string {
  const item = sim.exp.items[id]!;
  if (item.location) return item.location;
  if (item.inside) return placeFor(sim, item.inside);
  const npc = sim.exp.npcs[item.held_by!]!;
  const rec = sim.world.npcs[item.held_by!]!.has[id]!;
  delete sim.world.npcs[item.held_by!]!.has[id];
  sim.world.locations[npc.location]!.items[id] = rec;
  return npc.location;
}

for (const exp of EXPERIENCES) {
  Deno.test(`prose: every location of ${exp.id}, its look, narration and exits`, () => {
    const sim = new Sim(exp);
    for (const [id, loc] of Object.entries(exp.locations)) {
      sim.teleport(id);
      const look = sim.run("look").outcome;
      eq(look.summary, `You are ${loc.preposition} ${calledName(loc)}.`);
      const exits = sim.run("exits").outcome.summary;
      check(exp, `look at ${id}`, [look.summary, offlineProse(look), exits]);
    }
  });

  Deno.test(`prose: every item of ${exp.id} examined, taken, carried and dropped`, () => {
    for (const [id, item] of Object.entries(exp.items)) {
      const sim = new Sim(exp);
      sim.teleport(placeFor(sim, id));
      if (item.inside) sim.run(`open ${item.inside.replaceAll("-", " ")}`);
      const words = id.replaceAll("-", " ");
      const x = sim.run(`examine ${words}`).outcome;
      eq(x.kind, "examined", `${id}: ${x.summary}`);
      const texts = [x.summary, offlineProse(x), offlineProse(sim.run("look").outcome)];
      if (item.portable) {
        const took = sim.run(`take ${words}`).outcome;
        eq(took.kind, "took", `${id}: ${took.summary}`);
        ok(
          took.summary.includes(item.article === "" ? item.name : `the ${item.name}`),
          took.summary,
        );
        texts.push(took.summary, offlineProse(took), sim.say("i"), sim.say("x me"));
        texts.push(sim.say("drop all"));
      } else {
        texts.push(sim.say(`take ${words}`));
      }
      check(exp, `item ${id}`, texts);
    }
  });
}

Deno.test("prose: things of one name are counted, and the inventory says how many", () => {
  const woods = EXPERIENCES[0]!;
  const sim = new Sim(woods);
  sim.teleport("woanders-store");
  const look = offlineProse(sim.run("look").outcome);
  ok(look.includes("You notice four dream bottles and an oak counter here."), look);
  sim.run("take all");
  eq(sim.say("i"), "You are carrying four dream bottles.");
  eq(sim.say("drop all"), "You drop four dream bottles.");
});

Deno.test("prose: the rules catch what they are for", () => {
  const exp = EXPERIENCES[1]!;
  eq(problems(exp, "You are in Storm Beach."), [
    'place name mid-sentence: "Storm Beach" (say "the storm beach")',
  ]);
  eq(problems(exp, "You see a driftwood."), ['mass noun with "a": driftwood']);
  eq(problems(exp, "a grey cat is here."), ['lower-case sentence: "a grey cat is here."']);
  eq(problems(exp, "You notice an shell."), ['"an shell"']);
  eq(problems(exp, "You notice a shell, a shell and a rope here."), [
    'uncounted repeats: "You notice a shell, a shell and a rope here."',
  ]);
  eq(problems(exp, "From here you can go east to the storm beach or out to the storm beach."), [
    'a destination twice: "From here you can go east to the storm beach or out to the storm beach."',
  ]);
  eq(problems(exp, "You don't see any all here."), [
    `"all" as a thing: You don't see any all here.`,
  ]);
});
