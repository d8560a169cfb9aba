/**
 * The command grammar: turns a player's sentence into a typed
 * {@linkcode Command}. Pure and content-independent; resolving the nouns
 * against the world is the engine's job.
 *
 * @module
 */
import type { Direction } from "./content.ts";

/** A parsed command; noun phrases are lists of lower-case words. */
export type Command =
  | { verb: "look" }
  | { verb: "examine"; object: string[] }
  | { verb: "go"; target: string[] }
  | { verb: "take"; object: string[] }
  | { verb: "drop"; object: string[] }
  | { verb: "put"; object: string[]; container: string[] }
  /** `npc` empty: "give NPC ITEM" without "to"; `object` holds both. */
  | { verb: "give"; object: string[]; npc: string[] }
  | { verb: "talk"; npc: string[] }
  | { verb: "ask"; npc: string[]; topic: string[] }
  | { verb: "inventory" }
  | { verb: "help" }
  /** A known verb without the noun it needs ("take"). */
  | { verb: "incomplete"; wanted: string; question: string }
  | { verb: "unknown"; text: string };

/**
 * Short and long direction words, all mapped to a {@linkcode Direction}.
 *
 * @example
 * ```ts
 * DIRECTION_WORDS["ne"]; // "northeast"
 * ```
 */
// No prototype: player words such as "constructor" must not find Object's properties.
export const DIRECTION_WORDS: Readonly<Record<string, Direction>> = Object.assign(
  Object.create(null),
  {
    n: "north",
    s: "south",
    e: "east",
    w: "west",
    ne: "northeast",
    nw: "northwest",
    se: "southeast",
    sw: "southwest",
    u: "up",
    d: "down",
    north: "north",
    south: "south",
    east: "east",
    west: "west",
    northeast: "northeast",
    northwest: "northwest",
    southeast: "southeast",
    southwest: "southwest",
    up: "up",
    down: "down",
    in: "in",
    inside: "in",
    out: "out",
    outside: "out",
  },
);

/** Words that never select a thing: articles, determiners, politeness. */
const FILLER = new Set([
  "the",
  "a",
  "an",
  "some",
  "my",
  "your",
  "this",
  "that",
  "these",
  "those",
  "any",
  "please",
]);

/**
 * Lower-cases, strips punctuation and splits into words (hyphens separate
 * words too, so "dream-bottle-2" and "dream bottle 2" read the same).
 *
 * @example
 * ```ts
 * tokenize("Take the Dream-Bottle!"); // ["take", "the", "dream", "bottle"]
 * ```
 */
export function tokenize(text: string): string[] {
  return text.toLowerCase().normalize("NFC").replace(/['\u2019]/g, "").replace(
    /[^\p{L}\p{N}\s]+/gu,
    " ",
  ).split(/\s+/)
    .filter((w) => w.length > 0);
}

/**
 * A noun phrase without filler words.
 *
 * @example
 * ```ts
 * nounPhrase(["the", "blue", "bottle"]); // ["blue", "bottle"]
 * ```
 */
export function nounPhrase(words: string[]): string[] {
  return words.filter((w) => !FILLER.has(w));
}

function splitAt(words: string[], seps: string[]): [string[], string[]] | undefined {
  const i = words.findIndex((w) => seps.includes(w));
  if (i < 0) return undefined;
  return [words.slice(0, i), words.slice(i + 1)];
}

const incomplete = (wanted: string, question: string): Command => ({
  verb: "incomplete",
  wanted,
  question,
});

/**
 * Parses one sentence. Never throws; anything it cannot read is `unknown`.
 *
 * @example
 * ```ts
 * parseCommand("pick up the lantern"); // { verb: "take", object: ["lantern"] }
 * parseCommand("give moonpetal to woander"); // { verb: "give", object: [...], npc: [...] }
 * ```
 */
export function parseCommand(text: string): Command {
  const all = tokenize(text);
  const words = all[0] === "please" ? all.slice(1) : all;
  const [verb, ...rest] = words;
  if (verb === undefined) return { verb: "unknown", text };
  const np = nounPhrase(rest);

  if (words.length === 1 && verb in DIRECTION_WORDS) return { verb: "go", target: [verb] };
  switch (verb) {
    case "look":
    case "l":
      if (np.length === 0 || (np.length === 1 && np[0] === "around")) return { verb: "look" };
      if (np[0] === "at" || np[0] === "in" || np[0] === "inside") {
        const object = nounPhrase(np.slice(1));
        return object.length ? { verb: "examine", object } : incomplete("object", "Look at what?");
      }
      return { verb: "examine", object: np };
    case "examine":
    case "x":
    case "inspect":
    case "read":
    case "study":
      return np.length
        ? { verb: "examine", object: np }
        : incomplete("object", `What do you want to ${verb === "x" ? "examine" : verb}?`);
    case "go":
    case "walk":
    case "enter":
    case "move":
    case "head":
    case "run":
    case "climb": {
      const target = nounPhrase(
        np[0] === "to" || np[0] === "into" || np[0] === "towards" ? np.slice(1) : np,
      );
      if (target.length) return { verb: "go", target };
      if (verb === "enter") return { verb: "go", target: ["in"] };
      return incomplete("place", "Where do you want to go?");
    }
    case "take":
    case "get":
    case "grab":
    case "pick": {
      // "get out", "get up": a way, not an item.
      if (verb === "get" && rest.length === 1 && rest[0]! in DIRECTION_WORDS) {
        return { verb: "go", target: rest };
      }
      let object = np;
      if (verb === "pick") {
        if (object[0] === "up") object = object.slice(1);
        else if (object[object.length - 1] === "up") object = object.slice(0, -1);
        else return { verb: "unknown", text };
      }
      // "take X from Y": the engine already looks inside containers here.
      object = splitAt(object, ["from", "off", "out"])?.[0] ?? object;
      return object.length ? { verb: "take", object } : incomplete("object", "Take what?");
    }
    case "drop":
    case "discard":
      return np.length ? { verb: "drop", object: np } : incomplete("object", "Drop what?");
    case "put":
    case "place":
    case "insert":
    case "set": {
      if (np[0] === "down") {
        const object = np.slice(1);
        return object.length ? { verb: "drop", object } : incomplete("object", "Put down what?");
      }
      if (np[np.length - 1] === "down" && np.length > 1) {
        return { verb: "drop", object: np.slice(0, -1) };
      }
      const split = splitAt(np, ["in", "into", "inside"]);
      if (!split) {
        return np.length
          ? incomplete("container", "Put it in what?")
          : incomplete("object", "Put what?");
      }
      const [object, container] = [split[0], nounPhrase(split[1])];
      if (!object.length) return incomplete("object", "Put what?");
      if (!container.length) return incomplete("container", "Put it in what?");
      return { verb: "put", object, container };
    }
    case "give":
    case "offer":
    case "hand": {
      const split = splitAt(np, ["to"]);
      if (!split) {
        // "give woander the moonpetal": which words name the NPC depends on
        // the content, so the engine splits it (an empty `npc`).
        if (np.length >= 2) return { verb: "give", object: np, npc: [] };
        return np.length
          ? incomplete("npc", "Give it to whom?")
          : incomplete("object", "Give what?");
      }
      if (!split[0].length) return incomplete("object", "Give what?");
      if (!split[1].length) return incomplete("npc", "Give it to whom?");
      return { verb: "give", object: split[0], npc: nounPhrase(split[1]) };
    }
    case "talk":
    case "speak":
    case "chat":
    case "greet":
    case "hello":
    case "hi": {
      const whom = np[0] === "to" || np[0] === "with" ? np.slice(1) : np;
      // "talk to bramble about the riddle" is asking.
      const about = splitAt(whom, ["about"]);
      if (about && about[0].length && nounPhrase(about[1]).length) {
        return { verb: "ask", npc: nounPhrase(about[0]), topic: nounPhrase(about[1]) };
      }
      const npc = nounPhrase(whom);
      return npc.length ? { verb: "talk", npc } : incomplete("npc", "Talk to whom?");
    }
    case "ask": {
      const split = splitAt(np, ["about"]);
      if (!split) {
        return np.length ? incomplete("topic", "Ask about what?") : incomplete("npc", "Ask whom?");
      }
      if (!split[0].length) return incomplete("npc", "Ask whom?");
      const topic = nounPhrase(split[1]);
      if (!topic.length) return incomplete("topic", "Ask about what?");
      return { verb: "ask", npc: split[0], topic };
    }
    case "inventory":
    case "inv":
    case "i":
      // "i want to go south" is not a request for the inventory.
      if (rest.length === 0) return { verb: "inventory" };
      break;
    case "help":
    case "commands":
      return { verb: "help" };
  }
  if (words.join(" ") === "what am i carrying") return { verb: "inventory" };
  return { verb: "unknown", text };
}

/**
 * One line per command form, for `help`.
 *
 * @example
 * ```ts
 * HELP_LINES.join("\n");
 * ```
 */
export const HELP_LINES: readonly string[] = [
  "look (l), examine (x) <thing>",
  "go <direction or place>, or just north/south/east/west/up/down/in/out (n, s, e, w, u, d)",
  "take (get, grab, pick up) <item>, drop (put down) <item>",
  "put <item> in <container>, give <item> to <someone>",
  "talk to <someone>, ask <someone> about <topic>",
  "inventory (i), help",
];
