// The parts of kb/state/ on their own: the intent codec, the unit layout, and
// the folder's import graph (one boundary, no cycle).
import { deepStrictEqual as eq, equal, ok } from "node:assert/strict";
import fc from "fast-check";
import { encodeIntent, isStatePath, parseIntent } from "../../kb/state/intent.ts";
import { StateStore, unitFor } from "../../kb/state/mod.ts";
import { tree } from "../_helpers/mod.ts";

const ROOT = decodeURIComponent(new URL("../..", import.meta.url).pathname);

Deno.test("intent: encode/parse round-trips; every torn prefix and every changed byte is refused", () => {
  const intent = {
    version: 7,
    files: {
      "world.json": JSON.stringify({ version: 7, world: { a: 'é\n"x"' } }),
      "players/alice.json": JSON.stringify({ user_id: "alice", player: {} }),
    },
  };
  const text = encodeIntent(intent);
  eq(parseIntent(text), intent);
  equal(parseIntent(""), undefined);
  for (let n = 1; n < text.length; n++) equal(parseIntent(text.slice(0, n)), undefined, `${n}`);
  fc.assert(
    fc.property(fc.nat(text.length - 1), fc.string({ minLength: 1, maxLength: 1 }), (at, c) => {
      const changed = text.slice(0, at) + c + text.slice(at + 1);
      if (changed !== text) equal(parseIntent(changed), undefined);
    }),
  );
});

Deno.test("intent: only the unit's own state files may be named, even with a valid checksum", () => {
  for (const rel of ["world.json", "player.json", "players/a_2Eb.json", "players/_L0f.json"]) {
    ok(isStatePath(rel), rel);
  }
  const foreign = [
    "../world.json",
    "players/../../x.json",
    ".lock",
    ".intent",
    "world.json.tmp",
    "/etc/passwd",
    "players/a/b.json",
    "world.json\n",
  ];
  for (const rel of foreign) {
    ok(!isStatePath(rel), rel);
    const forged = encodeIntent({ version: 9, files: { "world.json": "{}", [rel]: "{}" } });
    equal(parseIntent(forged), undefined, rel);
  }
});

Deno.test("intent: a forged intent naming a path outside the unit is discarded by the store, never written", async () => {
  const dir = await Deno.makeTempDir();
  const store = new StateStore(dir);
  try {
    const unit = await store.unit("exp", "shared", "u");
    await store.transact(unit, "u", () => ({
      base: { world: {}, player: {} },
      world: [{ operation: "add", path: "k", data: { v: 1 } }],
      player: [],
      result: null,
    }));
    await store.read(unit); // queues behind the commit's last step (the intent emptied)
    const before = await tree(dir);
    const forged = encodeIntent({
      version: 5,
      files: { "world.json": JSON.stringify({ version: 5, world: {} }), "../../x.json": "{}" },
    });
    await Deno.writeTextFile(unit.intent, forged);
    eq((await store.read(unit)).version, 1);
    equal(await store.recover(unit), false);
    eq(await tree(dir), before, "nothing written, the intent emptied");
  } finally {
    await store.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("unit: shared units hold every profile, isolated ones one per player; ids stay one file name", async () => {
  const shared = await unitFor("/s", "wylding-woods", "shared", "a.b");
  eq(shared, {
    key: "/s/experiences/wylding-woods",
    dir: "/s/experiences/wylding-woods",
    lock: "/s/experiences/wylding-woods/.lock",
    intent: "/s/experiences/wylding-woods/.intent",
    world: "world.json",
    player: "players/a_2Eb.json",
    experience: "wylding-woods",
    model: "shared",
  });
  const isolated = await unitFor("/s", "lighthouse", "isolated", "../x");
  eq(
    [isolated.dir, isolated.player],
    ["/s/experiences/lighthouse/players/_2E_2E_2Fx", "player.json"],
  );
  const long = await unitFor("/s", "e", "shared", "x".repeat(500));
  ok(/^players\/_L[0-9a-f]{64}\.json$/.test(long.player), long.player);
  for (const u of [shared, isolated, long]) ok(isStatePath(u.world) && isStatePath(u.player));
  // The store names the same files under its own directory, trailing slashes dropped.
  eq(await new StateStore("/s//").unit("wylding-woods", "shared", "a.b"), shared);
});

Deno.test("kb/state: no import cycle, and the rest of the code imports only its mod.ts", async () => {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["info", "--json", "kb/mod.ts"],
    cwd: ROOT,
    stdout: "piped",
    stderr: "null",
  }).output();
  ok(out.success, "deno info failed");
  const info = JSON.parse(new TextDecoder().decode(out.stdout)) as {
    modules: Array<{
      specifier: string;
      dependencies?: Array<{ code?: { specifier?: string }; type?: { specifier?: string } }>;
    }>;
  };
  const root = new URL("..", new URL("../", import.meta.url)).href;
  const graph = new Map<string, string[]>();
  for (const m of info.modules) {
    if (!m.specifier.startsWith(root)) continue;
    const deps = (m.dependencies ?? []).flatMap((d) => [d.code?.specifier, d.type?.specifier])
      .filter((s): s is string => !!s?.startsWith(root));
    graph.set(m.specifier.slice(root.length), deps.map((s) => s.slice(root.length)));
  }
  ok(graph.has("kb/state/store.ts") && graph.has("kb/state/intent.ts"), "graph read");
  const cycles: string[] = [];
  const state = new Map<string, "open" | "done">();
  const visit = (m: string, path: string[]) => {
    state.set(m, "open");
    for (const d of graph.get(m) ?? []) {
      if (state.get(d) === "open") cycles.push([...path.slice(path.indexOf(d)), d].join(" -> "));
      else if (!state.has(d)) visit(d, [...path, d]);
    }
    state.set(m, "done");
  };
  for (const m of graph.keys()) if (!state.has(m)) visit(m, [m]);
  eq(cycles, []);
  for (const [m, deps] of graph) {
    if (m.startsWith("kb/state/")) {
      eq(deps.filter((d) => d.startsWith("kb/") && !d.startsWith("kb/state/")), [], m);
    } else {
      eq(deps.filter((d) => d.startsWith("kb/state/") && d !== "kb/state/mod.ts"), [], m);
    }
  }
});
