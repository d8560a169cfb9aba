import { deepStrictEqual as eq } from "node:assert/strict";
import fc from "fast-check";
import { type Command, parseCommand, tokenize } from "../../kb/grammar.ts";

const cases: Array<[string, Command]> = [
  ["look", { verb: "look" }],
  ["l", { verb: "look" }],
  ["Look around.", { verb: "look" }],
  ["look at the lantern", { verb: "examine", object: ["lantern"] }],
  ["examine the blue bottle", { verb: "examine", object: ["blue", "bottle"] }],
  ["x counter", { verb: "examine", object: ["counter"] }],
  ["go north", { verb: "go", target: ["north"] }],
  ["walk to the store", { verb: "go", target: ["store"] }],
  ["enter the store", { verb: "go", target: ["store"] }],
  ["enter", { verb: "go", target: ["in"] }],
  ["n", { verb: "go", target: ["n"] }],
  ["up", { verb: "go", target: ["up"] }],
  ["go into woander's store", { verb: "go", target: ["woanders", "store"] }],
  ["take the dream bottle", { verb: "take", object: ["dream", "bottle"] }],
  ["get lantern", { verb: "take", object: ["lantern"] }],
  ["grab a pebble", { verb: "take", object: ["pebble"] }],
  ["pick up the acorn", { verb: "take", object: ["acorn"] }],
  ["pick the acorn up", { verb: "take", object: ["acorn"] }],
  ["take moonpetal from the basket", { verb: "take", object: ["moonpetal"] }],
  ["drop the lantern", { verb: "drop", object: ["lantern"] }],
  ["put down the lantern", { verb: "drop", object: ["lantern"] }],
  ["put the lantern down", { verb: "drop", object: ["lantern"] }],
  ["put the pebble in the basket", { verb: "put", object: ["pebble"], container: ["basket"] }],
  ["put pebble into wicker basket", {
    verb: "put",
    object: ["pebble"],
    container: ["wicker", "basket"],
  }],
  ["give the moonpetal to Woander", { verb: "give", object: ["moonpetal"], npc: ["woander"] }],
  ["talk to the owl", { verb: "talk", npc: ["owl"] }],
  ["speak with Woander", { verb: "talk", npc: ["woander"] }],
  ["ask woander about the back room", {
    verb: "ask",
    npc: ["woander"],
    topic: ["back", "room"],
  }],
  ["inventory", { verb: "inventory" }],
  ["i", { verb: "inventory" }],
  ["help", { verb: "help" }],
  ["please take the lantern", { verb: "take", object: ["lantern"] }],
  ["take", { verb: "incomplete", wanted: "object", question: "Take what?" }],
  ["give lantern", { verb: "incomplete", wanted: "npc", question: "Give it to whom?" }],
  ["give woander the moonpetal", { verb: "give", object: ["woander", "moonpetal"], npc: [] }],
  ["talk to bramble about the riddle", { verb: "ask", npc: ["bramble"], topic: ["riddle"] }],
  ["i want to go south", { verb: "unknown", text: "i want to go south" }],
  ["get out", { verb: "go", target: ["out"] }],
  ["ask woander", { verb: "incomplete", wanted: "topic", question: "Ask about what?" }],
  ["dance wildly", { verb: "unknown", text: "dance wildly" }],
  ["", { verb: "unknown", text: "" }],
  ["!!!", { verb: "unknown", text: "!!!" }],
];

Deno.test("grammar: every documented form parses to the expected command", () => {
  for (const [text, expected] of cases) eq(parseCommand(text), expected, text);
});

Deno.test("grammar: tokenize folds case, apostrophes, punctuation and hyphens", () => {
  eq(tokenize("Take Woander's DREAM-bottle-2!"), ["take", "woanders", "dream", "bottle", "2"]);
  eq(tokenize("  \t\n "), []);
});

Deno.test("grammar: never throws and always returns a known verb", () => {
  const verbs = new Set([
    "look",
    "examine",
    "go",
    "take",
    "drop",
    "put",
    "give",
    "talk",
    "ask",
    "inventory",
    "help",
    "incomplete",
    "unknown",
  ]);
  fc.assert(
    fc.property(fc.string({ maxLength: 200, unit: "grapheme" }), (s) => {
      const c = parseCommand(s);
      return verbs.has(c.verb);
    }),
    { numRuns: 2000 },
  );
});
