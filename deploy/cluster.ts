/**
 * `deno task cluster`: the split deployment on one machine, from the same
 * templates a real host uses (`deploy/cluster/`): a 3-node JetStream
 * cluster (`nats.conf`), two `ROLE=kb` processes (`kb.env`), two
 * `ROLE=chat` processes (`chat.env`, with the edge role's permissions) and
 * the routing in front (`proxy.ts`, nginx's split-role rules). Every part
 * gets a free port on 127.0.0.1 (the proxy: `--port`, default 8080), one
 * random NATS token and one JWT secret; `DEV=1` is added so the printed
 * login line works. Prints the URLs; Ctrl-C or SIGTERM stops everything
 * (chat and KB drain first, then the proxy, then NATS).
 *
 * ```sh
 * deno task cluster                  # proxy on :8080, state in a temp dir
 * deno task cluster --port 0 --dir ./.cluster   # free port, state kept
 * ```
 *
 * @module
 */
import { freePort, type NatsCluster, startNatsCluster } from "../shared/nats_server.ts";
import { type RunningProxy, startProxy } from "./proxy.ts";

const HERE = new URL(".", import.meta.url);
const ROOT = new URL("..", import.meta.url);
const path = (u: URL) => decodeURIComponent(u.pathname);

/** The edge role's flags (`deno task start:edge`); the KB needs files and subprocess-free writes. */
const CHAT_PERMISSIONS = ["--allow-net", "--allow-env", "--allow-read"];
const KB_PERMISSIONS = ["--allow-net", "--allow-env", "--allow-read", "--allow-write"];

/**
 * Parses a systemd-style environment file: `KEY=VALUE` lines, `#` comments.
 *
 * @example
 * ```ts
 * parseEnvFile("ROLE=kb\n# note\nPORT=8001\n"); // { ROLE: "kb", PORT: "8001" }
 * ```
 */
export function parseEnvFile(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const raw of text.split("\n")) {
    const line = raw.trim();
    if (!line || line.startsWith("#")) continue;
    const eq = line.indexOf("=");
    if (eq <= 0) throw new Error(`not KEY=VALUE: ${line}`);
    out[line.slice(0, eq).trim()] = line.slice(eq + 1).trim().replace(/^"(.*)"$/, "$1");
  }
  return out;
}

function randomHex(bytes: number): string {
  return Array.from(
    crypto.getRandomValues(new Uint8Array(bytes)),
    (b) => b.toString(16).padStart(2, "0"),
  ).join("");
}

/** One GAIA child process. */
interface Member {
  readonly name: string;
  readonly url: string;
  readonly child: Deno.ChildProcess;
}

function spawnMember(name: string, permissions: string[], env: Record<string, string>): Member {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", ...permissions, path(new URL("main.ts", ROOT))],
    env,
    stdin: "null",
    stdout: "null", // the dev banner: the launcher prints its own
    // Each process's JSON log, prefixed so the four can be told apart.
    stderr: "piped",
  }).spawn();
  (async () => {
    let rest = "";
    for await (const chunk of child.stderr.pipeThrough(new TextDecoderStream())) {
      const lines = (rest + chunk).split("\n");
      rest = lines.pop()!;
      for (const l of lines) if (l) console.error(`${name} ${l}`);
    }
  })().catch(() => {});
  return { name, url: `http://127.0.0.1:${env.PORT}`, child };
}

async function waitReady(m: Member, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let exited = false;
  m.child.status.then(() => exited = true);
  for (;;) {
    try {
      const res = await fetch(`${m.url}/ready`, { signal: AbortSignal.timeout(2_000) });
      await res.body?.cancel();
      if (res.ok) return;
    } catch { /* not listening yet */ }
    if (exited) throw new Error(`${m.name} exited during start-up`);
    if (Date.now() > deadline) throw new Error(`${m.name} not ready within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Options of {@linkcode startCluster}. */
export interface ClusterOptions {
  /** Proxy port (0: a free one). */
  port: number;
  /** Where the KB state and the NATS stores go; a temp dir (removed at stop) when omitted. */
  dir?: string;
}

/** The running cluster. */
export interface LocalCluster {
  readonly proxy: RunningProxy;
  readonly nats: NatsCluster;
  readonly kb: readonly Member[];
  readonly chat: readonly Member[];
  /** Lines describing the URLs, as printed. */
  readonly summary: string;
  /** SIGTERM to chat and KB (they drain), then the proxy and NATS; idempotent. */
  stop(): Promise<void>;
}

/**
 * Starts the cluster and waits until every process answers `/ready`.
 *
 * @example
 * ```ts
 * const cluster = await startCluster({ port: 0 });
 * console.log(cluster.summary);
 * await cluster.stop();
 * ```
 */
export async function startCluster(opts: ClusterOptions): Promise<LocalCluster> {
  const ownDir = !opts.dir;
  const dir = opts.dir ?? await Deno.makeTempDir({ prefix: "gaia-cluster-" });
  await Deno.mkdir(`${dir}/state`, { recursive: true });
  // nats-server parses a variable's value as config: one that starts with a digit is a number.
  const token = `gaia_${randomHex(16)}`;
  const secret = randomHex(32);
  const read = (name: string) => Deno.readTextFile(path(new URL(`cluster/${name}`, HERE)));
  const [natsConf, kbEnv, chatEnv] = await Promise.all([
    read("nats.conf"),
    read("kb.env").then(parseEnvFile),
    read("chat.env").then(parseEnvFile),
  ]);
  const members: Member[] = [];
  let nats: NatsCluster | undefined;
  let proxy: RunningProxy | undefined;
  let stopping: Promise<void> | undefined;
  const stop = () =>
    stopping ??= (async () => {
      for (const m of members) {
        try {
          m.child.kill("SIGTERM");
        } catch { /* already gone */ }
      }
      await Promise.all(members.map((m) => m.child.status));
      await proxy?.close();
      await nats?.dispose();
      if (ownDir) await Deno.remove(dir, { recursive: true }).catch(() => {});
    })();
  try {
    nats = await startNatsCluster({
      config: natsConf,
      env: { NATS_TOKEN: token, NATS_SERVER_NAME: "gaia-local" },
      token,
    });
    // Where the members' stores live is the launcher's business (temp dirs
    // of the launcher); the KB state is what --dir keeps.
    const common = {
      NATS_URL: nats.url,
      NATS_TOKEN: token,
      JWT_SECRET: secret,
      HOST: "127.0.0.1",
      DEV: "1",
      PATH: Deno.env.get("PATH") ?? "",
      HOME: Deno.env.get("HOME") ?? "",
      ...(Deno.env.get("DENO_DIR") ? { DENO_DIR: Deno.env.get("DENO_DIR")! } : {}),
    };
    const kbState = `${dir}/state`;
    const kbData = path(new URL("kb-data", ROOT));
    for (const i of [1, 2]) {
      members.push(spawnMember(`kb-${i}`, KB_PERMISSIONS, {
        ...kbEnv,
        ...common,
        PORT: String(freePort()),
        STATE_DIR: kbState,
        KB_DATA_DIR: kbData,
      }));
    }
    const kb = members.slice(0, 2);
    for (const i of [1, 2]) {
      members.push(spawnMember(`chat-${i}`, CHAT_PERMISSIONS, {
        ...chatEnv,
        ...common,
        PORT: String(freePort()),
        KB_URL: kb[i - 1]!.url,
      }));
    }
    const chat = members.slice(2);
    await Promise.all(members.map((m) => waitReady(m, 60_000)));
    proxy = await startProxy({
      port: opts.port,
      kb: kb.map((m) => m.url),
      chat: chat.map((m) => m.url),
    });
    const summary = [
      `GAIA cluster up (state: ${kbState}${ownDir ? ", removed at stop" : ""})`,
      `  proxy:  ${proxy.url}`,
      ...chat.map((m) => `  ${m.name}: ${m.url}`),
      ...kb.map((m) => `  ${m.name}:   ${m.url}`),
      ...nats.servers.map((s) =>
        `  nats ${s.name}:  ${s.url} (monitor http://127.0.0.1:${s.monitorPort})`
      ),
      `  NATS_TOKEN=${token}`,
      "",
      "Play one action:",
      `  TOKEN=$(curl -s -X POST ${proxy.url}/api/v0.3/dev/login -H 'Content-Type: application/json' -d '{"user":"alice"}' | sed -E 's/.*"token":"([^"]+)".*/\\1/')`,
      `  curl -N -X POST ${proxy.url}/api/v0.3/chat -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' -d '{"message":"take the lantern","experience":"wylding-woods"}'`,
      "",
      "Ctrl-C stops everything.",
    ].join("\n");
    return { proxy, nats, kb, chat, summary, stop };
  } catch (e) {
    await stop();
    throw e;
  }
}

function arg(name: string): string | undefined {
  const i = Deno.args.indexOf(name);
  return i >= 0 ? Deno.args[i + 1] : undefined;
}

if (import.meta.main) {
  const port = Number(arg("--port") ?? 8080);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    console.error("usage: deno task cluster [--port 8080] [--dir ./.cluster]");
    Deno.exit(2);
  }
  let cluster: LocalCluster;
  try {
    cluster = await startCluster({ port, dir: arg("--dir") });
  } catch (e) {
    console.error(`cluster did not start: ${(e as Error).message}`);
    Deno.exit(1);
  }
  const say = (line: string) => {
    try {
      console.log(line);
    } catch { /* stdout gone (a closed pipe): stopping matters more */ }
  };
  const stop = async (signal: string, code = 0) => {
    say(`\n${signal}: stopping the cluster`);
    await cluster.stop();
    say("stopped");
    Deno.exit(code);
  };
  // Children outlive a launcher that dies: whatever ends it, stop them first.
  globalThis.addEventListener("error", (e) => {
    e.preventDefault();
    console.error(`launcher error: ${e.message}`);
    stop("error", 1);
  });
  globalThis.addEventListener("unhandledrejection", (e) => {
    e.preventDefault();
    console.error(`launcher error: ${e.reason}`);
    stop("error", 1);
  });
  say(cluster.summary);
  Deno.addSignalListener("SIGINT", () => stop("SIGINT"));
  Deno.addSignalListener("SIGTERM", () => stop("SIGTERM"));
}
