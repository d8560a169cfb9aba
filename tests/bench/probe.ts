/**
 * The probe: one client in its own process, so its arrival times are not
 * delayed by the load generator reading a thousand other sockets (a real
 * player is on their own device too). Driven by JSON lines on stdin, answers
 * JSON lines on stdout.
 *
 *   deno run -A tests/bench/probe.ts actor <port> <user> <token>
 *     stdin  {"message": "...", "experience": "..."}  → stdout an ActionTiming
 *   deno run -A tests/bench/probe.ts relay <port>
 *     stdout {"id": "...", "at": ms} for every event on one relay stream
 *
 * The first line out is `{"ready": true}`.
 *
 * @module
 */
import { type ActionTiming, Player } from "./gaia_client.ts";
import { LeanConn } from "./http_client.ts";
import { ROOT } from "./procs.ts";
import { clockOffsetMs } from "./mem_hook.ts";

const encoder = new TextEncoder();

function out(value: unknown): void {
  Deno.stdout.writeSync(encoder.encode(JSON.stringify(value) + "\n"));
}

async function* lines(stream: ReadableStream<Uint8Array>): AsyncGenerator<string> {
  let buf = "";
  for await (const text of stream.pipeThrough(new TextDecoderStream())) {
    buf += text;
    for (let nl = buf.indexOf("\n"); nl >= 0; nl = buf.indexOf("\n")) {
      yield buf.slice(0, nl);
      buf = buf.slice(nl + 1);
    }
  }
}

async function actorMode(port: number, user: string, token: string): Promise<void> {
  const player = new Player(port, user, token);
  out({ ready: true, clockOffsetMs: clockOffsetMs() });
  for await (const line of lines(Deno.stdin.readable)) {
    const { message, experience } = JSON.parse(line) as { message: string; experience: string };
    try {
      out(await player.act(message, experience));
    } catch (e) {
      out({ error: String((e as Error).message ?? e) });
    }
  }
  player.close();
}

async function relayMode(port: number): Promise<void> {
  const conn = await LeanConn.open(port);
  await new Promise<void>((resolve, reject) => {
    conn.send({
      method: "GET",
      path: "/stream",
      onHead: (s) => s === 200 ? resolve() : reject(new Error(`relay: HTTP ${s}`)),
      onEvent: (e) => {
        const k = e.data.indexOf('"id":"');
        out({ id: e.data.slice(k + 6, e.data.indexOf('"', k + 6)), at: e.at });
      },
    }).done.catch(reject);
  });
  out({ ready: true, clockOffsetMs: clockOffsetMs() });
  for await (const _ of Deno.stdin.readable) { /* until stdin closes */ }
  conn.close();
}

/** A running probe process, read line by line. */
export class Probe {
  readonly #child: Deno.ChildProcess;
  readonly #lines: AsyncGenerator<string>;
  readonly #writer: WritableStreamDefaultWriter<Uint8Array>;
  /** The probe's event clock minus this process's (ms): subtract from its times. */
  skewMs = 0;

  private constructor(child: Deno.ChildProcess) {
    this.#child = child;
    this.#lines = lines(child.stdout);
    this.#writer = child.stdin.getWriter();
  }

  /** Starts a probe with `args` and waits for its ready line. */
  static async start(args: string[]): Promise<Probe> {
    const child = new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", `${ROOT}tests/bench/probe.ts`, ...args],
      stdin: "piped",
      stdout: "piped",
      stderr: "inherit",
    }).spawn();
    const p = new Probe(child);
    const first = await p.next() as { ready?: boolean; clockOffsetMs?: number };
    if (!first.ready) throw new Error(`probe: ${JSON.stringify(first)}`);
    p.skewMs = (first.clockOffsetMs ?? 0) - clockOffsetMs();
    return p;
  }

  /** The next JSON line from the probe. */
  async next(): Promise<unknown> {
    const r = await this.#lines.next();
    if (r.done) throw new Error("probe exited");
    return JSON.parse(r.value);
  }

  /** Has the actor probe send one action and returns its timing. */
  async act(message: string, experience: string): Promise<ActionTiming> {
    await this.#writer.write(encoder.encode(JSON.stringify({ message, experience }) + "\n"));
    const r = await this.next() as Record<string, unknown>;
    if (r.error) throw new Error(String(r.error));
    // JSON turned NaN into null.
    const num = (v: unknown) => typeof v === "number" ? v : NaN;
    return {
      status: num(r.status),
      sent: num(r.sent),
      update: num(r.update),
      committed: num(r.committed),
      eventId: typeof r.eventId === "string" ? r.eventId : undefined,
      done: num(r.done),
    };
  }

  /** Closes its stdin and waits for it to exit. */
  async stop(): Promise<void> {
    await this.#writer.close().catch(() => {});
    const timer = setTimeout(() => this.#child.kill("SIGKILL"), 5_000);
    await this.#child.status;
    clearTimeout(timer);
    await this.#lines.return(undefined);
  }
}

if (import.meta.main) {
  const [mode, port, user, token] = Deno.args;
  if (mode === "actor") await actorMode(Number(port), user!, token!);
  else if (mode === "relay") await relayMode(Number(port));
  else throw new Error("usage: probe.ts actor <port> <user> <token> | relay <port>");
}
