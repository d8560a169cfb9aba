/**
 * Shared pieces of the KB tests: real temp dirs, a real HTTP server on port 0
 * around `kbRoutes`, tokens, state-tree fingerprints and item counting.
 *
 * @module
 */
import type { Hono } from "hono";
import { Kb, type KbOptions, kbRoutes } from "../../kb/mod.ts";
import { buildApp as buildServerApp } from "../../shared/app.ts";
import { issueToken } from "../../shared/auth.ts";
import { InProcessBus } from "../../shared/bus/mod.ts";
import type { Bus } from "../../shared/bus/mod.ts";

/** The shipped content. */
export const DATA_DIR = decodeURIComponent(new URL("../../kb-data", import.meta.url).pathname);
/** Secret for test tokens. */
export const SECRET = "kb-test-secret-0123456789abcdef";

/** The app as main.ts builds it for `ROLE=kb` (shared/app.ts), around this KB's routes. */
export function buildApp(kb: Kb, bus: Bus = new InProcessBus()): Hono {
  return buildServerApp({ role: "kb", bus, routes: [kbRoutes(kb, { auth: { secret: SECRET } })] });
}

/** A running HTTP server. */
export interface TestServer {
  url: string;
  close(): Promise<void>;
}

/** Serves an app on 127.0.0.1 and a free port. */
export function serve(app: Hono): TestServer {
  const server = Deno.serve({ port: 0, hostname: "127.0.0.1", onListen() {} }, app.fetch);
  return {
    url: `http://127.0.0.1:${server.addr.port}`,
    close: () => server.shutdown(),
  };
}

/** Bearer header for a user. */
export async function auth(user: string): Promise<Record<string, string>> {
  return { Authorization: `Bearer ${await issueToken(user, SECRET, 3600)}` };
}

/** A KB on temp state (and optionally its own bus), with cleanup. */
export interface KbFixture {
  kb: Kb;
  bus: Bus;
  stateDir: string;
  root: string;
  dispose(): Promise<void>;
}

/** Creates a KB over the shipped content (or `dataDir`) and a fresh STATE_DIR. */
export async function kbFixture(
  opts: { bus?: Bus; dataDir?: string; kb?: Partial<KbOptions> } = {},
): Promise<KbFixture> {
  const root = await Deno.makeTempDir({ prefix: "kb-test-" });
  const stateDir = `${root}/state`;
  const bus = opts.bus ?? new InProcessBus();
  const kb = await Kb.create({
    bus,
    dataDir: opts.dataDir ?? DATA_DIR,
    stateDir,
    ...opts.kb,
  });
  return {
    kb,
    bus,
    stateDir,
    root,
    dispose: async () => {
      await kb.close();
      if (!opts.bus) await bus.close();
      await Deno.remove(root, { recursive: true });
    },
  };
}

/** POSTs an action and returns status and JSON body. */
export async function act(
  base: string,
  user: string,
  experience: string,
  message: string,
): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(`${base}/kb/experience/interact`, {
    method: "POST",
    headers: { ...(await auth(user)), "Content-Type": "application/json" },
    body: JSON.stringify({ message, experience }),
  });
  return { status: res.status, body: await res.json() };
}

/** GETs a snapshot. */
export async function getState(base: string, user: string, experience: string) {
  const res = await fetch(
    `${base}/api/v0.3/world/state?experience=${encodeURIComponent(experience)}`,
    {
      headers: await auth(user),
    },
  );
  if (res.status !== 200) throw new Error(`world/state ${res.status}: ${await res.text()}`);
  return await res.json();
}

/**
 * {@linkcode tree} once every commit has finished: an action is answered
 * when it is durable, and its `.intent` is emptied just after.
 *
 * @example
 * ```ts
 * const before = await settledTree(stateDir);
 * ```
 */
export async function settledTree(dir: string): Promise<Record<string, string>> {
  for (let i = 0; i < 100; i++) {
    const t = await tree(dir);
    if (Object.entries(t).every(([k, v]) => !k.endsWith(".intent") || v === "")) return t;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`a commit under ${dir} never finished`);
}

/** Every file under `dir` (relative path -> content), for before/after comparisons. */
export async function tree(dir: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  async function walk(d: string, rel: string) {
    let entries: Deno.DirEntry[];
    try {
      entries = await Array.fromAsync(Deno.readDir(d));
    } catch (e) {
      if (e instanceof Deno.errors.NotFound) return;
      throw e;
    }
    for (const e of entries) {
      const r = rel ? `${rel}/${e.name}` : e.name;
      if (e.isDirectory) {
        out[`${r}/`] = "";
        await walk(`${d}/${e.name}`, r);
      } else out[r] = await Deno.readTextFile(`${d}/${e.name}`);
    }
  }
  await walk(dir, "");
  return out;
}

interface ItemRec {
  name: string;
  contents?: Record<string, ItemRec>;
}

/** Adds every item id in a map of item records (with nested contents) to `counts`. */
export function countItems(
  items: Record<string, ItemRec> | undefined,
  counts: Map<string, number>,
) {
  for (const [id, rec] of Object.entries(items ?? {})) {
    counts.set(id, (counts.get(id) ?? 0) + 1);
    countItems(rec.contents, counts);
  }
}

/** Counts items in a world document: locations and NPCs. */
export function countWorldItems(world: Record<string, unknown>, counts: Map<string, number>) {
  const w = world as {
    locations: Record<string, { items: Record<string, ItemRec> }>;
    npcs: Record<string, { has: Record<string, ItemRec> }>;
  };
  for (const loc of Object.values(w.locations)) countItems(loc.items, counts);
  for (const npc of Object.values(w.npcs)) countItems(npc.has, counts);
}

/** A small deterministic PRNG (mulberry32) so failures can be replayed from the seed. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6D2B79F5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Portable items of the crash-test vault (each name is one word). */
export const CRASH_ITEMS = [
  "apple",
  "brick",
  "candle",
  "dagger",
  "emerald",
  "feather",
  "goblet",
  "hammer",
  "idol",
  "jar",
  "key",
  "lute",
];

/**
 * Writes the crash-test content: one room holding every item, a chest and a
 * collector who trades; `vault-shared` and `vault-solo` differ only in model.
 */
export async function writeVaultContent(dataDir: string): Promise<string[]> {
  const items: Record<string, unknown> = {};
  for (const id of CRASH_ITEMS) {
    items[id] = { name: id, description: `A ${id}.`, location: "vault" };
  }
  items.chest = { name: "chest", description: "A chest.", container: true, location: "vault" };
  items.medal = { name: "medal", description: "A medal.", held_by: "collector" };
  const npcs = {
    collector: {
      name: "Collector",
      description: "Collects things.",
      location: "vault",
      greeting: "Hm.",
      wants: { idol: { reply: "Mine now.", reward: "medal" }, goblet: { reply: "Lovely." } },
    },
  };
  for (const model of ["shared", "isolated"]) {
    const dir = `${dataDir}/experiences/vault-${model === "shared" ? "shared" : "solo"}`;
    await Deno.mkdir(dir, { recursive: true });
    await Deno.writeTextFile(
      `${dir}/experience.json`,
      JSON.stringify({ name: "Vault", description: "Vault.", state: { model }, start: "vault" }),
    );
    await Deno.writeTextFile(
      `${dir}/locations.json`,
      JSON.stringify({ vault: { name: "Vault", description: "A vault." } }),
    );
    await Deno.writeTextFile(`${dir}/items.json`, JSON.stringify(items));
    await Deno.writeTextFile(`${dir}/npcs.json`, JSON.stringify(npcs));
  }
  return [...CRASH_ITEMS, "chest", "medal"];
}
