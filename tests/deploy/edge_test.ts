/**
 * The chat role under an edge host's limits (Deno Deploy's: outbound TCP,
 * read-only files, no writes, no subprocesses): `deno task start:edge`'s
 * permission flags, read from deno.json so the test runs what the task
 * runs, against a `ROLE=kb` process over a real nats-server. What needs more
 * (the dev secret's file) degrades with one log line.
 */
import assert from "node:assert/strict";
import { natsServer, playAt, spawnServer } from "../_helpers/mod.ts";

const EXP = "wylding-woods";

/** The permission flags of `deno task start:edge`. */
async function edgePermissions(): Promise<string[]> {
  const config = JSON.parse(
    await Deno.readTextFile(new URL("../../deno.json", import.meta.url)),
  ) as { tasks: Record<string, string> };
  const task = config.tasks["start:edge"];
  assert.ok(task, "deno.json has a start:edge task");
  assert.match(task, /\bROLE=chat\b/, "start:edge runs the chat role");
  const flags = task.split(/\s+/).filter((w) => w.startsWith("--allow"));
  assert.deepEqual(flags.toSorted(), ["--allow-env", "--allow-net", "--allow-read"]);
  return flags;
}

Deno.test("edge: a chat process with only net, env and read plays an action through a ROLE=kb process", async () => {
  const permissions = await edgePermissions();
  await using nats = await natsServer();
  const stateDir = await Deno.makeTempDir({ prefix: "gaia-edge-" });
  await using kb = await spawnServer({ NATS_URL: nats.url, STATE_DIR: stateDir, ROLE: "kb" });
  await using chat = await spawnServer({ NATS_URL: nats.url, ROLE: "chat" }, { permissions });
  try {
    const events = await playAt(chat.url, "edge-ann", "take the lantern", EXP);
    const types = events.map((e) => e.event);
    assert.equal(types[0], "metadata", JSON.stringify(events));
    assert.ok(!types.includes("error"), JSON.stringify(events));
    assert.equal(types.filter((t) => t === "world_update").length, 1, JSON.stringify(types));
    assert.ok(types.indexOf("world_update") < types.indexOf("content"), "world_update first");
    assert.equal(types.at(-1), "done");
    const metrics = await fetch(`${chat.url}/metrics`);
    assert.equal(metrics.status, 200, "metrics work without --allow-sys");
    assert.match(await metrics.text(), /nats_world_updates_received_total/);
    const denied = chat.records().filter((r) =>
      /NotCapable|Requires .* access/.test(JSON.stringify(r))
    );
    assert.deepEqual(denied, [], "no permission errors logged");
  } finally {
    chat.kill("SIGTERM");
    kb.kill("SIGTERM");
    assert.equal((await chat.status).code, 0, `chat exit: ${chat.lines.slice(-3)}`);
    assert.equal((await kb.status).code, 0, "kb exit");
    await Deno.remove(stateDir, { recursive: true });
  }
});

Deno.test("edge: in dev without JWT_SECRET the secret stays in memory, with one log line", async () => {
  const permissions = await edgePermissions();
  await using nats = await natsServer();
  const stateDir = await Deno.makeTempDir({ prefix: "gaia-edge-" });
  await using kb = await spawnServer({ NATS_URL: nats.url, STATE_DIR: stateDir, ROLE: "kb" });
  // STATE_DIR names a directory that does not exist and cannot be made here.
  await using chat = await spawnServer({
    NATS_URL: nats.url,
    ROLE: "chat",
    DEV: "1",
    JWT_SECRET: "",
    STATE_DIR: `${stateDir}/edge-chat`,
  }, { permissions });
  try {
    const notes = chat.records().filter((r) => String(r.msg).includes("dev JWT secret"));
    assert.equal(notes.length, 1, `one log line: ${chat.lines.join("\n")}`);
    assert.equal(notes[0]!.level, "warn");
    const login = await fetch(`${chat.url}/api/v0.3/dev/login`, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ user: "edge-bo" }),
    });
    assert.equal(login.status, 200);
    const { token } = await login.json();
    const events = await playAt(chat.url, "edge-bo", "north", EXP, { token });
    assert.ok(events.some((e) => e.event === "world_update"), JSON.stringify(events));
    await assert.rejects(Deno.stat(`${stateDir}/edge-chat`), Deno.errors.NotFound);
  } finally {
    chat.kill("SIGTERM");
    kb.kill("SIGTERM");
    await chat.status;
    await kb.status;
    await Deno.remove(stateDir, { recursive: true });
  }
});

Deno.test("edge: in dev without NATS_URL, no permission to start nats-server means the in-process bus, with one log line", async () => {
  const permissions = await edgePermissions();
  await using chat = await spawnServer({ ROLE: "all", DEV: "1" }, { permissions });
  const health = await (await fetch(`${chat.url}/health`)).json();
  assert.equal(health.nats, "in-process");
  const notes = chat.records().filter((r) =>
    String(r.msg).includes("no permission to run nats-server")
  );
  assert.equal(notes.length, 1, chat.lines.join("\n"));
  chat.kill("SIGTERM");
  assert.equal((await chat.status).code, 0);
});
