/**
 * What the page shows of a snapshot (location, exits, items, people,
 * inventory), keyed DOM updates that highlight what changed, and one-line
 * descriptions of world updates for the change log.
 *
 * World layout (kb/world.ts): `locations.<id> = {name, exits: {<dir>: {to}},
 * items}`, `npcs.<id> = {name, location, has}`, `players.<user> = {name,
 * location}` (shared worlds); player: `{name, location, inventory, exits?,
 * claimed?, score?, ending?}` (exits open for this player only; per-player
 * items whose copy this player took, hidden here; progress).
 *
 * @module
 */
import { splitPath } from "/shared/apply.js";

/** "open", "lit", "locked": what an item's state shows. */
function stateWords(state) {
  if (!state) return [];
  const words = [];
  if (state.lit === true) words.push("lit");
  if (state.open === true) words.push("open");
  else if (state.locked === true) words.push("locked");
  return words;
}

/** @param {any} record @param {Record<string, true>} hidden */
function itemLabel(record, hidden = {}) {
  const name = record?.name ?? "something";
  const words = stateWords(record?.state);
  const shut = record?.state?.open === false;
  if (record?.contents && !shut) {
    const inside = Object.entries(record.contents).filter(([id]) => !hidden[id])
      .map(([, r]) => itemLabel(r, hidden));
    words.push(inside.length ? inside.join(", ") : "empty");
  }
  return words.length ? `${name} (${words.join("; ")})` : name;
}

/** @param {any} items @param {Record<string, true>} hidden */
function itemEntries(items, hidden = {}) {
  return Object.entries(items ?? {}).filter(([id]) => !hidden[id])
    .map(([id, r]) => ({ key: id, label: itemLabel(r, hidden) }));
}

/**
 * The view model of a snapshot for user `me`; `described` (location id →
 * description) overrides the snapshot's static descriptions. Other players
 * are listed only while `present` (user id → `{name, location}`, from the
 * world stream's `presence` events) has them, also before their first action
 * put them in the world; without `present`, every player the world knows.
 *
 * @example
 * ```js
 * const vm = viewModel(snapshot, "alice", described, present); // vm.items[0].label
 * ```
 */
export function viewModel(snapshot, me, described = null, present = null) {
  const world = snapshot?.world ?? {};
  const player = snapshot?.player ?? {};
  const here = player.location;
  const locations = world.locations ?? {};
  const loc = locations[here] ?? {};
  const nameOf = (id) => locations[id]?.name ?? id;
  // Per-player items this player already took a copy of are not here for them.
  const hidden = player.claimed ?? {};
  const open = { ...loc.exits, ...player.exits?.[here] };
  const exits = Object.entries(open).map(([dir, e]) => ({
    key: `${dir}>${e?.to}`,
    dir,
    label: `${dir}: ${nameOf(e?.to)}`,
  }));
  const people = [];
  const elsewhere = [];
  for (const [id, npc] of Object.entries(world.npcs ?? {})) {
    if (npc?.location === here) {
      people.push({ key: `npc:${id}`, label: npc.name ?? id, kind: "npc" });
    }
  }
  const players = present
    ? [...present].map(([id, p]) => [id, world.players?.[id] ?? p])
    : Object.entries(world.players ?? {});
  for (const [id, p] of players) {
    if (id === me) continue;
    const entry = { key: `player:${id}`, label: p?.name ?? id, kind: "player" };
    if (p?.location === here) people.push(entry);
    else elsewhere.push({ ...entry, label: `${entry.label} (${nameOf(p?.location)})` });
  }
  return {
    location: here ?? "",
    name: loc.name ?? here ?? "",
    // As it reads for this player now (`/world/describe`), else as content writes it.
    description: described?.[here] ?? snapshot?.descriptions?.locations?.[here] ?? "",
    exits,
    items: itemEntries(loc.items, hidden),
    people,
    elsewhere,
    inventory: itemEntries(player.inventory),
    score: typeof snapshot?.descriptions?.max_score === "number" &&
        snapshot.descriptions.max_score > 0
      ? { points: player.score ?? 0, max: snapshot.descriptions.max_score }
      : null,
    ending: player.ending ?? null,
  };
}

/**
 * A list entry with a button for an exit; `go(dir, clickEvent)` runs on click.
 *
 * @example
 * ```js
 * reconcile(list, vm.exits, (e) => exitItem(e, (dir) => command(`go ${dir}`)), true);
 * ```
 */
export function exitItem(entry, go, doc = document) {
  const li = doc.createElement("li");
  const b = doc.createElement("button");
  b.type = "button";
  b.textContent = entry.label;
  b.addEventListener("click", (ev) => go(entry.dir, ev));
  li.append(b);
  return li;
}

/**
 * A list entry of text (an item, a person: `kind` becomes its class).
 *
 * @example
 * ```js
 * reconcile(list, vm.people, textItem, true);
 * ```
 */
export function textItem(entry, doc = document) {
  const li = doc.createElement("li");
  li.textContent = entry.label;
  if (entry.kind) li.className = entry.kind;
  return li;
}

/** Restarts the highlight animation on `el`. */
export function flash(el) {
  el.classList.remove("changed");
  void el.offsetWidth; // restart the animation
  el.classList.add("changed");
  clearTimeout(el._flashTimer);
  el._flashTimer = setTimeout(() => el.classList.remove("changed"), 1600);
}

/**
 * Makes `list` show `entries` (by key), reusing unchanged elements so focus
 * stays put; new or changed entries flash, a removal flashes the list.
 * Returns whether the focused element was removed.
 *
 * @param {HTMLElement} list
 * @param {{key: string, label: string}[]} entries
 * @param {(entry: any) => HTMLElement} make
 * @param {boolean} highlight
 */
export function reconcile(list, entries, make, highlight) {
  const old = new Map();
  for (const li of list.children) old.set(li.dataset.key, li);
  const hadFocus = list.contains(document.activeElement);
  entries.forEach((entry, i) => {
    let li = old.get(entry.key);
    if (li && li.dataset.label === entry.label) old.delete(entry.key);
    else {
      li = make(entry);
      li.dataset.key = entry.key;
      li.dataset.label = entry.label;
      if (highlight) flash(li);
    }
    if (list.children[i] !== li) list.insertBefore(li, list.children[i] ?? null);
  });
  for (const li of old.values()) li.remove();
  if (highlight && old.size > 0) flash(list);
  return hadFocus && !list.contains(document.activeElement);
}

/**
 * Whether an event only keeps a player's conversation (the last command,
 * the last things named) or carries nothing for this page: no change row,
 * no refetch.
 *
 * @example
 * ```js
 * quietEvent({ changes: { player: [{ operation: "update", path: "context", data: {} }] } }); // true
 * ```
 */
export function quietEvent(event) {
  const world = event.changes?.world ?? [];
  const player = event.changes?.player ?? [];
  return world.length === 0 && player.every((op) => splitPath(op.path)[0] === "context");
}

/**
 * One line saying what a world update changed, from the actor's view.
 *
 * @example
 * ```js
 * describe(event, prevSnapshot, "bob"); // "alice: dream bottle gone from Woander's Store"
 * ```
 */
export function describe(event, prev, me) {
  const world = prev?.world ?? {};
  const loc = (id) => world.locations?.[id]?.name ?? id;
  const parts = [];
  const worldOps = event.changes?.world ?? [];
  for (const op of worldOps) {
    const s = splitPath(op.path);
    const name = op.data?.name;
    if (s[0] === "locations" && s[2] === "items" && s.length === 4) {
      const item = name ?? world.locations?.[s[1]]?.items?.[s[3]]?.name ?? s[3];
      if (op.operation === "remove") parts.push(`${item} gone from ${loc(s[1])}`);
      else if (op.operation === "add") parts.push(`${item} now in ${loc(s[1])}`);
    } else if (s[0] === "locations" && s[2] === "exits" && op.operation !== "remove") {
      parts.push(`a way ${s[3]} opened in ${loc(s[1])}`);
    } else if (s[0] === "locations" && s[2] === "exits") {
      parts.push(`the way ${s[3]} closed in ${loc(s[1])}`);
    } else if (s.length === 0 && op.data?.epoch !== undefined) {
      parts.push("the world was reset");
    } else if (["instances", "respawn"].includes(s[0])) {
      continue; // bookkeeping of copies and respawns: the item changes say it
    } else if (s.includes("state")) {
      parts.push(`${world.locations?.[s[1]]?.items?.[s[3]]?.name ?? s[3] ?? "something"} changed`);
    } else if (s[0] === "players" && s.length === 2) {
      // The actor's own presence reads "alice: went to ..."; anyone else's names them.
      const who = s[1] === event.user_id ? "" : `${s[1]} `;
      if (op.operation === "remove") parts.push(`${who}left`);
      else if (op.operation === "add") parts.push(`${who}entered the world`);
      else if (op.data?.location) parts.push(`${who}went to ${loc(op.data.location)}`);
    } else if (s[0] === "npcs" && s[2] === "has" && s.length === 4) {
      const npc = world.npcs?.[s[1]]?.name ?? s[1];
      parts.push(op.operation === "remove" ? `${npc} gave something away` : `${npc} got ${name}`);
    } else if (s.includes("contents")) {
      parts.push(op.operation === "remove" ? `something taken out` : `${name} put away`);
    } else {
      parts.push(`${op.operation} ${op.path}`);
    }
  }
  if (event.user_id === me) {
    const presence = worldOps.some((op) => op.path.startsWith("players."));
    for (const op of event.changes?.player ?? []) {
      const s = splitPath(op.path);
      // A move in an isolated world (shared worlds say it in world.players);
      // an op that carries the inventory is the profile's creation, not a move.
      if (s.length === 0 && op.data?.location && !("inventory" in op.data) && !presence) {
        parts.push(`went to ${loc(op.data.location)}`);
      }
      if (s[0] === "ending") parts.push(`reached the ending: ${op.data?.title}`);
      if (s.length === 0 && typeof op.data?.score === "number") {
        parts.push(`score ${op.data.score}`);
      }
      if (s[0] !== "inventory" || s.length !== 2) continue;
      const item = op.data?.name ?? prev?.player?.inventory?.[s[1]]?.name ?? s[1];
      parts.push(op.operation === "remove" ? `−${item} (inventory)` : `+${item} (inventory)`);
    }
  }
  const who = event.user_id === me ? "you" : event.user_id;
  const unique = [...new Set(parts)];
  return `${who}: ${unique.length ? unique.slice(0, 4).join("; ") : "acted"}`;
}
