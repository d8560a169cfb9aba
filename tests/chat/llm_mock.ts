/**
 * Local HTTP servers that replay the documented streaming formats of the
 * Anthropic Messages API and OpenAI chat completions, with failure modes:
 * `ok`, `429`, `500`, `malformed` (a broken chunk mid-stream), `stall`
 * (headers and one chunk, then silence), `slow` (one chunk every 50 ms),
 * `trickle` (50 chunks, one every 200 ms: a long answer) and `no_choices`
 * (OpenAI: a chunk without `choices` mid-stream, as some compatible servers send).
 *
 * Requests that offer tools (the intent step) are answered by `toolMode`
 * instead, after `toolDelayMs`, in each provider's wire format, streamed
 * when the request asks for a stream (Anthropic `tool_use` blocks with
 * `input_json_delta`; OpenAI `tool_calls` with `arguments` in pieces) and
 * as one JSON body otherwise: `call` (the `act` tool with `{command}` from
 * `toolCommand`, or `toolArguments` as they are), `decline` (text only),
 * `malformed` (arguments that are not JSON, or an input without `command`),
 * `wrong_tool` (a call of another tool), `500`, `garbage` (a 200 body that
 * is not JSON) and `stall` (the head and half a JSON body, then silence until
 * the client gives up, which `toolAborted` counts). `toolDelayMs` holds back
 * the head (a client that gives up meanwhile is not seen: Deno's server
 * notices a gone client only once it writes).
 *
 * @module
 */
import { type ToolAnswer, toolResponse } from "./llm_mock_tools.ts";

export type { ToolAnswer };

/** Failure mode of the next requests. */
export type MockMode =
  | "ok"
  | "429"
  | "500"
  | "malformed"
  | "stall"
  | "slow"
  | "trickle"
  | "no_choices";

/** One recorded request. */
export interface MockRequest {
  path: string;
  headers: Headers;
  // deno-lint-ignore no-explicit-any
  body: any;
}

/** How the next requests that offer tools are answered. */
export type ToolMode =
  | "call"
  | "decline"
  | "malformed"
  | "wrong_tool"
  | "500"
  | "garbage"
  | "stall";

/** A running mock. */
export interface LlmMock {
  url: string;
  mode: MockMode;
  toolMode: ToolMode;
  /** Delay before a tool answer's head (ms). */
  toolDelayMs: number;
  /** The command of an `act` call, from the request (default `look`). */
  toolCommand: (req: MockRequest) => string;
  /** When set, the `act` call's arguments exactly (any JSON value), instead of `{command}`. */
  toolArguments?: (req: MockRequest) => unknown;
  requests: MockRequest[];
  /** Stalled tool answers whose client went away (cancelled bodies). */
  toolAborted: number;
  /** Streams whose client went away before the end (cancelled bodies). */
  cancelled: number;
  /** Streams that ran to their end. */
  finished: number;
  /** Frames sent by paced streams (`slow`, `trickle`). */
  sent: number;
  close(): Promise<void>;
}

/** The text every successful mock stream spells out, chunk by chunk. */
export const MOCK_CHUNKS = ["The bottle ", "glows ", "softly."];

const enc = new TextEncoder();

function anthropicFrames(model: string, chunks = MOCK_CHUNKS): string[] {
  const ev = (type: string, data: unknown) => `event: ${type}\ndata: ${JSON.stringify(data)}\n\n`;
  return [
    ev("message_start", {
      type: "message_start",
      message: {
        id: "msg_mock",
        type: "message",
        role: "assistant",
        content: [],
        model,
        stop_reason: null,
        stop_sequence: null,
        usage: { input_tokens: 12, output_tokens: 1 },
      },
    }),
    ev("content_block_start", {
      type: "content_block_start",
      index: 0,
      content_block: { type: "text", text: "" },
    }),
    ev("ping", { type: "ping" }),
    ...chunks.map((text) =>
      ev("content_block_delta", {
        type: "content_block_delta",
        index: 0,
        delta: { type: "text_delta", text },
      })
    ),
    ev("content_block_stop", { type: "content_block_stop", index: 0 }),
    ev("message_delta", {
      type: "message_delta",
      delta: { stop_reason: "end_turn", stop_sequence: null },
      usage: { output_tokens: 8 },
    }),
    ev("message_stop", { type: "message_stop" }),
  ];
}

function openaiFrames(model: string, chunks = MOCK_CHUNKS): string[] {
  const chunk = (delta: Record<string, unknown>, finish: string | null) =>
    `data: ${
      JSON.stringify({
        id: "chatcmpl-mock",
        object: "chat.completion.chunk",
        created: 1_700_000_000,
        model,
        choices: [{ index: 0, delta, finish_reason: finish }],
      })
    }\n\n`;
  return [
    chunk({ role: "assistant", content: "" }, null),
    ...chunks.map((content) => chunk({ content }, null)),
    chunk({}, "stop"),
    "data: [DONE]\n\n",
  ];
}

function errorBody(kind: "anthropic" | "openai", status: number): unknown {
  const type = status === 429 ? "rate_limit_error" : "api_error";
  return kind === "anthropic"
    ? { type: "error", error: { type, message: `mock ${status}` } }
    : { error: { message: `mock ${status}`, type, code: null, param: null } };
}

/**
 * Starts a mock of `kind` on a free port.
 *
 * @example
 * ```ts
 * const mock = startLlmMock("openai"); mock.mode = "stall";
 * ```
 */
export function startLlmMock(kind: "anthropic" | "openai"): LlmMock {
  const mock: LlmMock = {
    url: "",
    mode: "ok",
    toolMode: "call",
    toolDelayMs: 0,
    toolCommand: () => "look",
    requests: [],
    toolAborted: 0,
    cancelled: 0,
    finished: 0,
    sent: 0,
    close: () => {
      // Stalled bodies end here, or the server would wait for them forever.
      for (const c of stalled) {
        try {
          c.close();
        } catch { /* cancelled */ }
      }
      return server.shutdown();
    },
  };
  const stalled = new Set<ReadableStreamDefaultController<Uint8Array>>();
  const server = Deno.serve({ port: 0, hostname: "127.0.0.1", onListen() {} }, async (req) => {
    const body = await req.json();
    const recorded = { path: new URL(req.url).pathname, headers: req.headers, body };
    mock.requests.push(recorded);
    if (Array.isArray(body.tools)) return await answerTools(mock, kind, recorded, stalled);
    const mode = mock.mode;
    if (mode === "429" || mode === "500") {
      const status = Number(mode);
      return Response.json(errorBody(kind, status), {
        status,
        headers: status === 429 ? { "retry-after": "0" } : {},
      });
    }
    const chunks = mode === "trickle" ? Array.from({ length: 50 }, (_, i) => `w${i} `) : undefined;
    const frames = kind === "anthropic"
      ? anthropicFrames(body.model, chunks)
      : openaiFrames(body.model, chunks);
    if (mode === "no_choices") {
      frames.splice(
        2,
        0,
        `data: ${JSON.stringify({ id: "x", object: "chat.completion.chunk" })}\n\n`,
      );
    }
    let timer: ReturnType<typeof setTimeout> | undefined;
    const stream = new ReadableStream<Uint8Array>({
      start(c) {
        if (mode === "ok" || mode === "no_choices") {
          for (const f of frames) c.enqueue(enc.encode(f));
          c.close();
          mock.finished++;
        } else if (mode === "malformed") {
          for (const f of frames.slice(0, 4)) c.enqueue(enc.encode(f));
          c.enqueue(
            enc.encode(
              kind === "anthropic"
                ? "event: content_block_delta\ndata: {not json\n\n"
                : "data: {not json\n\n",
            ),
          );
          c.close();
        } else if (mode === "stall") {
          for (const f of frames.slice(0, kind === "anthropic" ? 4 : 2)) c.enqueue(enc.encode(f));
        } else if (mode === "slow" || mode === "trickle") {
          let i = 0;
          const tick = () => {
            if (i >= frames.length) {
              mock.finished++;
              return c.close();
            }
            c.enqueue(enc.encode(frames[i++]!));
            mock.sent++;
            timer = setTimeout(tick, mode === "slow" ? 50 : 200);
          };
          tick();
        }
      },
      cancel() {
        clearTimeout(timer);
        mock.cancelled++;
      },
    });
    return new Response(stream, {
      headers: { "content-type": "text/event-stream", "cache-control": "no-cache" },
    });
  });
  mock.url = `http://127.0.0.1:${server.addr.port}`;
  return mock;
}

async function answerTools(
  mock: LlmMock,
  kind: "anthropic" | "openai",
  recorded: MockRequest,
  stalled: Set<ReadableStreamDefaultController<Uint8Array>>,
): Promise<Response> {
  const mode = mock.toolMode;
  if (mode === "stall") {
    let controller: ReadableStreamDefaultController<Uint8Array>;
    const body = new ReadableStream<Uint8Array>({
      start(c) {
        controller = c;
        stalled.add(c);
        c.enqueue(enc.encode('{"id": "msg_mock", "content": ['));
      },
      cancel() {
        stalled.delete(controller);
        mock.toolAborted++;
      },
    });
    return new Response(body, { headers: { "content-type": "application/json" } });
  }
  if (mock.toolDelayMs > 0) await new Promise((r) => setTimeout(r, mock.toolDelayMs));
  if (mode === "500") return Response.json(errorBody(kind, 500), { status: 500 });
  if (mode === "garbage") {
    return new Response("<html>not an API</html>", {
      headers: { "content-type": "application/json" },
    });
  }
  let answer: ToolAnswer;
  if (mode === "decline") answer = { kind: "text", text: "You cannot do that here." };
  else if (mode === "malformed") answer = { kind: "malformed" };
  else {
    const args = mock.toolArguments
      ? mock.toolArguments(recorded)
      : { command: mock.toolCommand(recorded) };
    answer = { kind: "call", name: mode === "wrong_tool" ? "give_everything" : "act", args };
  }
  return toolResponse(kind, recorded.body.model, answer, recorded.body.stream === true);
}
