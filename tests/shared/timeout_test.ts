import { deepStrictEqual as eq, rejects } from "node:assert/strict";
import { withTimeout } from "../../shared/timeout.ts";

const after = <T>(ms: number, value: T) => new Promise<T>((r) => setTimeout(() => r(value), ms));

Deno.test("withTimeout: the promise's value when it is first; its timer is cleared", async () => {
  // The sanitizers fail this test if the 10 s timer were left running.
  eq(await withTimeout(Promise.resolve("fast"), 10_000, () => "late"), "fast");
  await rejects(withTimeout(Promise.reject(new Error("boom")), 10_000, () => 0), /boom/);
});

Deno.test("withTimeout: onTimeout's value, or its throw, when the promise is slower", async () => {
  eq(await withTimeout(after(200, "slow"), 10, () => "timed out"), "timed out");
  await rejects(
    withTimeout(after(200, "slow"), 10, () => {
      throw new Error("stalled");
    }),
    /stalled/,
  );
  await after(200, 0); // let the slow promises' own timers end
});
