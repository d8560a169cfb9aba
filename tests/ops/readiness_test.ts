/**
 * Readiness and lifecycle: `/ready` is 200 only with the bus connected, the
 * world stream present and content loaded (503 JSON naming what is wrong
 * otherwise) while `/health` stays liveness; a chat-only process is ready
 * only while a KB answers. Processes announce `gaia.service.ready` on start
 * and `gaia.service.health` every `HEALTH_INTERVAL`, on the injected clock.
 */
import assert from "node:assert/strict";
import { jetstreamManager } from "@nats-io/jetstream";
import { connect } from "@nats-io/transport-node";
import { ManualClock } from "../../shared/clock.ts";
import { NatsBus } from "../../shared/bus/mod.ts";
import { SERVICE_HEALTH, SERVICE_READY } from "../../shared/subjects.ts";
import {
  type ServiceHealth,
  ServiceHealthSchema,
  ServiceReadySchema,
  VERSION,
} from "../../shared/service.ts";
import { eventually, natsServer, setup, writeGladeContent } from "../_helpers/mod.ts";

async function ready(url: string): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(`${url}/ready`);
  return { status: res.status, body: await res.json() };
}

Deno.test("/ready: 200 when serving; 503 JSON when the world stream is gone or the bus is down, while /health stays 200", async () => {
  await using nats = await natsServer();
  await using stack = await setup({ nats });
  const ok = await ready(stack.url);
  assert.equal(ok.status, 200, JSON.stringify(ok.body));
  assert.deepEqual(ok.body.checks, { bus: "ok", world_stream: "ok", content: "ok" });
  assert.equal(ok.body.version, VERSION);

  const nc = await connect({ servers: nats.url });
  try {
    await (await jetstreamManager(nc)).streams.delete("WORLD_UPDATES");
  } finally {
    await nc.close();
  }
  const noStream = await ready(stack.url);
  assert.equal(noStream.status, 503);
  assert.equal((noStream.body.error as { code: string }).code, "not_ready");
  assert.match(String((noStream.body.checks as Record<string, string>).world_stream), /missing/);
  // The next action's publish finds no stream and the KB makes it again: ready again.
  assert.equal((await stack.act("ready-ann", "north", "wylding-woods")).status, 200);
  await eventually(async () => (await ready(stack.url)).status === 200, {
    what: () => "ready again once the KB has put the stream back",
  });

  await nats.stop();
  await eventually(() => stack.bus.status() !== "connected");
  const down = await ready(stack.url);
  assert.equal(down.status, 503);
  assert.notEqual((down.body.checks as Record<string, string>).bus, "ok");
  const health = await fetch(`${stack.url}/health`);
  assert.equal(health.status, 200, "liveness is not readiness");
  await health.body?.cancel();
  await nats.restart();
  await eventually(async () => (await ready(stack.url)).status === 200, {
    what: () => "ready after NATS returns",
  });
});

Deno.test("/ready of a KB without content and of a chat process without a KB: 503 naming content", async () => {
  await using nats = await natsServer();
  const empty = await Deno.makeTempDir({ prefix: "gaia-empty-" });
  await Deno.mkdir(`${empty}/experiences`);
  try {
    await using kb = await setup({ nats, role: "kb", content: { dataDir: empty } });
    const r = await ready(kb.url);
    assert.equal(r.status, 503);
    assert.equal((r.body.checks as Record<string, string>).content, "no experiences loaded");
  } finally {
    await Deno.remove(empty, { recursive: true });
  }
  await using chat = await setup({ nats, role: "chat" });
  const alone = await ready(chat.url);
  assert.equal(alone.status, 503, JSON.stringify(alone.body));
  assert.match(String((alone.body.checks as Record<string, string>).content), /no KB answers/);
  await using _kb = await setup({ nats, role: "kb", content: "glade" });
  assert.equal((await ready(chat.url)).status, 200, "ready once a KB answers");
});

Deno.test("gaia.service.ready on start and gaia.service.health every HEALTH_INTERVAL of the clock", async () => {
  await using nats = await natsServer();
  const listener = await NatsBus.connect(nats.url);
  const readies: unknown[] = [];
  const healths: unknown[] = [];
  const subs = [
    listener.subscribe(SERVICE_READY, { callback: (m) => readies.push(m.json()) }),
    listener.subscribe(SERVICE_HEALTH, { callback: (m) => healths.push(m.json()) }),
  ];
  try {
    await listener.flush();
    const clock = new ManualClock();
    const dir = await Deno.makeTempDir({ prefix: "gaia-ann-" });
    try {
      await writeGladeContent(dir);
      await using stack = await setup({
        nats,
        clock,
        content: { dataDir: dir },
        env: { HEALTH_INTERVAL: "30s" },
      });
      await stack.server!.announced;
      await eventually(() => readies.length === 1, { what: () => "one ready announcement" });
      const announced = ServiceReadySchema.parse(readies[0]);
      assert.equal(announced.role, "all");
      assert.equal(announced.version, VERSION);
      assert.equal(announced.url, stack.url);
      assert.deepEqual(announced.streams, ["WORLD_UPDATES"]);
      assert.equal(announced.ready, true, JSON.stringify(announced.checks));

      assert.equal(healths.length, 0, "nothing before the interval");
      const next = stack.server!.nextHealth();
      clock.advance(29_999);
      assert.equal(healths.length, 0, "nothing before the interval");
      clock.advance(1);
      const published: ServiceHealth = await next;
      await eventually(() => healths.length === 1, { what: () => "one health announcement" });
      const heard = ServiceHealthSchema.parse(healths[0]);
      assert.deepEqual(heard, published);
      assert.equal(heard.instance, announced.instance, "one instance id per process");
      assert.equal(heard.nats, "connected");
      assert.deepEqual(heard.open_streams, { chat: 0, world: 0 });
      const second = stack.server!.nextHealth();
      clock.advance(30_000);
      await second;
      await eventually(() => healths.length === 2, { what: () => "a second health announcement" });
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  } finally {
    for (const s of subs) s.unsubscribe();
    await listener.close();
  }
});
