/**
 * Migration between backends (`deno task state:copy`): a files state dir
 * with a shared and an isolated experience is copied into JetStream KV, a
 * KB with the nats backend serves the same worlds at the same versions, and
 * the copy back into a new state dir gives the same documents and versions.
 */
import assert from "node:assert/strict";
import { InProcessBus } from "../../shared/bus/mod.ts";
import { natsServer, startKb, tree, writeVaultContent } from "../_helpers/mod.ts";

const MAIN = decodeURIComponent(new URL("../../kb/state_copy.ts", import.meta.url).pathname);

/** Runs the CLI as `deno task state:copy` would (same permissions). */
async function stateCopy(args: string[]) {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-net", "--allow-read", "--allow-write", "--allow-env", MAIN, ...args],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const stderr = new TextDecoder().decode(out.stderr);
  assert.equal(out.code, 0, stderr);
  return JSON.parse(new TextDecoder().decode(out.stdout)) as {
    copied: { unit: string; version: number }[];
    skipped: { unit: string }[];
  };
}

/** The state documents of a tree, parsed: world files and player files, without locks and marks. */
function documents(files: Record<string, string>) {
  const out: Record<string, unknown> = {};
  for (const [path, text] of Object.entries(files)) {
    if (!path.endsWith(".json")) continue;
    out[path] = JSON.parse(text);
  }
  return out;
}

Deno.test("state:copy: files → nats → files keeps every world's state, outbox and version", async () => {
  await using nats = await natsServer();
  const root = await Deno.makeTempDir({ prefix: "gaia-copy-" });
  const dataDir = `${root}/data`;
  await writeVaultContent(dataDir);
  try {
    // Play on the files backend (no NATS: the outbox keeps the events).
    const files = await startKb({ bus: new InProcessBus(), dataDir, stateDir: `${root}/a` });
    const plays: [string, string, string][] = [
      ["ann", "vault-shared", "take apple"],
      ["bob", "vault-shared", "take key"],
      ["ann", "vault-shared", "put apple in chest"],
      ["cy", "vault-solo", "take lute"],
      ["dee", "vault-solo", "take idol"],
    ];
    for (const [user, experience, message] of plays) {
      const r = await files.kb.interact({
        request_id: crypto.randomUUID(),
        user_id: user,
        experience,
        message,
      });
      assert.ok(r.ok && r.outcome.changed, JSON.stringify(r));
    }
    const snaps = async (kb: typeof files) =>
      await Promise.all(plays.map(([u, e]) => kb.kb.snapshot(u, e)));
    const before = await snaps(files);
    await files.dispose();

    const args = [`--nats-url=${nats.url}`, `--data-dir=${dataDir}`];
    const toNats = await stateCopy(["--to=nats", `--state-dir=${root}/a`, ...args]);
    assert.deepEqual(
      toNats.copied.map((c) => [c.unit, c.version]).sort(),
      [
        ["gaia_state_vault-shared/world", 3],
        ["gaia_state_vault-solo/p.cy", 1],
        ["gaia_state_vault-solo/p.dee", 1],
      ],
    );
    // Copying again does not overwrite what the buckets hold.
    assert.equal(
      (await stateCopy(["--to=nats", `--state-dir=${root}/a`, ...args])).skipped.length,
      3,
    );

    // A KB on the nats backend serves the same worlds at the same versions.
    const kv = await startKb({
      natsUrl: nats.url,
      stateBackend: "nats",
      dataDir,
      responder: false,
    });
    try {
      assert.deepEqual(await snaps(kv), before);
    } finally {
      await kv.dispose();
    }

    const back = await stateCopy(["--to=files", `--state-dir=${root}/b`, ...args]);
    assert.equal(back.copied.length, 3);
    assert.deepEqual(documents(await tree(`${root}/b`)), documents(await tree(`${root}/a`)));
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});
