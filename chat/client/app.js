/**
 * The local-play client: dev sign-in, experience choice, the scene (only
 * players present, from the world stream's `presence` events), the story
 * (story.js: the player's turns, other players' actions in the third person,
 * speech heard here; kept across a reload) above the command box, and the
 * persistent world stream that keeps it all live. The KB commit → paint log
 * is the developer view (devlog.js), behind a toggle. Measurements for tests and the curious are on
 * `window.__gaia` (all times are ms since the epoch, this page's clock):
 * `paints` (per event: KB commit → paint), `commands` (submit, first world
 * render, first narrative text, done), `connectionLog`, `resyncs`.
 *
 * About 400 lines: the page's controller, wiring the client's modules
 * (view, story, live world, game, input, dev log) to the page's events.
 *
 * @module
 */
import { postSse } from "/client/sse.js";
import { LiveWorld } from "/client/live.js";
import { exitItem, flash, quietEvent, reconcile, textItem, viewModel } from "/client/view.js";
import {
  ContentWatch,
  introduce,
  showExperiences,
  showProblems,
  showProgress,
} from "/client/game.js";
import { speechLine, Transcript } from "/client/story.js";
import { changeRow, devToggle, noteRow } from "/client/devlog.js";
import { historyKey, inputProblem, showHint } from "/client/input.js";

const API = "/api/v0.3";
const KEEP = 500; // entries kept in each __gaia log
const $ = (id) => document.getElementById(id);
const now = () => performance.timeOrigin + performance.now();
const store = globalThis.sessionStorage;

const gaia = globalThis.__gaia = {
  user: null,
  experience: null,
  connection: "reconnecting",
  connectionLog: [],
  version: null,
  firstContentAt: null,
  paints: [],
  commands: [],
  resyncs: [],
  stats: null,
  /** User ids present (presence events). */
  present: [],
  /** `say` events heard, with when they arrived and were painted. */
  heard: [],
};
const push = (list, entry) => {
  list.push(entry);
  if (list.length > KEEP) list.shift();
};

const S = {
  token: store.getItem("gaia.token"),
  user: store.getItem("gaia.user"),
  experience: store.getItem("gaia.experience"),
  conversation: store.getItem("gaia.conversation"),
  experiences: [],
  /** The LiveWorld of the current experience. */
  live: null,
  /** Content problems of the current experience (dev). */
  watch: null,
  /** Descriptions as they read for this player now (location id → text). */
  described: null,
  shown: new Set(),
  sources: new Map(),
  /** Players present in this experience (user id → {name, location}), from `presence` events. */
  present: new Map(),
  /** The story of the current experience (story.js). */
  story: null,
  history: [],
  historyAt: 0,
};

function showConnection(state) {
  gaia.connection = state;
  push(gaia.connectionLog, { state, at: now() });
  const badge = $("connection");
  badge.dataset.state = state;
  badge.textContent = state;
}

/** Both streams deliver the actor's events; the first copy counts. */
function onWorldUpdate(event, source) {
  const receivedAt = now();
  if (S.live?.receive(event)) S.sources.set(event.id, { source, receivedAt });
}

// ---------- rendering ----------

function render(prev, next, events, reason) {
  const vm = viewModel(next, S.user, S.described, S.present);
  const before = prev ? viewModel(prev, S.user, S.described, S.present) : null;
  // Moving somewhere else flashes the heading only: every list is new there.
  const moved = before !== null && before.location !== vm.location;
  const hl = before !== null && !moved;
  const heading = $("location-name");
  if (heading.textContent !== vm.name) heading.textContent = vm.name;
  if (moved) flash(heading);
  $("location-desc").textContent = vm.description;
  $("location-desc").hidden = !vm.description;
  let lostFocus = reconcile($("exits"), vm.exits, exitButton, hl);
  lostFocus = reconcile($("items"), vm.items, textItem, hl) || lostFocus;
  lostFocus = reconcile($("people"), vm.people, textItem, hl) || lostFocus;
  lostFocus = reconcile($("inventory"), vm.inventory, textItem, hl) || lostFocus;
  reconcile($("elsewhere"), vm.elsewhere, textItem, hl);
  $("elsewhere-block").hidden = next.state_model !== "shared";
  showProgress(vm);
  // A reset moved the world to a new epoch: this player's profile counts as fresh now.
  if (prev && (prev.world?.epoch ?? 0) !== (next.world?.epoch ?? 0)) {
    S.live?.load("reset");
    refreshDescriptions();
  }
  if (reason === "initial") refreshDescriptions();
  if (lostFocus) $("command").focus();
  gaia.version = next.version;
  gaia.stats = S.live?.sync.stats ?? null;

  const renderedAt = now();
  // Each event gets one change row and one paint record, however often it is re-applied.
  const fresh = events.filter((e) => !S.shown.has(e.id));
  for (const e of fresh) S.shown.add(e.id);
  while (S.shown.size > 4096) S.shown.delete(S.shown.values().next().value);
  // Other players' actions this player witnesses (the actor was or is here) go into the story.
  for (const e of fresh) {
    if (e.user_id === S.user || !e.third_person || quietEvent(e)) continue;
    const was = prev?.world?.players?.[e.user_id]?.location;
    const is = next.world?.players?.[e.user_id]?.location;
    if (was === vm.location || is === vm.location) S.story?.line("other", e.third_person);
  }
  // Events that only keep the conversation change nothing to show.
  const rows = fresh.map((e) => quietEvent(e) ? null : changeRow(e, prev, S.user));
  // Refetches that only refresh text are quiet; the others' reasons are for developers only.
  const quiet = ["update", "initial", "describe", "content", "presence"];
  if (!quiet.includes(reason)) rows.push(noteRow(`refetched (${reason})`));
  requestAnimationFrame(() => {
    const paintedAt = now();
    if (gaia.firstContentAt === null) gaia.firstContentAt = paintedAt;
    fresh.forEach((e, i) => {
      const latencyMs = paintedAt - e.timestamp;
      push(gaia.paints, {
        id: e.id,
        version: e.version,
        user: e.user_id,
        source: S.sources.get(e.id)?.source ?? "snapshot",
        receivedAt: S.sources.get(e.id)?.receivedAt ?? renderedAt,
        commitAt: e.timestamp,
        renderedAt,
        paintedAt,
        latencyMs,
      });
      S.sources.delete(e.id);
      const lat = rows[i]?.querySelector(".lat");
      if (lat) lat.textContent = `${Math.max(0, Math.round(latencyMs))} ms`;
    });
  });
}

/** An exit's button: clicking it goes that way (timed from the click). */
const exitButton = (entry) =>
  exitItem(entry, (dir, ev) => command(`go ${dir}`, performance.timeOrigin + ev.timeStamp));

// ---------- commands and narrative ----------

async function command(message, submittedAt = now()) {
  if (!S.live || !S.story) return;
  const cmd = {
    message,
    submittedAt,
    eventIds: [],
    firstContentAt: null,
    doneAt: null,
    error: null,
  };
  push(gaia.commands, cmd);
  const turn = S.story.turn(message);
  const body = { message, experience: S.experience };
  const changes = [];
  if (S.conversation) body.conversation_id = S.conversation;
  try {
    await postSse(`${API}/chat`, body, S.token, (m) => {
      const data = JSON.parse(m.data);
      if (m.event === "metadata") {
        S.conversation = data.conversation_id;
        store.setItem("gaia.conversation", S.conversation);
      } else if (m.event === "intent") {
        // What free-form text was understood as, before the prose: "(take dream bottle)".
        turn.understood(data.command);
      } else if (m.event === "world_update") {
        cmd.eventIds.push(data.id);
        changes.push(data);
        onWorldUpdate(data, "chat");
      } else if (m.event === "content") {
        turn.append(data.content);
        cmd.firstContentAt ??= now();
      } else if (m.event === "say") {
        // The server's confirmation of the player's own speech.
        turn.append(speechLine(data, true));
        cmd.firstContentAt ??= now();
      } else if (m.event === "error") {
        cmd.error = data.code;
        turn.error(data.message);
      } else if (m.event === "resync") {
        S.live?.resync(data.reason ?? "server");
      } else if (m.event === "done") {
        cmd.doneAt = now();
      }
    });
  } catch (e) {
    cmd.error = e.code ?? "network";
    turn.error(e.status ? e.message : "The server cannot be reached.");
    if (e.status === 401) signOut("Your session expired; sign in again.");
  }
  cmd.doneAt ??= now();
  turn.done();
  // Descriptions can follow state (a door opened, a lamp lit): refetch them after a change.
  if (changes.some((e) => !quietEvent(e))) refreshDescriptions();
}

/** A `presence` event: who is in this experience now, and where. */
function onPresence(p) {
  if (p.state === "here") S.present.set(p.user_id, { name: p.name, location: p.location });
  else S.present.delete(p.user_id);
  gaia.present = [...S.present.keys()];
  const snap = S.live?.sync.snapshot;
  if (snap) render(snap, snap, [], "presence");
}

/** A `say` event: someone here spoke or acted. */
function onSay(say) {
  const heard = { ...say, receivedAt: now(), paintedAt: undefined };
  push(gaia.heard, heard);
  S.story?.line(say.kind, speechLine(say, false));
  requestAnimationFrame(() => heard.paintedAt = now());
}

/** Fetches the descriptions as they read now and shows them (content varies them with state). */
async function refreshDescriptions() {
  const live = S.live;
  const d = await live?.fetchDescriptions().catch(() => null);
  if (!d || live !== S.live || !live.sync.snapshot) return;
  S.described = d.locations ?? null;
  const snap = live.sync.snapshot;
  render(snap, snap, [], "describe");
}

// ---------- sign-in and lifecycle ----------

async function loadExperiences() {
  const status = $("experiences-status");
  try {
    const res = await fetch(`${API}/experiences`, { cache: "no-store" });
    S.experiences = (await res.json()).experiences ?? [];
  } catch {
    status.textContent = "The server cannot be reached; retrying…";
    setTimeout(loadExperiences, 2000);
    return;
  }
  status.remove();
  const chosen = S.experience ?? S.experiences.find((x) => x.state_model === "shared")?.id;
  showExperiences($("experiences"), S.experiences, chosen);
  if (S.token && S.user && S.experience) enterGame();
}

async function signIn(ev) {
  ev.preventDefault();
  const error = $("signin-error");
  error.textContent = "";
  const user = $("name").value.trim();
  const experience = new FormData(ev.target).get("experience");
  if (!user || !experience) {
    error.textContent = !user ? "Enter a player name." : "Choose an experience.";
    return;
  }
  try {
    const res = await fetch(`${API}/dev/login`, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ user }),
    });
    const body = await res.json();
    if (!res.ok) throw new Error(body.error?.message ?? `sign-in failed (${res.status})`);
    S.token = body.token;
    S.user = body.user ?? user;
  } catch (e) {
    error.textContent = e instanceof TypeError ? "The server cannot be reached." : e.message;
    return;
  }
  S.experience = String(experience);
  store.setItem("gaia.token", S.token);
  store.setItem("gaia.user", S.user);
  store.setItem("gaia.experience", S.experience);
  enterGame();
}

function enterGame() {
  const x = S.experiences.find((e) => e.id === S.experience);
  gaia.user = S.user;
  gaia.experience = S.experience;
  $("whoami").textContent = `${S.user} · ${x?.name ?? S.experience}`;
  $("experience-desc").textContent = x?.description ?? "";
  for (const id of ["whoami", "connection", "leave", "signout", "game"]) $(id).hidden = false;
  $("signin").hidden = true;
  S.story = new Transcript({
    root: $("narrative"),
    key: `gaia.transcript:${S.user}:${S.experience}`,
    storage: store,
  });
  S.story.restore();
  S.present.clear();
  S.live = new LiveWorld({
    experience: S.experience,
    token: S.token,
    onEvent: onWorldUpdate,
    onPresence,
    onSay,
    // Every (re)opened stream starts with the whole roster.
    onStreamOpen: () => S.present.clear(),
    onChange: render,
    onConnection: showConnection,
    onResync: (reason) => push(gaia.resyncs, { reason, at: now() }),
    onUnauthorized: () => signOut("Your session expired; sign in again."),
  });
  S.live.start();
  S.watch = new ContentWatch({
    experience: S.experience,
    onProblems: showProblems,
    onRevision: () => {
      S.live?.load("content");
      refreshDescriptions();
    },
  });
  S.watch.start();
  introduce(x, command, S.story);
  $("command").focus();
}

function leaveGame() {
  S.live?.stop();
  S.live = null;
  S.watch?.stop();
  S.watch = null;
  S.described = null;
  S.story = null;
  S.present.clear();
  showProblems([]);
  S.shown.clear();
  S.sources.clear();
  showConnection("reconnecting");
  for (const id of ["exits", "items", "people", "inventory", "elsewhere", "changes", "narrative"]) {
    $(id).replaceChildren();
  }
  $("location-name").textContent = "";
  // Nothing connects outside a game: no badge that says otherwise.
  for (const id of ["whoami", "connection", "leave", "signout", "game"]) $(id).hidden = true;
  $("signin").hidden = false;
  store.removeItem("gaia.experience");
  store.removeItem("gaia.conversation");
  S.experience = null;
  S.conversation = null;
  $("name").value = S.user ?? "";
  $("name").focus();
}

function signOut(message = "") {
  leaveGame();
  store.clear();
  S.token = null;
  $("signin-error").textContent = message;
}

$("signin-form").addEventListener("submit", signIn);
$("command").addEventListener("input", (ev) => {
  const message = ev.target.value.trim();
  // Empty while typing is no problem yet; a too-long line is said at once.
  showHint(message ? inputProblem(message) : null);
});
$("command-form").addEventListener("submit", (ev) => {
  ev.preventDefault();
  const input = $("command");
  const message = input.value.trim();
  const problem = inputProblem(message);
  showHint(problem);
  if (problem) {
    input.focus();
    return;
  }
  S.history.push(message);
  S.historyAt = S.history.length;
  input.value = "";
  command(message, performance.timeOrigin + ev.timeStamp);
});
$("command").addEventListener("keydown", (ev) => historyKey(ev, S));
$("leave").addEventListener("click", leaveGame);
$("signout").addEventListener("click", () => signOut());
$("name").value = S.user ?? "";
devToggle();
showHint(null);
loadExperiences();
