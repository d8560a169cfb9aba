/**
 * Scrapes `/metrics` after real actions over a real nats-server and checks
 * that every metric the README names is there with plausible values, and
 * that no label carries a user id.
 */
import assert from "node:assert/strict";
import { eventually, setup } from "../_helpers/mod.ts";

/** Parses Prometheus text into `name{labels}` -> value. */
function parse(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split("\n")) {
    if (!line || line.startsWith("#")) continue;
    const i = line.lastIndexOf(" ");
    out.set(line.slice(0, i), Number(line.slice(i + 1)));
  }
  return out;
}

function value(m: Map<string, number>, name: string, labels: Record<string, string> = {}): number {
  let sum = 0;
  let found = false;
  for (const [key, v] of m) {
    const brace = key.indexOf("{");
    const n = brace < 0 ? key : key.slice(0, brace);
    if (n !== name) continue;
    const l = brace < 0 ? "" : key.slice(brace);
    if (Object.entries(labels).every(([k, val]) => l.includes(`${k}="${val}"`))) {
      sum += v;
      found = true;
    }
  }
  assert.ok(found, `metric ${name}${JSON.stringify(labels)} not exported`);
  return sum;
}

const EXP = "wylding-woods";
// The first "look" keeps the conversation (the last command, for "again") in alice's
// profile, a player-scope change; the second is the same command again and changes nothing.
const ACTIONS = ["north", "south", "take the lantern", "drop the lantern", "look", "look"];

Deno.test("metrics: every named metric is exported with plausible values after real actions", async () => {
  await using stack = await setup();
  {
    const scrape = async () => parse(await (await fetch(`${stack.url}/metrics`)).text());
    const before = await scrape();
    await stack.login("alice@example.com");
    const bobStream = await stack.world("bob", EXP, { query: true });
    for (const message of ACTIONS) {
      const events = await stack.play("alice@example.com", message, EXP);
      assert.equal(events.at(-1)?.event, "done", `${message}: ${JSON.stringify(events)}`);
    }
    const lastId = (await bobStream.take(4)).at(-1)!.id!;
    const during = await scrape();
    assert.equal(value(during, "sse_streams_open", { kind: "world" }), 1, "one world stream open");
    await bobStream.close();
    // Bob misses one action and gets it by replay; an unknown id gets resync.
    await stack.play("alice@example.com", "north", EXP);
    const replay = await stack.world("bob", EXP, { query: true, lastEventId: lastId });
    await replay.take(1);
    await replay.close();
    const resync = await stack.world("bob", EXP, { query: true, lastEventId: "nope" });
    // (The roster's `presence` events may come first.)
    assert.equal((await resync.take(1, "resync"))[0]!.event, "resync", "resync stream answers");
    await resync.close();
    // The streams are released once the server notices the closed sockets.
    await eventually(
      async () => value(await scrape(), "sse_streams_open", { kind: "world" }) === 0,
      {
        what: "world streams closed",
      },
    );
    // Publishes count once JetStream has acknowledged them.
    await eventually(() => stack.kb!.stats().pending === 0, { what: "events acknowledged" });

    const m = await scrape();
    const delta = (name: string, labels: Record<string, string> = {}) => {
      let b = 0;
      try {
        b = value(before, name, labels);
      } catch { /* not yet exported before the first action */ }
      return value(m, name, labels) - b;
    };
    const checks: Array<[string, boolean]> = [
      [
        "published user",
        delta("nats_world_updates_published_total", { experience: EXP, scope: "user" }) === 6,
      ],
      [
        "published experience",
        delta("nats_world_updates_published_total", { experience: EXP, scope: "experience" }) === 6,
      ],
      ["received", delta("nats_world_updates_received_total") >= 8],
      ["latency chat", delta("nats_world_updates_latency_ms_count", { stream: "chat" }) === 6],
      ["latency world", delta("nats_world_updates_latency_ms_count", { stream: "world" }) >= 4],
      [
        "latency plausible",
        value(m, "nats_world_updates_latency_ms_sum") /
            value(m, "nats_world_updates_latency_ms_count") < 1000,
      ],
      ["subscriptions", value(m, "nats_subscriptions_active") >= 1],
      ["connection failures", value(m, "nats_connection_failures_total") === 0],
      ["bus state", value(m, "nats_connection_state", { state: "connected" }) === 1],
      ["streams closed again", value(m, "sse_streams_open", { kind: "world" }) === 0],
      ["slow consumer drops", value(m, "sse_slow_consumer_drops_total") === 0],
      ["replays", delta("world_replays_served_total") >= 1],
      ["resyncs", delta("world_resyncs_sent_total", { reason: "unknown_event_id" }) === 1],
      [
        "http chat 200",
        delta("http_requests_total", { route: "/api/v0.3/chat", method: "POST", status: "200" }) ===
          7,
      ],
      ["kb commits", delta("kb_commits_total", { experience: EXP, state_model: "shared" }) === 6],
      ["kb commit time", delta("kb_commit_duration_ms_count") >= 1],
      ["kb actions", delta("kb_actions_total") === 7],
      ["outbox empty", value(m, "kb_outbox_events") === 0],
      ["no unit paused", value(m, "kb_outbox_paused_units") === 0],
    ];
    const failed = checks.filter(([, ok]) => !ok).map(([n]) => n);
    assert.deepEqual(failed, [], "implausible metrics");
    const text = await (await fetch(`${stack.url}/metrics`)).text();
    assert.doesNotMatch(text, /alice|bob/, "a label carries a user id");
    // Labelled counters that nothing tripped yet are still declared (the limits tests trip them).
    for (
      const name of [
        "rate_limited_total",
        "nats_world_updates_publish_failures_total",
        "kb_outbox_dropped_total",
      ]
    ) {
      assert.ok(text.includes(`# TYPE ${name} counter`), `${name} not declared`);
    }
  }
});

Deno.test("metrics: unknown routes count as 404, unknown methods as 'other'; every response has its request id", async () => {
  await using stack = await setup();
  {
    const scrape = async () => parse(await (await fetch(`${stack.url}/metrics`)).text());
    const res = await fetch(`${stack.url}/random/abc123`);
    assert.equal(res.status, 404);
    assert.equal((await res.json()).error.code, "not_found", "JSON error");
    // A method the HTTP parser knows and the app does not: counted as "other".
    const odd = await fetch(`${stack.url}/x`, { method: "PROPFIND" });
    await odd.body?.cancel();
    // One outside the parser's list never reaches the app (node:http answers 400).
    const madeUp = await fetch(`${stack.url}/x`, { method: "FOOBAR" });
    await madeUp.body?.cancel();
    assert.equal(madeUp.status, 400, "a made-up method is refused by the server");
    const m = await scrape();
    assert.ok(
      value(m, "http_requests_total", { route: "unmatched", status: "404" }) >= 1,
      "404 counted",
    );
    assert.ok(
      ![...m.keys()].some((k) =>
        k.startsWith("http_requests_total") && k.includes('status="200"') &&
        k.includes("unmatched")
      ),
      "no unmatched request counted as 200",
    );
    assert.ok(value(m, "http_requests_total", { method: "other" }) >= 1, "method other");
    assert.ok(
      ![...m.keys()].some((k) => k.includes("FOOBAR") || k.includes("PROPFIND")),
      "no client-chosen method label",
    );
    for (const path of ["/", "/client/app.js", "/shared/apply.js", "/api/v0.3/experiences"]) {
      const r = await fetch(`${stack.url}${path}`, { headers: { "X-Request-Id": "rid-client" } });
      await r.body?.cancel();
      assert.equal(r.headers.get("X-Request-Id"), "rid-client", `${path}: request id header`);
    }
  }
});

Deno.test("metrics: a reconnect that missed nothing replays nothing; live events after it are timed", async () => {
  await using stack = await setup();
  {
    const scrape = async () => parse(await (await fetch(`${stack.url}/metrics`)).text());
    const actor = await stack.login("actor");
    const act = async (message: string, token = actor) => {
      const r = await fetch(`${stack.url}/kb/experience/interact`, {
        method: "POST",
        headers: stack.headers(token),
        body: JSON.stringify({ message, experience: EXP }),
      });
      return (await r.json()).events[0].id as string;
    };
    const last = await act("north");
    const before = await scrape();
    const s = await stack.world("watcher", EXP, { query: true, lastEventId: last });
    // At once: they arrive while the stream is still catching up (held, then sent live).
    const others = await Promise.all(["p1", "p2", "p3"].map((u) => stack.login(u)));
    await Promise.all(others.map((t) => act("north", t)));
    await s.take(3);
    await s.close();
    const after = await scrape();
    const delta = (name: string, labels: Record<string, string> = {}) =>
      value(after, name, labels) - (before.has(name) ? value(before, name, labels) : 0);
    assert.equal(delta("world_replays_served_total"), 1, "one replay served");
    assert.ok(
      !after.has("world_replayed_events_total") || delta("world_replayed_events_total") === 0,
      `replayed events: ${delta("world_replayed_events_total")}`,
    );
    assert.ok(
      delta("nats_world_updates_latency_ms_count", { stream: "world" }) >= 3,
      "the 3 live events are in the latency histogram",
    );
  }
});
