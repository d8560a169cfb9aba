import { startStack } from "../helpers/stack.ts";
import { act, launchBrowser, median, paintOf, signIn } from "./_harness.ts";
Deno.test({ name: "dbg", sanitizeOps: false, sanitizeResources: false }, async () => {
  const stack = await startStack();
  const browser = await launchBrowser();
  try {
    for (const rm of ["no-preference", "reduce"] as const) {
      const a = await (await browser.newContext({
        viewport: { width: 960, height: 760 },
        reducedMotion: rm,
      })).newPage();
      const b = await (await browser.newContext({
        viewport: { width: 360, height: 760 },
        reducedMotion: rm,
      })).newPage();
      await signIn(a, stack.url, "ada" + rm);
      await signIn(b, stack.url, "bryn" + rm);
      for (const p of [b, a]) {
        await act(p, "go north");
        await act(p, "go east");
      }
      await act(a, "take blue bottle");
      const A: number[] = [], B: number[] = [];
      for (let i = 0; i < 20; i++) {
        const c = await act(a, `${i % 2 ? "take" : "drop"} blue bottle`);
        const id = c.eventIds[0]!;
        const [pa, pb] = await Promise.all([paintOf(a, id), paintOf(b, id)]);
        A.push(pa.paintedAt - c.submittedAt);
        B.push(pb.paintedAt - c.submittedAt);
      }
      console.log(rm, "actor", median(A).toFixed(1), "other", median(B).toFixed(1));
      await a.context().close();
      await b.context().close();
    }
  } finally {
    await browser.close();
    await stack.dispose();
  }
});
