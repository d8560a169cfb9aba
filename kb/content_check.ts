/**
 * Cross-reference checks of a parsed experience: every id a file names
 * exists and fits where it is used (an exit's destination, a container, a
 * door, a key, a reward, the things a condition talks about).
 *
 * The checks report through a callback, so loading stops at the first
 * problem (it throws) while `deno task validate` collects them all. The
 * input is typed structurally: this module imports nothing from
 * `content.ts`, which calls it.
 *
 * @module
 */
import type { Condition, Effect, Ending, Goal } from "./content_game.ts";

/** Which content file a problem is in. */
export type ContentFile = "config" | "locations" | "items" | "npcs";

/** Receives one problem: the file, the path inside it, what is wrong. */
export type Report = (file: ContentFile, path: string, problem: string) => void;

type Exit = string | { to: string; locked?: string; door?: string } | undefined;

interface Variant {
  when: Condition;
}

/** What the checks read of an experience (a parsed `Experience` fits). */
export interface CheckedContent {
  config: {
    start: string;
    goals: Record<string, Goal>;
    endings: Record<string, Ending>;
  };
  locations: Record<string, { exits: Partial<Record<string, Exit>>; variants: Variant[] }>;
  items: Record<string, {
    container: boolean;
    surface: boolean;
    portable: boolean;
    location?: string;
    inside?: string;
    held_by?: string;
    availability: "unique" | "respawning" | "per-player";
    respawn_after?: number;
    variants: Variant[];
    openable?: { key?: string; on_open?: Effect; on_close?: Effect; open: boolean };
    lightable?: { on_light?: Effect; on_extinguish?: Effect };
    uses: Record<string, Effect>;
  }>;
  npcs: Record<string, {
    location: string;
    variants: Variant[];
    wants: Record<string, {
      reward?: string;
      unlock?: { location: string; direction: string };
    }>;
  }>;
}

/**
 * Whether an item can hold others (a container, or a surface things go on).
 *
 * @example
 * ```ts
 * holdsThings({ container: false, surface: true }); // true
 * ```
 */
export function holdsThings(item: { container: boolean; surface: boolean }): boolean {
  return item.container || item.surface;
}

/**
 * Runs every cross-reference check; `report` is called once per problem.
 *
 * @example
 * ```ts
 * const problems: string[] = [];
 * crossCheck(exp, (file, path, problem) => problems.push(`${file} ${path}: ${problem}`));
 * ```
 */
export function crossCheck(exp: CheckedContent, report: Report): void {
  const { config, locations, items, npcs } = exp;
  const need = (ok: boolean, file: ContentFile, path: string, problem: string) => {
    if (!ok) report(file, path, problem);
    return ok;
  };
  const conditions = (file: ContentFile, path: string, c: Condition | undefined) =>
    checkCondition(exp, c, (p, problem) => report(file, `${path}${p}`, problem));
  const effects = (file: ContentFile, path: string, e: Effect | undefined) =>
    conditions(file, `${path}.requires`, e?.requires);

  need(config.start in locations, "config", "start", `unknown location '${config.start}'`);
  for (const [id, goal] of Object.entries(config.goals)) {
    conditions("config", `goals.${id}.when`, goal.when);
  }
  for (const [id, ending] of Object.entries(config.endings)) {
    conditions("config", `endings.${id}.when`, ending.when);
  }
  for (const [id, loc] of Object.entries(locations)) {
    for (const [dir, exit] of Object.entries(loc.exits)) {
      const to = typeof exit === "string" ? exit : exit!.to;
      need(to in locations, "locations", `${id}.exits.${dir}`, `unknown location '${to}'`);
      if (typeof exit === "object" && exit.door !== undefined) {
        const path = `${id}.exits.${dir}.door`;
        const door = items[exit.door];
        if (need(door !== undefined, "locations", path, `unknown item '${exit.door}'`)) {
          need(
            door!.location === id && !door!.portable && door!.openable !== undefined,
            "locations",
            path,
            `'${exit.door}' must be an openable, not portable item at '${id}'`,
          );
        }
        need(
          exit.locked === undefined,
          "locations",
          path,
          "an exit has a door or 'locked', not both",
        );
      }
    }
    loc.variants.forEach((v, i) => conditions("locations", `${id}.variants.${i}.when`, v.when));
  }
  for (const [id, item] of Object.entries(items)) {
    checkItem(exp, id, item, need);
    item.variants.forEach((v, i) => conditions("items", `${id}.variants.${i}.when`, v.when));
    effects("items", `${id}.openable.on_open`, item.openable?.on_open);
    effects("items", `${id}.openable.on_close`, item.openable?.on_close);
    effects("items", `${id}.lightable.on_light`, item.lightable?.on_light);
    effects("items", `${id}.lightable.on_extinguish`, item.lightable?.on_extinguish);
    for (const [target, effect] of Object.entries(item.uses)) {
      need(target in items, "items", `${id}.uses.${target}`, `unknown item '${target}'`);
      effects("items", `${id}.uses.${target}`, effect);
    }
  }
  for (const [id, npc] of Object.entries(npcs)) {
    need(npc.location in locations, "npcs", `${id}.location`, `unknown location '${npc.location}'`);
    npc.variants.forEach((v, i) => conditions("npcs", `${id}.variants.${i}.when`, v.when));
    for (const [itemId, want] of Object.entries(npc.wants)) {
      need(itemId in items, "npcs", `${id}.wants.${itemId}`, `unknown item '${itemId}'`);
      if (want.reward !== undefined) {
        need(
          items[want.reward]?.held_by === id,
          "npcs",
          `${id}.wants.${itemId}.reward`,
          `reward '${want.reward}' must be an item held_by '${id}'`,
        );
      }
      if (want.unlock) {
        const { location, direction } = want.unlock;
        const exit = locations[location]?.exits[direction];
        need(
          typeof exit === "object" && exit.locked !== undefined,
          "npcs",
          `${id}.wants.${itemId}.unlock`,
          `'${location}' has no locked exit '${direction}'`,
        );
      }
    }
  }
}

function checkItem(
  exp: CheckedContent,
  id: string,
  item: CheckedContent["items"][string],
  need: (ok: boolean, file: ContentFile, path: string, problem: string) => boolean,
): void {
  const { locations, items, npcs } = exp;
  need(!(id in npcs), "items", id, `'${id}' is also an NPC id`);
  if (item.location !== undefined) {
    need(
      item.location in locations,
      "items",
      `${id}.location`,
      `unknown location '${item.location}'`,
    );
  }
  if (item.held_by !== undefined) {
    need(item.held_by in npcs, "items", `${id}.held_by`, `unknown NPC '${item.held_by}'`);
  }
  if (item.inside !== undefined) {
    const parent = items[item.inside];
    const path = `${id}.inside`;
    if (need(parent !== undefined, "items", path, `unknown item '${item.inside}'`)) {
      need(holdsThings(parent!), "items", path, `'${item.inside}' is not a container`);
      need(parent!.inside === undefined, "items", path, "containers nest one level only");
    }
    need(!holdsThings(item), "items", path, "a container cannot start inside another");
  }
  if (item.openable?.key !== undefined) {
    need(
      item.openable.key in items,
      "items",
      `${id}.openable.key`,
      `unknown item '${item.openable.key}'`,
    );
  }
  const path = `${id}.availability`;
  if (item.availability !== "unique") {
    need(!holdsThings(item), "items", path, `a container is always unique`);
  }
  if (item.availability === "respawning") {
    need(item.location !== undefined, "items", path, "a respawning item starts at a location");
  }
  if (item.availability === "per-player" && item.inside !== undefined) {
    need(
      items[item.inside]?.portable === false,
      "items",
      path,
      "a per-player item inside a container needs a container that cannot be taken",
    );
  }
  if (item.respawn_after !== undefined) {
    need(
      item.availability === "respawning",
      "items",
      `${id}.respawn_after`,
      "only respawning items respawn",
    );
  }
}

/** Checks the ids a condition names, recursively; `report` gets the path below the condition. */
function checkCondition(
  exp: CheckedContent,
  c: Condition | undefined,
  report: (path: string, problem: string) => void,
): void {
  if (!c) return;
  const { locations, items, npcs, config } = exp;
  const need = (ok: boolean, path: string, problem: string) => {
    if (!ok) report(path, problem);
  };
  const item = (id: string | undefined, path: string) =>
    id !== undefined && need(id in items, path, `unknown item '${id}'`);
  const location = (id: string | undefined, path: string) =>
    id !== undefined && need(id in locations, path, `unknown location '${id}'`);
  item(c.holds, ".holds");
  location(c.at, ".at");
  item(c.item_at?.item, ".item_at.item");
  location(c.item_at?.location, ".item_at.location");
  item(c.item_is?.item, ".item_is.item");
  if (c.exit_open) {
    const { location: loc, direction } = c.exit_open;
    need(
      locations[loc]?.exits[direction] !== undefined,
      ".exit_open",
      `'${loc}' has no exit '${direction}'`,
    );
  }
  if (c.given) {
    const npc = npcs[c.given.npc];
    need(npc !== undefined, ".given.npc", `unknown NPC '${c.given.npc}'`);
    need(
      npc === undefined || c.given.item in npc.wants,
      ".given.item",
      `'${c.given.npc}' does not want '${c.given.item}'`,
    );
  }
  if (c.goal !== undefined) need(c.goal in config.goals, ".goal", `unknown goal '${c.goal}'`);
  c.all?.forEach((x, i) => checkCondition(exp, x, (p, m) => report(`.all.${i}${p}`, m)));
  c.any?.forEach((x, i) => checkCondition(exp, x, (p, m) => report(`.any.${i}${p}`, m)));
  checkCondition(exp, c.not, (p, m) => report(`.not${p}`, m));
}
