/**
 * The developer view: one row per world update (what it changed, from the
 * actor's view, and its KB commit → paint latency) and notes such as
 * snapshot refetches and their reasons. Hidden from players behind the
 * "Developer view" toggle, whose state is remembered in `localStorage`.
 *
 * @module
 */
import { describe, flash } from "/client/view.js";

const ROWS = 30;
const OPEN_KEY = "gaia.dev";

/**
 * Wires the toggle (`<details id="dev">`) to `localStorage`.
 *
 * @example
 * ```js
 * devToggle(document);
 * ```
 */
export function devToggle(doc = document) {
  const details = doc.getElementById("dev");
  details.open = globalThis.localStorage?.getItem(OPEN_KEY) === "1";
  details.addEventListener("toggle", () => {
    globalThis.localStorage?.setItem(OPEN_KEY, details.open ? "1" : "0");
  });
}

/**
 * A row for a world update; its `.lat` span gets the latency once painted.
 *
 * @example
 * ```js
 * const row = changeRow(event, prevSnapshot, "ada");
 * ```
 */
export function changeRow(event, prev, me, doc = document) {
  const li = doc.createElement("li");
  li.dataset.id = event.id;
  const text = doc.createElement("span");
  text.textContent = describe(event, prev, me);
  const lat = doc.createElement("span");
  lat.className = "lat";
  li.append(text, " ", lat);
  addRow(li, doc);
  return li;
}

/**
 * A note row (a snapshot refetch and its reason).
 *
 * @example
 * ```js
 * noteRow("refetched (bus_reconnected)");
 * ```
 */
export function noteRow(text, doc = document) {
  const li = doc.createElement("li");
  li.className = "note";
  li.textContent = text;
  addRow(li, doc);
  return li;
}

function addRow(li, doc) {
  const list = doc.getElementById("changes");
  list.prepend(li);
  flash(li);
  while (list.children.length > ROWS) list.lastElementChild.remove();
}
