/**
 * SIGTERM during 100 in-flight actions: the process ends within its bound,
 * open world streams end with a retry hint, every acknowledged action is in
 * the state files, and every state file parses.
 */
import assert from "node:assert/strict";
import { fileNameFor } from "../../shared/subjects.ts";
import { eventually, natsServer, spawnServer, tokenFor } from "../_helpers/mod.ts";

const EXP = "wylding-woods";

async function* walk(dir: string): AsyncGenerator<string> {
  for await (const e of Deno.readDir(dir)) {
    const p = `${dir}/${e.name}`;
    if (e.isDirectory) yield* walk(p);
    else yield p;
  }
}

Deno.test("graceful shutdown: SIGTERM during 100 in-flight actions loses no committed state", async () => {
  await using nats = await natsServer();
  const stateDir = await Deno.makeTempDir({ prefix: "gaia-shutdown-" });
  const srv = await spawnServer({
    NATS_URL: nats.url,
    STATE_DIR: stateDir,
    SHUTDOWN_TIMEOUT: "10s",
  });
  try {
    const watcher = await fetch(
      `${srv.url}/api/v0.3/world/stream?experience=${EXP}&access_token=${await tokenFor(
        "watcher",
      )}`,
    );
    assert.equal(watcher.status, 200, "watcher");
    const watched = watcher.body!.pipeThrough(new TextDecoderStream());
    const watchedText = (async () => {
      let all = "";
      for await (const chunk of watched) all += chunk;
      return all;
    })();

    const users = Array.from({ length: 100 }, (_, i) => `p${i}`);
    const tokens = await Promise.all(users.map((u) => tokenFor(u)));
    let answered = 0;
    const results = users.map((_, i) =>
      fetch(`${srv.url}/kb/experience/interact`, {
        method: "POST",
        headers: { Authorization: `Bearer ${tokens[i]}`, "Content-Type": "application/json" },
        body: JSON.stringify({ message: "north", experience: EXP }),
      }).then(async (r) => {
        answered++;
        return { status: r.status, body: await r.json() };
      })
        .catch((e) => ({ status: 0, body: String(e) }))
    );
    // Terminate once the first answers are in: the rest are in flight.
    await eventually(() => answered >= 10, { intervalMs: 1, what: "the first answers" });
    const t0 = performance.now();
    srv.kill("SIGTERM");
    const settled = await Promise.all(results);
    const status = await srv.status;
    const took = performance.now() - t0;
    assert.equal(status.code, 0, `exit code: ${srv.lines.slice(-5).join("\n")}`);
    assert.ok(took < 10_000, `shutdown took ${took} ms`);
    const text = await watchedText;
    assert.match(text, /retry: \d+/, "world stream ended without a retry hint");

    // Every state file parses; every acknowledged move is on disk.
    let files = 0;
    for await (const path of walk(`${stateDir}/experiences`)) {
      if (path.endsWith(".lock")) continue;
      const content = await Deno.readTextFile(path);
      if (path.endsWith(".intent") && content === "") continue;
      JSON.parse(content);
      files++;
    }
    const acked = settled.map((r, i) => ({ ...r, user: users[i]! })).filter((r) =>
      r.status === 200
    );
    for (const r of acked) {
      const file = `${stateDir}/experiences/${EXP}/players/${await fileNameFor(r.user)}.json`;
      const profile = JSON.parse(await Deno.readTextFile(file));
      assert.equal(profile.player.location, "mossy-path", `${r.user}: acknowledged move lost`);
    }
    const world = JSON.parse(await Deno.readTextFile(`${stateDir}/experiences/${EXP}/world.json`));
    assert.ok(
      world.version >= acked.length,
      `world version ${world.version} < ${acked.length} acks`,
    );
    console.log(
      `shutdown in ${took.toFixed(0)} ms; ${acked.length}/100 actions acknowledged, ` +
        `${
          settled.filter((r) => r.status === 0).length
        } refused at the socket, ${files} state files valid`,
    );
  } finally {
    await srv.dispose();
    await Deno.remove(stateDir, { recursive: true });
  }
});

Deno.test("graceful shutdown: a client stalled mid-body does not hold the KB and the bus open", async () => {
  await using nats = await natsServer();
  const stateDir = await Deno.makeTempDir({ prefix: "gaia-stall-" });
  const srv = await spawnServer({
    NATS_URL: nats.url,
    STATE_DIR: stateDir,
    SHUTDOWN_TIMEOUT: "4s",
  });
  let conn: Deno.TcpConn | undefined;
  try {
    const token = await tokenFor("stall");
    // Headers and half a chunked body, then silence.
    conn = await Deno.connect({ hostname: "127.0.0.1", port: srv.port });
    await conn.write(new TextEncoder().encode(
      `POST /kb/experience/interact HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${token}\r\n` +
        `Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n5\r\n{"mes\r\n`,
    ));
    // A request on another connection, opened after ours was written: once
    // it is answered, the server has had its turn at our stalled one too.
    const health = await fetch(`${srv.url}/health`);
    await health.body?.cancel();
    srv.kill("SIGTERM");
    const status = await srv.status;
    assert.ok(
      srv.records().some((r) =>
        r.msg === "open requests still running at shutdown; closing the KB and the bus anyway"
      ),
      `no warning about the stalled request: ${srv.lines.slice(-5).join("\n")}`,
    );
    assert.equal(status.code, 0, `exit code: ${srv.lines.slice(-3).join("\n")}`);
  } finally {
    try {
      conn?.close();
    } catch { /* already closed */ }
    await srv.dispose();
    await Deno.remove(stateDir, { recursive: true });
  }
});
