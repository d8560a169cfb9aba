import { deepStrictEqual as eq, ok } from "node:assert/strict";
import { StateStore, type Unit } from "../../kb/state/mod.ts";
import type { WorldUpdateEvent } from "../../shared/schema.ts";
import { tree } from "../_helpers/mod.ts";

const ROOT = decodeURIComponent(new URL("../..", import.meta.url).pathname);

async function sha256(text: string): Promise<string> {
  const d = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text));
  return Array.from(new Uint8Array(d), (b) => b.toString(16).padStart(2, "0")).join("");
}

/** Runs `fn` holding the unit's exclusive lock, as every writer (even one about to die) does. */
async function underLock<T>(unit: Unit, fn: () => Promise<T>): Promise<T> {
  const lock = await Deno.open(unit.lock, { read: true });
  try {
    await lock.lock(true);
    return await fn();
  } finally {
    lock.close();
  }
}

/** Writes an intent the way a writer that died right after its commit point leaves it. */
async function plantIntent(unit: Unit, version: number, world: unknown, player: unknown) {
  const body = JSON.stringify({
    version,
    files: {
      [unit.world]: JSON.stringify({ version, world }),
      [unit.player]: JSON.stringify({ user_id: "u", player }),
    },
  });
  const text = JSON.stringify({ body, sum: await sha256(body) });
  await underLock(unit, () => Deno.writeTextFile(unit.intent, text));
}

/** Open file descriptors of this process (Linux), or undefined elsewhere. */
function openFds(): number | undefined {
  try {
    return [...Deno.readDirSync("/proc/self/fd")].length;
  } catch {
    return undefined;
  }
}

function bump(store: StateStore, unit: Unit, key: string) {
  return store.transact(unit, "u", (s) => ({
    base: { world: s.world ?? {}, player: s.player ?? {} },
    world: [{ operation: "add", path: key, data: { v: s.version + 1 } }],
    player: [{ operation: "update", path: "", data: { last: key } }],
    result: s.version,
  }));
}

Deno.test("store: a transaction commits both files and bumps the version; no-op leaves no trace", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const store = new StateStore(dir);
    const unit = await store.unit("exp", "shared", "a.b/../c");
    ok(unit.player.startsWith("players/") && !unit.player.includes(".."));
    const noop = await store.transact(
      unit,
      "u",
      (s) => ({ base: { world: {}, player: {} }, world: [], player: [], result: s.version }),
    );
    eq([noop.changed, noop.version], [false, 0]);
    eq(await tree(dir), {}); // nothing created for an action that changed nothing
    const c = await bump(store, unit, "k1");
    eq([c.changed, c.version], [true, 1]);
    eq(await store.read(unit), { version: 1, world: { k1: { v: 1 } }, player: { last: "k1" } });
    const files = Object.keys(await tree(dir)).sort();
    eq(files, [
      "experiences/",
      "experiences/exp/",
      "experiences/exp/.intent",
      "experiences/exp/.lock",
      "experiences/exp/players/",
      `experiences/exp/${unit.player}`,
      "experiences/exp/world.json",
    ]);
    eq((await tree(dir))["experiences/exp/.intent"], ""); // emptied once the commit finished
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("store: a committed intent is read in place of the files, then replayed before the next write", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const store = new StateStore(dir);
    const unit = await store.unit("exp", "isolated", "bob");
    await bump(store, unit, "k1");
    // The writer of version 2 died after its commit point: only the intent is there.
    await plantIntent(unit, 2, { k1: { v: 1 }, k2: { v: 2 } }, { last: "k2" });
    const before = await tree(dir);
    eq(await store.read(unit), {
      version: 2,
      world: { k1: { v: 1 }, k2: { v: 2 } },
      player: { last: "k2" },
    });
    eq(await tree(dir), before); // reading never writes
    const c = await bump(store, unit, "k3");
    eq(c.version, 3);
    eq((await store.read(unit)).world, { k1: { v: 1 }, k2: { v: 2 }, k3: { v: 3 } });
    eq(await Deno.readTextFile(unit.intent), "");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("store: a torn intent (death while writing it) is ignored and cleared; a stale one is not replayed", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const store = new StateStore(dir);
    const unit = await store.unit("exp", "shared", "carol");
    await bump(store, unit, "k1");
    const good = await store.read(unit);
    const full = JSON.stringify({ body: JSON.stringify({ version: 2, files: {} }), sum: "0" });
    await underLock(unit, () => Deno.writeTextFile(unit.intent, full.slice(0, full.length / 2)));
    eq(await store.read(unit), good);
    eq(await store.recover(unit), false);
    eq(await Deno.readTextFile(unit.intent), "");
    await bump(store, unit, "k2");
    await plantIntent(unit, 1, { stale: {} }, { stale: true }); // older than the files
    eq((await store.read(unit)).version, 2);
    eq(await store.recover(unit), false);
    eq((await store.read(unit)).world, { k1: { v: 1 }, k2: { v: 2 } });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("store: 4 processes x 2 loops x 50 increments through the lock file lose no update", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const procs = Array.from({ length: 4 }, () =>
      new Deno.Command(Deno.execPath(), {
        args: ["run", "--allow-all", `${ROOT}tests/kb/store_child.ts`, dir, "50", "2"],
        cwd: ROOT,
        stdout: "null",
        stderr: "inherit",
      }).spawn());
    for (const p of procs) eq((await p.status).code, 0);
    const store = new StateStore(dir);
    const state = await store.read(await store.unit("counter", "shared", "x"));
    eq([state.version, state.world?.count], [400, 400]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("store: concurrent actions are group-committed in order; a failing one fails alone", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const store = new StateStore(dir);
    const seen: number[] = [];
    const users = Array.from({ length: 40 }, (_, i) => `user.${i}`);
    const results = await Promise.allSettled(users.map(async (u, i) => {
      const unit = await store.unit("exp", "shared", u);
      return store.transact(unit, u, (s) => {
        if (i === 7) throw new Error("decide failed");
        const n = ((s.world?.n as number | undefined) ?? 0) + 1;
        return {
          base: { world: s.world ?? {}, player: s.player ?? {} },
          // Action 9 applies a forbidden path: it must fail without touching the rest.
          world: [{ operation: "update", path: i === 9 ? "__proto__" : "", data: { n } }],
          player: [{ operation: "update", path: "", data: { mine: n } }],
          result: n,
        };
      }, {
        // Built in version order, once the version is known and before the write.
        event: (c) => {
          seen.push(c.version);
          return testEvent(u, c.version);
        },
      });
    }));
    const failed = results.flatMap((r, i) => r.status === "rejected" ? [i] : []);
    eq(failed, [7, 9]);
    eq(seen, Array.from({ length: 38 }, (_, i) => i + 1)); // contiguous versions, in order
    const last = await store.read(await store.unit("exp", "shared", "user.39"));
    eq([last.version, last.world?.n], [38, 38]);
    const players = Object.keys(await tree(dir)).filter((f) =>
      f.endsWith(".json") && f.includes("/players/")
    );
    eq(players.length, 38);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("store: cached documents are revalidated: another writer's commits are seen, never overwritten", async () => {
  const dir = await Deno.makeTempDir();
  const a = new StateStore(dir);
  const b = new StateStore(dir); // its own lock handle: excluded by flock like another process
  try {
    const ua = await a.unit("exp", "shared", "u");
    const ub = await b.unit("exp", "shared", "u");
    const keys: string[] = [];
    for (let i = 0; i < 30; i++) {
      // Runs of commits by one store (cache hits) broken by the other's (misses).
      const [store, unit] = i % 4 === 3 || i % 7 === 0 ? [b, ub] : [a, ua];
      keys.push(`k${i}`);
      const c = await bump(store, unit, `k${i}`);
      eq([c.changed, c.version], [true, i + 1]);
      if (i % 5 === 0) {
        const other = store === a ? b : a;
        const seen = await other.read(other === a ? ua : ub);
        eq([seen.version, Object.keys(seen.world!).sort()], [i + 1, [...keys].sort()]);
      }
    }
    const [sa, sb] = [await a.read(ua), await b.read(ub)];
    eq(sa, sb);
    eq([sa.version, Object.keys(sa.world!).length, sa.player], [30, 30, { last: "k29" }]);
  } finally {
    await a.close();
    await b.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("store: a batch failing before its commit point never happens; one failing after it is replayed", async () => {
  const dir = await Deno.makeTempDir();
  const store = new StateStore(dir);
  try {
    const unit = await store.unit("exp", "isolated", "bob");
    await bump(store, unit, "k1");
    // Before the commit point: a temp file cannot be created.
    await Deno.mkdir(`${unit.dir}/player.json.tmp`);
    let failed = false;
    await bump(store, unit, "k2").catch(() => failed = true);
    ok(failed, "the batch failed");
    eq(await Deno.readTextFile(unit.intent), ""); // withdrawn: nobody will replay it
    await Deno.remove(`${unit.dir}/player.json.tmp`);
    eq((await bump(store, unit, "k3")).version, 2);
    eq((await store.read(unit)).world, { k1: { v: 1 }, k3: { v: 2 } });
    // After the commit point: the player file cannot be replaced.
    await Deno.remove(`${unit.dir}/player.json`);
    await Deno.mkdir(`${unit.dir}/player.json/x`, { recursive: true });
    const c = await bump(store, unit, "k4");
    eq([c.changed, c.version], [true, 3]); // durable intent: committed
    ok((await Deno.readTextFile(unit.intent)) !== "", "the intent stays for replay");
    await Deno.remove(`${unit.dir}/player.json`, { recursive: true });
    const expected = {
      version: 3,
      world: { k1: { v: 1 }, k3: { v: 2 }, k4: { v: 3 } },
      player: { last: "k4" },
    };
    eq(await store.read(unit), expected); // read from the intent, without writing
    eq(await store.recover(unit), true);
    eq(await Deno.readTextFile(unit.intent), "");
    eq(JSON.parse(await Deno.readTextFile(`${unit.dir}/player.json`)).player, { last: "k4" });
    eq((await bump(store, unit, "k5")).version, 4);
  } finally {
    await store.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("store: a unit deleted under a warm store reads as new and is recreated lazily", async () => {
  const dir = await Deno.makeTempDir();
  const store = new StateStore(dir);
  try {
    const unit = await store.unit("exp", "shared", "u");
    await bump(store, unit, "k1");
    await bump(store, unit, "k2");
    await Deno.remove(`${dir}/experiences`, { recursive: true });
    eq(await store.read(unit), { version: 0, world: null, player: null });
    const noop = await store.transact(
      unit,
      "u",
      (s) => ({ base: { world: {}, player: {} }, world: [], player: [], result: s.version }),
    );
    eq([noop.changed, noop.version], [false, 0]);
    eq(await tree(dir), {}); // still nothing created for a no-op
    eq((await bump(store, unit, "k3")).version, 1);
    eq(await store.read(unit), { version: 1, world: { k3: { v: 1 } }, player: { last: "k3" } });
    ok((await tree(dir))["experiences/exp/.lock"] !== undefined, "lock file recreated");
  } finally {
    await store.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("store: a unit deleted and rebuilt to the same version by another process is not overwritten", async () => {
  const dir = await Deno.makeTempDir();
  const a = new StateStore(dir); // warm, as one KB process
  const b = new StateStore(dir); // its own handles, as another process
  try {
    const unit = await a.unit("exp", "shared", "u");
    for (const k of ["a1", "a2", "a3"]) await bump(a, unit, k);
    await Deno.remove(`${dir}/experiences`, { recursive: true }); // by hand
    for (const k of ["b1", "b2", "b3"]) await bump(b, unit, k);
    eq((await bump(a, unit, "a4")).version, 4, "A sees B's files, not its cache");
    const world = (await b.read(unit)).world!;
    eq(Object.keys(world).sort(), ["a4", "b1", "b2", "b3"]);
    // Both lock the same file again: concurrent commits lose nothing.
    await Promise.all(Array.from({ length: 20 }, (_, i) => bump(i % 2 ? a : b, unit, `c${i}`)));
    eq((await a.read(unit)).version, 24);
  } finally {
    await a.close();
    await b.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("store: at most openUnits units keep files open; evicted ones reopen correctly", async () => {
  const dir = await Deno.makeTempDir();
  const store = new StateStore(dir, { openUnits: 2 });
  try {
    const before = openFds();
    const units = await Promise.all(
      Array.from({ length: 12 }, (_, i) => store.unit("exp", "isolated", `p${i}`)),
    );
    for (let round = 1; round <= 3; round++) {
      await Promise.all(units.map((u) => bump(store, u, `r${round}`)));
      // Reads queue behind each unit's commit, so all twelve are finished after them.
      await Promise.all(units.map((u) => store.read(u)));
      const fds = openFds();
      // 2 units x (lock, intent, directory) plus slack for the runtime.
      if (before !== undefined && fds !== undefined) ok(fds - before <= 8, `${fds - before} fds`);
    }
    for (const u of units) {
      const s = await store.read(u);
      eq([s.version, Object.keys(s.world!).sort()], [3, ["r1", "r2", "r3"]]);
    }
    await store.close();
    const after = openFds();
    if (before !== undefined && after !== undefined) ok(after - before <= 2, `${after - before}`);
  } finally {
    await store.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("store: the state given to decide and returned by read is frozen; a decide that mutates it fails alone", async () => {
  const dir = await Deno.makeTempDir();
  const store = new StateStore(dir);
  try {
    const unit = await store.unit("exp", "shared", "u");
    await bump(store, unit, "k1");
    const read = await store.read(unit);
    ok(Object.isFrozen(read.world) && Object.isFrozen(read.world!.k1), "read result frozen");
    let failed = false;
    await store.transact(unit, "u", (s) => {
      (s.world as Record<string, unknown>).hacked = true;
      return { base: { world: {}, player: {} }, world: [], player: [], result: null };
    }).catch((e) => failed = e instanceof TypeError);
    ok(failed, "mutating the given state throws");
    eq((await bump(store, unit, "k2")).version, 2);
    eq((await store.read(unit)).world, { k1: { v: 1 }, k2: { v: 2 } });
  } finally {
    await store.close();
    await Deno.remove(dir, { recursive: true });
  }
});

/** A world_update event for a test commit. */
function testEvent(user: string, version: number): WorldUpdateEvent {
  return {
    type: "world_update",
    id: `e${version}`,
    experience: "exp",
    user_id: user,
    version,
    changes: {},
    timestamp: Date.now(),
    metadata: { source: "kb", state_model: "shared", request_id: `r${version}` },
  };
}
