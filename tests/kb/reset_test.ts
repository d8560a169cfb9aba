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
import { buildApp as buildServerApp } from "../../shared/app.ts";
import { kbRoutes } from "../../kb/mod.ts";
import { loadExperience } from "../../kb/content.ts";
import { initialWorld } from "../../kb/world.ts";
import { loadSettings } from "../../shared/settings.ts";
import { act, DATA_DIR, getState, kbFixture, SECRET, serve } from "./_support.ts";

const ADMIN = "an-admin-secret-0123456789";

async function withServer(
  opts: { dev: boolean; adminSecret?: string },
  fn: (url: string) => Promise<void>,
) {
  const fx = await kbFixture();
  const app = buildServerApp({
    role: "kb",
    bus: fx.bus,
    routes: [kbRoutes(fx.kb, { auth: { secret: SECRET }, ...opts })],
  });
  const server = serve(app);
  try {
    await fn(server.url);
  } finally {
    await server.close();
    await fx.dispose();
  }
}

const reset = (url: string, body: unknown, headers: Record<string, string> = {}) =>
  fetch(`${url}/kb/experience/reset`, {
    method: "POST",
    headers: { "Content-Type": "application/json", ...headers },
    body: JSON.stringify(body),
  }).then(async (r) => ({ status: r.status, body: await r.json() }));

Deno.test("reset: in dev, a shared world goes back to its start through a commit and an event", async () => {
  const woods = await loadExperience(DATA_DIR, "wylding-woods");
  await withServer({ dev: true }, async (url) => {
    for (const m of ["n", "w", "take moonpetal", "e", "e", "give moonpetal to woander", "n"]) {
      eq((await act(url, "ann", "wylding-woods", m)).status, 200);
    }
    await act(url, "bob", "wylding-woods", "take lantern");
    const annBefore = await getState(url, "ann", "wylding-woods");
    eq(annBefore.player.location, "back-room");
    const r = await reset(url, { experience: "wylding-woods" });
    eq(r.status, 200, JSON.stringify(r.body));
    eq(r.body.outcome.kind, "reset");
    const [event] = r.body.events;
    eq(event.version, annBefore.version + 1, "a new version");
    ok(event.changes.world.length > 0 && !event.changes.player, "world operations only");
    // Applying the event gives the world after it; every profile counts as fresh.
    const annAfter = await getState(url, "ann", "wylding-woods");
    eq(applyWorldUpdate(annBefore, event).world, annAfter.world);
    eq(annAfter.world, { ...initialWorld(woods), epoch: 1 });
    eq([annAfter.player.location, annAfter.player.inventory], ["woods-edge", {}]);
    eq(annAfter.player.epoch, 1);
    // Ann plays again from the start: her old profile is replaced, presence is back.
    const n = await act(url, "ann", "wylding-woods", "north");
    eq(n.status, 200);
    const again = await getState(url, "ann", "wylding-woods");
    eq(applyWorldUpdate(annAfter, (n.body.events as never[])[0]!), again);
    eq(again.player.exits, undefined, "her thorn door is shut again");
    eq(again.world.players.ann.location, "mossy-path");
    eq(Object.keys(again.world.players), ["ann"], "bob comes back when he acts");
  });
});

Deno.test("reset: an isolated world is one player's, named by 'user'", async () => {
  await withServer({ dev: true }, async (url) => {
    await act(url, "ida", "drowned-lighthouse", "take shell");
    const before = await getState(url, "ida", "drowned-lighthouse");
    eq((await reset(url, { experience: "drowned-lighthouse" })).status, 400);
    const r = await reset(url, { experience: "drowned-lighthouse", user: "ida" });
    eq(r.status, 200, JSON.stringify(r.body));
    const after = await getState(url, "ida", "drowned-lighthouse");
    eq(applyWorldUpdate(before, r.body.events[0]), after, "world and profile in the event");
    eq(after.player.inventory, {});
    ok("shell" in after.world.locations.beach.items);
    eq((await reset(url, { experience: "nowhere" })).status, 404);
  });
});

Deno.test("reset: outside dev only with ADMIN_SECRET in X-Admin-Secret; 403 otherwise", async () => {
  await withServer({ dev: false }, async (url) => {
    const r = await reset(url, { experience: "wylding-woods" }, { "X-Admin-Secret": ADMIN });
    eq([r.status, r.body.error.code], [403, "forbidden"], "no ADMIN_SECRET set: never");
    const c = await fetch(`${url}/kb/experience/content?experience=wylding-woods`);
    eq(c.status, 403);
    await c.body?.cancel();
  });
  await withServer({ dev: false, adminSecret: ADMIN }, async (url) => {
    await act(url, "ann", "wylding-woods", "take lantern");
    const before = await getState(url, "ann", "wylding-woods");
    const attempts: Record<string, string>[] = [{}, {
      "X-Admin-Secret": "wrong-secret-0123456789",
    }];
    for (const headers of attempts) {
      const r = await reset(url, { experience: "wylding-woods" }, headers);
      eq([r.status, r.body.error.code], [403, "forbidden"]);
    }
    eq(await getState(url, "ann", "wylding-woods"), before, "a refused reset changes nothing");
    const r = await reset(url, { experience: "wylding-woods" }, { "X-Admin-Secret": ADMIN });
    eq(r.status, 200);
    ok(
      "lantern" in
        (await getState(url, "ann", "wylding-woods")).world.locations["woods-edge"].items,
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
  await withServer({ dev: true }, async (url) => {
    const r = await fetch(`${url}/kb/experience/content?experience=wylding-woods`);
    const body = await r.json();
    eq([r.status, body.problems], [200, []]);
    ok(typeof body.revision === "string" && body.revision.length > 0);
    const unknown = await fetch(`${url}/kb/experience/content?experience=nowhere`);
    eq(unknown.status, 404);
    await unknown.body?.cancel();
  });
});
