import { TokenBucket } from "../../shared/rate_limit.ts";

Deno.test("token bucket trips after the burst and recovers at the rate", () => {
  let now = 0;
  const tb = new TokenBucket({ rate: 2, burst: 3, now: () => now });
  for (let i = 0; i < 3; i++) if (!tb.take("u").ok) throw new Error(`take ${i}`);
  const r = tb.take("u");
  if (r.ok || r.retryAfterMs !== 500) throw new Error(JSON.stringify(r));
  if (!tb.take("other").ok) throw new Error("keys are independent");
  now += 500;
  if (!tb.take("u").ok) throw new Error("recovered after 500 ms");
  if (tb.take("u").ok) throw new Error("only one token came back");
});

Deno.test("token bucket memory is bounded", () => {
  const tb = new TokenBucket({ rate: 1, burst: 1, maxKeys: 10 });
  for (let i = 0; i < 1000; i++) tb.take(`u${i}`);
  // The newest keys are still limited, the oldest were forgotten (full again).
  if (tb.take("u999").ok) throw new Error("u999 should be empty");
  if (!tb.take("u0").ok) throw new Error("u0 should have been forgotten");
});
