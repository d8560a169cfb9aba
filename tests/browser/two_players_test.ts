/**
 * The local-play client in a real Chromium against the full stack (real
 * nats-server): two players in separate browser contexts share the Wylding
 * Woods. Screenshots of each step go to `tests/artifacts/`.
 *
 * @module
 */
import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import type { BrowserContext } from "playwright-core";
import { setup, type TestStack } from "../_helpers/mod.ts";
import {
  act,
  ARTIFACTS,
  gaia,
  launchBrowser,
  listKeys,
  median,
  paintOf,
  shot,
  sideBySide,
  signIn,
  twoPlayers,
  waitForConnection,
  waitReady,
} from "./_harness.ts";

/** Every run makes `tests/artifacts/two-players.png` (the README's image, two players talking, comes from multiplayer_test.ts). */
const TWO_PLAYERS_SHOT = new URL("two-players.png", ARTIFACTS).pathname;
const ITEMS = JSON.parse(
  await Deno.readTextFile(
    new URL("../../kb-data/experiences/wylding-woods/items.json", import.meta.url),
  ),
) as Record<string, { adjectives: string[] }>;
const LOCATIONS = JSON.parse(
  await Deno.readTextFile(
    new URL("../../kb-data/experiences/wylding-woods/locations.json", import.meta.url),
  ),
) as Record<string, { description: string }>;

/** Records, in DOM-mutation order, when the world lists and the story text first change. */
const ORDER_PROBE = `(() => {
  const probe = window.__probe = { seq: 0, world: null, story: null };
  const world = new MutationObserver((records) => {
    for (const r of records) { probe.seq++; if (probe.world === null) probe.world = probe.seq; }
  });
  for (const id of ["items", "inventory"]) {
    world.observe(document.getElementById(id), { childList: true });
  }
  const story = new MutationObserver((records) => {
    for (const r of records) {
      probe.seq++;
      const el = r.target.nodeType === 1 ? r.target : r.target.parentElement;
      if (probe.story === null && el && el.closest(".story") && el.textContent) probe.story = probe.seq;
    }
  });
  story.observe(document.getElementById("narrative"), {
    childList: true, subtree: true, characterData: true,
  });
  probe.stop = () => { world.disconnect(); story.disconnect(); };
})()`;

Deno.test("browser: two players share the Wylding Woods live", async (t) => {
  await Deno.mkdir(ARTIFACTS, { recursive: true });
  // The browser first: without Chromium the test fails before starting anything to clean up.
  const browser = await launchBrowser();
  const stack: TestStack = await setup().catch(async (e) => {
    await browser.close();
    throw e;
  });
  const contexts: BrowserContext[] = [];
  try {
    // B plays at phone width and asks for reduced motion.
    const players = await twoPlayers(browser, {
      viewport: { width: 360, height: 760 },
      reducedMotion: "reduce",
      isMobile: true,
      hasTouch: true,
    });
    contexts.push(...players.contexts);
    const { a, b, errors } = players;

    await t.step("both sign in by keyboard and walk to Woander's Store", async () => {
      await signIn(a, stack.url, "ada");
      await signIn(b, stack.url, "bryn");
      assertEquals(await a.evaluate("document.activeElement.id"), "command");
      assertEquals(await a.getAttribute("#narrative", "aria-live"), "polite");
      for (const page of [b, a]) {
        await act(page, "go north");
        await act(page, "go east");
      }
      await a.waitForSelector('#people li[data-key="player:bryn"]');
      await b.waitForSelector('#people li[data-key="player:ada"]');
      for (const page of [a, b]) {
        assertEquals(
          (await page.textContent("#location-desc"))?.trim(),
          LOCATIONS["woanders-store"]!.description,
          "the location's own description is shown",
        );
      }
      const width = await b.evaluate("document.documentElement.scrollWidth");
      assert(Number(width) <= 360, `no horizontal scroll at 360 px (scrollWidth ${width})`);
      assertEquals(
        await b.evaluate(`(() => { const d = document.createElement("div"); d.className = "changed";
          document.body.append(d); const n = getComputedStyle(d, "::after").animationName; d.remove(); return n; })()`),
        "none",
        "reduced motion: no highlight animation",
      );
      // The highlights of the walk fade out (the client drops `changed` after 1.6 s).
      await a.waitForFunction(() =>
        (globalThis as unknown as { document: { querySelector(s: string): unknown } }).document
          .querySelector(".changed") === null
      );
      await shot(a, "01-a-in-store");
      await shot(b, "01-b-in-store");
    });

    let taken = "";
    await t.step(
      "A takes a dream bottle: B sees it gone; A sees the change before the story",
      async () => {
        const itemsBefore = await listKeys(a, "items");
        const bCommands = (await gaia(b)).commands.length;
        await a.evaluate(ORDER_PROBE);
        // Named: the bottles differ, so a bare "take bottle" is answered with a question.
        const cmd = await act(a, "take blue bottle");
        const probe = await a.evaluate(
          "(() => { window.__probe.stop(); return window.__probe; })()",
        ) as {
          world: number | null;
          story: number | null;
        };
        assertEquals(cmd.eventIds.length, 1);
        const itemsAfter = await listKeys(a, "items");
        taken = itemsBefore.find((k) => !itemsAfter.includes(k)) ?? "";
        assert(taken.startsWith("dream-bottle-"), `A took a dream bottle (${taken})`);
        assert((await listKeys(a, "inventory")).includes(taken));
        await b.waitForSelector(`#items li[data-key="${taken}"]`, { state: "detached" });
        assertEquals((await gaia(b)).commands.length, bCommands, "B did nothing");
        // The world change is on A's page before the first narrative text.
        const paint = await paintOf(a, cmd.eventIds[0]!);
        assert(cmd.firstContentAt !== null);
        assert(paint.renderedAt <= cmd.firstContentAt!, "world rendered before the narrative");
        assert(probe.world !== null && probe.story !== null, JSON.stringify(probe));
        assert(
          probe.world! < probe.story!,
          `DOM order: world ${probe.world}, story ${probe.story}`,
        );
        await shot(a, "02-a-took-bottle");
        await shot(b, "02-b-sees-it-gone");
        await b.evaluate("window.scrollTo(0, 0)");
        await sideBySide(browser, await a.screenshot(), await b.screenshot(), TWO_PLAYERS_SHOT);
        const size = (await Deno.stat(TWO_PLAYERS_SHOT)).size;
        assert(size < 300_000, `two-player screenshot is ${size} bytes`);
      },
    );

    await t.step("a reload keeps the session and the state", async () => {
      await a.reload();
      await waitReady(a);
      assertEquals((await gaia(a)).user, "ada");
      assert((await listKeys(a, "inventory")).includes(taken));
      assert(!(await listKeys(a, "items")).includes(taken));
      await a.waitForSelector('#people li[data-key="player:bryn"]');
      await shot(a, "03-a-after-reload");
    });

    await t.step(
      "nats-server killed and restarted: reconnecting, then live, nothing missed",
      async () => {
        await stack.nats!.stop();
        await waitForConnection(a, "reconnecting");
        await waitForConnection(b, "reconnecting");
        await shot(b, "04-b-reconnecting");
        // A acts while NATS is down: the KB still commits, A still sees it.
        const before = await listKeys(a, "items");
        const cmd = await act(a, "take green bottle");
        assertEquals(cmd.eventIds.length, 1, "the action applied without NATS");
        const after = await listKeys(a, "items");
        const gone = before.filter((k) => !after.includes(k));
        assertEquals(gone.length, 1);
        await stack.nats!.restart();
        await waitForConnection(a, "live");
        await waitForConnection(b, "live");
        await b.waitForSelector(`#items li[data-key="${gone[0]}"]`, { state: "detached" });
        assertEquals(await listKeys(b, "items"), after, "B converged on A's view");
        const gB = await gaia(b);
        const via = gB.paints.some((p) => p.id === cmd.eventIds[0])
          ? "the world stream (replayed or buffered)"
          : `a snapshot refetch (${gB.resyncs.map((r) => r.reason).join(", ")})`;
        console.log(`change made while NATS was down reached B through ${via}`);
        for (const page of [a, b]) {
          const states = (await gaia(page)).connectionLog.map((e) => e.state);
          const i = states.lastIndexOf("reconnecting");
          assert(i >= 0 && states.slice(i + 1).includes("live"), states.join(","));
        }
        await shot(a, "05-a-live-again");
        await shot(b, "05-b-live-again");
      },
    );

    await t.step("the browser going offline shows offline, then live again", async () => {
      await b.context().setOffline(true);
      await waitForConnection(b, "offline");
      await shot(b, "06-b-offline");
      const adjective = ITEMS[taken]!.adjectives[0]!;
      await act(a, `drop ${adjective} bottle`); // B must not miss it
      await b.context().setOffline(false);
      await waitForConnection(b, "live");
      await b.waitForSelector(`#items li[data-key="${taken}"]`);
    });

    await t.step("click-to-paint over 20 actions, actor and other player", async () => {
      const adjective = ITEMS[taken]!.adjectives[0]!;
      const actor: number[] = [];
      const other: number[] = [];
      const commit: number[] = [];
      const sources: Record<string, number> = {};
      for (let i = 0; i < 20; i++) {
        const cmd = await act(a, `${i % 2 ? "drop" : "take"} ${adjective} bottle`);
        assertEquals(cmd.eventIds.length, 1, `action ${i} changed the world`);
        const id = cmd.eventIds[0]!;
        const [pa, pb] = await Promise.all([paintOf(a, id), paintOf(b, id)]);
        actor.push(pa.paintedAt - cmd.submittedAt);
        other.push(pb.paintedAt - cmd.submittedAt);
        commit.push(pb.latencyMs);
        sources[pa.source] = (sources[pa.source] ?? 0) + 1;
      }
      const result = {
        actions: actor.length,
        actorClickToPaintMedianMs: round(median(actor)),
        otherClickToPaintMedianMs: round(median(other)),
        otherCommitToPaintMedianMs: round(median(commit)),
        actorFirstSource: sources,
        actorMs: actor.map(round),
        otherMs: other.map(round),
      };
      console.log(
        `click-to-paint median over ${result.actions} actions: actor ${result.actorClickToPaintMedianMs} ms, ` +
          `other player ${result.otherClickToPaintMedianMs} ms (KB commit to B's paint ${result.otherCommitToPaintMedianMs} ms; ` +
          `actor's event first from ${JSON.stringify(sources)})`,
      );
      await Deno.writeTextFile(
        new URL("click-to-paint.json", ARTIFACTS),
        JSON.stringify(result, null, 2) + "\n",
      );
      await shot(a, "07-a-after-20-actions");
      await shot(b, "07-b-after-20-actions");
    });

    assertEquals(errors, [], "no page errors");
  } finally {
    for (const ctx of contexts) await ctx.close().catch(() => {});
    await browser.close();
    await stack.dispose();
  }
});

function round(ms: number): number {
  return Math.round(ms * 10) / 10;
}
