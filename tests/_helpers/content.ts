/**
 * Experience content for tests: the shipped `kb-data`, and fixture
 * experiences written to a temp `KB_DATA_DIR` (the real loader validates
 * them like any other content).
 *
 * - The glade (`glade` shared, `glade-solo` isolated, same content, and a
 *   shared `cellar` with a great chest): small, with commands for every kind
 *   of change the engine makes. See {@linkcode GLADE}.
 * - The vault (`vault-shared`, `vault-solo`): one room holding every item,
 *   a chest and a collector who trades; the crash tests count its items.
 *
 * @module
 */

/** The shipped content (`kb-data/`). */
export const SHIPPED_DATA_DIR = decodeURIComponent(
  new URL("../../kb-data", import.meta.url).pathname,
);

/** Colors of the per-player items of the glade: one sack and one stone each. */
export const COLORS = ["red", "blue", "green", "white", "black", "gold", "grey", "pink"] as const;
/**
 * Coins in the cellar's great chest, and their names: long, so that a few
 * records make a large event (the KB's cost per commit grows with records).
 */
const COINS_IN_CHEST = 100;
const COIN_NAME = `gold coin stamped with ${"a long row of tiny runes ".repeat(28).trim()}`;

/**
 * The glade fixture and the commands that give each kind of change with
 * the real engine. Players start in the glade (the cellar's in the
 * cellar); the first changing action of a player also creates them (world
 * and player scope).
 *
 * | change           | command                                                                          |
 * | ---------------- | -------------------------------------------------------------------------------- |
 * | none             | `dance wildly` (not understood); a player's first `look`, `inventory` or `talk to owl` (capable model), or one right after the same command |
 * | world and player | `north` / `south` (glade and store, repeatable), `take lamp` (once)              |
 * | player only      | holding `<c> sack`, `<c> stone` and a second sack: `put <c> stone in <c> sack`; `look`, `inventory`, `talk to owl` after another command (the player's conversation: what `again` and `it` mean) |
 * | large (~75 KB)   | in `cellar`: `take chest` / `drop chest` (the actor's events; others see each drop); `take candle` / `drop candle` are small |
 * | world only       | none: every world change of the engine moves something to or from a player       |
 *
 * In `glade-solo` every change reaches only the actor (moves are player-only
 * there). In the shared worlds others receive a player-only change as
 * `changes: {}` (the experience subject has no version gaps).
 *
 * @example
 * ```ts
 * await writeGladeContent(`${root}/data`);
 * await kb.interact({ request_id, user_id: "ann", experience: GLADE.shared, message: "north" });
 * ```
 */
export const GLADE = {
  /** The glade, shared. */
  shared: "glade",
  /** The same glade, isolated. */
  solo: "glade-solo",
  /** A shared cellar with one great chest of coins (the large change). */
  cellar: "cellar",
  /** Items lying in the glade, one word each, for `take <item>`. */
  items: ["bottle", "lamp", "stick", "leaf", "shell", "acorn", "pebble", "feather"],
  /** Rough size of an event that moves the great chest (bytes). */
  chestBytes: 75_000,
} as const;

/**
 * Writes the glade fixture (`glade`, `glade-solo`, `cellar`) under
 * `dataDir/experiences/`.
 *
 * @example
 * ```ts
 * await writeGladeContent(dataDir);
 * ```
 */
export async function writeGladeContent(dataDir: string): Promise<void> {
  const locations = {
    glade: {
      name: "Quiet Glade",
      description: "Moss covers the stones.",
      exits: { north: "store" },
    },
    store: {
      name: "Old Store",
      description: "Dusty shelves line the walls.",
      exits: { south: "glade" },
    },
  };
  const items: Record<string, unknown> = {
    bottle: { name: "dream bottle", description: "A bottle holding a dream.", location: "glade" },
    lamp: { name: "lamp", description: "A small oil lamp.", location: "glade" },
    stick: { name: "stick", description: "A crooked stick.", location: "glade" },
    leaf: { name: "leaf", description: "A red leaf.", location: "glade" },
    shell: { name: "shell", description: "A snail shell.", location: "glade" },
    acorn: { name: "acorn", description: "A fat acorn.", location: "glade" },
    pebble: { name: "pebble", description: "A smooth pebble.", location: "glade" },
    feather: { name: "feather", description: "An owl feather.", location: "glade" },
  };
  for (const c of COLORS) {
    items[`${c}-sack`] = {
      name: `${c} sack`,
      description: `A ${c} sack.`,
      container: true,
      location: "glade",
    };
    items[`${c}-stone`] = { name: `${c} stone`, description: `A ${c} stone.`, location: "glade" };
  }
  const npcs = {
    owl: {
      name: "Owl",
      description: "A grey owl on a low branch.",
      location: "glade",
      greeting: "Hoo.",
      topics: { night: "The night is long." },
      wants: { acorn: { reply: "Hoo, thank you." } },
    },
  };
  for (const [id, model] of [[GLADE.shared, "shared"], [GLADE.solo, "isolated"]] as const) {
    await writeExperience(`${dataDir}/experiences/${id}`, {
      config: { name: "The Glade", description: "A test glade.", state: { model }, start: "glade" },
      locations,
      items,
      npcs,
    });
  }
  const chest: Record<string, unknown> = {
    chest: {
      name: "great chest",
      description: "A great chest full of coins.",
      container: true,
      location: "cellar",
    },
    candle: { name: "candle", description: "A stub of candle.", location: "cellar" },
  };
  for (let i = 0; i < COINS_IN_CHEST; i++) {
    chest[`coin-${String(i).padStart(3, "0")}`] = {
      name: COIN_NAME,
      description: "A gold coin.",
      inside: "chest",
    };
  }
  await writeExperience(`${dataDir}/experiences/${GLADE.cellar}`, {
    config: {
      name: "The Cellar",
      description: "A great chest.",
      state: { model: "shared" },
      start: "cellar",
    },
    locations: { cellar: { name: "Cellar", description: "Cold stone and iron." } },
    items: chest,
    npcs: {},
  });
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
 * collector who trades; `vault-shared` and `vault-solo` differ only in
 * model. Returns every item id.
 *
 * @example
 * ```ts
 * const all = await writeVaultContent(dataDir); // [...CRASH_ITEMS, "chest", "medal"]
 * ```
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
  for (const model of ["shared", "isolated"] as const) {
    await writeExperience(
      `${dataDir}/experiences/vault-${model === "shared" ? "shared" : "solo"}`,
      {
        config: { name: "Vault", description: "Vault.", state: { model }, start: "vault" },
        locations: { vault: { name: "Vault", description: "A vault." } },
        items,
        npcs,
      },
    );
  }
  return [...CRASH_ITEMS, "chest", "medal"];
}

/**
 * Copies the shipped experiences into `dataDir` (for tests that edit content).
 *
 * @example
 * ```ts
 * await copyShippedContent(`${root}/data`);
 * ```
 */
export async function copyShippedContent(dataDir: string): Promise<void> {
  for await (const exp of Deno.readDir(`${SHIPPED_DATA_DIR}/experiences`)) {
    if (!exp.isDirectory) continue;
    const to = `${dataDir}/experiences/${exp.name}`;
    await Deno.mkdir(to, { recursive: true });
    for await (const f of Deno.readDir(`${SHIPPED_DATA_DIR}/experiences/${exp.name}`)) {
      await Deno.copyFile(
        `${SHIPPED_DATA_DIR}/experiences/${exp.name}/${f.name}`,
        `${to}/${f.name}`,
      );
    }
  }
}

/** The four files of one experience directory. */
interface ExperienceFiles {
  config: unknown;
  locations: unknown;
  items: unknown;
  npcs: unknown;
}

/**
 * Writes one experience directory (`experience.json`, `locations.json`,
 * `items.json`, `npcs.json`).
 *
 * @example
 * ```ts
 * await writeExperience(`${dataDir}/experiences/tiny`, { config, locations, items: {}, npcs: {} });
 * ```
 */
export async function writeExperience(dir: string, files: ExperienceFiles): Promise<void> {
  await Deno.mkdir(dir, { recursive: true });
  await Deno.writeTextFile(`${dir}/experience.json`, JSON.stringify(files.config));
  await Deno.writeTextFile(`${dir}/locations.json`, JSON.stringify(files.locations));
  await Deno.writeTextFile(`${dir}/items.json`, JSON.stringify(files.items));
  await Deno.writeTextFile(`${dir}/npcs.json`, JSON.stringify(files.npcs));
}
