/**
 * The browser client shows what free-form text was understood as, before
 * the narrative ("(take blue dream bottle)"), and applies the mapped command's
 * world update: real Chromium, the real server with the OpenAI-compatible
 * narrator pointed at the local mock model.
 */
import { deepStrictEqual as eq, ok } from "node:assert/strict";
import { startIntentStack } from "../chat/intent_support.ts";
import { MOCK_CHUNKS } from "../chat/llm_mock.ts";
import { act, launchBrowser, listKeys, signIn } from "./_harness.ts";

Deno.test("browser: a free-form command shows its understood command before the prose", async () => {
  const browser = await launchBrowser();
  const stack = await startIntentStack("openai").catch(async (e) => {
    await browser.close();
    throw e;
  });
  try {
    const page = await browser.newPage();
    await signIn(page, stack.url, "ada");
    await act(page, "north");
    await act(page, "east");
    stack.mock.toolCommand = () => "take blue dream bottle";
    const cmd = await act(page, "could you grab one of those glowing bottles?");
    eq(cmd.eventIds.length, 1, "the mapped command's world update reached the page");
    const story = await page.evaluate(`(() => {
      const s = [...document.querySelectorAll("#narrative .turn .story")].at(-1);
      return { first: s.firstChild.className, understood: s.querySelector(".understood")?.textContent,
        text: s.textContent };
    })()`) as { first: string; understood: string; text: string };
    eq(story.first, "understood", "shown before the narrative");
    eq(story.understood, "(take blue dream bottle) ");
    eq(story.text, `(take blue dream bottle) ${MOCK_CHUNKS.join("")}`);
    ok((await listKeys(page, "inventory")).some((k) => k.includes("dream-bottle")));
    // A typed command shows no such line.
    await act(page, "look");
    const plain = await page.evaluate(
      `[...document.querySelectorAll("#narrative .turn .story")].at(-1).querySelector(".understood")`,
    );
    eq(plain, null);
  } finally {
    await browser.close();
    await stack.dispose();
  }
});
