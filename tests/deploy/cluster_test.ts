/**
 * `deno task cluster` as users run it (the task's command from deno.json):
 * it starts a 3-node JetStream cluster, two KB and two chat processes and
 * the proxy, prints their URLs; one action is played through each chat
 * process and one through the proxy; SIGTERM stops every part (no port of
 * theirs answers afterwards) and removes the temp state.
 */
import assert from "node:assert/strict";
import { eventually, playAt } from "../_helpers/mod.ts";

const ROOT = decodeURIComponent(new URL("../../", import.meta.url).pathname);
const EXP = "wylding-woods";

/** The `deno run ...` words of the cluster task. */
async function clusterCommand(): Promise<string[]> {
  const config = JSON.parse(await Deno.readTextFile(`${ROOT}/deno.json`)) as {
    tasks: Record<string, string>;
  };
  const task = config.tasks.cluster;
  assert.ok(task, "deno.json has a cluster task");
  const words = task.split(/\s+/);
  assert.equal(words[0], "deno");
  return words.slice(1);
}

async function answers(url: string): Promise<boolean> {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(1_000) });
    await res.body?.cancel();
    return true;
  } catch {
    return false;
  }
}

Deno.test("deno task cluster: 3 NATS nodes, 2 KB, 2 chat, a proxy; an action through each chat; SIGTERM stops it all", async () => {
  const child = new Deno.Command(Deno.execPath(), {
    args: [...await clusterCommand(), "--port", "0"],
    cwd: ROOT,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const out: string[] = [];
  const err: string[] = [];
  const pump = async (s: ReadableStream<Uint8Array>, into: string[]) => {
    for await (const chunk of s.pipeThrough(new TextDecoderStream())) into.push(chunk);
  };
  const pumped = Promise.all([pump(child.stdout, out), pump(child.stderr, err)]);
  let exited = false;
  const status = child.status.then((s) => {
    exited = true;
    return s;
  });
  try {
    await eventually(() => exited || out.join("").includes("Ctrl-C stops everything."), {
      timeoutMs: 90_000,
      what: () => `the cluster's summary; stderr: ${err.join("").slice(-800)}`,
    });
    assert.ok(!exited, `the launcher exited: ${out.join("")} ${err.join("").slice(-800)}`);
    const text = out.join("");
    const url = (name: string) => {
      const m = new RegExp(`^\\s+${name}:\\s+(\\S+)`, "m").exec(text);
      assert.ok(m, `${name} in the summary: ${text}`);
      return m[1]!;
    };
    const chats = [url("chat-1"), url("chat-2")];
    const kbs = [url("kb-1"), url("kb-2")];
    const proxy = url("proxy");
    const nats = [...text.matchAll(/^\s+nats n\d:\s+(\S+) \(monitor (\S+)\)/gm)];
    assert.equal(nats.length, 3, "three NATS nodes");
    const jsz = await (await fetch(`${nats[0]![2]}/jsz`)).json();
    assert.equal(jsz.meta_cluster?.cluster_size, 3, JSON.stringify(jsz.meta_cluster));

    // The launcher's JWT secret is its own: tokens come from its dev login.
    const login = async (base: string, user: string): Promise<string> => {
      const res = await fetch(`${base}/api/v0.3/dev/login`, {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ user }),
      });
      assert.equal(res.status, 200, `${base} dev login`);
      return (await res.json()).token;
    };
    for (const [i, chat] of chats.entries()) {
      const user = `cluster-p${i}`;
      const token = await login(chat, user);
      const events = await playAt(chat, user, "north", EXP, { token });
      const types = events.map((e) => e.event);
      assert.equal(types.filter((t) => t === "world_update").length, 1, `${chat}: ${types}`);
      assert.ok(types.indexOf("world_update") < types.indexOf("content"), `${chat}: order`);
      assert.equal(types.at(-1), "done");
    }
    const token = await login(proxy, "cluster-proxy");
    const viaProxy = await playAt(proxy, "cluster-proxy", "north", EXP, { token });
    assert.ok(viaProxy.some((e) => e.event === "world_update"), JSON.stringify(viaProxy));
    // The proxy sends world state to a KB process (it answers with the KB's role).
    const state = await fetch(`${proxy}/api/v0.3/world/state?experience=${EXP}`, {
      headers: { Authorization: `Bearer ${token}` },
    });
    assert.equal(state.status, 200);
    assert.equal((await state.json()).experience, EXP);
    for (const u of [...chats, ...kbs]) {
      const r = await fetch(`${u}/ready`);
      assert.equal(r.status, 200, u);
      await r.body?.cancel();
    }

    child.kill("SIGTERM");
    const s = await status;
    assert.equal(s.code, 0, `exit: ${err.join("").slice(-800)}`);
    assert.match(out.join(""), /stopped/);
    for (const u of [proxy, ...chats, ...kbs, ...nats.map((m) => m[2]!)]) {
      assert.equal(await answers(`${u}/health`), false, `${u} still answers after the stop`);
    }
    const stateDir = /state: (\S+?)[,)]/.exec(text)?.[1];
    assert.ok(stateDir, text);
    await assert.rejects(Deno.stat(stateDir), Deno.errors.NotFound, "temp state removed");
  } finally {
    if (!exited) child.kill("SIGKILL");
    await status;
    await pumped;
  }
});
