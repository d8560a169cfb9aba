/**
 * Many KB hosts, one world (`STATE_BACKEND=nats`) on a real 3-node
 * JetStream cluster: two KB processes with separate state dirs (two hosts)
 * and two chat processes; 30 players trade the items of one shared vault
 * through both chats while observers keep reconnecting with
 * `Last-Event-ID`. Mid-play one KB process is SIGKILLed and then the node
 * leading the state bucket is killed (kill -9). Then it counts: every item
 * in exactly one place, every version committed once with one event,
 * observers complete and in order, nothing lost, nothing duplicated.
 */
import assert from "node:assert/strict";
import {
  bearer,
  countItems,
  countWorldItems,
  delay,
  eventually,
  natsCluster,
  rng,
  type ServerProcess,
  spawnServer,
  storedUnit,
  tokenFor,
  writeVaultContent,
} from "../_helpers/mod.ts";
import { assertContiguous, flakyObserver, replayUntil } from "./_delivery.ts";

const EXP = "vault-shared";
/** The vault's state bucket (one per experience). */
const BUCKET = `KV_gaia_state_${EXP}`;

/** 30 players trading through whichever chat `url(i)` names; counts statuses and committed events. */
function startTraders(players: number, items: string[], url: (i: number) => string) {
  const statuses = new Map<number, number>();
  const committed = new Map<number, string>(); // version -> event id, from 200 answers
  const twice: string[] = [];
  const verbs = [
    "take %s",
    "drop %s",
    "put %s in chest",
    "take %s from chest",
    "give %s to collector",
  ];
  let stop = false;
  const loops = Array.from({ length: players }, async (_, p) => {
    const token = await tokenFor(`trader-${p}`);
    const random = rng(100 + p);
    for (let i = 0; !stop; i++) {
      const item = items[Math.floor(random() * items.length)]!;
      const message = verbs[Math.floor(random() * verbs.length)]!.replace("%s", item);
      try {
        const res = await fetch(`${url(p + i)}/api/v0.3/chat`, {
          method: "POST",
          headers: bearer(token),
          body: JSON.stringify({ message, experience: EXP, stream: false }),
          signal: AbortSignal.timeout(10_000),
        });
        statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
        if (res.status !== 200) {
          await res.body?.cancel();
          await delay(50);
          continue;
        }
        const body = await res.json();
        for (const e of body.world_updates as { version: number; id: string }[]) {
          const seen = committed.get(e.version);
          if (seen !== undefined && seen !== e.id) twice.push(`v${e.version}: ${seen} and ${e.id}`);
          committed.set(e.version, e.id);
        }
      } catch {
        statuses.set(0, (statuses.get(0) ?? 0) + 1);
        await delay(50);
      }
    }
  });
  return {
    statuses,
    committed,
    twice,
    async stop() {
      stop = true;
      await Promise.all(loops);
    },
  };
}

/** The stored vault, read again until two reads 500 ms apart agree (the world settled). */
async function settledVault(natsUrl: string) {
  let last = -1;
  return await eventually(async () => {
    const doc = await storedUnit(natsUrl, EXP, "shared").catch(() => undefined);
    if (!doc) return false;
    const same = doc.version === last;
    last = doc.version;
    if (!same) await delay(500);
    return same && doc;
  }, { timeoutMs: 30_000, intervalMs: 100, what: "the vault's version to settle" });
}

Deno.test("many hosts, one world: 2 KBs (nats backend) + 2 chats, 30 players; SIGKILL of a KB and of the bucket's leader node lose and repeat nothing", async () => {
  await using cluster = await natsCluster();
  const root = await Deno.makeTempDir({ prefix: "gaia-many-hosts-" });
  const items = (await writeVaultContent(`${root}/data`)).filter((i) => i !== "chest");
  const base = { NATS_URL: cluster.url, KB_DATA_DIR: `${root}/data`, LOG_LEVEL: "warn" };
  const procs: ServerProcess[] = [];
  try {
    const kb = (host: string) =>
      spawnServer({ ...base, ROLE: "kb", STATE_BACKEND: "nats", STATE_DIR: `${root}/${host}` });
    const [kbA, kbB] = [await kb("kb-a"), await kb("kb-b")];
    procs.push(kbA, kbB);
    const chats = [
      await spawnServer({ ...base, ROLE: "chat", STATE_DIR: `${root}/chat-1` }),
      await spawnServer({ ...base, ROLE: "chat", STATE_DIR: `${root}/chat-2` }),
    ];
    procs.push(...chats);
    const observers = ["o1", "o2", "o3"].map((u, i) =>
      flakyObserver(u, () => chats[i % 2]!.url, EXP)
    );
    await delay(300); // the observers connect
    const traders = startTraders(30, items, (i) => chats[i % 2]!.url);
    await delay(2_000); // play on both KBs

    const atKbKill = (await storedUnit(cluster.url, EXP, "shared"))?.version;
    kbA.kill("SIGKILL"); // the real server process (spawnServer runs main.ts directly)
    await kbA.status;
    await delay(1_500); // play on through the other KB alone

    const leader = await cluster.streamLeader(BUCKET);
    assert.ok(leader, "the state bucket has a leader");
    const atNodeKill = (await storedUnit(cluster.url, EXP, "shared"))?.version;
    await cluster.server(leader).stop(); // kill -9 of the node leading the bucket
    await eventually(async () => {
      const now = await cluster.streamLeader(BUCKET);
      return now !== leader && now;
    }, { timeoutMs: 15_000, intervalMs: 100, what: `a new bucket leader to replace ${leader}` });
    await delay(2_000); // play on after the election
    await traders.stop();

    const doc = await settledVault(cluster.url);
    const committed = doc.version;
    // Items conserved: every item in exactly one place.
    const counts = new Map<string, number>();
    countWorldItems(doc.world!, counts);
    for (const p of Object.values(doc.players)) {
      countItems((p as { inventory?: Record<string, { name: string }> }).inventory, counts);
    }
    for (const id of items) assert.equal(counts.get(id), 1, `${id} is in exactly one place`);
    // Versions unique: no version answered with two different events.
    assert.deepEqual(traders.twice, [], "a version carried two different events");
    assert.ok(
      Math.max(...traders.committed.keys()) <= committed,
      "no answer names a version the store does not have",
    );
    assert.ok(traders.committed.size > 100, `${traders.committed.size} committed answers`);

    // Observers complete after Last-Event-ID, one event per version across all of them.
    const eventOf = new Map<number, string>();
    // On a failure, what the processes logged (warnings and errors) says where it went wrong.
    const dump = () => {
      for (const [i, p] of procs.entries()) {
        const seen = new Set<string>();
        for (const r of p.records()) {
          const key = `${r.level} ${r.msg}`;
          if (seen.has(key)) continue;
          seen.add(key);
          console.log(`process ${["kb-a", "kb-b", "chat-1", "chat-2"][i]}: ${JSON.stringify(r)}`);
        }
      }
    };
    // Every observer is counted before any assertion: which of them missed what tells a
    // version never published (all miss it) from one stream's failure (one misses it).
    const failures: string[] = [];
    for (const [i, o] of observers.entries()) {
      await o.finish(committed);
      o.got.resyncs = o.got.resyncs.filter((r) => r !== "slow_consumer");
      const from = o.got.versions[0];
      assert.ok(from !== undefined, `observer ${i + 1} saw nothing`);
      const when = `KB killed near v${atKbKill}, bucket leader near v${atNodeKill}`;
      try {
        assertContiguous(o.got, from, committed, `observer ${i + 1} (${when})`);
      } catch (e) {
        failures.push((e as Error).message.split("\n")[0]!);
        const missing = Array.from({ length: committed - from + 1 }, (_, k) => from + k)
          .filter((v) => !o.got.versions.includes(v));
        failures.push(
          `  observer ${i + 1} missing ${missing.slice(0, 5)}… resyncs ${o.got.resyncs}`,
        );
      }
      for (const [j, v] of o.got.versions.entries()) {
        const id = o.got.eventIds![j]!;
        assert.equal(eventOf.get(v) ?? id, id, `v${v} is one event for every observer`);
        eventOf.set(v, id);
      }
    }
    if (failures.length > 0) {
      dump();
      assert.fail(failures.join("\n"));
    }
    for (const [v, id] of traders.committed) {
      if (eventOf.has(v)) {
        assert.equal(eventOf.get(v), id, `v${v}: the answer's event was delivered`);
      }
    }
    const late = await replayUntil(
      chats[1]!.url,
      "late",
      observers[0]!.got.ids[0]!,
      committed,
      30_000,
      EXP,
    );
    assertContiguous(late, observers[0]!.got.versions[0]! + 1, committed, "late replay");
    console.log(
      `many hosts: ${committed} versions committed; statuses ${
        JSON.stringify(Object.fromEntries(traders.statuses))
      }; KB a SIGKILLed near v${atKbKill}, bucket leader ${leader} killed near v${atNodeKill}; observers got every version once`,
    );
  } finally {
    await Promise.all(procs.map((p) => p.dispose()));
    await Deno.remove(root, { recursive: true });
  }
});

/** `POST /kb/experience/interact` on one KB process. */
async function interact(url: string, user: string, message: string) {
  const res = await fetch(`${url}/kb/experience/interact`, {
    method: "POST",
    headers: bearer(await tokenFor(user)),
    body: JSON.stringify({ message, experience: "wylding-woods" }),
  });
  return { status: res.status, body: await res.json() };
}

Deno.test("files backend, two state dirs on one cluster: the second KB refuses the worlds loudly, no version collides; a second KB on the same STATE_DIR keeps working", async () => {
  await using cluster = await natsCluster();
  const root = await Deno.makeTempDir({ prefix: "gaia-split-" });
  const base = { NATS_URL: cluster.url, LOG_LEVEL: "info" };
  const procs: ServerProcess[] = [];
  try {
    const kbA = await spawnServer({ ...base, ROLE: "kb", STATE_DIR: `${root}/a` });
    procs.push(kbA);
    const kbB = await spawnServer({ ...base, ROLE: "kb", STATE_DIR: `${root}/b` });
    procs.push(kbB);
    const kbA2 = await spawnServer({ ...base, ROLE: "kb", STATE_DIR: `${root}/a` });
    procs.push(kbA2);
    const chat = await spawnServer({ ...base, ROLE: "chat", STATE_DIR: `${root}/chat` });
    procs.push(chat);
    const identityA = (await Deno.readTextFile(`${root}/a/.state-id`)).trim();

    // /health on B names the conflict; one log line per world says why.
    const health = await (await fetch(`${kbB.url}/health`)).json();
    const experiences = health.state.world_conflicts.map((c: { experience: string }) =>
      c.experience
    );
    assert.deepEqual(experiences.sort(), ["drowned-lighthouse", "wylding-woods"]);
    for (const c of health.state.world_conflicts) assert.equal(c.held_by, identityA);
    const lines = kbB.records().filter((r) =>
      String(r.msg).startsWith("world held by a KB with another STATE_DIR")
    );
    assert.equal(lines.length, 2, "one log line per world");
    // A and the second process on A's directory hold them: no conflict.
    for (const kb of [kbA, kbA2]) {
      assert.equal(
        (await (await fetch(`${kb.url}/health`)).json()).state.world_conflicts,
        undefined,
      );
    }

    // B refuses an action sent to it directly, and writes nothing.
    const refused = await interact(kbB.url, "bo", "north");
    assert.equal(refused.status, 409);
    assert.equal(refused.body.error.code, "world_held_elsewhere");

    // Players through chat reach only A's directory: one world, versions unique and contiguous.
    const versions: number[] = [];
    await Promise.all(Array.from({ length: 20 }, async (_, p) => {
      const token = await tokenFor(`walker-${p}`);
      for (let i = 0; i < 5; i++) {
        const res = await fetch(`${chat.url}/api/v0.3/chat`, {
          method: "POST",
          headers: bearer(token),
          body: JSON.stringify({
            message: i % 2 ? "south" : "north",
            experience: "wylding-woods",
            stream: false,
          }),
        });
        const body = await res.json();
        assert.equal(res.status, 200, JSON.stringify(body));
        for (const e of body.world_updates) versions.push(e.version);
      }
    }));
    // The same STATE_DIR from a second process keeps working as before.
    const viaA2 = await interact(kbA2.url, "walker-0", "north");
    assert.equal(viaA2.status, 200, JSON.stringify(viaA2.body));
    versions.push(viaA2.body.events[0].version);
    assert.deepEqual(
      [...versions].sort((x, y) => x - y),
      Array.from({ length: 101 }, (_, i) => i + 1),
    );
    const world = JSON.parse(
      await Deno.readTextFile(`${root}/a/experiences/wylding-woods/world.json`),
    );
    assert.equal(world.version, 101);
    await assert.rejects(Deno.stat(`${root}/b/experiences/wylding-woods/world.json`));
  } finally {
    await Promise.all(procs.map((p) => p.dispose()));
    await Deno.remove(root, { recursive: true });
  }
});
