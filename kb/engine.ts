/**
 * The game engine: a pure function from (content, world, player, sentence,
 * time) to a typed outcome plus the state operations that carry it out.
 * The store applies exactly these operations (with `applyOperations`), and
 * the same operations go out in the event, so deltas reproduce state by
 * construction.
 *
 * One input may chain commands (`n. e`, `then`); each runs on the state the
 * one before it left. The player's conversation (the last command for
 * `again`, the last things named for `it`, a question waiting for its
 * answer) is kept in the profile, as player-scope operations of its own
 * (`context`), so it never reaches another player.
 *
 * @module
 */
import { CONVERSATION_PATH } from "../shared/schema.ts";
import type { Outcome, StateOperation } from "../shared/schema.ts";
import {
  type Command,
  HELP_LINES,
  isCommandWord,
  nounPhrase,
  parseCommand,
  splitCommands,
  tokenize,
} from "./grammar.ts";
import { matchPhrase } from "./match.ts";
import {
  ambiguous,
  Ctx,
  type EngineInput,
  type EngineResult,
  type PendingQuestion,
  type Step,
  unchanged,
} from "./engine_ctx.ts";
import { drop, give, put, take } from "./engine_items.ts";
import { examine, exits, go, inventory, look, me, talk, wait } from "./engine_look.ts";
import { lightOut, lockUnlock, openClose, read, search, use } from "./engine_verbs.ts";
import { progress, scoreStep } from "./engine_goals.ts";
import { awayMarks, dueRespawns } from "./engine_world.ts";
import { withAssumptions } from "./engine_nouns.ts";
import type { PlayerState } from "./world.ts";

export type { EngineInput, EngineResult } from "./engine_ctx.ts";

/** Outcomes after which a chain stops: the rest of the input may rely on what failed. */
const STOPS = new Set(["not_understood", "incomplete", "ambiguous", "partial", "no_referent"]);

type Context = NonNullable<PlayerState["context"]>;

function run(ctx: Ctx, cmd: Command): Step {
  switch (cmd.verb) {
    case "look":
      return look(ctx);
    case "examine":
      return examine(ctx, cmd);
    case "search":
      return search(ctx, cmd);
    case "go":
      return go(ctx, cmd.target);
    case "take":
      return take(ctx, cmd);
    case "drop":
      return drop(ctx, cmd);
    case "put":
      return put(ctx, cmd);
    case "give":
      return give(ctx, cmd);
    case "talk":
      return talk(ctx, cmd.npc);
    case "ask":
      return talk(ctx, cmd.npc, cmd.topic);
    case "open":
    case "close":
      return openClose(ctx, cmd);
    case "lock":
    case "unlock":
      return lockUnlock(ctx, cmd);
    case "light":
    case "extinguish":
      return lightOut(ctx, cmd);
    case "read":
      return read(ctx, cmd);
    case "use":
      return use(ctx, cmd);
    case "inventory":
      return inventory(ctx);
    case "me":
      return me(ctx);
    case "exits":
      return exits(ctx);
    case "wait":
      return wait();
    case "score":
      return scoreStep(ctx);
    case "again":
      return unchanged({ kind: "nothing", summary: "There is nothing to repeat.", facts: {} });
    case "help":
      return unchanged({
        kind: "help",
        summary: `Commands: ${HELP_LINES.join("; ")}.`,
        facts: { commands: HELP_LINES },
      });
    case "partial": {
      const what = describeCommand(cmd.understood);
      return unchanged({
        kind: "partial",
        summary: `I only understood you as far as wanting to ${what}.`,
        facts: { understood: what, extra: cmd.extra.join(" ") },
      });
    }
    case "incomplete":
      return unchanged({
        kind: "incomplete",
        summary: cmd.question,
        facts: { wanted: cmd.wanted },
      });
    case "unknown":
      return unchanged({
        kind: "not_understood",
        summary: "That is not something this world understands.",
        facts: { text: cmd.text.slice(0, 500) },
        needs_capable_model: true,
      });
  }
}

/** "go north", "wait": what a command without nouns wanted, for "I only understood ...". */
function describeCommand(cmd: Command): string {
  switch (cmd.verb) {
    case "go":
      return `go ${cmd.target.join(" ")}`;
    case "inventory":
      return "take inventory";
    case "again":
      return "do that again";
    case "exits":
      return "know the ways out";
    case "score":
      return "know the score";
    default:
      return cmd.verb;
  }
}

/**
 * Reads an input as the answer to the question asked last ("blue" for
 * "Which do you mean: the blue dream bottle or ...?"), or undefined when it
 * is not one (it starts with a command word, or names none of the choices).
 */
function answer(ctx: Ctx, pending: PendingQuestion, text: string): Command | Step | undefined {
  const words = nounPhrase(tokenize(text)).filter((w) => w !== "one" && w !== "ones");
  if (!words.length || isCommandWord(words[0]!)) return undefined;
  const reach = [...ctx.itemsHere(), ...ctx.inventory()];
  const choices = reach.filter((p) => pending.candidates.includes(p.id));
  let ids: string[];
  if (["all", "both", "each", "every", "everything"].includes(words[0]!)) {
    ids = choices.map((p) => p.id);
  } else {
    const m = matchPhrase(ctx.exp, "item", words, choices);
    if (m.kind === "none") return undefined;
    if (m.kind === "ambiguous") {
      const step = ambiguous(ctx, m.options, words);
      step.pending = { ...pending, candidates: m.options.map((o) => o.id) };
      return step;
    }
    ids = [m.value.id];
  }
  if (!ids.length) return undefined;
  const command = structuredClone(pending.command) as Record<string, unknown>;
  const slot = command[pending.slot];
  if (Array.isArray(slot)) slot[pending.index ?? 0] = { ids };
  else command[pending.slot] = { ids };
  return command as Command;
}

/** One command of the input, with what it teaches the conversation. */
function step(ctx: Ctx, text: string, context: Context): { step: Step; command?: Command } {
  const pending = context.pending as PendingQuestion | undefined;
  delete context.pending;
  let command: Command | undefined;
  if (pending) {
    const a = answer(ctx, pending, text);
    if (a && "outcome" in a) return { step: a };
    command = a;
  }
  const stored = command !== undefined;
  command ??= parseCommand(text);
  if (command.verb === "again") {
    const last = context.last as Command | undefined;
    if (!last) return { step: run(ctx, command) };
    command = last;
    return { step: runStored(ctx, command), command };
  }
  const result = stored ? runStored(ctx, command) : run(ctx, command);
  return { step: withAssumptions(result, command.assumed ?? []), command };
}

/**
 * Runs a command kept in the profile (`again`, an answered question). It
 * was written by an earlier version of this code, perhaps of another shape:
 * one that no longer runs is nothing to repeat, never a failed action.
 */
function runStored(ctx: Ctx, command: Command): Step {
  try {
    return withAssumptions(run(ctx, command), command.assumed ?? []);
  } catch {
    return unchanged({ kind: "nothing", summary: "There is nothing to repeat.", facts: {} });
  }
}

function joined(steps: Step[]): Outcome {
  if (steps.length === 1) return steps[0]!.outcome;
  return {
    kind: "several",
    changed: steps.some((s) => s.outcome.changed),
    summary: steps.map((s) => s.outcome.summary).join(" "),
    facts: {
      steps: steps.map((s) => ({
        kind: s.outcome.kind,
        summary: s.outcome.summary,
        facts: s.outcome.facts,
      })),
    },
    needs_capable_model: steps.some((s) => s.outcome.needs_capable_model),
  };
}

/** Player operations that turn the stored conversation into the new one (none if equal). */
function contextOps(before: Context, after: Context): StateOperation[] {
  const ops: StateOperation[] = [];
  const data: Record<string, unknown> = {};
  for (const key of ["last", "it", "pending"] as const) {
    const a = JSON.stringify(before[key]);
    const b = JSON.stringify(after[key]);
    if (a === b) continue;
    if (after[key] === undefined) {
      ops.push({ operation: "remove", path: `${CONVERSATION_PATH}.${key}`, data: {} });
    } else data[key] = after[key];
  }
  if (Object.keys(data).length) {
    ops.unshift({ operation: "update", path: CONVERSATION_PATH, data });
  }
  return ops;
}

/**
 * Decides one input. Pure: reads nothing but its input, writes nothing.
 *
 * @example
 * ```ts
 * const { outcome, world, player, context } = decide({
 *   exp, world, player, userId: "alice", message: "take lantern", now: Date.now(),
 * });
 * ```
 */
export function decide(input: EngineInput): EngineResult {
  const ctx = new Ctx(input);
  const pre = dueRespawns(ctx);
  const before: Context = input.player.context ?? {};
  const context = ctx.conversation;
  const texts = splitCommands(input.message);
  const steps: Step[] = [];
  for (const text of texts.length ? texts : [input.message]) {
    const { step: s, command } = step(ctx, text, context);
    if (!s.applied) ctx.apply(s);
    steps.push(s);
    // Only commands that mean something are worth repeating ("again"), and a
    // text nobody understood leaves the conversation (and the state) as it was.
    if (command && command.verb !== "again" && command.verb !== "unknown") {
      context.last = command as unknown as Record<string, unknown>;
    }
    if (s.it) context.it = s.it;
    if (s.pending) context.pending = s.pending as unknown as Context["pending"];
    if (STOPS.has(s.outcome.kind)) break;
  }
  const gained = progress(ctx);
  const post = awayMarks(ctx);
  const outcome = joined(steps);
  if (gained.goals.length || gained.ending) {
    outcome.facts = {
      ...outcome.facts,
      ...(gained.goals.length ? { goals: gained.goals } : {}),
      ...(gained.ending ? { ending: gained.ending } : {}),
      score: { points: gained.score, max: gained.max },
    };
  }
  const world = [...pre, ...steps.flatMap((s) => s.world), ...post];
  const player = [...steps.flatMap((s) => s.player), ...gained.ops];
  return {
    outcome: { ...outcome, changed: world.length + player.length > 0 },
    world,
    player,
    context: contextOps(before, context),
  };
}
