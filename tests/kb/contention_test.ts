import { deepStrictEqual as eq, ok } from "node:assert/strict";
import { act, buildApp, DATA_DIR, getState, kbFixture, serve } from "./_support.ts";

const ROOT = decodeURIComponent(new URL("../..", import.meta.url).pathname);
const PLAYERS = 50;

/** Fires all requests at once (behind one barrier) and checks exactly one winner. */
async function race(urls: string[], tag: string) {
  const users = Array.from({ length: PLAYERS }, (_, i) => `${tag}.player-${i}@example.com`);
  const results = await Promise.all(
    users.map((u, i) => act(urls[i % urls.length]!, u, "wylding-woods", "take the brass lantern")),
  );
  for (const r of results) eq(r.status, 200, JSON.stringify(r.body));
  const outcomes = results.map((r) =>
    r.body.outcome as { kind: string; changed: boolean; summary: string }
  );
  const winners = outcomes.filter((o) => o.kind === "took");
  eq(winners.length, 1, JSON.stringify(outcomes.map((o) => o.kind)));
  for (const o of outcomes.filter((o) => o.kind !== "took")) {
    eq([o.kind, o.changed], ["not_found", false]);
    eq(o.summary, "You don't see any brass lantern here.");
  }
  const winner = users[outcomes.findIndex((o) => o.kind === "took")]!;
  const snap = await getState(urls[0]!, winner, "wylding-woods");
  eq(Object.keys(snap.player.inventory), ["lantern"]);
  eq(snap.version, 1); // the losers committed nothing
  ok(!("lantern" in snap.world.locations["woods-edge"].items));
  for (const u of users.filter((u) => u !== winner).slice(0, 5)) {
    eq((await getState(urls[1 % urls.length]!, u, "wylding-woods")).player.inventory, {});
  }
}

Deno.test("contention: 50 players take the one lantern at once over HTTP: exactly one wins", async () => {
  const fx = await kbFixture();
  const server = serve(buildApp(fx.kb));
  try {
    await race([server.url], "one");
  } finally {
    await server.close();
    await fx.dispose();
  }
});

Deno.test("contention: the same race across two KB processes sharing STATE_DIR", async () => {
  const fx = await kbFixture();
  const server = serve(buildApp(fx.kb));
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-all", `${ROOT}tests/kb/kb_server.ts`, DATA_DIR, fx.stateDir],
    cwd: ROOT,
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  try {
    let line = "";
    while (!line.includes("\n")) {
      const { value, done } = await reader.read();
      if (done) throw new Error("second KB exited");
      line += value;
    }
    const port = Number(/listening (\d+)/.exec(line)![1]);
    await race([server.url, `http://127.0.0.1:${port}`], "two");
  } finally {
    child.kill("SIGTERM");
    await child.status;
    await reader.cancel();
    await server.close();
    await fx.dispose();
  }
});
