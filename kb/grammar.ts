/**
 * The command grammar: turns a player's sentence into typed
 * {@linkcode Command}s. Pure and content-independent; resolving the nouns
 * against the world (and pronouns against the conversation) is the
 * engine's job.
 *
 * Besides single commands it reads what players of classic interactive
 * fiction type without thinking: chains (`n. e`, `take lamp then n`),
 * several objects (`take lamp and pebble`, commas), `all` / `all except X`,
 * pronouns (`it`, `them`), `again`/`g`, `wait`/`z`, `x me`, `exits`,
 * `look in`/`search`, and one-edit typos of verbs and directions.
 *
 * @module
 */
import { correction } from "./typo.ts";
import {
  DIRECTION_WORDS,
  type Noun,
  noun,
  nounList,
  nounPhrase,
  SELF_WORDS,
  splitAt,
  tokenize,
  VERB_WORDS,
} from "./grammar_words.ts";

export { DIRECTION_WORDS, HELP_LINES, type Noun, nounPhrase, tokenize } from "./grammar_words.ts";

/** A word the parser read as another ("tkae" as "take"). */
export interface Assumption {
  typed: string;
  meant: string;
}

/** Verbs of one noun (and an optional second one) that content declares per item. */
export type ItemVerb = "open" | "close" | "light" | "extinguish" | "read";

type CommandBody =
  | { verb: "look" }
  | { verb: "examine"; objects: Noun[] }
  | { verb: "search"; object: Noun }
  | { verb: "go"; target: string[] }
  | { verb: "take"; objects: Noun[]; from?: Noun }
  | { verb: "drop"; objects: Noun[] }
  | { verb: "put"; objects: Noun[]; container: Noun; on: boolean }
  /** `npc` empty: "give NPC ITEM" without "to"; `objects` holds both. */
  | { verb: "give"; objects: Noun[]; npc: string[] }
  | { verb: "talk"; npc: string[] }
  | { verb: "ask"; npc: string[]; topic: string[] }
  /** `key`: "open the door with the key" unlocks it first. */
  | { verb: "open"; object: Noun; key?: Noun }
  | { verb: "close"; object: Noun }
  | { verb: "light"; object: Noun }
  | { verb: "extinguish"; object: Noun }
  | { verb: "read"; object: Noun }
  | { verb: "lock"; object: Noun; key?: Noun }
  | { verb: "unlock"; object: Noun; key?: Noun }
  | { verb: "use"; object: Noun; target?: Noun }
  | { verb: "inventory" }
  | { verb: "help" }
  | { verb: "wait" }
  | { verb: "exits" }
  | { verb: "score" }
  | { verb: "me" }
  | { verb: "again" }
  /** A command understood up to `extra` words it cannot place. */
  | { verb: "partial"; understood: Command; extra: string[] }
  /** A known verb without the noun it needs ("take"). */
  | { verb: "incomplete"; wanted: string; question: string }
  | { verb: "unknown"; text: string };

/** A parsed command; noun phrases are lists of lower-case words. */
export type Command = CommandBody & { assumed?: Assumption[] };

/**
 * Most commands one input may chain (the rest is ignored).
 *
 * @example
 * ```ts
 * splitCommands(text).length <= MAX_CHAIN; // true
 * ```
 */
export const MAX_CHAIN = 20;

/**
 * Splits an input into the commands it chains: at `.`, `;`, `!`, `?` and
 * the word `then` ("take lamp and then go north" is two commands).
 *
 * @example
 * ```ts
 * splitCommands("n. e then take bottle"); // ["n", "e", "take bottle"]
 * ```
 */
export function splitCommands(text: string): string[] {
  return text.split(/[.;!?]+|,?\s*\b(?:and\s+)?then\b/i)
    .map((s) => s.trim())
    .filter((s) => tokenize(s).length > 0)
    .slice(0, MAX_CHAIN);
}

const incomplete = (wanted: string, question: string): Command => ({
  verb: "incomplete",
  wanted,
  question,
});

/** Extra significant words after a command that takes none: understood only so far. */
function noExtra(command: Command, extra: string[]): Command {
  const np = nounPhrase(extra);
  return np.length ? { verb: "partial", understood: command, extra: np } : command;
}

/**
 * Corrects the first word when it is one edit from exactly one verb or
 * direction (and is neither itself).
 */
function correctVerb(words: string[]): { words: string[]; assumed?: Assumption[] } {
  const [first, ...rest] = words;
  if (first === undefined || first in DIRECTION_WORDS || VERB_WORDS.includes(first)) {
    return { words };
  }
  const meant = correction(first, [...VERB_WORDS, ...Object.keys(DIRECTION_WORDS)]);
  return meant ? { words: [meant, ...rest], assumed: [{ typed: first, meant }] } : { words };
}

/**
 * Whether a word starts a command the grammar knows (so a reply to a
 * question that starts with it is a new command, not an answer).
 *
 * @example
 * ```ts
 * isCommandWord("north"); // true; "blue" is false
 * ```
 */
export function isCommandWord(word: string): boolean {
  return word in DIRECTION_WORDS || VERB_WORDS.includes(word) ||
    ["l", "x", "i", "z", "g", "get", "put", "go", "run", "hi", "ask", "inv", "set", "use"]
      .includes(word);
}

/**
 * Parses one command. Never throws; anything it cannot read is `unknown`.
 *
 * @example
 * ```ts
 * parseCommand("pick up the lantern"); // { verb: "take", objects: [{ words: ["lantern"] }] }
 * parseCommand("give moonpetal to woander"); // { verb: "give", objects: [...], npc: ["woander"] }
 * ```
 */
export function parseCommand(text: string): Command {
  const all = tokenize(text.replace(/,/g, " and "));
  const raw = all[0] === "please" ? all.slice(1) : all;
  const { words, assumed } = correctVerb(raw);
  const command = parseWords(words, text);
  return assumed ? { ...command, assumed } : command;
}

function parseWords(words: string[], text: string): Command {
  const [verb, ...rest] = words;
  if (verb === undefined) return { verb: "unknown", text };
  const np = nounPhrase(rest);

  if (verb in DIRECTION_WORDS) {
    return noExtra({ verb: "go", target: [verb] }, rest);
  }
  switch (verb) {
    case "look":
    case "l":
      if (np.length === 0 || (np.length === 1 && np[0] === "around")) return { verb: "look" };
      if (np[0] === "in" || np[0] === "inside" || np[0] === "into") {
        const object = noun(np.slice(1));
        return object ? { verb: "search", object } : incomplete("object", "Look in what?");
      }
      if (np[0] === "at" || np[0] === "under" || np[0] === "behind") {
        return examine(np.slice(1), "Look at what?");
      }
      return examine(np, "Look at what?");
    case "examine":
    case "x":
    case "inspect":
    case "study":
    case "check":
    case "describe":
      return examine(np, `What do you want to ${verb === "x" ? "examine" : verb}?`);
    case "search": {
      const object = noun(np[0] === "in" ? np.slice(1) : np);
      return object ? { verb: "search", object } : incomplete("object", "Search what?");
    }
    case "read": {
      const object = noun(np);
      return object ? { verb: "read", object } : incomplete("object", "Read what?");
    }
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
      if (target.length > 1 && target[0]! in DIRECTION_WORDS) {
        return noExtra({ verb: "go", target: [target[0]!] }, target.slice(1));
      }
      if (target.length) return { verb: "go", target };
      if (verb === "enter") return { verb: "go", target: ["in"] };
      if (verb === "climb") return { verb: "go", target: ["up"] };
      return incomplete("place", "Where do you want to go?");
    }
    case "take":
    case "get":
    case "grab":
    case "pick":
      return take(verb, rest, np, text);
    case "drop":
    case "discard": {
      const objects = nounList(np);
      return objects.length ? { verb: "drop", objects } : incomplete("object", "Drop what?");
    }
    case "put":
    case "place":
    case "insert":
    case "set":
      return put(np);
    case "give":
    case "offer":
    case "hand":
      return give(np);
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
    case "wait":
    case "z":
      return noExtra({ verb: "wait" }, rest);
    case "exits":
      return noExtra({ verb: "exits" }, rest);
    case "score":
    case "points":
      return noExtra({ verb: "score" }, rest);
    case "again":
    case "g":
      return noExtra({ verb: "again" }, rest);
    case "open": {
      const split = splitAt(np, ["with", "using"]);
      const key = split ? noun(split[1]) : undefined;
      const object = split ? noun(split[0]) : undefined;
      if (object && key) return { verb: "open", object, key };
      return oneNoun("open", np);
    }
    case "close":
    case "shut":
      return oneNoun("close", np);
    case "light":
    case "ignite":
    case "kindle":
      return oneNoun("light", np);
    case "extinguish":
    case "douse":
    case "snuff":
      return oneNoun("extinguish", np[np.length - 1] === "out" ? np.slice(0, -1) : np);
    case "blow":
      if (np[0] === "out") return oneNoun("extinguish", np.slice(1));
      if (np[np.length - 1] === "out") return oneNoun("extinguish", np.slice(0, -1));
      break;
    case "lock":
    case "unlock": {
      const split = splitAt(np, ["with", "using"]);
      const object = noun(split ? split[0] : np);
      if (!object) return incomplete("object", `${verb === "lock" ? "Lock" : "Unlock"} what?`);
      const key = split ? noun(split[1]) : undefined;
      return key ? { verb, object, key } : { verb, object };
    }
    case "use":
    case "apply":
    case "pour": {
      const split = splitAt(np, ["on", "onto", "in", "into", "with"]);
      const object = noun(split ? split[0] : np);
      if (!object) return incomplete("object", "Use what?");
      const target = split ? noun(split[1]) : undefined;
      return target ? { verb: "use", object, target } : { verb: "use", object };
    }
    case "fill": {
      // "fill the lamp with oil" uses the oil on the lamp.
      const split = splitAt(np, ["with", "from"]);
      const target = noun(split ? split[0] : np);
      const object = split ? noun(split[1]) : undefined;
      if (!target) return incomplete("object", "Fill what?");
      if (!object) return incomplete("object", "Fill it with what?");
      return { verb: "use", object, target };
    }
  }
  if (words.join(" ") === "what am i carrying") return { verb: "inventory" };
  return { verb: "unknown", text };
}

function examine(np: string[], question: string): Command {
  if (np.length === 1 && SELF_WORDS.has(np[0]!)) return { verb: "me" };
  const objects = nounList(np);
  return objects.length ? { verb: "examine", objects } : incomplete("object", question);
}

function oneNoun(verb: ItemVerb, np: string[]): Command {
  const object = noun(np);
  const question = `What do you want to ${verb}?`;
  return object ? { verb, object } as Command : incomplete("object", question);
}

function take(verb: string, rest: string[], np: string[], text: string): Command {
  // "get out", "get up": a way, not an item.
  if (verb === "get" && rest.length === 1 && rest[0]! in DIRECTION_WORDS) {
    return { verb: "go", target: rest };
  }
  let words = np;
  if (verb === "pick") {
    if (words[0] === "up") words = words.slice(1);
    else if (words[words.length - 1] === "up") words = words.slice(0, -1);
    else return { verb: "unknown", text };
  }
  const from = splitAt(words, ["from", "off", "out"]);
  const objects = nounList(from ? from[0] : words);
  if (!objects.length) return incomplete("object", "Take what?");
  const source = from ? noun(from[1].filter((w) => w !== "of")) : undefined;
  return source ? { verb: "take", objects, from: source } : { verb: "take", objects };
}

function put(np: string[]): Command {
  if (np[0] === "down") {
    const objects = nounList(np.slice(1));
    return objects.length ? { verb: "drop", objects } : incomplete("object", "Put down what?");
  }
  if (np[np.length - 1] === "down" && np.length > 1) {
    return { verb: "drop", objects: nounList(np.slice(0, -1)) };
  }
  // "put out the lamp": extinguish it.
  if (np[0] === "out" && np.length > 1) return oneNoun("extinguish", np.slice(1));
  const split = splitAt(np, ["in", "into", "inside", "on", "onto"]);
  if (!split) {
    return np.length
      ? incomplete("container", "Put it in what?")
      : incomplete("object", "Put what?");
  }
  const on = ["on", "onto"].includes(np[split[0].length]!);
  const objects = nounList(split[0]);
  const container = noun(split[1]);
  if (!objects.length) return incomplete("object", "Put what?");
  if (!container) return incomplete("container", on ? "Put it on what?" : "Put it in what?");
  return { verb: "put", objects, container, on };
}

function give(np: string[]): Command {
  const split = splitAt(np, ["to"]);
  if (!split) {
    // "give woander the moonpetal": which words name the NPC depends on
    // the content, so the engine splits it (an empty `npc`).
    if (np.length >= 2) return { verb: "give", objects: [{ words: np }], npc: [] };
    return np.length ? incomplete("npc", "Give it to whom?") : incomplete("object", "Give what?");
  }
  const objects = nounList(split[0]);
  if (!objects.length) return incomplete("object", "Give what?");
  if (!split[1].length) return incomplete("npc", "Give it to whom?");
  return { verb: "give", objects, npc: nounPhrase(split[1]) };
}
