/**
 * Guarantee 7 for split roles: a `ROLE=chat` process refuses world streams
 * for unknown experiences by asking the KB over NATS (`kb.experiences`),
 * with or without `KB_URL` (`RemoteKb.hasExperience`).
 */
import assert from "node:assert/strict";
import { NatsBus } from "../../shared/bus/mod.ts";
import { RemoteKb } from "../../chat/mod.ts";
import { natsServer, spawnServer, tokenFor } from "../_helpers/mod.ts";

Deno.test("ROLE=chat without KB_URL: unknown experience 404, known one streams", async () => {
  await using nats = await natsServer();
  const stateDir = await Deno.makeTempDir({ prefix: "gaia-expdir-" });
  try {
    const env = { NATS_URL: nats.url, STATE_DIR: stateDir };
    await using _kb = await spawnServer({ ...env, ROLE: "kb" });
    await using chat = await spawnServer({ ...env, ROLE: "chat" });
    const token = await tokenFor("wanderer");
    const open = (experience: string) =>
      fetch(`${chat.url}/api/v0.3/world/stream?experience=${experience}`, {
        headers: { Authorization: `Bearer ${token}` },
      });

    const unknown = await open("no-such-world");
    const body = await unknown.json();
    assert.equal(unknown.status, 404, JSON.stringify(body));
    assert.equal(body.error?.code, "unknown_experience");

    const known = await open("wylding-woods");
    assert.equal(known.status, 200);
    assert.match(known.headers.get("Content-Type") ?? "", /^text\/event-stream/);
    await known.body?.cancel();
  } finally {
    await Deno.remove(stateDir, { recursive: true });
  }
});

Deno.test("RemoteKb.hasExperience: falls back to KB_URL, and allows every id when no KB answers", async () => {
  await using nats = await natsServer();
  const bus = await NatsBus.connect(nats.url);
  // A stand-in for a KB's HTTP listing that counts how often it is asked;
  // no KB answers on this bus.
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
    assert.equal(await viaHttp.hasExperience("wylding-woods"), true, "known id over KB_URL");
    assert.equal(await viaHttp.hasExperience("wylding-woods"), true, "cached");
    assert.equal(await viaHttp.hasExperience("nowhere"), false, "unknown id over KB_URL");
    assert.equal(listings, 1, "one listing within a second");

    const unreachable = new RemoteKb({ bus, timeoutMs: 300, listingTimeoutMs: 300 });
    assert.equal(await unreachable.hasExperience("anything"), true, "no KB at all: allowed");
  } finally {
    await http.shutdown();
    await bus.close();
  }
});
