/**
 * The game in a real Chromium against a real server: the intro opens the
 * story, the score and an ending reached show in the side panel (per
 * player), descriptions that follow state refresh the side panel, a per-player
 * item taken by one player stays for the other, and in dev a content edit
 * updates the side panel while a broken edit shows its problems.
 */
import { deepStrictEqual as eq, ok } from "node:assert/strict";
import type { Page } from "playwright-core";
import { startStack } from "../helpers/stack.ts";
import { eventually } from "../chat/harness.ts";
import { act, launchBrowser, listKeys, shot, signIn, waitReady } from "./_harness.ts";

const DATA = new URL("../../kb-data", import.meta.url).pathname;

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
  const root = await Deno.makeTempDir({ prefix: "game-data-" });
  await Deno.mkdir(`${root}/experiences`, { recursive: true });
  for (const id of ["wylding-woods", "drowned-lighthouse"]) {
    await Deno.mkdir(`${root}/experiences/${id}`);
    for await (const f of Deno.readDir(`${DATA}/experiences/${id}`)) {
      await Deno.copyFile(
        `${DATA}/experiences/${id}/${f.name}`,
        `${root}/experiences/${id}/${f.name}`,
      );
    }
  }
  const stack = await startStack({ KB_DATA_DIR: root }).catch(async (e) => {
    await browser.close();
    throw e;
  });
  try {
    const ctx = await browser.newContext({ viewport: { width: 960, height: 800 } });
    const page = await ctx.newPage();
    const errors: string[] = [];
    page.on("pageerror", (e) => errors.push(e.message));

    await t.step("the lighthouse opens with its intro and a look; the score shows", async () => {
      await signInTo(page, stack.url, "ida", "drowned-lighthouse");
      await eventually(
        async () => (await page.$$("#narrative .turn")).length >= 2,
        5_000,
        "intro and look",
      );
      ok((await text(page, "#narrative .turn.intro")).startsWith("A storm is coming in"));
      await eventually(
        async () => (await text(page, "#narrative")).includes("You are on the storm beach."),
        5_000,
        "look",
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
        5_000,
        "state-dependent description",
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
          10_000,
          "the side panel follows the edit without a command",
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
        await b.waitForTimeout(300);
        ok((await listKeys(b, "items")).includes("moonpetal"), "still there for ben");
        eq(await text(a, "#score"), "Score: 0 of 10");
        await bCtx.close();
      },
    );
    eq(errors, []);
  } finally {
    await browser.close();
    await stack.dispose();
    await Deno.remove(root, { recursive: true });
  }
});
