import assert from "node:assert/strict";
import { GapPatience } from "../../chat/gap_patience.ts";
import { ManualClock } from "../../shared/clock.ts";

Deno.test("gap patience: holds after the first catch-up, looks once more after the wait, then skips", () => {
  const clock = new ManualClock();
  let looks = 0;
  const patience = new GapPatience({ waitMs: 5_000, clock, onLastLook: () => looks++ });
  assert.equal(patience.idle, true);
  assert.equal(patience.afterCatchUp(), "hold");
  assert.equal(patience.idle, false, "no second catch-up for the same gap");
  // A reconnect's catch-up meanwhile: still holding, the timer is not restarted.
  clock.advance(3_000);
  assert.equal(patience.afterCatchUp(), "hold");
  clock.advance(1_999);
  assert.equal(looks, 0);
  clock.advance(1);
  assert.equal(looks, 1, "one last look when the wait is over");
  assert.equal(patience.afterCatchUp(), "skip", "a gap after the last look is given up");
  assert.equal(patience.idle, true);
});

Deno.test("gap patience: a filled gap stops the timer; the next gap waits afresh", () => {
  const clock = new ManualClock();
  let looks = 0;
  const patience = new GapPatience({ waitMs: 5_000, clock, onLastLook: () => looks++ });
  assert.equal(patience.afterCatchUp(), "hold");
  clock.advance(2_000);
  patience.filled();
  clock.advance(10_000);
  assert.equal(looks, 0, "no look for a gap that filled");
  assert.equal(patience.afterCatchUp(), "hold");
  clock.advance(5_000);
  assert.equal(looks, 1);
});

Deno.test("gap patience: a wait of 0 gives up at once", () => {
  const patience = new GapPatience({ waitMs: 0, clock: new ManualClock(), onLastLook: () => {} });
  assert.equal(patience.afterCatchUp(), "skip");
});
