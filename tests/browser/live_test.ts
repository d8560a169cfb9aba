/**
 * The client's connection handling in a real Chromium against a real server:
 * a world stream refused with 401 (token expired) signs the player out
 * instead of retrying forever; coming back online opens a fresh stream (the
 * old one may be dead without an error) that still delivers every change;
 * long player names do not widen the page at phone width; the badge is
 * hidden where nothing connects.
 */
import { deepStrictEqual as eq, ok } from "node:assert/strict";
import { eventually, setup } from "../_helpers/mod.ts";
import { gaia, launchBrowser, signIn, waitForConnection } from "./_harness.ts";

const EXP = "wylding-woods";

Deno.test("browser: expired token, network switch, long names", async (t) => {
  const browser = await launchBrowser();
  const stack = await setup().catch(async (e) => {
    await browser.close();
    throw e;
  });
  try {
    const ctx = await browser.newContext({ viewport: { width: 360, height: 760 }, isMobile: true });
    const page = await ctx.newPage();
    const name = "maximilian.alexander.richardson@exampleuniversity.edu";

    await t.step("no badge before sign-in; long names wrap at phone width", async () => {
      await page.goto(`${stack.url}/`);
      eq(await page.isVisible("#connection"), false, "badge hidden on the sign-in screen");
      await signIn(page, stack.url, name);
      eq(await page.isVisible("#connection"), true);
      // Another long-named player, present (a world stream open), appears in
      // "Also here", then "Elsewhere", and in the change log.
      const present = await stack.world(`${name}.second`, EXP);
      await page.waitForSelector(`#people li[data-key="player:${name}.second"]`);
      const other = await stack.login(`${name}.second`);
      const res = await fetch(`${stack.url}/kb/experience/interact`, {
        method: "POST",
        headers: stack.headers(other),
        body: JSON.stringify({ message: "north", experience: EXP }),
      });
      eq(res.status, 200);
      await res.body?.cancel();
      await page.waitForSelector(`#elsewhere li[data-key="player:${name}.second"]`);
      const width = await page.evaluate("document.documentElement.scrollWidth");
      ok(Number(width) <= 360, `no horizontal scroll at 360 px (scrollWidth ${width})`);
      await present.close();
    });

    await t.step(
      "coming back online opens a fresh stream that still gets every change",
      async () => {
        const before = await page.evaluate("window.__gaia.version") as number;
        const streams = () =>
          page.evaluate(`performance.getEntriesByType("resource")
          .filter((e) => e.name.includes("/world/stream")).length`) as Promise<number>;
        const opened = await streams();
        await page.evaluate(`window.dispatchEvent(new Event("online"))`);
        await eventually(async () => await streams() > opened, {
          timeoutMs: 10_000,
          what: "a new world stream request",
        });
        await waitForConnection(page, "live");
        const other = await stack.login("mover");
        const res = await fetch(`${stack.url}/kb/experience/interact`, {
          method: "POST",
          headers: stack.headers(other),
          body: JSON.stringify({ message: "north", experience: EXP }),
        });
        const event = (await res.json()).events[0];
        await eventually(
          async () => (await page.evaluate("window.__gaia.version") as number) >= event.version,
          { timeoutMs: 10_000, what: `version ${event.version} on the page` },
        );
        ok(event.version > before);
        eq((await gaia(page)).resyncs.filter((r) => r.reason === "gap").length, 0, "no gap");
      },
    );

    await t.step("a stream refused with 401 (token expired) signs the player out", async () => {
      // Resume a session whose token expires in 2 s, then make the stream reconnect.
      const token = await stack.token("shortlived", 2);
      await page.evaluate(`(() => {
        sessionStorage.setItem("gaia.token", ${JSON.stringify(token)});
        sessionStorage.setItem("gaia.user", "shortlived");
        sessionStorage.setItem("gaia.experience", "${EXP}");
      })()`);
      await page.reload();
      await waitForConnection(page, "live");
      // Until the server refuses the token (it expires after its 2 s).
      await eventually(async () => {
        const res = await stack.fetch(`/api/v0.3/world/state?experience=${EXP}`, {
          headers: { Authorization: `Bearer ${token}` },
        });
        await res.body?.cancel();
        return res.status === 401;
      }, { timeoutMs: 5_000, intervalMs: 100, what: "the token to expire" });
      await page.evaluate(`window.dispatchEvent(new Event("online"))`);
      await page.waitForSelector("#signin:not([hidden])", { timeout: 15_000 });
      ok((await page.textContent("#signin-error"))?.includes("expired"));
      eq(await page.isVisible("#connection"), false);
    });
    await ctx.close();
  } finally {
    await browser.close();
    await stack.dispose();
  }
});
