/**
 * Each limit trips with a clear JSON error, changes nothing, and recovers:
 * the per-user action bucket, the per-world update rate, the per-user and
 * per-process stream caps, and the body size. (The publish circuit breaker
 * is tested in tests/kb/publish_test.ts.)
 */
import { openSse, type SseStream } from "../helpers/sse.ts";
import { startStack, type TestStack } from "../helpers/stack.ts";

function assert(cond: unknown, msg: string): asserts cond {
  if (!cond) throw new Error(msg);
}
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const EXP = "wylding-woods";

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
  const stack = await startStack({ ACTION_RATE: "2", ACTION_BURST: "3" });
  try {
    const t = await stack.login("hasty");
    const other = await stack.login("patient");
    const moves = ["north", "south", "north"];
    for (const m of moves) {
      const res = await act(stack, t, m);
      assert(res.status === 200, `${m}: ${res.status}`);
      await res.body?.cancel();
    }
    const v = await version(stack, t);
    const refused = await act(stack, t, "south");
    assert(refused.status === 429, `4th action: ${refused.status}`);
    const retry = Number(refused.headers.get("Retry-After"));
    assert(retry >= 1, `Retry-After ${refused.headers.get("Retry-After")}`);
    const body = await refused.json();
    assert(body.error?.code === "rate_limited", JSON.stringify(body));
    assert((await version(stack, t)) === v, "a refused action changed state");
    // Other players are not limited by this one's bucket.
    const res = await act(stack, other, "north");
    assert(res.status === 200, `other player: ${res.status}`);
    await res.body?.cancel();
    await sleep(600); // 2 tokens/s: one is back
    const again = await act(stack, t, "south");
    assert(again.status === 200, `after waiting: ${again.status}`);
    await again.body?.cancel();
  } finally {
    await stack.dispose();
  }
});

Deno.test("action rate limit: requests refused as malformed spend no token; chat and KB routes share one bucket", async () => {
  const stack = await startStack({ ACTION_RATE: "0.5", ACTION_BURST: "3" });
  try {
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
        assert(res.status === 400, `malformed #${i} on ${path}: ${res.status}`);
        await res.body?.cancel();
      }
    }
    // The whole burst is still there, shared by both routes.
    const good = JSON.stringify({ message: "look", experience: EXP, stream: false });
    for (const path of ["/api/v0.3/chat", "/kb/experience/interact", "/api/v0.3/chat"]) {
      const res = await post(path, good);
      assert(res.status === 200, `good action on ${path}: ${res.status}`);
      await res.body?.cancel();
    }
    const fourth = await post("/kb/experience/interact", good);
    assert(fourth.status === 429, `fourth action, on the other route: ${fourth.status}`);
    await fourth.body?.cancel();
    // A malformed request past the limit is still told what is wrong with it.
    const badLate = await post("/api/v0.3/chat", bad[0]!);
    assert(badLate.status === 400, `malformed past the limit: ${badLate.status}`);
    await badLate.body?.cancel();
  } finally {
    await stack.dispose();
  }
});

Deno.test("world update rate: a world changing too fast answers 429 world_busy and recovers", async () => {
  const stack = await startStack({ WORLD_UPDATE_RATE: "2", WORLD_UPDATE_BURST: "2" });
  try {
    const a = await stack.login("a");
    const b = await stack.login("b");
    for (const [t, m] of [[a, "north"], [b, "north"]] as const) {
      const res = await act(stack, t, m);
      assert(res.status === 200, `${m}: ${res.status}`);
      await res.body?.cancel();
    }
    const v = await version(stack, a);
    const busy = await act(stack, b, "south");
    assert(busy.status === 429, `third change in the world: ${busy.status}`);
    assert((await busy.json()).error.code === "world_busy", "code");
    assert((await version(stack, a)) === v, "refused change changed state");
    await sleep(600);
    const ok = await act(stack, b, "south");
    assert(ok.status === 200, `after waiting: ${ok.status}`);
    await ok.body?.cancel();
  } finally {
    await stack.dispose();
  }
});

Deno.test("stream caps: per user (429) and per process (503), both recover when a stream closes", async () => {
  const stack = await startStack({ MAX_STREAMS_PER_USER: "2", MAX_STREAMS: "3" });
  const open: SseStream[] = [];
  const world = (token: string) =>
    fetch(`${stack.url}/api/v0.3/world/stream?experience=${EXP}&access_token=${token}`);
  try {
    const u = await stack.login("u");
    const v = await stack.login("v");
    const w = await stack.login("w");
    const url = (t: string) =>
      `${stack.url}/api/v0.3/world/stream?experience=${EXP}&access_token=${t}`;
    open.push(await openSse(url(u)), await openSse(url(u)));
    const third = await world(u);
    assert(third.status === 429, `third stream of one user: ${third.status}`);
    assert((await third.json()).error.code === "too_many_streams", "per-user code");
    open.push(await openSse(url(v)));
    const full = await world(w);
    assert(full.status === 503, `fourth stream of the process: ${full.status}`);
    assert((await full.json()).error.code === "too_many_streams", "per-process code");
    // A chat stream counts too, and is refused before the action runs.
    const before = await version(stack, w);
    const chat = await fetch(`${stack.url}/api/v0.3/chat`, {
      method: "POST",
      headers: stack.headers(w),
      body: JSON.stringify({ message: "north", experience: EXP }),
    });
    assert(chat.status === 503, `chat while full: ${chat.status}`);
    await chat.body?.cancel();
    assert((await version(stack, w)) === before, "refused chat changed state");

    await open.shift()!.close();
    await sleep(100);
    open.push(await openSse(url(w)));
    await open.shift()!.close();
    await sleep(100);
    open.push(await openSse(url(u)));
  } finally {
    for (const s of open) await s.close();
    await stack.dispose();
  }
});

Deno.test("stream caps hold for concurrent chat requests (a chat stream opens after its KB round trip)", async () => {
  const stack = await startStack({ MAX_STREAMS_PER_USER: "1", NARRATOR_PACING: "1" });
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
    assert(
      JSON.stringify(statuses) === JSON.stringify([200, 429, 429, 429, 429]),
      `one of five concurrent streams admitted, got ${statuses}`,
    );
    const health = await (await fetch(`${stack.url}/health`)).json();
    assert(health.streams.chat === 1, `open chat streams: ${JSON.stringify(health.streams)}`);
    for (const r of responses.splice(0)) await r.body?.cancel();
    await sleep(100);
    // A request whose action fails gives its slot back, as does a closed stream.
    const failed = await fetch(`${stack.url}/api/v0.3/chat`, {
      method: "POST",
      headers: stack.headers(token),
      body: JSON.stringify({ message: "look", experience: "no-such-world" }),
    });
    assert(failed.status === 404, `unknown experience: ${failed.status}`);
    await failed.body?.cancel();
    const again = await openSse(
      `${stack.url}/api/v0.3/world/stream?experience=${EXP}&access_token=${token}`,
    );
    await again.close();
  } finally {
    for (const r of responses) await r.body?.cancel();
    await stack.dispose();
  }
});

Deno.test("body limit: over 16 KiB is 413 JSON and changes nothing", async () => {
  const stack = await startStack();
  try {
    const t = await stack.login("big");
    const v = await version(stack, t);
    const res = await fetch(`${stack.url}/api/v0.3/chat`, {
      method: "POST",
      headers: stack.headers(t),
      body: JSON.stringify({ message: "take " + "x".repeat(17 * 1024), experience: EXP }),
    });
    assert(res.status === 413, `status ${res.status}`);
    const body = await res.json();
    assert(typeof body.error?.code === "string", JSON.stringify(body));
    assert((await version(stack, t)) === v, "oversize body changed state");
  } finally {
    await stack.dispose();
  }
});
