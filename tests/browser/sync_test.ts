/**
 * The client's `WorldSync` (chat/client/sync.js) in Chromium, loaded the way
 * the page loads it (with `/shared/apply.js` from the server): dedupe by id,
 * stale versions, events held until a gap fills, a refetch when it does not,
 * events buffered during a fetch, and a refetched snapshot older than what
 * was already applied.
 *
 * @module
 */
import { deepStrictEqual as eq } from "node:assert/strict";
import { Hono } from "hono";
import { clientRoutes } from "../../chat/mod.ts";
import { launchBrowser } from "./_harness.ts";

/** Runs in the page; returns what each scenario observed. */
const SCENARIOS = `(async () => {
  const { WorldSync } = await import("/client/sync.js");
  const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
  const ev = (version, id, key) => ({
    type: "world_update", id, experience: "x", user_id: "u", version, timestamp: Date.now(),
    changes: { world: [{ operation: "add", path: "seen." + key, data: { v: version } }] },
    metadata: { source: "kb", state_model: "shared", request_id: "r" },
  });
  const snap = (version, seen = {}) => ({
    experience: "x", state_model: "shared", version, world: { seen }, player: {},
  });
  const make = (snapshots) => {
    const log = { fetches: 0, changes: [] };
    const sync = new WorldSync({
      experience: "x",
      holdMs: 50,
      fetchSnapshot: async () => {
        log.fetches++;
        await sleep(5);
        return structuredClone(snapshots.shift());
      },
      onChange: (prev, next, events, reason) =>
        log.changes.push({ reason, version: next.version, events: events.map((e) => e.version) }),
    });
    return { sync, log };
  };
  const out = {};

  { // dedupe, stale, in order
    const { sync, log } = make([snap(5)]);
    await sync.load("initial");
    sync.receive(ev(6, "a6", "a"));
    sync.receive(ev(6, "a6", "a"));
    sync.receive(ev(4, "a4", "old"));
    sync.receive({ ...ev(7, "other", "o"), experience: "y" });
    out.basic = { version: sync.snapshot.version, seen: Object.keys(sync.snapshot.world.seen),
      stats: sync.stats, changes: log.changes };
    sync.close();
  }
  { // a gap that fills within the hold time: no refetch
    const { sync, log } = make([snap(1)]);
    await sync.load("initial");
    sync.receive(ev(3, "b3", "b3"));
    const held = sync.snapshot.version;
    sync.receive(ev(2, "b2", "b2"));
    await sleep(80);
    out.filled = { held, version: sync.snapshot.version, fetches: log.fetches, changes: log.changes };
    sync.close();
  }
  { // a gap that stays: refetch (the server knows v2), then apply what is newer
    const { sync, log } = make([snap(1), snap(3, { c2: { v: 2 }, c3: { v: 3 } })]);
    await sync.load("initial");
    sync.receive(ev(3, "c3", "c3"));
    await sleep(120);
    out.gap = { version: sync.snapshot.version, seen: Object.keys(sync.snapshot.world.seen).sort(),
      fetches: log.fetches, gaps: sync.stats.gaps, changes: log.changes };
    sync.close();
  }
  { // events during a fetch are buffered; a refetch older than applied events re-applies them
    const { sync, log } = make([snap(1), snap(1)]);
    const loading = sync.load("initial");
    sync.receive(ev(2, "d2", "d2"));
    await loading;
    const afterFirst = sync.snapshot.version;
    await sync.load("resync");
    out.buffered = { afterFirst, version: sync.snapshot.version,
      seen: Object.keys(sync.snapshot.world.seen), changes: log.changes };
    sync.close();
  }
  return out;
})()`;

Deno.test("client WorldSync: dedupe, ordering, gaps and refetches", async () => {
  const browser = await launchBrowser();
  const app = new Hono();
  app.route("/", clientRoutes());
  const server = Deno.serve({ port: 0, hostname: "127.0.0.1", onListen: () => {} }, app.fetch);
  try {
    const page = await browser.newPage();
    await page.goto(`http://127.0.0.1:${server.addr.port}/client/style.css`);
    // deno-lint-ignore no-explicit-any
    const out = await page.evaluate(SCENARIOS) as any;

    eq(out.basic.version, 6);
    eq(out.basic.seen, ["a"]);
    eq(out.basic.stats.duplicates, 1);
    eq(out.basic.stats.stale, 1);
    eq(out.basic.changes, [
      { reason: "initial", version: 5, events: [] },
      { reason: "update", version: 6, events: [6] },
    ]);

    eq(out.filled.held, 1, "v3 waits for v2");
    eq(out.filled.version, 3);
    eq(out.filled.fetches, 1, "no refetch when the gap fills");
    eq(out.filled.changes.at(-1), { reason: "update", version: 3, events: [2, 3] });

    eq(out.gap.version, 3);
    eq(out.gap.seen, ["c2", "c3"], "the refetch brought the missing change");
    eq(out.gap.fetches, 2);
    eq(out.gap.gaps, 1);
    eq(out.gap.changes.map((c: { reason: string }) => c.reason), ["initial", "gap"]);

    eq(out.buffered.afterFirst, 2, "the event that came during the fetch is applied");
    eq(out.buffered.version, 2, "a stale refetch keeps the applied event");
    eq(out.buffered.seen, ["d2"]);
  } finally {
    await browser.close();
    await server.shutdown();
  }
});
