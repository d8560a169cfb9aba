/**
 * The dev/admin reset of one world, over real HTTP: allowed in dev, outside
 * dev only with the admin secret (403 otherwise); it goes through the normal
 * commit path (a new version and a world_update), puts the world back to
 * its content's start and lets every player start afresh.
 *
 * @module
 */
import { deepStrictEqual as eq, ok } from "node:assert/strict";
import { applyWorldUpdate } from "../../shared/apply.ts";
import { loadExperience } from "../../kb/content.ts";
import { initialWorld } from "../../kb/world.ts";
import { loadSettings } from "../../shared/settings.ts";
import { setup, SHIPPED_DATA_DIR as DATA_DIR, type TestStack } from "../_helpers/mod.ts";

const ADMIN = "an-admin-secret-0123456789";

/**
 * A `ROLE=kb` process over real HTTP: in dev on the in-process bus; outside
 * dev (which needs `NATS_URL`) on its own nats-server.
 */
async function withServer(
  opts: { dev: boolean; adminSecret?: string },
  fn: (h: TestStack) => Promise<void>,
) {
  await using h = await setup({
    role: "kb",
    nats: opts.dev ? "in-process" : "server",
    env: {
      DEV: opts.dev ? "1" : "0",
      ...(opts.adminSecret ? { ADMIN_SECRET: opts.adminSecret } : {}),
    },
  });
  await fn(h);
}

const reset = (h: TestStack, body: unknown, headers: Record<string, string> = {}) =>
  h.fetch("/kb/experience/reset", {
    method: "POST",
    headers: { "Content-Type": "application/json", ...headers },
    body: JSON.stringify(body),
  }).then(async (r) => ({ status: r.status, body: await r.json() }));

Deno.test("reset: in dev, a shared world goes back to its start through a commit and an event", async () => {
  const woods = await loadExperience(DATA_DIR, "wylding-woods");
  await withServer({ dev: true }, async (h) => {
    for (const m of ["n", "w", "take moonpetal", "e", "e", "give moonpetal to woander", "n"]) {
      eq((await h.interact("ann", m, "wylding-woods")).status, 200);
    }
    await h.interact("bob", "take lantern", "wylding-woods");
    const annBefore = await h.state("ann", "wylding-woods");
    eq(annBefore.player.location, "back-room");
    const r = await reset(h, { experience: "wylding-woods" });
    eq(r.status, 200, JSON.stringify(r.body));
    eq(r.body.outcome.kind, "reset");
    const [event] = r.body.events;
    eq(event.version, annBefore.version + 1, "a new version");
    ok(event.changes.world.length > 0 && !event.changes.player, "world operations only");
    // Applying the event gives the world after it; every profile counts as fresh.
    const annAfter = await h.state("ann", "wylding-woods");
    eq(applyWorldUpdate(annBefore, event).world, annAfter.world);
    eq(annAfter.world, { ...initialWorld(woods), epoch: 1 });
    eq([annAfter.player.location, annAfter.player.inventory], ["woods-edge", {}]);
    eq(annAfter.player.epoch, 1);
    // Ann plays again from the start: her old profile is replaced, presence is back.
    const n = await h.interact("ann", "north", "wylding-woods");
    eq(n.status, 200);
    const again = await h.state("ann", "wylding-woods");
    eq(applyWorldUpdate(annAfter, (n.body.events as never[])[0]!), again);
    eq(again.player.exits, undefined, "her thorn door is shut again");
    eq(again.world.players.ann.location, "mossy-path");
    eq(Object.keys(again.world.players), ["ann"], "bob comes back when he acts");
  });
});

Deno.test("reset: an isolated world is one player's, named by 'user'", async () => {
  await withServer({ dev: true }, async (h) => {
    await h.interact("ida", "take shell", "drowned-lighthouse");
    const before = await h.state("ida", "drowned-lighthouse");
    eq((await reset(h, { experience: "drowned-lighthouse" })).status, 400);
    const r = await reset(h, { experience: "drowned-lighthouse", user: "ida" });
    eq(r.status, 200, JSON.stringify(r.body));
    const after = await h.state("ida", "drowned-lighthouse");
    eq(applyWorldUpdate(before, r.body.events[0]), after, "world and profile in the event");
    eq(after.player.inventory, {});
    ok("shell" in after.world.locations.beach.items);
    eq((await reset(h, { experience: "nowhere" })).status, 404);
  });
});

Deno.test("reset: outside dev only with ADMIN_SECRET in X-Admin-Secret; 403 otherwise", async () => {
  await withServer({ dev: false }, async (h) => {
    const r = await reset(h, { experience: "wylding-woods" }, { "X-Admin-Secret": ADMIN });
    eq([r.status, r.body.error.code], [403, "forbidden"], "no ADMIN_SECRET set: never");
    const c = await h.fetch(`/kb/experience/content?experience=wylding-woods`);
    eq(c.status, 403);
    await c.body?.cancel();
  });
  await withServer({ dev: false, adminSecret: ADMIN }, async (h) => {
    await h.interact("ann", "take lantern", "wylding-woods");
    const before = await h.state("ann", "wylding-woods");
    const attempts: Record<string, string>[] = [{}, {
      "X-Admin-Secret": "wrong-secret-0123456789",
    }];
    for (const headers of attempts) {
      const r = await reset(h, { experience: "wylding-woods" }, headers);
      eq([r.status, r.body.error.code], [403, "forbidden"]);
    }
    eq(await h.state("ann", "wylding-woods"), before, "a refused reset changes nothing");
    const r = await reset(h, { experience: "wylding-woods" }, { "X-Admin-Secret": ADMIN });
    eq(r.status, 200);
    ok(
      "lantern" in
        (await h.state("ann", "wylding-woods")).world.locations["woods-edge"].items,
    );
  });
  ok(loadSettings({ DEV: "1", ADMIN_SECRET: ADMIN }).ADMIN_SECRET === ADMIN);
  let refused = "";
  try {
    loadSettings({ DEV: "1", ADMIN_SECRET: "short" });
  } catch (e) {
    refused = (e as Error).message;
  }
  ok(refused.includes("ADMIN_SECRET: must be at least 16 characters"), refused);
});

Deno.test("content route: in dev, the problems of the files on disk and a revision", async () => {
  await withServer({ dev: true }, async (h) => {
    const r = await h.fetch(`/kb/experience/content?experience=wylding-woods`);
    const body = await r.json();
    eq([r.status, body.problems], [200, []]);
    ok(typeof body.revision === "string" && body.revision.length > 0);
    const unknown = await h.fetch(`/kb/experience/content?experience=nowhere`);
    eq(unknown.status, 404);
    await unknown.body?.cancel();
  });
});
