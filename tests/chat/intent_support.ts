/**
 * The whole server for the intent-step tests: the kit's `setup()` (a real
 * nats-server, main.ts's `startServer` with `ROLE=all`: the real KB and
 * grammar, the shipped content, a temp `STATE_DIR`), a narrator pointed at
 * a local mock of the provider (`llm_mock.ts`), and a chat client that
 * reads the SSE answer into events.
 *
 * @module
 */
import { setup, SseClient, type TestStack } from "../_helpers/mod.ts";
import { type LlmMock, startLlmMock } from "./llm_mock.ts";

/** The shared experience of the tests. */
export const WOODS = "wylding-woods";

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
  stack: TestStack;
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
 * Starts the mock and the server (`setup()` with the narrator's settings).
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
  let stack: TestStack;
  try {
    stack = await setup({ env: { ...narratorEnv(kind, mock), ...env } });
  } catch (e) {
    await mock.close();
    throw e;
  }
  const headers = async (user: string, requestId?: string) => ({
    ...stack.headers(await stack.token(user)),
    ...(requestId ? { "X-Request-Id": requestId } : {}),
  });
  return {
    url: stack.url,
    stack,
    mock,
    async chat(user, message, opts = {}) {
      const t0 = performance.now();
      const res = await stack.fetch("/api/v0.3/chat", {
        method: "POST",
        headers: await headers(user, opts.requestId),
        body: JSON.stringify({ message, experience: WOODS, stream: opts.stream ?? true }),
      });
      if (!res.headers.get("content-type")?.startsWith("text/event-stream")) {
        const json = await res.json();
        return { status: res.status, events: [], json, ms: performance.now() - t0 };
      }
      const sse = await SseClient.from(res);
      const messages = await sse.untilEnd();
      const events = messages.map(({ event, data }) => ({ event, data }));
      return { status: res.status, events, ms: performance.now() - t0 };
    },
    snapshot: (user) => stack.state(user, WOODS),
    async metric(name, labels = {}) {
      const text = await (await stack.fetch("/metrics")).text();
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
      await stack.dispose();
      await mock.close();
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
