/**
 * Speech (`say`, `'`, `"`, `emote`, `me`) against the real KB and a real
 * nats-server: it reaches exactly the other players at the speaker's
 * location in the same experience (hostile user ids included), never the
 * state, the speaker's chat answer confirms it, and bad speech (empty, over
 * 500 characters, too fast) is a 4xx that sends nothing. One test speaks
 * from a second chat process.
 */
import assert from "node:assert/strict";
import { ManualClock } from "../../shared/clock.ts";
import { delay, eventually, GLADE, setup, type SseClient } from "../_helpers/mod.ts";

const USERS = [
  "*",
  ">",
  "a.b",
  "player@example.com",
  "L" + "ong-".repeat(63) + "xyz", // the longest user id (256 characters)
  "../x",
  "Jörmungandr-名前-🙂",
];
/** Two shared experiences (the glade's players start in the glade, the cellar's in the cellar). */
const EXPERIENCES = [GLADE.shared, GLADE.cellar];

Deno.test("say: only the other players at the same location of the same experience hear it", async () => {
  await using h = await setup({ content: "glade" });
  const streams = new Map<string, SseClient>();
  for (const x of EXPERIENCES) {
    for (const u of USERS) streams.set(`${u}\u0000${x}`, await h.world(u, x));
  }
  // The last two players of the glade go north: a second location there.
  for (const u of USERS.slice(-2)) {
    assert.equal((await h.act(u, "north", GLADE.shared)).status, 200);
  }
  const at = (u: string, x: string) =>
    x === GLADE.shared && USERS.slice(-2).includes(u)
      ? "store"
      : x === GLADE.shared
      ? "glade"
      : "cellar";
  // Presence has followed the moves (the speaker's place is what chat knows).
  await eventually(
    () =>
      USERS.slice(-2).every((u) =>
        h.chat.presence.present(GLADE.shared).find((p) => p.user_id === u)?.location === "store"
      ),
    { what: "moves seen by presence" },
  );

  const said: { user: string; experience: string; text: string }[] = [];
  for (const x of EXPERIENCES) {
    for (const u of USERS) {
      const text = `<b>${u}</b> in ${x} & "hi"`;
      const msgs = await h.play(u, `say ${text}`, x);
      assert.deepEqual(msgs.map((m) => m.event), ["metadata", "say", "done"]);
      assert.equal(msgs[0]!.data.model, "none");
      assert.deepEqual(
        { ...msgs[1]!.data, timestamp: 0 },
        { user_id: u, name: u, location: at(u, x), kind: "say", text, timestamp: 0 },
      );
      said.push({ user: u, experience: x, text });
    }
  }
  for (const [key, s] of streams) {
    const [u, x] = key.split("\u0000") as [string, string];
    const expected = said.filter((l) =>
      l.experience === x && l.user !== u && at(l.user, x) === at(u, x)
    )
      .map((l) => l.text);
    const got = (await s.take(expected.length, "say")).map((m) => m.data.text);
    assert.deepEqual(got, expected, `${JSON.stringify(u)} in ${x}`);
  }
  // Nothing more on its way: every line above was sent before these checks.
  await delay(200);
  for (const [key, s] of streams) {
    const [u, x] = key.split("\u0000") as [string, string];
    const expected = said.filter((l) =>
      l.experience === x && l.user !== u && at(l.user, x) === at(u, x)
    );
    assert.equal(
      s.received("say").length,
      expected.length,
      `${JSON.stringify(u)} in ${x}: no stray line`,
    );
  }
  // Speech is not state: the world is at the version the moves left it.
  const state = await h.state("*", GLADE.shared);
  assert.equal(JSON.stringify(state).includes("in glade &"), false);
  await Promise.all([...streams.values()].map((s) => s.close()));
});

Deno.test("say: every form, emote, and the speaker's JSON answer", async () => {
  await using h = await setup({ content: "glade" });
  const bob = await h.world("bob", GLADE.shared);
  const forms: [string, string, string][] = [
    ["say hello", "say", "hello"],
    ["'quoted", "say", "quoted"],
    ['"closed quote"', "say", "closed quote"],
    ["emote waves", "emote", "waves"],
    ["me bows low", "emote", "bows low"],
  ];
  for (const [message, kind, text] of forms) {
    const r = await h.act("ann", message, GLADE.shared);
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.deepEqual([r.body.say.kind, r.body.say.text], [kind, text]);
    assert.deepEqual(r.body.world_updates, []);
  }
  const heard = (await bob.take(forms.length, "say")).map((m) => [m.data.kind, m.data.text]);
  assert.deepEqual(heard, forms.map(([, k, t]) => [k, t]));
  await bob.close();
});

Deno.test("say: empty, over 500 characters, too fast or an unknown experience is a 4xx and sends nothing", async () => {
  const clock = new ManualClock(0);
  await using h = await setup({ content: "glade", clock, env: { SAY_RATE: "1", SAY_BURST: "2" } });
  const bob = await h.world("bob", GLADE.shared);
  const codes = async (message: string, x: string = GLADE.shared) => {
    const r = await h.act("ann", message, x);
    return [r.status, r.body.error?.code ?? "ok"];
  };
  assert.deepEqual(await codes("say   "), [400, "say_empty"]);
  assert.deepEqual(await codes("me"), [400, "say_empty"]);
  assert.deepEqual(await codes(`say ${"é".repeat(501)}`), [400, "say_too_long"]);
  assert.deepEqual(await codes("say hi", "no-such-world"), [404, "unknown_experience"]);
  assert.deepEqual(await codes(`say ${"é".repeat(500)}`), [200, "ok"]);
  assert.deepEqual(await codes("say two"), [200, "ok"]);
  assert.deepEqual(await codes("say three"), [429, "rate_limited"]);
  clock.advance(1000);
  assert.deepEqual(await codes("say four"), [200, "ok"]);
  const heard = (await bob.take(3, "say")).map((m) => [...m.data.text].length);
  assert.deepEqual(heard, [500, 3, 4]);
  await delay(100);
  assert.equal(bob.received("say").length, 3, "refused lines reach no one");
  await bob.close();
});

Deno.test("say: a line spoken through a second chat process reaches the first", async () => {
  await using a = await setup({ content: "glade" });
  await using b = await setup({ role: "chat", nats: a.nats!, content: { dataDir: a.dataDir } });
  const ada = await a.world("ada", GLADE.shared);
  const bryn = await b.world("bryn", GLADE.shared);
  const r = await b.act("bryn", "say over here", GLADE.shared);
  assert.equal(r.status, 200, JSON.stringify(r.body));
  const [line] = await ada.take(1, "say");
  assert.deepEqual([line!.data.user_id, line!.data.text], ["bryn", "over here"]);
  const back = await a.act("ada", "emote nods", GLADE.shared);
  assert.equal(back.status, 200);
  const [nod] = await bryn.take(1, "say");
  assert.deepEqual([nod!.data.user_id, nod!.data.kind, nod!.data.text], ["ada", "emote", "nods"]);
  await ada.close();
  await bryn.close();
});
