import { deepStrictEqual as eq, ok } from "node:assert/strict";
import { StateStore, type Unit } from "../../kb/state/mod.ts";
import { countItems, countWorldItems, delay, rng, writeVaultContent } from "../_helpers/mod.ts";

const ROOT = decodeURIComponent(new URL("../..", import.meta.url).pathname);
const ROUNDS = 25;
const SHARED_USERS = ["p.one", "p/two", "../p3", "p4"];
const SOLO_USERS = ["solo-a", "solo-b"];

async function startChild(
  dataDir: string,
  stateDir: string,
  seed: number,
  script = "crash_child.ts",
  extra: string[] = [],
) {
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--allow-all",
      `${ROOT}tests/kb/${script}`,
      dataDir,
      stateDir,
      String(seed),
      ...extra,
    ],
    cwd: ROOT,
    stdout: "piped",
    stderr: "null",
  }).spawn();
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let seen = "";
  while (!seen.includes("ready\n")) {
    const { value, done } = await reader.read();
    if (done) throw new Error(`child exited before ready: ${(await child.status).code}`);
    seen += value;
  }
  return { child, reader };
}

/** Every `.json` state file parses; returns how many non-empty intent files exist. */
async function checkFilesParse(dir: string): Promise<number> {
  let intents = 0;
  for await (const e of Deno.readDir(dir)) {
    const path = `${dir}/${e.name}`;
    if (e.isDirectory) intents += await checkFilesParse(path);
    else if (e.name.endsWith(".json")) JSON.parse(await Deno.readTextFile(path));
    else if (e.name === ".intent" && (await Deno.stat(path)).size > 0) intents++;
  }
  return intents;
}

function assertEachOnce(counts: Map<string, number>, all: string[], where: string) {
  for (const id of all) eq(counts.get(id) ?? 0, 1, `${where}: item ${id} count`);
  eq([...counts.keys()].sort(), [...all].sort(), `${where}: unexpected items`);
}

/** Counts items as a reader sees them (shared lock, committed intents overlaid, no writes). */
async function checkReadView(store: StateStore, all: string[]) {
  const counts = new Map<string, number>();
  let world: Record<string, unknown> | null = null;
  for (const user of SHARED_USERS) {
    const s = await store.read(await store.unit("vault-shared", "shared", user));
    if (world) eq(s.world, world, "shared world differs between reads");
    world = s.world;
    countItems((s.player as { inventory?: never } | null)?.inventory, counts);
  }
  if (world) {
    countWorldItems(world, counts);
    assertEachOnce(counts, all, "shared read view");
  }
  for (const user of SOLO_USERS) {
    const s = await store.read(await store.unit("vault-solo", "isolated", user));
    if (!s.world) continue;
    const c = new Map<string, number>();
    countWorldItems(s.world, c);
    countItems((s.player as { inventory?: never } | null)?.inventory, c);
    assertEachOnce(c, all, `solo read view ${user}`);
  }
}

async function readOptional(path: string): Promise<string | undefined> {
  try {
    return await Deno.readTextFile(path);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return undefined;
    throw e;
  }
}

/** Replays intents, then counts items straight from the files. Returns the shared version. */
async function checkFilesAfterRecovery(store: StateStore, stateDir: string, all: string[]) {
  const units: Unit[] = [await store.unit("vault-shared", "shared", "x")];
  for (const user of SOLO_USERS) units.push(await store.unit("vault-solo", "isolated", user));
  let replayed = 0;
  for (const u of units) if (await store.recover(u)) replayed++;
  const sharedDir = `${stateDir}/experiences/vault-shared`;
  let version = 0;
  const world = await readOptional(`${sharedDir}/world.json`);
  if (world !== undefined) {
    // Every commit writes world.json and the actor's profile together.
    const doc = JSON.parse(world);
    version = doc.version;
    const counts = new Map<string, number>();
    countWorldItems(doc.world, counts);
    for await (const e of Deno.readDir(`${sharedDir}/players`)) {
      if (!e.name.endsWith(".json")) continue;
      const p = JSON.parse(await Deno.readTextFile(`${sharedDir}/players/${e.name}`));
      countItems(p.player.inventory, counts);
    }
    assertEachOnce(counts, all, "shared files");
  }
  for (const u of units.slice(1)) {
    const [wText, pText] = await Promise.all(
      [u.world, u.player].map((f) => readOptional(`${u.dir}/${f}`)),
    );
    if (wText === undefined && pText === undefined) continue; // never committed
    ok(
      wText !== undefined && pText !== undefined,
      `${u.dir}: one of ${u.world} / ${u.player} is missing (a torn commit)`,
    );
    const w = JSON.parse(wText);
    const p = JSON.parse(pText);
    const c = new Map<string, number>();
    countWorldItems(w.world, c);
    countItems(p.player.inventory, c);
    assertEachOnce(c, all, `solo files ${u.dir}`);
  }
  eq(await checkFilesParse(stateDir), 0, "intents left after recovery");
  return { version, replayed };
}

Deno.test(`crash: ${ROUNDS} rounds of SIGKILL mid-play never tear, lose or duplicate anything`, async () => {
  const root = await Deno.makeTempDir({ prefix: "kb-crash-" });
  const dataDir = `${root}/data`;
  const stateDir = `${root}/state`;
  const seed = Number(Deno.env.get("CRASH_SEED") ?? Date.now() % 100000);
  const random = rng(seed);
  try {
    const all = await writeVaultContent(dataDir);
    let intentsAtKill = 0;
    let replayedTotal = 0;
    let version = 0;
    for (let round = 0; round < ROUNDS; round++) {
      const { child, reader } = await startChild(dataDir, stateDir, seed * 100 + round);
      await delay(20 + random() * 300); // SIGKILL at a random instant of play
      child.kill("SIGKILL");
      await child.status;
      await reader.cancel();
      const store = new StateStore(stateDir);
      intentsAtKill += await checkFilesParse(stateDir);
      await checkReadView(store, all);
      const r = await checkFilesAfterRecovery(store, stateDir, all);
      replayedTotal += r.replayed;
      ok(r.version >= version, "shared version went backwards");
      version = r.version;
    }
    console.log(
      `crash test seed=${seed}: ${ROUNDS} kills, ${intentsAtKill} intents found at kill time, ${replayedTotal} replayed, shared world at version ${version}`,
    );
    ok(version > ROUNDS, "the child made progress");
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("crash: killed between the renames of a commit, the intent makes it whole", async () => {
  const root = await Deno.makeTempDir({ prefix: "kb-crash-rename-" });
  const dataDir = `${root}/data`;
  const stateDir = `${root}/state`;
  try {
    const all = await writeVaultContent(dataDir);
    let version = 0;
    for (const [round, n] of [1, 2, 5, 9, 14].entries()) {
      const { child, reader } = await startChild(
        dataDir,
        stateDir,
        7 + round,
        "crash_rename_child.ts",
        [
          String(n),
        ],
      );
      const status = await child.status;
      await reader.cancel();
      eq(status.signal, "SIGKILL", "the child killed itself between two renames");
      // The world was renamed, the profile was not: the commit is pending in its intent.
      eq(await checkFilesParse(stateDir), 1, "one intent left by the kill");
      const store = new StateStore(stateDir);
      await checkReadView(store, all);
      const r = await checkFilesAfterRecovery(store, stateDir, all);
      eq(r.replayed, 1, "the intent was replayed");
      ok(r.version > version, "the shared version went forward");
      version = r.version;
      await store.close();
    }
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});
