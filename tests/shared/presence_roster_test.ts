/**
 * The pure parts of presence and speech: the roster (arrivals, moves, a
 * user on two processes, leaving, expiry of a silent process) and the
 * speech forms with their limits.
 */
import assert from "node:assert/strict";
import { Roster } from "../../shared/presence_roster.ts";
import type { PresenceBeat } from "../../shared/presence_schema.ts";
import { parseSpeech, speechProblem } from "../../shared/speech.ts";

const beat = (
  user: string,
  process: string,
  location: string,
  state: "here" | "left" = "here",
): PresenceBeat => ({ experience: "x", process, user_id: user, name: user, location, state });

Deno.test("roster: arrive, move, heartbeat, a second process, leave", () => {
  const r = new Roster();
  assert.deepEqual(r.apply(beat("ada", "p1", "glade"), 0), {
    user_id: "ada",
    name: "ada",
    location: "glade",
    state: "here",
  });
  assert.equal(r.apply(beat("ada", "p1", "glade"), 5), undefined, "a heartbeat changes nothing");
  assert.equal(r.apply(beat("ada", "p1", "store"), 6)?.location, "store", "a move");
  assert.equal(r.apply(beat("ada", "p2", "store"), 7), undefined, "a second process (another tab)");
  assert.equal(r.apply(beat("ada", "p1", "store", "left"), 8), undefined, "still on p2");
  assert.deepEqual(r.apply(beat("ada", "p2", "store", "left"), 9)?.state, "left");
  assert.deepEqual(r.present(), []);
  assert.equal(r.size, 0);
});

Deno.test("roster: a silent process is forgotten after maxAge; the kept process never", () => {
  const r = new Roster();
  r.apply(beat("ada", "me", "glade"), 0);
  r.apply(beat("bryn", "them", "glade"), 0);
  assert.deepEqual(r.expire(9_999, 10_000, "me"), []);
  assert.deepEqual(r.expire(10_000, 10_000, "me").map((c) => [c.user_id, c.state]), [[
    "bryn",
    "left",
  ]]);
  assert.deepEqual(r.present().map((p) => p.user_id), ["ada"]);
});

Deno.test("speech: every form, quotes, control characters and the limits", () => {
  assert.deepEqual(parseSpeech("say hello there"), { kind: "say", text: "hello there" });
  assert.deepEqual(parseSpeech("SAY hi"), { kind: "say", text: "hi" });
  assert.deepEqual(parseSpeech("'hi"), { kind: "say", text: "hi" });
  assert.deepEqual(parseSpeech('"hi there"'), { kind: "say", text: "hi there" });
  assert.deepEqual(parseSpeech("emote waves"), { kind: "emote", text: "waves" });
  assert.deepEqual(parseSpeech("me bows"), { kind: "emote", text: "bows" });
  assert.deepEqual(parseSpeech("say a\u0000b\nc"), { kind: "say", text: "a b c" });
  for (const command of ["take lantern", "sayonara", "meet owl", "look", "emotes"]) {
    assert.equal(parseSpeech(command), undefined, command);
  }
  assert.equal(speechProblem(parseSpeech("say")!), "say_empty");
  assert.equal(
    speechProblem(parseSpeech(`say ${"🙂".repeat(500)}`)!),
    undefined,
    "500 code points",
  );
  assert.equal(speechProblem(parseSpeech(`say ${"🙂".repeat(501)}`)!), "say_too_long");
});

Deno.test("roster: presentAt gives at most limit of one location's players", () => {
  const r = new Roster();
  for (
    const [u, at] of [["ada", "glade"], ["bryn", "store"], ["cleo", "glade"], ["dara", "glade"]]
  ) {
    r.apply(beat(u!, "p1", at!), 0);
  }
  assert.deepEqual(r.presentAt("glade", 10).map((p) => p.user_id), ["ada", "cleo", "dara"]);
  assert.deepEqual(r.presentAt("glade", 2).map((p) => p.user_id), ["ada", "cleo"]);
  assert.deepEqual(r.presentAt("store", 0), []);
  assert.deepEqual(r.presentAt("nowhere", 5), []);
});
