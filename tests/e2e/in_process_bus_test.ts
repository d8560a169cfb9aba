/**
 * Dev without NATS_URL and without a nats-server: the in-process bus carries
 * the action's world_update to the chat stream and to a world stream.
 */
import assert from "node:assert/strict";
import { setup } from "../_helpers/mod.ts";

Deno.test("dev with no nats-server plays over the in-process bus", async () => {
  await using stack = await setup({ nats: "in-process" });
  assert.equal(stack.bus.kind, "in-process");
  const health = await (await fetch(`${stack.url}/health`)).json();
  assert.equal(health.nats, "in-process");
  const token = await stack.login("solo");
  const world = await stack.world("solo", "wylding-woods", { query: true });
  const chat = await stack.chatStream("solo", "take the lantern", "wylding-woods", {
    Authorization: `Bearer ${token}`,
  });
  const events = await chat.untilEnd();
  await chat.close();
  const types = events.map((e) => e.event);
  const wu = types.indexOf("world_update");
  assert.ok(wu > 0 && wu < types.indexOf("content"), types.join(","));
  const [seen] = await world.take(1);
  assert.equal(seen!.id, events[wu]!.id, "world stream got the same event");
  await world.close();
});
