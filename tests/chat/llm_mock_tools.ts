/**
 * Tool-call answers in the documented wire formats of the Anthropic
 * Messages API (`tool_use` content blocks; streamed as `content_block_start`
 * with an empty `input`, then `input_json_delta` pieces) and OpenAI chat
 * completions (`message.tool_calls` with `function.arguments` as a JSON
 * string; streamed as `delta.tool_calls` whose `arguments` arrive in
 * pieces), for the mock servers of `llm_mock.ts`.
 *
 * @module
 */

/** What a tool answer carries. */
export type ToolAnswer =
  | { kind: "call"; name: string; args: unknown }
  | { kind: "text"; text: string }
  /** Arguments that are not JSON (OpenAI) or an `input` that is not an object (Anthropic). */
  | { kind: "malformed" };

const enc = new TextEncoder();

/** Splits text into pieces of about `n` characters, as a model streams JSON. */
function pieces(text: string, n = 7): string[] {
  const out: string[] = [];
  for (let i = 0; i < text.length; i += n) out.push(text.slice(i, i + n));
  return out.length ? out : [""];
}

const BROKEN_JSON = '{"command": "take the bot';

function anthropicJson(model: string, a: ToolAnswer): unknown {
  const content = a.kind === "text" ? [{ type: "text", text: a.text }] : [
    { type: "text", text: "Let me do that." },
    {
      type: "tool_use",
      id: "toolu_mock",
      name: a.kind === "call" ? a.name : "act",
      input: a.kind === "call" ? a.args : BROKEN_JSON,
    },
  ];
  return {
    id: "msg_mock",
    type: "message",
    role: "assistant",
    model,
    content,
    stop_reason: a.kind === "text" ? "end_turn" : "tool_use",
    stop_sequence: null,
    usage: { input_tokens: 120, output_tokens: 14 },
  };
}

function anthropicFrames(model: string, a: ToolAnswer): string[] {
  const ev = (type: string, data: Record<string, unknown>) =>
    `event: ${type}\ndata: ${JSON.stringify({ type, ...data })}\n\n`;
  const frames = [ev("message_start", {
    message: {
      id: "msg_mock",
      type: "message",
      role: "assistant",
      content: [],
      model,
      stop_reason: null,
      stop_sequence: null,
      usage: { input_tokens: 120, output_tokens: 1 },
    },
  })];
  if (a.kind === "text") {
    frames.push(
      ev("content_block_start", { index: 0, content_block: { type: "text", text: "" } }),
      ev("content_block_delta", { index: 0, delta: { type: "text_delta", text: a.text } }),
      ev("content_block_stop", { index: 0 }),
    );
  } else {
    const json = a.kind === "call" ? JSON.stringify(a.args) : BROKEN_JSON;
    frames.push(
      ev("content_block_start", {
        index: 0,
        content_block: {
          type: "tool_use",
          id: "toolu_mock",
          name: a.kind === "call" ? a.name : "act",
          input: {},
        },
      }),
      ...pieces(json).map((partial_json) =>
        ev("content_block_delta", { index: 0, delta: { type: "input_json_delta", partial_json } })
      ),
      ev("content_block_stop", { index: 0 }),
    );
  }
  frames.push(
    ev("message_delta", {
      delta: { stop_reason: a.kind === "text" ? "end_turn" : "tool_use", stop_sequence: null },
      usage: { output_tokens: 14 },
    }),
    ev("message_stop", {}),
  );
  return frames;
}

function openaiArguments(a: ToolAnswer): string {
  return a.kind === "call" ? JSON.stringify(a.args) : BROKEN_JSON;
}

function openaiJson(model: string, a: ToolAnswer): unknown {
  const message = a.kind === "text" ? { role: "assistant", content: a.text, refusal: null } : {
    role: "assistant",
    content: null,
    refusal: null,
    tool_calls: [{
      id: "call_mock",
      type: "function",
      function: { name: a.kind === "call" ? a.name : "act", arguments: openaiArguments(a) },
    }],
  };
  return {
    id: "chatcmpl-mock",
    object: "chat.completion",
    created: 1_700_000_000,
    model,
    choices: [{
      index: 0,
      message,
      logprobs: null,
      finish_reason: a.kind === "text" ? "stop" : "tool_calls",
    }],
    usage: { prompt_tokens: 120, completion_tokens: 14, total_tokens: 134 },
  };
}

function openaiFrames(model: string, a: ToolAnswer): string[] {
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
  if (a.kind === "text") {
    return [
      chunk({ role: "assistant", content: "" }, null),
      chunk({ content: a.text }, null),
      chunk({}, "stop"),
      "data: [DONE]\n\n",
    ];
  }
  const name = a.kind === "call" ? a.name : "act";
  return [
    chunk({
      role: "assistant",
      content: null,
      tool_calls: [{
        index: 0,
        id: "call_mock",
        type: "function",
        function: { name, arguments: "" },
      }],
    }, null),
    ...pieces(openaiArguments(a)).map((args) =>
      chunk({ tool_calls: [{ index: 0, function: { arguments: args } }] }, null)
    ),
    chunk({}, "tool_calls"),
    "data: [DONE]\n\n",
  ];
}

/**
 * The HTTP response of a tool answer: one JSON body, or an SSE stream when
 * the request asked for one.
 *
 * @example
 * ```ts
 * return toolResponse("openai", body.model, { kind: "call", name: "act", args: { command: "look" } }, false);
 * ```
 */
export function toolResponse(
  kind: "anthropic" | "openai",
  model: string,
  answer: ToolAnswer,
  stream: boolean,
): Response {
  if (!stream) {
    return Response.json(
      kind === "anthropic" ? anthropicJson(model, answer) : openaiJson(model, answer),
    );
  }
  const frames = kind === "anthropic"
    ? anthropicFrames(model, answer)
    : openaiFrames(model, answer);
  const body = new ReadableStream<Uint8Array>({
    start(c) {
      for (const f of frames) c.enqueue(enc.encode(f));
      c.close();
    },
  });
  return new Response(body, {
    headers: { "content-type": "text/event-stream", "cache-control": "no-cache" },
  });
}
