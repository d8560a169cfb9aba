import assert from "node:assert/strict";
import { ManualClock, systemClock } from "../../shared/clock.ts";

Deno.test("manual clock: timers run in due order when time advances, cleared ones never", () => {
  const clock = new ManualClock(100);
  const ran: string[] = [];
  clock.setTimeout(() => ran.push("b"), 20);
  const cleared = clock.setTimeout(() => ran.push("never"), 5);
  clock.setTimeout(() => {
    ran.push("a");
    clock.setTimeout(() => ran.push("c"), 15); // due at 125: inside this advance
  }, 10);
  clock.clearTimeout(cleared);
  clock.advance(19);
  assert.deepEqual(ran, ["a"]);
  assert.equal(clock.now(), 119);
  clock.advance(10);
  assert.deepEqual(ran, ["a", "b", "c"]);
  assert.equal(clock.pending, 0);
});

Deno.test("system clock: a real timer fires and can be cleared", async () => {
  const fired = await new Promise<boolean>((resolve) => {
    const never = systemClock.setTimeout(() => resolve(false), 5);
    systemClock.clearTimeout(never);
    systemClock.setTimeout(() => resolve(true), 1);
  });
  assert.equal(fired, true);
  assert.ok(systemClock.now() > 0);
});
