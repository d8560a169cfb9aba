/**
 * Contention on one world: 50 players take the one lantern at once, through
 * one KB and through two KB processes sharing STATE_DIR (the second is
 * main.ts as a child process with ROLE=kb); exactly one wins.
 */
import { deepStrictEqual as eq, ok } from "node:assert/strict";
import { setup, spawnServer, tokenFor } from "../_helpers/mod.ts";

const PLAYERS = 50;

/** `POST /kb/experience/interact` at `url`. */
async function take(url: string, user: string) {
  const res = await fetch(`${url}/kb/experience/interact`, {
    method: "POST",
    headers: {
      Authorization: `Bearer ${await tokenFor(user)}`,
      "Content-Type": "application/json",
    },
    body: JSON.stringify({ message: "take the brass lantern", experience: "wylding-woods" }),
  });
  return { status: res.status, body: await res.json() };
}

/** `GET /api/v0.3/world/state` at `url`. */
async function stateAt(url: string, user: string) {
  const res = await fetch(`${url}/api/v0.3/world/state?experience=wylding-woods`, {
    headers: { Authorization: `Bearer ${await tokenFor(user)}` },
  });
  eq(res.status, 200);
  return await res.json();
}

/** Fires all requests at once and checks exactly one winner. */
async function race(urls: string[], tag: string) {
  const users = Array.from({ length: PLAYERS }, (_, i) => `${tag}.player-${i}@example.com`);
  const results = await Promise.all(users.map((u, i) => take(urls[i % urls.length]!, u)));
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
  const snap = await stateAt(urls[0]!, winner);
  eq(Object.keys(snap.player.inventory), ["lantern"]);
  eq(snap.version, 1); // the losers committed nothing
  ok(!("lantern" in snap.world.locations["woods-edge"].items));
  for (const u of users.filter((u) => u !== winner).slice(0, 5)) {
    eq((await stateAt(urls[1 % urls.length]!, u)).player.inventory, {});
  }
}

Deno.test("contention: 50 players take the one lantern at once over HTTP: exactly one wins", async () => {
  await using h = await setup({ role: "kb", nats: "in-process" });
  await race([h.url], "one");
});

Deno.test("contention: the same race across two KB processes sharing STATE_DIR", async () => {
  await using h = await setup({ role: "kb" });
  await using other = await spawnServer({
    ROLE: "kb",
    NATS_URL: h.nats!.url,
    STATE_DIR: h.stateDir,
  });
  await race([h.url, other.url], "two");
});
