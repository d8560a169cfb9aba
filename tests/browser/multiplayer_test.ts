/**
 * Multiplayer you can feel, in a real Chromium (two browser contexts)
 * against the full stack on a real nats-server: presence (a player is
 * listed once signed in, stays through the grace period, goes after it;
 * the grace runs on an injected clock), speech reaching the other player
 * at the same location and not one elsewhere, another player's take as a
 * line in the story, the phone layout (390×844) keeping the last reply and
 * the input in view, a reload keeping the transcript, the command box's
 * own checks, and no internal notes shown to players. The README's image
 * (two players talking) comes from here, and the say-to-other-screen
 * latency (median of 20) is printed and written to
 * `tests/artifacts/say-latency.json`.
 *
 * @module
 */
import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import type { BrowserContext, Page } from "playwright-core";
import { ManualClock } from "../../shared/clock.ts";
import { eventually, setup, type TestStack } from "../_helpers/mod.ts";
import {
  act,
  ARTIFACTS,
  gaia,
  launchBrowser,
  listKeys,
  median,
  type PageGlobals,
  paintOf,
  shot,
  sideBySide,
  signIn,
  twoPlayers,
} from "./_harness.ts";

const X = "wylding-woods";
const GRACE_MS = 10_000;
/**
 * The README's image. Every run makes `tests/artifacts/two-players-talking.png`; the
 * committed copy is replaced only when missing or with `UPDATE_SCREENSHOTS=1`.
 */
const README_SHOT = new URL("../../deploy/screenshot-two-players.png", import.meta.url).pathname;
const TALKING_SHOT = new URL("two-players-talking.png", ARTIFACTS).pathname;

/** Story lines of a kind (`other`, `say`, `emote`) on a page. */
function lines(page: Page, kind: string): Promise<string[]> {
  return page.evaluate(
    `[...document.querySelectorAll("#narrative .line.${kind}")].map((p) => p.textContent)`,
  ) as Promise<string[]>;
}

/** The bounding box of an element, relative to the viewport. */
function box(page: Page, selector: string): Promise<{ top: number; bottom: number }> {
  return page.evaluate(
    `(() => { const r = document.querySelector(${JSON.stringify(selector)}).getBoundingClientRect();
      return { top: r.top, bottom: r.bottom }; })()`,
  ) as Promise<{ top: number; bottom: number }>;
}

Deno.test("browser: presence, talking, others in the story, the phone layout, a reload", async (t) => {
  await Deno.mkdir(ARTIFACTS, { recursive: true });
  const browser = await launchBrowser();
  const clock = new ManualClock(1_000_000);
  // No speech limit here: the latency run says 20 lines in a row.
  const stack: TestStack = await setup({ clock, env: { SAY_RATE: "0" } }).catch(async (e) => {
    await browser.close();
    throw e;
  });
  const contexts: BrowserContext[] = [];
  try {
    const players = await twoPlayers(browser, {
      viewport: { width: 390, height: 844 },
      isMobile: true,
      hasTouch: true,
    });
    contexts.push(...players.contexts);
    const { a, b, errors } = players;

    await t.step("a player is listed as soon as they sign in, before any action", async () => {
      await signIn(a, stack.url, "ada");
      await signIn(b, stack.url, "bryn");
      await a.waitForSelector('#people li[data-key="player:bryn"]');
      await b.waitForSelector('#people li[data-key="player:ada"]');
    });

    await t.step("say reaches the other player here, and not one elsewhere", async () => {
      // cleo is in the same world, one location away.
      assertEquals((await stack.act("cleo", "go north", X)).status, 200);
      const cleo = await stack.world("cleo", X);
      await a.waitForSelector('#elsewhere li[data-key="player:cleo"]');
      await act(a, "say Hello bryn! Shall we find Woander's store?");
      await b.waitForSelector("#narrative .line.say");
      assertEquals(await lines(b, "say"), [
        "ada says, “Hello bryn! Shall we find Woander's store?”",
      ]);
      await act(b, "emote waves back");
      await a.waitForSelector("#narrative .line.emote");
      assertEquals(await lines(a, "emote"), ["bryn waves back"]);
      await shot(a, "m1-a-talking");
      await shot(b, "m1-b-talking");
      await sideBySide(browser, await a.screenshot(), await b.screenshot(), TALKING_SHOT);
      const exists = await Deno.stat(README_SHOT).then(() => true, () => false);
      if (!exists || Deno.env.get("UPDATE_SCREENSHOTS") === "1") {
        await Deno.copyFile(TALKING_SHOT, README_SHOT);
      }
      // Markup in speech is text, never elements.
      const markup = `<b>bold?</b> <img src="x" onerror="window.__pwned = 1">`;
      await act(a, `say ${markup}`);
      await eventually(async () => (await lines(b, "say")).length === 2, { what: "second line" });
      assertEquals((await lines(b, "say"))[1], `ada says, “${markup}”`);
      assertEquals(
        await b.evaluate(`document.querySelectorAll("#narrative b, #narrative img").length`),
        0,
      );
      assertEquals(await b.evaluate("window.__pwned ?? null"), null);
      assertEquals(cleo.received("say"), [], "cleo, elsewhere, heard nothing");
      await cleo.close();
    });

    await t.step("another player's take shows as a line in the story", async () => {
      for (const page of [b, a]) {
        await act(page, "go north");
        await act(page, "go east");
      }
      await act(a, "take blue bottle");
      await b.waitForFunction(() =>
        [
          ...(globalThis as unknown as {
            document: { querySelectorAll(s: string): { textContent: string }[] };
          }).document.querySelectorAll("#narrative .line.other"),
        ].some((p) => p.textContent.startsWith("ada takes"))
      );
      const others = await lines(b, "other");
      assert(others.some((l) => /^ada goes east/.test(l)), others.join(" | "));
      assert(others.at(-1)!.startsWith("ada takes the dream bottle"), others.join(" | "));
      // In order with bryn's own turns: ada's take comes after bryn's last command.
      const order = await b.evaluate(
        `[...document.querySelectorAll("#narrative > *")].map((e) => e.className)`,
      ) as string[];
      assert(order.lastIndexOf("line other") > order.lastIndexOf("turn"), order.join(","));
    });

    await t.step(
      "at 390×844 the last reply and the input are in view without scrolling",
      async () => {
        await act(b, "look");
        await b.evaluate("window.scrollTo(0, 0)");
        const reply = await box(b, "#narrative > article.turn:last-of-type .story");
        const input = await box(b, "#command");
        for (const [what, r] of [["last reply", reply], ["input", input]] as const) {
          assert(r.top >= 0 && r.bottom <= 844, `${what} at ${r.top}..${r.bottom} of 844`);
        }
        const width = await b.evaluate("document.documentElement.scrollWidth");
        assert(Number(width) <= 390, `no horizontal scroll (scrollWidth ${width})`);
        await shot(b, "m2-b-phone");
      },
    );

    await t.step("players never see internal notes; developers can", async () => {
      assertEquals(await b.evaluate(`document.getElementById("dev").open`), false);
      assertEquals(await b.isVisible("#changes"), false);
      const story = await b.textContent("#narrative");
      assert(!/refetched|bus_reconnected/.test(story ?? ""), "no internal reason in the story");
      await b.click("#dev summary");
      assert(await b.isVisible("#changes"));
      await b.click("#dev summary");
    });

    await t.step("the command box says what is wrong before sending", async () => {
      const before = (await gaia(b)).commands.length;
      await b.focus("#command");
      await b.keyboard.press("Enter");
      assert((await b.textContent("#command-hint"))!.startsWith("Type a command first"));
      await b.fill("#command", `say ${"x".repeat(501)}`);
      assertEquals(
        await b.textContent("#command-hint"),
        "Too long to say: 501 of at most 500 characters.",
      );
      await b.keyboard.press("Enter");
      assertEquals((await gaia(b)).commands.length, before, "nothing was sent");
      await b.fill("#command", "");
    });

    await t.step("a reload keeps the transcript", async () => {
      const before = await b.evaluate(`document.getElementById("narrative").children.length`);
      const said = await lines(b, "say");
      await b.reload();
      await b.waitForSelector("#narrative .line.say");
      assertEquals(await lines(b, "say"), said);
      assertEquals(
        await b.evaluate(`document.getElementById("narrative").children.length`),
        before,
      );
    });

    await t.step("say and world_update to the other screen: median of 20 each", async () => {
      const heardBefore = (await gaia(b)).heard.length;
      const ms: number[] = [];
      for (let i = 0; i < 20; i++) {
        const cmd = await act(a, `say line ${i}`);
        await b.waitForFunction((n) => {
          const heard = (globalThis as unknown as PageGlobals).__gaia.heard;
          return heard.length > n && heard[n]!.paintedAt !== undefined;
        }, heardBefore + i);
        const heard = (await gaia(b)).heard[heardBefore + i]!;
        assertEquals(heard.text, `line ${i}`);
        ms.push(heard.paintedAt! - cmd.submittedAt);
      }
      // The same path for a world change, in the same run: click to the other screen's paint.
      const world: number[] = [];
      for (let i = 0; i < 20; i++) {
        const cmd = await act(a, `${i % 2 ? "take" : "drop"} blue bottle`);
        assertEquals(cmd.eventIds.length, 1, `action ${i} changed the world`);
        const paint = await paintOf(b, cmd.eventIds[0]!);
        world.push(paint.paintedAt - cmd.submittedAt);
      }
      const round = (n: number) => Math.round(n * 10) / 10;
      const result = {
        runs: 20,
        sayToOtherScreenMedianMs: round(median(ms)),
        worldUpdateToOtherScreenMedianMs: round(median(world)),
        sayMs: ms.map(round),
        worldUpdateMs: world.map(round),
      };
      console.log(
        `click to the other screen (Chromium, one machine), median of 20: say ${result.sayToOtherScreenMedianMs} ms, ` +
          `world_update ${result.worldUpdateToOtherScreenMedianMs} ms`,
      );
      await Deno.writeTextFile(
        new URL("say-latency.json", ARTIFACTS),
        JSON.stringify(result, null, 2) + "\n",
      );
    });

    await t.step("a player who leaves stays listed for the grace period, then goes", async () => {
      const open = stack.chat.openStreams().world;
      await a.close();
      await eventually(() => stack.chat.openStreams().world < open, {
        what: "ada's stream closed",
      });
      clock.advance(GRACE_MS - 1);
      await b.waitForTimeout(300);
      assert((await listKeys(b, "people")).includes("player:ada"), "still listed within the grace");
      clock.advance(1);
      await b.waitForSelector('#people li[data-key="player:ada"]', { state: "detached" });
      await shot(b, "m3-b-ada-gone");
    });

    assertEquals(errors, [], "no page errors");
  } finally {
    for (const ctx of contexts) await ctx.close().catch(() => {});
    await browser.close();
    await stack.dispose();
  }
});
