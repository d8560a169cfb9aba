import { deepStrictEqual as eq, ok } from "node:assert/strict";
import fc from "fast-check";
import { type Command, parseCommand, splitCommands, tokenize } from "../../kb/grammar.ts";
import { correction, oneEdit } from "../../kb/typo.ts";

const w = (...words: string[]) => ({ words });

const cases: Array<[string, Command]> = [
  ["look", { verb: "look" }],
  ["l", { verb: "look" }],
  ["Look around.", { verb: "look" }],
  ["look at the lantern", { verb: "examine", objects: [w("lantern")] }],
  ["examine the blue bottle", { verb: "examine", objects: [w("blue", "bottle")] }],
  ["x counter", { verb: "examine", objects: [w("counter")] }],
  ["x me", { verb: "me" }],
  ["examine myself", { verb: "me" }],
  ["examine them", { verb: "examine", objects: [{ pronoun: "them" }] }],
  ["look in the basket", { verb: "search", object: w("basket") }],
  ["search chest", { verb: "search", object: w("chest") }],
  ["go north", { verb: "go", target: ["north"] }],
  ["walk to the store", { verb: "go", target: ["store"] }],
  ["enter the store", { verb: "go", target: ["store"] }],
  ["enter", { verb: "go", target: ["in"] }],
  ["n", { verb: "go", target: ["n"] }],
  ["up", { verb: "go", target: ["up"] }],
  ["go into woander's store", { verb: "go", target: ["woanders", "store"] }],
  ["exits", { verb: "exits" }],
  ["take the dream bottle", { verb: "take", objects: [w("dream", "bottle")] }],
  ["get lantern", { verb: "take", objects: [w("lantern")] }],
  ["grab a pebble", { verb: "take", objects: [w("pebble")] }],
  ["pick up the acorn", { verb: "take", objects: [w("acorn")] }],
  ["pick the acorn up", { verb: "take", objects: [w("acorn")] }],
  ["take moonpetal from the basket", {
    verb: "take",
    objects: [w("moonpetal")],
    from: w("basket"),
  }],
  ["take all", { verb: "take", objects: [{ all: true, except: [] }] }],
  ["take everything except the lantern and the pebble", {
    verb: "take",
    objects: [{ all: true, except: [w("lantern"), w("pebble")] }],
  }],
  ["take all but acorn", { verb: "take", objects: [{ all: true, except: [w("acorn")] }] }],
  ["take lantern and pebble", { verb: "take", objects: [w("lantern"), w("pebble")] }],
  ["take lantern, pebble and acorn", {
    verb: "take",
    objects: [w("lantern"), w("pebble"), w("acorn")],
  }],
  ["take it", { verb: "take", objects: [{ pronoun: "it" }] }],
  ["drop the lantern", { verb: "drop", objects: [w("lantern")] }],
  ["drop all", { verb: "drop", objects: [{ all: true, except: [] }] }],
  ["put down the lantern", { verb: "drop", objects: [w("lantern")] }],
  ["put the lantern down", { verb: "drop", objects: [w("lantern")] }],
  ["put the pebble in the basket", {
    verb: "put",
    objects: [w("pebble")],
    container: w("basket"),
    on: false,
  }],
  ["put pebble into wicker basket", {
    verb: "put",
    objects: [w("pebble")],
    container: w("wicker", "basket"),
    on: false,
  }],
  ["put the bottle on the counter", {
    verb: "put",
    objects: [w("bottle")],
    container: w("counter"),
    on: true,
  }],
  ["give the moonpetal to Woander", {
    verb: "give",
    objects: [w("moonpetal")],
    npc: ["woander"],
  }],
  ["give woander the moonpetal", { verb: "give", objects: [w("woander", "moonpetal")], npc: [] }],
  ["talk to the owl", { verb: "talk", npc: ["owl"] }],
  ["speak with Woander", { verb: "talk", npc: ["woander"] }],
  ["ask woander about the back room", {
    verb: "ask",
    npc: ["woander"],
    topic: ["back", "room"],
  }],
  ["talk to bramble about the riddle", { verb: "ask", npc: ["bramble"], topic: ["riddle"] }],
  ["open the chest", { verb: "open", object: w("chest") }],
  ["shut door", { verb: "close", object: w("door") }],
  ["open the door with the key", { verb: "open", object: w("door"), key: w("key") }],
  ["unlock the door with the iron key", {
    verb: "unlock",
    object: w("door"),
    key: w("iron", "key"),
  }],
  ["lock door", { verb: "lock", object: w("door") }],
  ["light the lamp", { verb: "light", object: w("lamp") }],
  ["blow out the lamp", { verb: "extinguish", object: w("lamp") }],
  ["put out the lamp", { verb: "extinguish", object: w("lamp") }],
  ["read the logbook", { verb: "read", object: w("logbook") }],
  ["use the oil can on the lamp", { verb: "use", object: w("oil", "can"), target: w("lamp") }],
  ["pour oil into the lamp", { verb: "use", object: w("oil"), target: w("lamp") }],
  ["fill the lamp with oil", { verb: "use", object: w("oil"), target: w("lamp") }],
  ["inventory", { verb: "inventory" }],
  ["i", { verb: "inventory" }],
  ["help", { verb: "help" }],
  ["score", { verb: "score" }],
  ["wait", { verb: "wait" }],
  ["z", { verb: "wait" }],
  ["again", { verb: "again" }],
  ["g", { verb: "again" }],
  ["please take the lantern", { verb: "take", objects: [w("lantern")] }],
  ["take", { verb: "incomplete", wanted: "object", question: "Take what?" }],
  ["give lantern", { verb: "incomplete", wanted: "npc", question: "Give it to whom?" }],
  ["i want to go south", { verb: "unknown", text: "i want to go south" }],
  ["get out", { verb: "go", target: ["out"] }],
  ["ask woander", { verb: "incomplete", wanted: "topic", question: "Ask about what?" }],
  ["tkae shell", {
    verb: "take",
    objects: [w("shell")],
    assumed: [{ typed: "tkae", meant: "take" }],
  }],
  ["nroth", { verb: "go", target: ["north"], assumed: [{ typed: "nroth", meant: "north" }] }],
  ["wait for the tide", {
    verb: "partial",
    understood: { verb: "wait" },
    extra: ["for", "tide"],
  }],
  ["north quickly", {
    verb: "partial",
    understood: { verb: "go", target: ["north"] },
    extra: ["quickly"],
  }],
  ["dance wildly", { verb: "unknown", text: "dance wildly" }],
  ["", { verb: "unknown", text: "" }],
  ["!!!", { verb: "unknown", text: "!!!" }],
];

Deno.test("grammar: every documented form parses to the expected command", () => {
  for (const [text, expected] of cases) eq(parseCommand(text), expected, text);
});

Deno.test("grammar: chains split at full stops, semicolons and 'then'", () => {
  eq(splitCommands("n. e"), ["n", "e"]);
  eq(splitCommands("take lamp then go north; look"), ["take lamp", "go north", "look"]);
  eq(splitCommands("take lamp and then n"), ["take lamp", "n"]);
  eq(splitCommands("take the lantern"), ["take the lantern"]);
  eq(splitCommands(". . ."), []);
  eq(splitCommands(Array(30).fill("n").join(". ")).length, 20, "at most 20 commands");
});

Deno.test("grammar: one-edit typos are corrected only towards exactly one word", () => {
  ok(oneEdit("tkae", "take"), "a swap");
  ok(oneEdit("nroth", "north"));
  ok(oneEdit("shel", "shell"), "a deletion");
  ok(oneEdit("lanterm", "lantern"), "a substitution");
  ok(!oneEdit("tkea", "take"), "two edits");
  eq(correction("tkae", ["take", "talk"]), "take");
  eq(correction("lok", ["look"]), undefined, "short words are taken as typed");
  eq(correction("bat", ["bag", "bad"]), undefined);
  eq(correction("cart", ["care", "card"]), undefined, "two candidates: no guess");
  eq(correction("take", ["take"]), undefined, "a known word is not a typo");
  eq(parseCommand("blue").verb, "unknown", "'blue' is no verb's typo");
});

Deno.test("grammar: tokenize folds case, apostrophes, punctuation and hyphens", () => {
  eq(tokenize("Take Woander's DREAM-bottle-2!"), ["take", "woanders", "dream", "bottle", "2"]);
  eq(tokenize("  \t\n "), []);
});

Deno.test("grammar: never throws and always returns a known verb", () => {
  const verbs = new Set([
    "look",
    "examine",
    "search",
    "go",
    "take",
    "drop",
    "put",
    "give",
    "talk",
    "ask",
    "open",
    "close",
    "lock",
    "unlock",
    "light",
    "extinguish",
    "read",
    "use",
    "inventory",
    "help",
    "wait",
    "exits",
    "score",
    "me",
    "again",
    "partial",
    "incomplete",
    "unknown",
  ]);
  fc.assert(
    fc.property(fc.string({ maxLength: 200, unit: "grapheme" }), (s) => {
      const c = parseCommand(s);
      return verbs.has(c.verb) && splitCommands(s).every((p) => verbs.has(parseCommand(p).verb));
    }),
    { numRuns: 2000 },
  );
});
