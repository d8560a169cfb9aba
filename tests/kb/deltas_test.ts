import { deepStrictEqual as eq, ok } from "node:assert/strict";
import { applyWorldUpdate } from "../../shared/apply.ts";
import { WorldUpdateEventSchema } from "../../shared/schema.ts";
import { rng, setup } from "../_helpers/mod.ts";

const ACTIONS_PER_MODEL = 1000;

interface Snap {
  version: number;
  world: {
    locations: Record<
      string,
      { exits: Record<string, unknown>; items: Record<string, { name: string }> }
    >;
    npcs: Record<string, { name: string; location: string }>;
  };
  player: { location: string; inventory: Record<string, { name: string }> };
}

/** A plausible next command for this player, from what the snapshot shows. */
function nextCommand(s: Snap, random: () => number): string {
  const pick = <T>(xs: T[]) => xs[Math.floor(random() * xs.length)];
  const here = s.world.locations[s.player.location]!;
  const items = Object.values(here.items).map((i) => i.name);
  const held = Object.values(s.player.inventory).map((i) => i.name);
  const npcs = Object.values(s.world.npcs).filter((n) => n.location === s.player.location).map((
    n,
  ) => n.name);
  const r = random();
  if (r < 0.3) return pick(Object.keys(here.exits)) ?? "look";
  if (r < 0.55 && items.length) return `take the ${pick(items)}`;
  if (r < 0.7 && held.length) return `drop ${pick(held)}`;
  if (r < 0.78 && held.length && npcs.length) return `give ${pick(held)} to ${pick(npcs)}`;
  if (r < 0.84 && held.length >= 1) return `put ${pick(held)} in ${pick([...held, ...items])}`;
  if (r < 0.87) return "take the dream bottle";
  return pick([
    "look",
    "inventory",
    "examine lantern",
    "talk to woander",
    "dance",
    "go north",
    "help",
  ])!;
}

async function play(
  experience: string,
  users: string[],
  watcher: string | undefined,
  seed: number,
) {
  // The KB process as main.ts builds it; no socket needed: `app.request()`.
  await using fx = await setup({ role: "kb", nats: "in-process", serve: false });
  const random = rng(seed);
  let changed = 0;
  let lastEventId = "";
  const lastVersion = new Map<string, number>();
  {
    for (let i = 0; i < ACTIONS_PER_MODEL; i++) {
      const user = users[Math.floor(random() * users.length)]!;
      const before: Snap = await fx.state(user, experience);
      const watchBefore = watcher ? await fx.state(watcher, experience) : undefined;
      const message = nextCommand(before, random);
      const { status, body } = await fx.interact(user, message, experience);
      eq(status, 200, JSON.stringify(body));
      const after = await fx.state(user, experience);
      const events = (body.events as unknown[]).map((e) => WorldUpdateEventSchema.parse(e));
      const outcome = body.outcome as { changed: boolean };
      eq(events.length, outcome.changed ? 1 : 0, message);
      eq(body.event_ids, events.map((e) => e.id));
      let applied = before;
      for (const e of events) {
        ok(e.id > lastEventId, "event ids sort in commit order");
        lastEventId = e.id;
        const key = experience === "wylding-woods" ? "world" : user;
        ok(e.version > (lastVersion.get(key) ?? 0), "versions strictly increase per unit");
        lastVersion.set(key, e.version);
        applied = applyWorldUpdate(applied, e);
        if (watchBefore) {
          const worldOnly = {
            version: e.version,
            changes: e.changes.world ? { world: e.changes.world } : {},
          };
          eq(
            applyWorldUpdate(watchBefore, worldOnly),
            await fx.state(watcher!, experience),
            message,
          );
        }
        changed++;
      }
      eq(applied, after, `#${i} ${user}: '${message}' (seed ${seed})`);
    }
  }
  return changed;
}

Deno.test(`deltas: ${ACTIONS_PER_MODEL} random actions in the shared world, 4 players and a watcher`, async () => {
  const seed = Number(Deno.env.get("DELTA_SEED") ?? Date.now() % 100000);
  const changed = await play("wylding-woods", ["ann", "bob.b", "c@d.e", "../dan"], "watcher", seed);
  ok(changed > ACTIONS_PER_MODEL / 3, `only ${changed} actions changed state`);
});

Deno.test(`deltas: ${ACTIONS_PER_MODEL} random actions in the isolated world, 3 players`, async () => {
  const seed = Number(Deno.env.get("DELTA_SEED") ?? Date.now() % 100000);
  const changed = await play("drowned-lighthouse", ["ann", "bob.b", "*"], undefined, seed);
  ok(changed > ACTIONS_PER_MODEL / 3, `only ${changed} actions changed state`);
});
