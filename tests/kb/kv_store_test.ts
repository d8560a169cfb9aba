/**
 * `STATE_BACKEND=nats` against a real nats-server: two KBs, each on its own
 * connection and its own `STATE_DIR` (two hosts), serve one world through
 * one KV bucket. Concurrent actions have exactly one winner, items are
 * conserved and versions unique and contiguous under contention; a unit
 * past the server's max payload is refused with nothing changed; a batch
 * that keeps losing is refused with 429 `world_busy`, also with nothing
 * changed; NATS down fails actions with 503 at once.
 */
import assert from "node:assert/strict";
import { AppError } from "../../shared/errors.ts";
import type { InteractReply } from "../../shared/schema.ts";
import {
  countItems,
  countWorldItems,
  eventually,
  natsServer,
  rng,
  type SeparateKb,
  startKb,
  storedUnit,
  writeVaultContent,
} from "../_helpers/mod.ts";

async function twoKbs(
  natsUrl: string,
  dataDir?: string,
  stateRetries?: number,
): Promise<[SeparateKb, SeparateKb]> {
  const opts = { natsUrl, stateBackend: "nats", dataDir, responder: false, stateRetries } as const;
  return [await startKb(opts), await startKb(opts)];
}

const act = (kb: SeparateKb, user: string, message: string, experience = "wylding-woods") =>
  kb.kb.interact({ request_id: crypto.randomUUID(), user_id: user, experience, message });

/**
 * The stored `vault-shared` world is one world: the committed versions are
 * unique and contiguous and are all it holds, and every item is in exactly
 * one place. Returns the number of committed changes.
 */
async function assertOneVault(
  natsUrl: string,
  replies: InteractReply[],
  items: string[],
): Promise<number> {
  const versions = replies.flatMap((r) => (r.ok ? r.events.map((e) => e.version) : []));
  const sorted = [...versions].sort((x, y) => x - y);
  assert.deepEqual(sorted, Array.from({ length: sorted.length }, (_, i) => i + 1));
  const doc = await storedUnit(natsUrl, "vault-shared", "shared");
  assert.ok(doc);
  assert.equal(doc.version, sorted.length);
  const counts = new Map<string, number>();
  countWorldItems(doc.world!, counts);
  for (const p of Object.values(doc.players)) {
    countItems((p as { inventory?: Record<string, { name: string }> }).inventory, counts);
  }
  for (const id of items) assert.equal(counts.get(id), 1, `${id} is in exactly one place`);
  return sorted.length;
}

Deno.test("nats backend: two KBs, 50 players take the one lantern at once: exactly one wins", async () => {
  await using nats = await natsServer();
  const [a, b] = await twoKbs(nats.url);
  try {
    const users = Array.from({ length: 50 }, (_, i) => `p${i}`);
    const replies = await Promise.all(
      users.map((u, i) => act(i % 2 ? a : b, u, "take the brass lantern")),
    );
    const kinds = replies.map((r) => (r.ok ? r.outcome.kind : r.error.code));
    assert.equal(kinds.filter((k) => k === "took").length, 1, JSON.stringify(kinds));
    assert.deepEqual(new Set(kinds), new Set(["took", "not_found"]));
    const winner = users[kinds.indexOf("took")]!;
    // Both KBs show the winner holding it, version 1 (the losers committed nothing).
    for (const kb of [a, b]) {
      const snap = await eventually(async () => {
        const s = await kb.kb.snapshot(winner, "wylding-woods");
        return s.version === 1 && s;
      }, { what: "version 1 on both KBs" });
      assert.deepEqual(Object.keys(snap.player.inventory as object), ["lantern"]);
    }
  } finally {
    await a.dispose();
    await b.dispose();
  }
});

Deno.test("nats backend: 2 KBs x 10 players trading in one vault: items conserved, versions unique and contiguous", async () => {
  await using nats = await natsServer();
  const dataDir = await Deno.makeTempDir({ prefix: "gaia-kv-vault-" });
  const all = await writeVaultContent(dataDir);
  const [a, b] = await twoKbs(nats.url, dataDir);
  try {
    const random = rng(12);
    const verbs = ["take", "drop", "put %s in chest", "give %s to collector", "take %s from chest"];
    const replies: InteractReply[] = [];
    const deadline = performance.now() + 3_000;
    await Promise.all(Array.from({ length: 20 }, async (_, p) => {
      while (performance.now() < deadline) {
        const item = all[Math.floor(random() * all.length)]!;
        const verb = verbs[Math.floor(random() * verbs.length)]!;
        const message = verb.includes("%s") ? verb.replace("%s", item) : `${verb} ${item}`;
        replies.push(await act(p % 2 ? a : b, `trader-${p}`, message, "vault-shared"));
      }
    }));
    const failed = replies.filter((r) => !r.ok);
    assert.deepEqual(failed, [], "no action failed");
    const committed = await assertOneVault(nats.url, replies, all);
    assert.ok(committed > 20, `${committed} changes committed`);
    // Both KBs published their events; the outbox empties once JetStream acknowledged them.
    await eventually(async () => {
      await act(a, "trader-0", "look", "vault-shared");
      return (a.kb.stats().pending + b.kb.stats().pending) === 0;
    }, { what: "every event acknowledged" });
  } finally {
    await a.dispose();
    await b.dispose();
    await Deno.remove(dataDir, { recursive: true });
  }
});

Deno.test("nats backend: a batch out of retries answers 429 world_busy and changes nothing", async () => {
  await using nats = await natsServer();
  const dataDir = await Deno.makeTempDir({ prefix: "gaia-kv-busy-" });
  const all = await writeVaultContent(dataDir);
  // No retry at all: two KBs writing one world at once, batches lose.
  const [a, b] = await twoKbs(nats.url, dataDir, 0);
  try {
    const random = rng(7);
    const replies: InteractReply[] = [];
    const start = performance.now();
    const busy = () => replies.filter((r) => !r.ok).length;
    await Promise.all(Array.from({ length: 20 }, async (_, p) => {
      while (
        performance.now() - start < 1_000 || (busy() === 0 && performance.now() - start < 10_000)
      ) {
        const item = all[Math.floor(random() * all.length)]!;
        const verb = random() < 0.5 ? "take" : "drop";
        replies.push(await act(p % 2 ? a : b, `busy-${p}`, `${verb} ${item}`, "vault-shared"));
      }
    }));
    const refused = replies.filter((r) => !r.ok);
    assert.ok(refused.length > 0, "two KBs writing one world with no retries: some batch lost");
    for (const r of refused) {
      assert.deepEqual([r.error.code, r.error.status], ["world_busy", 429], JSON.stringify(r));
    }
    // What a refused batch decided left no trace: the stored versions are
    // exactly the committed ones, and every item is in one place.
    await assertOneVault(nats.url, replies, all);
  } finally {
    await a.dispose();
    await b.dispose();
    await Deno.remove(dataDir, { recursive: true });
  }
});

Deno.test("nats backend: a unit past the server's max payload is refused with 409 world_too_large, nothing changes", async () => {
  const dir = await Deno.makeTempDir({ prefix: "gaia-kv-payload-" });
  await Deno.writeTextFile(`${dir}/nats.conf`, "max_payload: 16384\n");
  await using nats = await natsServer({ args: ["-c", `${dir}/nats.conf`] });
  const kb = await startKb({ natsUrl: nats.url, stateBackend: "nats", responder: false });
  try {
    let refused: InteractReply | undefined;
    let lastVersion = 0;
    for (let i = 0; i < 400 && !refused; i++) {
      const r = await act(kb, `walker-with-a-rather-long-name-${i}`, "north");
      if (r.ok) lastVersion = r.events[0]?.version ?? lastVersion;
      else refused = r;
    }
    assert.ok(refused, "some player's first move made the world too large");
    assert.ok(!refused.ok);
    assert.equal(refused.error.code, "world_too_large");
    assert.equal(refused.error.status, 409);
    assert.ok(lastVersion > 5, `${lastVersion} players fit first`);
    const doc = await storedUnit(nats.url, "wylding-woods", "shared");
    assert.equal(doc?.version, lastVersion, "the refused action changed nothing");
  } finally {
    await kb.dispose();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("nats backend: NATS down fails actions and snapshots with 503 state_unavailable at once; back up, play goes on", async () => {
  await using nats = await natsServer();
  const kb = await startKb({ natsUrl: nats.url, stateBackend: "nats", responder: false });
  try {
    const first = await act(kb, "ann", "north");
    assert.ok(first.ok);
    await nats.stop();
    await eventually(() => kb.bus.status() === "reconnecting", { what: "the bus notices" });
    const down = await Promise.race([
      act(kb, "ann", "south"),
      new Promise<"hung">((r) => setTimeout(() => r("hung"), 5_000)),
    ]);
    assert.notEqual(down, "hung", "an action with NATS down must not hang");
    assert.ok(down !== "hung" && !down.ok);
    assert.equal(down.error.status, 503);
    assert.equal(down.error.code, "state_unavailable");
    await assert.rejects(kb.kb.snapshot("ann", "wylding-woods"), (e) => {
      assert.ok(e instanceof AppError);
      assert.deepEqual([e.status, e.code], [503, "state_unavailable"]);
      return true;
    });
    await nats.restart();
    const back = await eventually(async () => {
      const r = await act(kb, "ann", "south");
      return r.ok && r;
    }, { timeoutMs: 15_000, what: "an action once NATS is back" });
    assert.equal(back.events[0]?.version, 2);
  } finally {
    await kb.dispose();
  }
});
