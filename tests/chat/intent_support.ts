/**
 * The whole server for the intent-step tests: a real nats-server on free
 * ports, `startServer` from main.ts (`ROLE=all`: the real KB and grammar)
 * on a real port with a temp `STATE_DIR`, a narrator pointed at a local
 * mock of the provider (`llm_mock.ts`), and a chat client that reads the
 * SSE answer into events.
 *
 * @module
 */
import { EventSourceParserStream } from "eventsource-parser/stream";
import { type RunningServer, startServer } from "../../main.ts";
import { issueToken } from "../../shared/auth.ts";
import { setLogLevel } from "../../shared/log.ts";
import { type NatsServerProcess, startNatsServer } from "../../shared/nats_server.ts";
import { loadSettings } from "../../shared/settings.ts";
import { type LlmMock, startLlmMock } from "./llm_mock.ts";

setLogLevel("error");

/** The shared experience of the tests. */
export const WOODS = "wylding-woods";

const SECRET = "intent-test-secret-0123456789";

/** One chat SSE event, data parsed. */
export interface ChatEvent {
  event: string;
  // deno-lint-ignore no-explicit-any
  data: any;
}

/** What one chat POST gave. */
export interface ChatResult {
  status: number;
  events: ChatEvent[];
  /** The JSON body when the answer was not a stream. */
  // deno-lint-ignore no-explicit-any
  json?: any;
  ms: number;
}

/** A running stack. */
export interface IntentStack {
  url: string;
  server: RunningServer;
  /** The provider's mock (also started for `offline`, which must never call it). */
  mock: LlmMock;
  chat(
    user: string,
    message: string,
    opts?: { requestId?: string; stream?: boolean },
  ): Promise<ChatResult>;
  /** `GET /world/state` for a user. */
  // deno-lint-ignore no-explicit-any
  snapshot(user: string): Promise<any>;
  /** One value from `/metrics` (summed over matching series; 0 when absent). */
  metric(name: string, labels?: Record<string, string>): Promise<number>;
  dispose(): Promise<void>;
}

/** The settings that point a narrator of `kind` at `mock`. */
export function narratorEnv(
  kind: "anthropic" | "openai" | "offline",
  mock: LlmMock,
): Record<string, string> {
  const common = { NARRATOR: kind, NARRATOR_MAX_RETRIES: "0", NARRATOR_TIMEOUT: "2s" };
  if (kind === "anthropic") {
    return {
      ...common,
      ANTHROPIC_API_KEY: "test-key",
      ANTHROPIC_BASE_URL: mock.url,
      ANTHROPIC_FAST_MODEL: "fast-m",
      ANTHROPIC_CAPABLE_MODEL: "capable-m",
    };
  }
  // Offline too points at the mock: it must still never be asked.
  return {
    ...common,
    OPENAI_API_KEY: "test-key",
    OPENAI_BASE_URL: `${mock.url}/v1`,
    OPENAI_MODEL: "fast-m",
    OPENAI_CAPABLE_MODEL: "capable-m",
  };
}

/**
 * Starts nats-server, the mock and the server.
 *
 * @example
 * ```ts
 * const s = await startIntentStack("openai", { INTENT_TIMEOUT: "500ms" });
 * try { ... } finally { await s.dispose(); }
 * ```
 */
export async function startIntentStack(
  kind: "anthropic" | "openai" | "offline",
  env: Record<string, string> = {},
): Promise<IntentStack> {
  const mock = startLlmMock(kind === "anthropic" ? "anthropic" : "openai");
  let nats: NatsServerProcess | undefined;
  let stateDir: string | undefined;
  let server: RunningServer;
  try {
    nats = await startNatsServer();
    stateDir = await Deno.makeTempDir({ prefix: "gaia-intent-" });
    server = await startServer(loadSettings({
      DEV: "1",
      PORT: "0",
      NATS_URL: nats.url,
      STATE_DIR: stateDir,
      KB_DATA_DIR: decodeURIComponent(new URL("../../kb-data", import.meta.url).pathname),
      JWT_SECRET: SECRET,
      ACTION_RATE: "0",
      ...narratorEnv(kind, mock),
      ...env,
    }));
  } catch (e) {
    await nats?.dispose();
    await mock.close();
    if (stateDir) await Deno.remove(stateDir, { recursive: true }).catch(() => {});
    throw e;
  }
  const url = server.url;
  const headers = async (user: string, requestId?: string) => ({
    Authorization: `Bearer ${await issueToken(user, SECRET, 3600)}`,
    "Content-Type": "application/json",
    ...(requestId ? { "X-Request-Id": requestId } : {}),
  });
  return {
    url,
    server,
    mock,
    async chat(user, message, opts = {}) {
      const t0 = performance.now();
      const res = await fetch(`${url}/api/v0.3/chat`, {
        method: "POST",
        headers: await headers(user, opts.requestId),
        body: JSON.stringify({ message, experience: WOODS, stream: opts.stream ?? true }),
      });
      if (!res.headers.get("content-type")?.startsWith("text/event-stream")) {
        const json = await res.json();
        return { status: res.status, events: [], json, ms: performance.now() - t0 };
      }
      const events: ChatEvent[] = [];
      const stream = res.body!.pipeThrough(new TextDecoderStream())
        .pipeThrough(new EventSourceParserStream());
      for await (const m of stream) {
        events.push({ event: m.event ?? "message", data: JSON.parse(m.data) });
      }
      return { status: res.status, events, ms: performance.now() - t0 };
    },
    async snapshot(user) {
      const res = await fetch(`${url}/api/v0.3/world/state?experience=${WOODS}`, {
        headers: await headers(user),
      });
      return await res.json();
    },
    async metric(name, labels = {}) {
      const text = await (await fetch(`${url}/metrics`)).text();
      let sum = 0;
      for (const line of text.split("\n")) {
        if (!line.startsWith(name) || line.startsWith("#")) continue;
        const key = line.slice(0, line.lastIndexOf(" "));
        const base = key.includes("{") ? key.slice(0, key.indexOf("{")) : key;
        if (base !== name) continue;
        if (Object.entries(labels).every(([k, v]) => key.includes(`${k}="${v}"`))) {
          sum += Number(line.slice(line.lastIndexOf(" ") + 1));
        }
      }
      return sum;
    },
    async dispose() {
      await server.close();
      await nats!.dispose();
      await mock.close();
      await Deno.remove(stateDir!, { recursive: true }).catch(() => {});
    },
  };
}

/** The event names of a chat answer. */
export const kinds = (r: ChatResult) => r.events.map((e) => e.event);

/** The narrative text of a chat answer. */
export const narrative = (r: ChatResult) =>
  r.events.filter((e) => e.event === "content").map((e) => e.data.content).join("");

/**
 * The intent step's requests to the mock (those that offered tools).
 *
 * @example
 * ```ts
 * const before = toolRequests(stack.mock).length;
 * ```
 */
export const toolRequests = (mock: LlmMock) =>
  mock.requests.filter((r) => Array.isArray(r.body.tools));

/**
 * The user turn of an intent request, parsed (`{game, player_text}`).
 *
 * @example
 * ```ts
 * intentTurn(toolRequests(mock).at(-1)!.body).player_text;
 * ```
 */
// deno-lint-ignore no-explicit-any
export function intentTurn(body: any): { game: Record<string, unknown>; player_text: string } {
  const user = body.messages.find((m: { role: string }) => m.role === "user");
  return JSON.parse(user.content);
}
