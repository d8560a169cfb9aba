/**
 * A pure in-memory player of the engine for unit tests: one world, one
 * profile per user, the engine's own operations applied between steps
 * (exactly as the store applies them), an injected clock.
 *
 * @module
 */
import { deepStrictEqual as eq } from "node:assert/strict";
import { applyOperations } from "../../shared/apply.ts";
import { OutcomeSchema } from "../../shared/schema.ts";
import type { Experience } from "../../kb/content.ts";
import { decide, type EngineResult } from "../../kb/engine.ts";
import { initialWorld, newPlayer, type PlayerState, type WorldState } from "../../kb/world.ts";

/** Plays messages for one or more users of one world. */
export class Sim {
  world: WorldState;
  players = new Map<string, PlayerState>();
  now = 1_700_000_000_000;

  constructor(readonly exp: Experience, readonly userId = "alice") {
    this.world = initialWorld(exp);
  }

  /** The profile of `user` (the default user unless named). */
  player(user = this.userId): PlayerState {
    let p = this.players.get(user);
    if (!p) {
      p = newPlayer(this.exp, user);
      this.players.set(user, p);
      if (this.world.players) this.world.players[user] = { name: user, location: p.location };
    }
    return p;
  }

  /** Runs one input as `user`, applies its operations and returns the result. */
  run(message: string, user = this.userId): EngineResult {
    const player = this.player(user);
    const r = decide({
      exp: this.exp,
      world: structuredClone(this.world),
      player: structuredClone(player),
      userId: user,
      message,
      now: this.now,
    });
    OutcomeSchema.parse(r.outcome);
    eq(r.outcome.changed, r.world.length + r.player.length > 0, `changed flag for '${message}'`);
    applyOperations(this.world as unknown as Record<string, unknown>, r.world);
    applyOperations(player as unknown as Record<string, unknown>, [...r.player, ...r.context]);
    return r;
  }

  /** The summary of one input. */
  say(message: string, user = this.userId): string {
    return this.run(message, user).outcome.summary;
  }

  /** Runs inputs in order; returns the kinds. */
  kinds(messages: string[], user = this.userId): string[] {
    return messages.map((m) => this.run(m, user).outcome.kind);
  }

  /** Moves the player anywhere (for tests that start somewhere else). */
  teleport(location: string, user = this.userId): void {
    this.player(user).location = location;
    if (this.world.players?.[user]) this.world.players[user]!.location = location;
  }
}
