/**
 * The game in a real Chromium against a real server: the intro opens the
 * story, the score and an ending reached show in the side panel (per
 * player), descriptions that follow state refresh the side panel, a per-player
 * item taken by one player stays for the other, and in dev a content edit
 * updates the side panel while a broken edit shows its problems.
 */
import { deepStrictEqual as eq, ok } from "node:assert/strict";
import type { Page } from "playwright-core";
import { eventually, setup } from "../_helpers/mod.ts";
import { act, gaia, launchBrowser, listKeys, shot, signIn, waitReady } from "./_harness.ts";

async function signInTo(page: Page, url: string, name: string, experience: string) {
  await page.goto(`${url}/`);
  await page.waitForSelector(`input[name="experience"][value="${experience}"]`);
  await page.check(`input[name="experience"][value="${experience}"]`);
  await page.fill("#name", name);
  await page.press("#name", "Enter");
  await waitReady(page);
}

const text = async (page: Page, sel: string) => (await page.textContent(sel))?.trim() ?? "";

Deno.test("browser: intro, score, ending, state-dependent text, per-player items, content edits", async (t) => {
  const browser = await launchBrowser();
  // A copy of the shipped content: the last step edits it.
  const stack = await setup({ content: "shipped-copy" }).catch(async (e) => {
    await browser.close();
    throw e;
  });
  const root = stack.dataDir;
  try {
    const ctx = await browser.newContext({ viewport: { width: 960, height: 800 } });
    const page = await ctx.newPage();
    const errors: string[] = [];
    page.on("pageerror", (e) => errors.push(e.message));

    await t.step("the lighthouse opens with its intro and a look; the score shows", async () => {
      await signInTo(page, stack.url, "ida", "drowned-lighthouse");
      await eventually(async () => (await page.$$("#narrative .turn")).length >= 2, {
        timeoutMs: 5_000,
        what: "intro and look",
      });
      ok((await text(page, "#narrative .turn.intro")).startsWith("A storm is coming in"));
      await eventually(
        async () => (await text(page, "#narrative")).includes("You are on the storm beach."),
        {
          timeoutMs: 5_000,
          what: "look",
        },
      );
      eq(await text(page, "#score"), "Score: 0 of 10");
      eq(await page.isVisible("#ending"), false);
    });

    await t.step("played to the ending: score, banner and the lit lamp room", async () => {
      for (
        const m of [
          "e",
          "take spectacles",
          "w. n",
          "take sardines",
          "n",
          "give spectacles to tam",
          "take oil can",
          "s. s. w",
          "unlock door with key",
          "open door",
          "u. u",
          "give sardines to gull",
          "pour oil into lamp",
        ]
      ) await act(page, m);
      eq(await text(page, "#score"), "Score: 6 of 10");
      ok((await text(page, "#location-desc")).startsWith("Glass on every side and the storm"));
      await act(page, "light lamp");
      await page.waitForSelector("#ending:not([hidden])");
      eq(await text(page, "#ending-title"), "The end: The Light Returns");
      eq(await text(page, "#score"), "Score: 10 of 10");
      // The side panel follows state: the lamp room reads lit now.
      await eventually(
        async () => (await text(page, "#location-desc")).includes("the great lamp blazing"),
        {
          timeoutMs: 5_000,
          what: "state-dependent description",
        },
      );
      ok((await text(page, "#narrative")).includes("The end: The Light Returns."));
      await shot(page, "game-01-ending");
    });

    await t.step(
      "dev: a content edit updates the side panel; a broken edit shows its problems",
      async () => {
        const file = `${root}/experiences/drowned-lighthouse/locations.json`;
        const good = await Deno.readTextFile(file);
        const locs = JSON.parse(good);
        locs["lamp-room"].variants[0].description = "A freshly edited lamp room, blazing.";
        await Deno.writeTextFile(file, JSON.stringify(locs));
        await eventually(
          async () =>
            (await text(page, "#location-desc")) === "A freshly edited lamp room, blazing.",
          {
            timeoutMs: 10_000,
            what: "the side panel follows the edit without a command",
          },
        );
        locs["lamp-room"].descripton = "typo";
        await Deno.writeTextFile(file, JSON.stringify(locs));
        await page.waitForSelector("#content-errors:not([hidden])", { timeout: 10_000 });
        const problems = await text(page, "#content-problems");
        ok(problems.includes("unknown key 'descripton' (did you mean 'description'?)"), problems);
        await shot(page, "game-02-content-problems");
        await Deno.writeTextFile(file, good);
        await page.waitForSelector("#content-errors", { state: "hidden", timeout: 10_000 });
      },
    );

    await t.step(
      "shared woods: a per-player moonpetal taken by one player stays for the other",
      async () => {
        const a = await ctx.newPage();
        const bCtx = await browser.newContext({ viewport: { width: 960, height: 800 } });
        const b = await bCtx.newPage();
        await signIn(a, stack.url, "ann");
        await signIn(b, stack.url, "ben");
        for (const p of [a, b]) await act(p, "n. w");
        await a.waitForSelector('#items li[data-key="moonpetal"]');
        await act(a, "take moonpetal");
        await a.waitForSelector('#items li[data-key="moonpetal"]', { state: "detached" });
        ok((await listKeys(a, "inventory")).some((k) => k.startsWith("moonpetal_")));
        // Ben's page has the version of Ann's take before it is looked at.
        const taken = (await gaia(a)).version ?? Infinity;
        await eventually(async () => ((await gaia(b)).version ?? -1) >= taken, {
          what: "ben's page at the version of ann's take",
        });
        ok((await listKeys(b, "items")).includes("moonpetal"), "still there for ben");
        eq(await text(a, "#score"), "Score: 0 of 10");
        await bCtx.close();
      },
    );
    eq(errors, []);
  } finally {
    await browser.close();
    await stack.dispose();
  }
});
