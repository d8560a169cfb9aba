/**
 * Guarantee 7 for split roles: a `ROLE=chat` process refuses world streams
 * for unknown experiences by asking the KB over NATS (`kb.experiences`),
 * with or without `KB_URL` (`RemoteKb.hasExperience`).
 */
import { issueToken } from "../../shared/auth.ts";
import { NatsBus } from "../../shared/bus/mod.ts";
import { startNatsServer } from "../../shared/nats_server.ts";
import { RemoteKb } from "../../chat/mod.ts";
import { spawnServer } from "../helpers/process.ts";

function assert(cond: unknown, msg: string): asserts cond {
  if (!cond) throw new Error(msg);
}

Deno.test("ROLE=chat without KB_URL: unknown experience 404, known one streams", async () => {
  const nats = await startNatsServer();
  const stateDir = await Deno.makeTempDir({ prefix: "gaia-expdir-" });
  const env = { NATS_URL: nats.url, STATE_DIR: stateDir };
  const kb = await spawnServer({ ...env, ROLE: "kb" });
  const chat = await spawnServer({ ...env, ROLE: "chat" });
  try {
    const token = await issueToken("wanderer", "test-secret-test-secret-test-secret");
    const open = (experience: string) =>
      fetch(`${chat.url}/api/v0.3/world/stream?experience=${experience}`, {
        headers: { Authorization: `Bearer ${token}` },
      });

    const unknown = await open("no-such-world");
    if (unknown.status !== 404) {
      await unknown.body?.cancel();
      throw new Error(`unknown experience answered ${unknown.status}, want 404`);
    }
    const body = await unknown.json();
    assert(body.error?.code === "unknown_experience", JSON.stringify(body));

    const known = await open("wylding-woods");
    assert(known.status === 200, `status ${known.status}`);
    assert(known.headers.get("Content-Type")?.startsWith("text/event-stream"), "SSE");
    await known.body?.cancel();
  } finally {
    chat.kill("SIGTERM");
    kb.kill("SIGTERM");
    await chat.status;
    await kb.status;
    await nats.dispose();
    await Deno.remove(stateDir, { recursive: true });
  }
});

Deno.test("RemoteKb.hasExperience: falls back to KB_URL, and allows every id when no KB answers", async () => {
  const nats = await startNatsServer();
  const bus = await NatsBus.connect(nats.url);
  // A stand-in KB HTTP listing; no KB answers on this bus.
  let listings = 0;
  const http = Deno.serve({ port: 0, hostname: "127.0.0.1", onListen: () => {} }, () => {
    listings++;
    return Response.json({ experiences: [{ id: "wylding-woods" }] });
  });
  try {
    const viaHttp = new RemoteKb({
      bus,
      kbUrl: `http://127.0.0.1:${http.addr.port}`,
      timeoutMs: 300,
      listingTimeoutMs: 300,
    });
    assert(await viaHttp.hasExperience("wylding-woods") === true, "known id over KB_URL");
    assert(await viaHttp.hasExperience("wylding-woods") === true, "cached");
    assert(await viaHttp.hasExperience("nowhere") === false, "unknown id over KB_URL");
    assert(listings === 1, `one listing within a second, got ${listings}`);

    const unreachable = new RemoteKb({ bus, timeoutMs: 300, listingTimeoutMs: 300 });
    assert(await unreachable.hasExperience("anything") === true, "no KB at all: allowed");
  } finally {
    await http.shutdown();
    await bus.close();
    await nats.dispose();
  }
});
