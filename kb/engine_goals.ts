/**
 * Goals and endings: after every action the engine checks the experience's
 * goals against the state the action left, records each newly reached one
 * on the player (with the new score) and, once, the first ending whose
 * condition holds. Both are facts of the outcome, so the narrator tells
 * them and the client shows them, per player, also in a shared world.
 *
 * @module
 */
import type { StateOperation } from "../shared/schema.ts";
import { holds } from "./conditions.ts";
import type { Ctx, Step } from "./engine_ctx.ts";
import { unchanged } from "./engine_ctx.ts";
import { listing } from "./prose.ts";

/** A goal reached by this action, as the outcome's facts tell it. */
export interface ReachedGoal {
  id: string;
  title: string;
  score: number;
  message?: string;
}

/** What an action achieved: player operations and the facts to tell. */
export interface Progress {
  ops: StateOperation[];
  goals: ReachedGoal[];
  score: number;
  max: number;
  ending?: { id: string; title: string; text: string };
}

/**
 * The most an experience's goals give.
 *
 * @example
 * ```ts
 * maxScore(exp); // 10
 * ```
 */
export function maxScore(exp: Ctx["exp"]): number {
  return Object.values(exp.config.goals).reduce((n, g) => n + g.score, 0);
}

/**
 * Goals reached and the ending, if any, on the context's current state; the
 * operations are applied to the context.
 *
 * @example
 * ```ts
 * const p = progress(ctx); // p.goals, p.ending, p.ops
 * ```
 */
export function progress(ctx: Ctx): Progress {
  const { goals, endings } = ctx.exp.config;
  const reached: ReachedGoal[] = [];
  const ops: StateOperation[] = [];
  let score = ctx.player.score ?? 0;
  // A goal may depend on another (`goal`, `score_at_least`): check until nothing new.
  for (let changed = true; changed;) {
    changed = false;
    for (const [id, goal] of Object.entries(goals)) {
      if (ctx.player.goals?.[id] || !holds(ctx, goal.when)) continue;
      score += goal.score;
      const step = [
        { operation: "update", path: "goals", data: { [id]: true } },
        { operation: "update", path: "", data: { score } },
      ] satisfies StateOperation[];
      ctx.apply({ world: [], player: step });
      ops.push(...step);
      reached.push({
        id,
        title: goal.title,
        score: goal.score,
        ...(goal.message ? { message: goal.message } : {}),
      });
      changed = true;
    }
  }
  let ending: Progress["ending"];
  if (!ctx.player.ending) {
    const found = Object.entries(endings).find(([, e]) => holds(ctx, e.when));
    if (found) {
      ending = { id: found[0], title: found[1].title, text: found[1].text };
      const op: StateOperation = { operation: "add", path: "ending", data: { ...ending } };
      ctx.apply({ world: [], player: [op] });
      ops.push(op);
    }
  }
  return { ops, goals: reached, score, max: maxScore(ctx.exp), ...(ending ? { ending } : {}) };
}

/**
 * `score`: points so far out of the most, the goals reached and how many remain.
 *
 * @example
 * ```ts
 * scoreStep(ctx).outcome.summary; // "You have 3 of 10 points. Reached: Friend of the woods."
 * ```
 */
export function scoreStep(ctx: Ctx): Step {
  const { goals } = ctx.exp.config;
  const max = maxScore(ctx.exp);
  const score = ctx.player.score ?? 0;
  const reached = Object.entries(goals).filter(([id]) => ctx.player.goals?.[id]);
  const left = Object.keys(goals).length - reached.length;
  if (Object.keys(goals).length === 0) {
    return unchanged({
      kind: "score",
      summary: "This world keeps no score.",
      facts: { score: 0, max: 0, goals: [] },
    });
  }
  const parts = [`You have ${score} of ${max} point${max === 1 ? "" : "s"}.`];
  if (reached.length) parts.push(`Reached: ${listing(reached.map(([, g]) => g.title))}.`);
  if (ctx.player.ending) parts.push(`You reached the ending "${ctx.player.ending.title}".`);
  else if (left) parts.push(`${left === 1 ? "One goal remains" : `${left} goals remain`}.`);
  return unchanged({
    kind: "score",
    summary: parts.join(" "),
    facts: {
      score,
      max,
      reached: reached.map(([id, g]) => ({ id, title: g.title, score: g.score })),
      remaining: left,
      ...(ctx.player.ending ? { finished: ctx.player.ending } : {}),
    },
  });
}
