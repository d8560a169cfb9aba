/**
 * Each limit trips with a clear JSON error, changes nothing, and recovers:
 * the per-user action bucket, the per-world update rate, the per-user and
 * per-process stream caps, and the body size. (Acknowledged publishing and
 * the outbox bound are tested in tests/kb/publish_test.ts and
 * tests/e2e/delivery_test.ts.)
 */
import assert from "node:assert/strict";
import { ManualClock } from "../../shared/clock.ts";
import { eventually, setup, SseClient, type TestStack } from "../_helpers/mod.ts";

const EXP = "wylding-woods";

/** Waits until the process counts `n` open world streams (a closed one is released). */
async function worldStreams(stack: TestStack, n: number): Promise<void> {
  await eventually(async () => (await (await stack.fetch("/health")).json()).streams.world === n, {
    what: `${n} open world streams`,
  });
}

async function act(stack: TestStack, token: string, message: string) {
  return await fetch(`${stack.url}/api/v0.3/chat`, {
    method: "POST",
    headers: stack.headers(token),
    body: JSON.stringify({ message, experience: EXP, stream: false }),
  });
}

async function version(stack: TestStack, token: string): Promise<number> {
  const res = await fetch(`${stack.url}/api/v0.3/world/state?experience=${EXP}`, {
    headers: stack.headers(token),
  });
  return (await res.json()).version;
}

Deno.test("action rate limit: 429 with Retry-After and a JSON error, nothing changes, then recovers", async () => {
  const clock = new ManualClock();
  await using stack = await setup({ env: { ACTION_RATE: "2", ACTION_BURST: "3" }, clock });
  {
    const t = await stack.login("hasty");
    const other = await stack.login("patient");
    const moves = ["north", "south", "north"];
    for (const m of moves) {
      const res = await act(stack, t, m);
      assert.equal(res.status, 200, m);
      await res.body?.cancel();
    }
    const v = await version(stack, t);
    const refused = await act(stack, t, "south");
    assert.equal(refused.status, 429, "4th action");
    const retry = Number(refused.headers.get("Retry-After"));
    assert.ok(retry >= 1, `Retry-After ${refused.headers.get("Retry-After")}`);
    const body = await refused.json();
    assert.equal(body.error?.code, "rate_limited");
    assert.equal(await version(stack, t), v, "a refused action changed state");
    // Other players are not limited by this one's bucket.
    const res = await act(stack, other, "north");
    assert.equal(res.status, 200, "other player");
    await res.body?.cancel();
    clock.advance(499); // 2 tokens/s: not yet
    const early = await act(stack, t, "south");
    assert.equal(early.status, 429, "before the token is back");
    await early.body?.cancel();
    clock.advance(1); // one is back
    const again = await act(stack, t, "south");
    assert.equal(again.status, 200, "after waiting");
    await again.body?.cancel();
  }
});

Deno.test("action rate limit: requests refused as malformed spend no token; chat and KB routes share one bucket", async () => {
  await using stack = await setup({
    env: { ACTION_RATE: "0.5", ACTION_BURST: "3" },
    clock: new ManualClock(),
  });
  {
    const t = await stack.login("clumsy");
    const post = (path: string, body: string) =>
      fetch(`${stack.url}${path}`, { method: "POST", headers: stack.headers(t), body });
    const bad = [
      "{not json",
      JSON.stringify({ message: 5, experience: EXP }),
      JSON.stringify({ experience: EXP }),
      JSON.stringify({ message: "", experience: EXP }),
    ];
    // 30 malformed actions on each action route: each a 400, none counted.
    for (let i = 0; i < 30; i++) {
      for (const path of ["/api/v0.3/chat", "/kb/experience/interact"]) {
        const res = await post(path, bad[i % bad.length]!);
        assert.equal(res.status, 400, `malformed #${i} on ${path}`);
        await res.body?.cancel();
      }
    }
    // The whole burst is still there, shared by both routes.
    const good = JSON.stringify({ message: "look", experience: EXP, stream: false });
    for (const path of ["/api/v0.3/chat", "/kb/experience/interact", "/api/v0.3/chat"]) {
      const res = await post(path, good);
      assert.equal(res.status, 200, `good action on ${path}`);
      await res.body?.cancel();
    }
    const fourth = await post("/kb/experience/interact", good);
    assert.equal(fourth.status, 429, "fourth action, on the other route");
    await fourth.body?.cancel();
    // A malformed request past the limit is still told what is wrong with it.
    const badLate = await post("/api/v0.3/chat", bad[0]!);
    assert.equal(badLate.status, 400, "malformed past the limit");
    await badLate.body?.cancel();
  }
});

Deno.test("world update rate: a world changing too fast answers 429 world_busy and recovers", async () => {
  const clock = new ManualClock();
  await using stack = await setup({
    env: { WORLD_UPDATE_RATE: "2", WORLD_UPDATE_BURST: "2" },
    clock,
  });
  {
    const a = await stack.login("a");
    const b = await stack.login("b");
    for (const [t, m] of [[a, "north"], [b, "north"]] as const) {
      const res = await act(stack, t, m);
      assert.equal(res.status, 200, m);
      await res.body?.cancel();
    }
    const v = await version(stack, a);
    const busy = await act(stack, b, "south");
    assert.equal(busy.status, 429, "third change in the world");
    assert.equal((await busy.json()).error.code, "world_busy");
    assert.equal(await version(stack, a), v, "refused change changed state");
    clock.advance(500); // 2 per second: one is back
    const ok = await act(stack, b, "south");
    assert.equal(ok.status, 200, "after waiting");
    await ok.body?.cancel();
  }
});

Deno.test("stream caps: per user (429) and per process (503), both recover when a stream closes", async () => {
  await using stack = await setup({ env: { MAX_STREAMS_PER_USER: "2", MAX_STREAMS: "3" } });
  const open: SseClient[] = [];
  const world = (token: string) =>
    fetch(`${stack.url}/api/v0.3/world/stream?experience=${EXP}&access_token=${token}`);
  try {
    const u = await stack.login("u");
    const v = await stack.login("v");
    const w = await stack.login("w");
    const url = (t: string) =>
      `${stack.url}/api/v0.3/world/stream?experience=${EXP}&access_token=${t}`;
    open.push(await SseClient.open(url(u)), await SseClient.open(url(u)));
    const third = await world(u);
    assert.equal(third.status, 429, "third stream of one user");
    assert.equal((await third.json()).error.code, "too_many_streams", "per-user code");
    open.push(await SseClient.open(url(v)));
    const full = await world(w);
    assert.equal(full.status, 503, "fourth stream of the process");
    assert.equal((await full.json()).error.code, "too_many_streams", "per-process code");
    // A chat stream counts too, and is refused before the action runs.
    const before = await version(stack, w);
    const chat = await fetch(`${stack.url}/api/v0.3/chat`, {
      method: "POST",
      headers: stack.headers(w),
      body: JSON.stringify({ message: "north", experience: EXP }),
    });
    assert.equal(chat.status, 503, "chat while full");
    await chat.body?.cancel();
    assert.equal(await version(stack, w), before, "refused chat changed state");

    await open.shift()!.close();
    await worldStreams(stack, 2);
    open.push(await SseClient.open(url(w)));
    await open.shift()!.close();
    await worldStreams(stack, 2);
    open.push(await SseClient.open(url(u)));
  } finally {
    for (const s of open) await s.close();
  }
});

Deno.test("stream caps hold for concurrent chat requests (a chat stream opens after its KB round trip)", async () => {
  await using stack = await setup({ env: { MAX_STREAMS_PER_USER: "1", NARRATOR_PACING: "1" } });
  const responses: Response[] = [];
  try {
    const token = await stack.login("hasty");
    responses.push(
      ...await Promise.all(Array.from({ length: 5 }, () =>
        fetch(`${stack.url}/api/v0.3/chat`, {
          method: "POST",
          headers: stack.headers(token),
          body: JSON.stringify({ message: "look", experience: EXP }),
        }))),
    );
    const statuses = responses.map((r) => r.status).sort();
    assert.deepEqual(
      statuses,
      [200, 429, 429, 429, 429],
      "one of five concurrent streams admitted",
    );
    const health = await (await fetch(`${stack.url}/health`)).json();
    assert.equal(health.streams.chat, 1, "open chat streams");
    for (const r of responses.splice(0)) await r.body?.cancel();
    await eventually(
      async () => (await (await stack.fetch("/health")).json()).streams.chat === 0,
      { what: "the chat stream released" },
    );
    // A request whose action fails gives its slot back, as does a closed stream.
    const failed = await fetch(`${stack.url}/api/v0.3/chat`, {
      method: "POST",
      headers: stack.headers(token),
      body: JSON.stringify({ message: "look", experience: "no-such-world" }),
    });
    assert.equal(failed.status, 404, "unknown experience");
    await failed.body?.cancel();
    const again = await SseClient.open(
      `${stack.url}/api/v0.3/world/stream?experience=${EXP}&access_token=${token}`,
    );
    await again.close();
  } finally {
    for (const r of responses) await r.body?.cancel();
  }
});

Deno.test("body limit: over 16 KiB is 413 JSON and changes nothing", async () => {
  await using stack = await setup();
  {
    const t = await stack.login("big");
    const v = await version(stack, t);
    const res = await fetch(`${stack.url}/api/v0.3/chat`, {
      method: "POST",
      headers: stack.headers(t),
      body: JSON.stringify({ message: "take " + "x".repeat(17 * 1024), experience: EXP }),
    });
    assert.equal(res.status, 413);
    const body = await res.json();
    assert.equal(typeof body.error?.code, "string", JSON.stringify(body));
    assert.equal(await version(stack, t), v, "oversize body changed state");
  }
});
