/**
 * The deploy templates stay in step with the code: each role's settings
 * file is accepted by the settings schema once the secrets are added, the
 * NATS configuration passes `nats-server -t`, the systemd units run the
 * permissions the tasks use (chat: the edge role's), and the proxy routes
 * as nginx.conf.example's split-role block does.
 */
import assert from "node:assert/strict";
import { loadSettings } from "../../shared/settings.ts";
import { parseEnvFile } from "../../deploy/cluster.ts";
import { poolFor } from "../../deploy/proxy.ts";
import { natsBinary } from "../_helpers/mod.ts";

const DEPLOY = decodeURIComponent(new URL("../../deploy/", import.meta.url).pathname);
const read = (p: string) => Deno.readTextFile(`${DEPLOY}${p}`);
const SECRETS = { JWT_SECRET: "0123456789abcdef0123", NATS_TOKEN: "gaia_token" };

async function taskFlags(task: string): Promise<string[]> {
  const config = JSON.parse(await Deno.readTextFile(`${DEPLOY}../deno.json`));
  return (config.tasks[task] as string).split(/\s+/).filter((w) => w.startsWith("--allow"));
}

function unitFlags(unit: string): string[] {
  const exec = /^ExecStart=(.*)$/m.exec(unit)?.[1] ?? "";
  return exec.split(/\s+/).filter((w) => w.startsWith("--allow"));
}

Deno.test("kb.env and chat.env are valid settings of their role (with the secrets)", async () => {
  const kb = loadSettings({ ...parseEnvFile(await read("cluster/kb.env")), ...SECRETS });
  assert.equal(kb.ROLE, "kb");
  assert.equal(kb.NATS_URL?.split(",").length, 3);
  const chat = loadSettings({ ...parseEnvFile(await read("cluster/chat.env")), ...SECRETS });
  assert.equal(chat.ROLE, "chat");
  assert.ok(chat.KB_URL);
});

Deno.test("nats.conf passes nats-server -t with its variables set", async () => {
  const out = await new Deno.Command(natsBinary(), {
    args: ["-c", `${DEPLOY}cluster/nats.conf`, "-t"],
    env: { NATS_SERVER_NAME: "nats-1", NATS_STORE_DIR: "/tmp/gaia-js", NATS_TOKEN: "gaia_x1" },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder().decode(out.stderr) + new TextDecoder().decode(out.stdout);
  assert.ok(out.success, text);
});

Deno.test("systemd units: chat runs start:edge's permissions, kb adds only --allow-write", async () => {
  const chat = unitFlags(await read("systemd/gaia-chat.service"));
  assert.deepEqual(chat.toSorted(), (await taskFlags("start:edge")).toSorted());
  const kb = unitFlags(await read("systemd/gaia-kb.service"));
  assert.deepEqual(kb.toSorted(), [...chat, "--allow-write"].toSorted());
  assert.deepEqual(unitFlags(await read("systemd/gaia-proxy.service")), ["--allow-net"]);
});

Deno.test("proxy routes: world state, experiences and /kb/* to the KB, the rest to chat", () => {
  for (const p of ["/kb/experience/interact", "/api/v0.3/world/state", "/api/v0.3/experiences"]) {
    assert.equal(poolFor(p), "kb", p);
  }
  for (const p of ["/api/v0.3/chat", "/api/v0.3/world/stream", "/", "/health"]) {
    assert.equal(poolFor(p), "chat", p);
  }
});
