import assert from "node:assert/strict";
import { ManualClock } from "../../shared/clock.ts";
import { TokenBucket } from "../../shared/rate_limit.ts";

Deno.test("token bucket trips after the burst and recovers at the rate", () => {
  const clock = new ManualClock();
  const tb = new TokenBucket({ rate: 2, burst: 3, clock });
  for (let i = 0; i < 3; i++) assert.ok(tb.take("u").ok, `take ${i}`);
  assert.deepEqual(tb.take("u"), { ok: false, retryAfterMs: 500 });
  assert.ok(tb.take("other").ok, "keys are independent");
  clock.advance(500);
  assert.ok(tb.take("u").ok, "recovered after 500 ms");
  assert.equal(tb.take("u").ok, false, "only one token came back");
});

Deno.test("token bucket memory is bounded", () => {
  const tb = new TokenBucket({ rate: 1, burst: 1, maxKeys: 10, clock: new ManualClock() });
  for (let i = 0; i < 1000; i++) tb.take(`u${i}`);
  // The newest keys are still limited, the oldest were forgotten (full again).
  assert.equal(tb.take("u999").ok, false, "u999 should be empty");
  assert.ok(tb.take("u0").ok, "u0 should have been forgotten");
});
