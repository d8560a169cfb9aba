import { deepStrictEqual as eq, ok, rejects, throws } from "node:assert/strict";
import { AppError } from "../../shared/errors.ts";
import { Kb } from "../../kb/mod.ts";
import { loadExperience, parseExperience } from "../../kb/content.ts";
import { InProcessBus } from "../../shared/bus/mod.ts";
import { ManualClock } from "../../shared/clock.ts";
import {
  settledTree,
  setup,
  SHIPPED_DATA_DIR as DATA_DIR,
  tree,
  writeExperience,
} from "../_helpers/mod.ts";

const good = {
  config: { name: "T", description: "T", state: { model: "shared" }, start: "a" },
  locations: {
    a: { name: "A", description: "A.", exits: { north: "b" } },
    b: { name: "B", description: "B." },
  },
  items: {
    box: { name: "box", description: "Box.", container: true, location: "a" },
    coin: { name: "coin", description: "Coin.", inside: "box" },
    gem: { name: "gem", description: "Gem.", held_by: "elf" },
  },
  npcs: {
    elf: {
      name: "Elf",
      description: "Elf.",
      location: "a",
      greeting: "Hi.",
      wants: { coin: { reply: "Ta.", reward: "gem" } },
    },
  },
};
// Fixtures are mutated freely to produce every kind of broken content.
// deno-lint-ignore no-explicit-any
type Json = any;

function texts(mutate: (f: Json) => void) {
  const f: Json = structuredClone(good);
  mutate(f);
  return {
    config: JSON.stringify(f.config),
    locations: JSON.stringify(f.locations),
    items: JSON.stringify(f.items),
    npcs: JSON.stringify(f.npcs),
  };
}

function expectBad(mutate: (f: Json) => void, file: string, path: string, problem: RegExp) {
  throws(() => parseExperience("t", "dir", texts(mutate)), (e: unknown) => {
    ok(e instanceof AppError, String(e));
    eq(e.code, "bad_content");
    ok(e.message.startsWith(`dir/${file}: at '${path}': `), e.message);
    ok(problem.test(e.message), e.message);
    return true;
  });
}

Deno.test("content: the shipped experiences load and meet the minimums", async () => {
  for (
    const [id, model] of [["wylding-woods", "shared"], ["drowned-lighthouse", "isolated"]] as const
  ) {
    const exp = await loadExperience(DATA_DIR, id);
    eq(exp.config.state.model, model);
    ok(Object.keys(exp.locations).length >= 6, `${id} locations`);
    ok(Object.keys(exp.items).length >= 10, `${id} items`);
    ok(Object.keys(exp.npcs).length >= 2, `${id} npcs`);
    ok(Object.values(exp.npcs).some((n) => Object.keys(n.wants).length > 0), `${id} puzzle`);
    ok(Object.keys(exp.items).every((i) => !i.includes(".")));
  }
  const woods = await loadExperience(DATA_DIR, "wylding-woods");
  ok(Object.keys(woods.items).filter((i) => i.startsWith("dream-bottle-")).length >= 3);
  eq(woods.items["dream-bottle-1"]!.location, "woanders-store");
});

Deno.test("content: a valid fixture parses", () => {
  const exp = parseExperience("t", "dir", texts(() => {}));
  eq(exp.items.coin!.inside, "box");
});

Deno.test("content: invalid content names the file, the path inside it and the problem", () => {
  expectBad(
    (f) => f.config.state.model = "solo",
    "experience.json",
    "state.model",
    /shared|isolated/,
  );
  expectBad((f) => delete f.config.name, "experience.json", "name", /expected string/);
  expectBad(
    (f) => f.config.start = "nowhere",
    "experience.json",
    "start",
    /unknown location 'nowhere'/,
  );
  expectBad(
    (f) => f.locations.a.exits.north = "c",
    "locations.json",
    "a.exits.north",
    /unknown location 'c'/,
  );
  expectBad((f) => f.locations.a.exits.sideways = "b", "locations.json", "a.exits", /sideways/);
  expectBad(
    (f) => f.items["dream.bottle"] = { name: "x", description: "x", location: "a" },
    "items.json",
    '"dream.bottle"',
    /ids use only/,
  );
  expectBad((f) => f.items.coin.location = "a", "items.json", "coin", /exactly one of/);
  expectBad(
    (f) => f.items.constructor = { name: "x", description: "x", location: "a" },
    "items.json",
    "constructor",
    /reserved/,
  );
  expectBad((f) => f.items.box.portable = "yes", "items.json", "box.portable", /expected boolean/);
  expectBad((f) => f.items.box.container = false, "items.json", "coin.inside", /not a container/);
  expectBad((f) => f.items.gem.held_by = "orc", "items.json", "gem.held_by", /unknown NPC 'orc'/);
  expectBad((f) => f.npcs.elf.location = "z", "npcs.json", "elf.location", /unknown location 'z'/);
  expectBad(
    (f) => f.npcs.elf.wants.coin.reward = "box",
    "npcs.json",
    "elf.wants.coin.reward",
    /held_by 'elf'/,
  );
  expectBad(
    (f) => f.npcs.elf.wants.coin.unlock = { location: "a", direction: "north" },
    "npcs.json",
    "elf.wants.coin.unlock",
    /no locked exit/,
  );
  expectBad((f) => f.npcs.elf.extra = 1, "npcs.json", "elf", /extra/);
  throws(
    () => parseExperience("t", "dir", { ...texts(() => {}), items: "{ not json" }),
    /dir\/items\.json: at '\(root\)': invalid JSON/,
  );
});

Deno.test("content: Kb.create refuses a data dir with a broken experience", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const broken = structuredClone(good) as Json;
    broken.locations.b.exits = { south: "q" };
    await writeExperience(`${dir}/experiences/broken`, broken);
    const bus = new InProcessBus();
    await rejects(
      Kb.create({ bus, dataDir: dir, stateDir: `${dir}/state` }),
      /broken\/locations\.json: at 'b\.exits\.south': unknown location 'q'/,
    );
    await bus.close();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("content: edits are picked up without a restart, bad edits are refused, live state is untouched", async () => {
  await using h = await setup({
    role: "kb",
    nats: "in-process",
    serve: false,
    content: "shipped-copy",
  });
  const { kb, dataDir, stateDir } = h;
  const req = (message: string, n: number) => ({
    request_id: `r${n}`,
    user_id: "ann",
    experience: "wylding-woods",
    message,
  });
  ok((await kb.interact(req("take lantern", 1))).ok);
  // Examining keeps the conversation (last command, "it") in the profile: once.
  ok((await kb.interact(req("examine lantern", 0))).ok);
  const stateBefore = await settledTree(stateDir);

  const itemsFile = `${dataDir}/experiences/wylding-woods/items.json`;
  const items = JSON.parse(await Deno.readTextFile(itemsFile));
  items.lantern.description = "A lantern, freshly polished by the content team.";
  await Deno.writeTextFile(itemsFile, JSON.stringify(items));
  const r = await kb.interact(req("examine lantern", 2));
  ok(r.ok);
  eq(r.outcome.summary, "A lantern, freshly polished by the content team.");

  await Deno.writeTextFile(itemsFile, JSON.stringify({ ...items, lantern: { name: "broken" } }));
  const r2 = await kb.interact(req("x lantern", 3));
  ok(r2.ok);
  eq(r2.outcome.summary, "A lantern, freshly polished by the content team."); // last good kept

  const locFile = `${dataDir}/experiences/wylding-woods/locations.json`;
  const locs = JSON.parse(await Deno.readTextFile(locFile));
  locs["woods-edge"].name = "Renamed Edge";
  await Deno.writeTextFile(locFile, JSON.stringify(locs));
  await Deno.writeTextFile(itemsFile, JSON.stringify(items));
  eq(await tree(stateDir), stateBefore); // edits never touch live state
  const snap = await kb.snapshot("ann", "wylding-woods");
  eq(
    (snap.world.locations as Record<string, { name: string }>)["woods-edge"]!.name,
    "Edge of the Wylding Woods",
  );
});

Deno.test("content: GET /experiences lists the catalog without auth and picks up a new experience directory", async () => {
  const clock = new ManualClock();
  await using h = await setup({ role: "kb", nats: "in-process", content: "vault", clock });
  const list = async () =>
    (await (await fetch(`${h.url}/api/v0.3/experiences`)).json()).experiences;
  eq(await list(), [
    { id: "vault-shared", name: "Vault", description: "Vault.", state_model: "shared" },
    { id: "vault-solo", name: "Vault", description: "Vault.", state_model: "isolated" },
  ]);
  await Deno.mkdir(`${h.dataDir}/experiences/vault-new`);
  for (const f of ["experience.json", "locations.json", "items.json", "npcs.json"]) {
    await Deno.copyFile(
      `${h.dataDir}/experiences/vault-solo/${f}`,
      `${h.dataDir}/experiences/vault-new/${f}`,
    );
  }
  // The directory listing is trusted for a second.
  clock.advance(999);
  eq((await list()).map((e: { id: string }) => e.id), ["vault-shared", "vault-solo"]);
  clock.advance(1);
  eq((await list()).map((e: { id: string }) => e.id), [
    "vault-new",
    "vault-shared",
    "vault-solo",
  ]);
  const r = await h.kb.interact({
    request_id: "n1",
    user_id: "ann",
    experience: "vault-new",
    message: "take apple",
  });
  eq(r.ok && r.outcome.kind, "took");
});
