/**
 * NATS security settings against nats-servers configured for each: a token,
 * a user and password, `.creds` of an operator-mode account (made without
 * `nsc`, see `_helpers/creds.ts`), and TLS with a throwaway private CA made
 * by `openssl`. Wrong credentials or an untrusted certificate are a
 * `SettingsError` naming the setting, and main.ts exits 2 with it; dev's own
 * nats-server refuses clients without its random token.
 */
import assert from "node:assert/strict";
import type { Bus } from "../../shared/bus/mod.ts";
import { SettingsError } from "../../shared/errors.ts";
import { connectNats, type NatsSettings } from "../../shared/nats_connect.ts";
import { worldUpdatesStream } from "../../shared/bus/streams.ts";
import { BusError, NatsBus } from "../../shared/bus/mod.ts";
import {
  eventually,
  makeTestCa,
  natsServer,
  playAt,
  runToExit,
  spawnServer,
} from "../_helpers/mod.ts";
import { makeTestOperator } from "../_helpers/creds.ts";

/** A request answered by a subscriber on the same connection: the link works both ways. */
async function roundTrip(bus: Bus): Promise<void> {
  const sub = bus.subscribe("gaia.test.echo", { callback: (m) => m.respond(m.data) });
  try {
    await bus.flush();
    const reply = await bus.request("gaia.test.echo", "ping", { timeoutMs: 2_000 });
    assert.equal(new TextDecoder().decode(reply.data), "ping");
  } finally {
    sub.unsubscribe();
  }
}

async function refused(url: string, settings: Partial<NatsSettings>): Promise<SettingsError> {
  let caught: unknown;
  try {
    const bus = await connectNats(url, settings);
    await bus.close();
  } catch (e) {
    caught = e;
  }
  assert.ok(caught instanceof SettingsError, `a SettingsError, got ${caught}`);
  return caught;
}

async function withFile<T>(text: string, run: (path: string) => Promise<T>): Promise<T> {
  const path = await Deno.makeTempFile({ prefix: "gaia-nats-" });
  try {
    await Deno.writeTextFile(path, text);
    return await run(path);
  } finally {
    await Deno.remove(path);
  }
}

Deno.test("NATS_TOKEN: the right token connects; a wrong or missing one names NATS_TOKEN", async () => {
  await using nats = await natsServer({ token: "right-token-123" });
  const bus = await connectNats(nats.url, { NATS_TOKEN: "right-token-123" });
  try {
    await roundTrip(bus);
  } finally {
    await bus.close();
  }
  const wrong = await refused(nats.url, { NATS_TOKEN: "wrong-token" });
  assert.deepEqual(wrong.variables, ["NATS_TOKEN"]);
  assert.match(wrong.message, /NATS_TOKEN.*refused the credentials/);
  const none = await refused(nats.url, {});
  assert.ok(none.variables.includes("NATS_TOKEN"), none.message);
  assert.match(none.message, /wants credentials/);
});

Deno.test("NATS_USER + NATS_PASSWORD: the right pair connects; a wrong password names both", async () => {
  await using nats = await natsServer({ user: { name: "gaia", password: "pw-right" } });
  const bus = await connectNats(nats.url, { NATS_USER: "gaia", NATS_PASSWORD: "pw-right" });
  try {
    await roundTrip(bus);
  } finally {
    await bus.close();
  }
  const wrong = await refused(nats.url, { NATS_USER: "gaia", NATS_PASSWORD: "pw-wrong" });
  assert.deepEqual(wrong.variables, ["NATS_USER", "NATS_PASSWORD"]);
});

Deno.test("NATS_CREDS: an operator-mode account's user connects and has JetStream; a stranger or a missing file names NATS_CREDS", async () => {
  const op = await makeTestOperator();
  await using nats = await natsServer({ config: op.config });
  await withFile(op.creds, async (path) => {
    const bus = await connectNats(nats.url, { NATS_CREDS: path });
    try {
      await roundTrip(bus);
      const history = bus.history(worldUpdatesStream({ retentionMs: 60_000 }));
      assert.ok(history, "JetStream history");
      await history.ensure();
      assert.equal((await history.state()).messages, 0);
    } finally {
      await bus.close();
    }
  });
  const stranger = await withFile(
    op.strangerCreds,
    (path) => refused(nats.url, { NATS_CREDS: path }),
  );
  assert.deepEqual(stranger.variables, ["NATS_CREDS"]);
  const missing = await refused(nats.url, { NATS_CREDS: "/nonexistent/gaia.creds" });
  assert.deepEqual(missing.variables, ["NATS_CREDS"]);
  assert.match(missing.message, /cannot read \/nonexistent\/gaia.creds/);
});

Deno.test("TLS: tls:// with NATS_CA of the private CA connects; another CA or none names NATS_CA", async () => {
  await using ca = await makeTestCa();
  await using other = await makeTestCa();
  await using nats = await natsServer({ tls: ca, token: "tls-token-1" });
  assert.match(nats.url, /^tls:\/\//);
  const bus = await connectNats(nats.url, { NATS_CA: ca.caFile, NATS_TOKEN: "tls-token-1" });
  try {
    await roundTrip(bus);
  } finally {
    await bus.close();
  }
  const wrongCa = await refused(nats.url, { NATS_CA: other.caFile, NATS_TOKEN: "tls-token-1" });
  assert.deepEqual(wrongCa.variables, ["NATS_CA", "NATS_URL"]);
  const systemCas = await refused(nats.url, { NATS_TOKEN: "tls-token-1" });
  assert.deepEqual(systemCas.variables, ["NATS_CA", "NATS_URL"]);
});

Deno.test("a server that is not up yet is waited for, not an error", async () => {
  await using nats = await natsServer({ token: "late-token-1" });
  await nats.stop();
  const connecting = connectNats(nats.url, { NATS_TOKEN: "late-token-1" });
  let settled = false;
  connecting.then(() => settled = true, () => settled = true);
  await new Promise((r) => setTimeout(r, 600));
  assert.equal(settled, false, "still waiting while the server is down");
  await nats.restart();
  const bus = await connecting;
  try {
    await roundTrip(bus);
  } finally {
    await bus.close();
  }
});

Deno.test("main.ts over tls:// with NATS_CREDS and NATS_CA plays an action; a wrong token exits 2 naming NATS_TOKEN", async () => {
  await using ca = await makeTestCa();
  const op = await makeTestOperator();
  await using nats = await natsServer({ tls: ca, config: op.config });
  const stateDir = await Deno.makeTempDir({ prefix: "gaia-sec-" });
  try {
    await withFile(op.creds, async (creds) => {
      await using server = await spawnServer({
        NATS_URL: nats.url,
        NATS_CREDS: creds,
        NATS_CA: ca.caFile,
        STATE_DIR: stateDir,
      });
      const events = await playAt(server.url, "sec-ann", "north", "wylding-woods");
      assert.ok(events.some((e) => e.event === "world_update"), JSON.stringify(events));
      server.kill("SIGTERM");
      assert.equal((await server.status).code, 0);
    });
  } finally {
    await Deno.remove(stateDir, { recursive: true });
  }

  await using tokenServer = await natsServer({ token: "the-real-token" });
  const { code, stderr } = await runToExit({
    NATS_URL: tokenServer.url,
    NATS_TOKEN: "not-the-token",
    JWT_SECRET: "0123456789abcdef0123",
    KB_DATA_DIR: "kb-data",
    STATE_DIR: await Deno.makeTempDir({ prefix: "gaia-sec-" }),
  });
  assert.equal(code, 2, stderr);
  assert.match(stderr, /^error: NATS_TOKEN: NATS at .* refused the credentials/m);
});

Deno.test("deno task dev's own nats-server wants its random token: a client without it is refused", async () => {
  const stateDir = await Deno.makeTempDir({ prefix: "gaia-devtok-" });
  try {
    await using dev = await spawnServer({ DEV: "1", STATE_DIR: stateDir, JWT_SECRET: "" });
    let url = "";
    await eventually(() => {
      const started = dev.records().find((r) => r.msg === "started a local nats-server for dev");
      url = String(started?.url ?? "");
      return url !== "";
    }, { what: () => `the dev nats-server's url in ${dev.lines.slice(-3)}` });
    let caught: unknown;
    try {
      const intruder = await NatsBus.connect(url, { name: "intruder" });
      await intruder.close();
    } catch (e) {
      caught = e;
    }
    assert.ok(caught instanceof BusError && caught.code === "auth_failed", `refused: ${caught}`);
    dev.kill("SIGTERM");
    assert.equal((await dev.status).code, 0);
  } finally {
    await Deno.remove(stateDir, { recursive: true });
  }
});
