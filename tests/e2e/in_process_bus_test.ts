/**
 * Dev without NATS_URL and without a nats-server: the in-process bus carries
 * the action's world_update to the chat stream and to a world stream.
 */
import { startServer } from "../../main.ts";
import { loadSettings } from "../../shared/settings.ts";
import { openSse } from "../helpers/sse.ts";

function assert(cond: unknown, msg: string): asserts cond {
  if (!cond) throw new Error(msg);
}

Deno.test("dev with no nats-server plays over the in-process bus", async () => {
  const stateDir = await Deno.makeTempDir({ prefix: "gaia-inproc-" });
  const server = await startServer(
    loadSettings({ DEV: "1", PORT: "0", STATE_DIR: stateDir, KB_DATA_DIR: "./kb-data" }),
    { localNats: false },
  );
  try {
    assert(server.bus.kind === "in-process", server.bus.kind);
    const health = await (await fetch(`${server.url}/health`)).json();
    assert(health.nats === "in-process", JSON.stringify(health));
    const login = await fetch(`${server.url}/api/v0.3/dev/login`, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ user: "solo" }),
    });
    const { token } = await login.json();
    const world = await openSse(
      `${server.url}/api/v0.3/world/stream?experience=wylding-woods&access_token=${token}`,
    );
    const chat = await openSse(`${server.url}/api/v0.3/chat`, {
      method: "POST",
      headers: { Authorization: `Bearer ${token}`, "Content-Type": "application/json" },
      body: JSON.stringify({ message: "take the lantern", experience: "wylding-woods" }),
    });
    const events = await chat.collect();
    await chat.close();
    const types = events.map((e) => e.event);
    const wu = types.indexOf("world_update");
    assert(wu > 0 && wu < types.indexOf("content"), types.join(","));
    let seen;
    do seen = await world.next(5_000); while (seen && seen.event !== "world_update");
    assert(seen?.id === events[wu]!.id, "world stream got the same event");
    await world.close();
  } finally {
    await server.close();
    await Deno.remove(stateDir, { recursive: true });
  }
});
