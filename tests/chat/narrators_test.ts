/**
 * The remote narrators against local servers that replay the Anthropic and
 * OpenAI streaming formats: success, model choice, 429, 500, a malformed
 * chunk and a stall all end with the action committed, `error` (on failure)
 * then `done`, and nothing left running.
 */
import assert from "node:assert/strict";
import Anthropic from "@anthropic-ai/sdk";
import OpenAI from "openai";
import { AnthropicIntent, OpenAIIntent } from "../../chat/mod.ts";
import { loadSettings, type NarratorSettings } from "../../shared/settings.ts";
import { eventually, GLADE, setup, type TestStack } from "../_helpers/mod.ts";
import { type LlmMock, MOCK_CHUNKS, startLlmMock } from "./llm_mock.ts";

const KINDS = ["anthropic", "openai"] as const;
const EXP = GLADE.shared;

/** The narrator's settings as the server parses them from its environment. */
function settingsFor(kind: (typeof KINDS)[number], mock: LlmMock): NarratorSettings {
  return loadSettings({ DEV: "1", ...envFor(kind, mock) });
}

/** The narrator's environment: the server reads its settings from these. */
function envFor(kind: (typeof KINDS)[number], mock: LlmMock): Record<string, string> {
  const common = { NARRATOR: kind, NARRATOR_MAX_RETRIES: "0", NARRATOR_TIMEOUT: "500ms" };
  return kind === "anthropic"
    ? {
      ...common,
      ANTHROPIC_API_KEY: "test-key",
      ANTHROPIC_BASE_URL: mock.url,
      ANTHROPIC_FAST_MODEL: "fast-m",
      ANTHROPIC_CAPABLE_MODEL: "capable-m",
    }
    : {
      ...common,
      OPENAI_API_KEY: "test-key",
      OPENAI_BASE_URL: `${mock.url}/v1`,
      OPENAI_MODEL: "fast-m",
      OPENAI_CAPABLE_MODEL: "capable-m",
    };
}

function kinds(msgs: { event: string }[]): string[] {
  return msgs.map((m) => m.event);
}

for (const kind of KINDS) {
  Deno.test(`${kind} narrator: streams, picks models, and fails cleanly`, async (t) => {
    const mock = startLlmMock(kind);
    let h: TestStack | undefined;
    try {
      h = await setup({ content: "glade", env: envFor(kind, mock) });
      const hh = h;
      const version = async () => (await hh.kb.snapshot("bob", EXP)).version;
      const walk = (() => {
        let n = 0;
        return () => n++ % 2 ? "south" : "north";
      })();

      await t.step("success: world_update, then the model's chunks, then done", async () => {
        mock.mode = "ok";
        const msgs = await hh.play("alice", "take bottle", EXP);
        assert.deepEqual(kinds(msgs), [
          "metadata",
          "world_update",
          "content",
          "content",
          "content",
          "done",
        ]);
        assert.equal(msgs[0]!.data.model, "fast-m");
        assert.deepEqual(
          msgs.filter((m) => m.event === "content").map((m) => m.data.content),
          MOCK_CHUNKS,
        );
        const req = mock.requests.at(-1)!;
        assert.equal(req.path, kind === "anthropic" ? "/v1/messages" : "/v1/chat/completions");
        assert.equal(req.body.model, "fast-m");
        assert.equal(req.body.stream, true);
        // (this Anthropic SDK release sends the key as a bearer token, older ones as x-api-key)
        const key = req.headers.get("x-api-key") ??
          req.headers.get("authorization")?.replace(/^Bearer /, "");
        assert.equal(key, "test-key");
        assert.match(JSON.stringify(req.body.messages), /You take the dream bottle/);
      });

      await t.step("dialogue (needs_capable_model) uses the capable model", async () => {
        mock.mode = "ok";
        const msgs = await hh.play("erin", "talk to owl", EXP);
        assert.equal(msgs[0]!.data.model, "capable-m");
        assert.equal(mock.requests.at(-1)!.body.model, "capable-m");
        // Again after another command: the talk then records the conversation
        // (a player-only event), which must not start the answer as a change.
        await hh.play("erin", "look", EXP);
        const again = await hh.play("erin", "talk to owl", EXP);
        assert.equal(again[0]!.data.model, "capable-m", "metadata names the narrating model");
        assert.equal(mock.requests.at(-1)!.body.model, "capable-m");
      });

      const failures = [
        ["429", "narrator_rate_limited"],
        ["500", "narrator_unavailable"],
        ["malformed", "narrator_failed"],
        ["stall", "narrator_timeout"],
      ] as const;
      for (const [mode, code] of failures) {
        await t.step(`${mode}: error then done; the action stays committed`, async () => {
          mock.mode = mode;
          const before = await version();
          const t0 = performance.now();
          const msgs = await hh.play("bob", walk(), EXP);
          const ms = performance.now() - t0;
          const types = kinds(msgs);
          assert.deepEqual(types.slice(0, 2), ["metadata", "world_update"]);
          assert.deepEqual(types.slice(-2), ["error", "done"]);
          assert.equal(msgs.at(-2)!.data.code, code);
          assert.equal(await version(), before + 1, "state change committed");
          assert.equal(msgs[1]!.data.version, before + 1);
          assert.ok(ms < 3_000, `took ${ms} ms`);
          if (mode === "stall") {
            await eventually(() => mock.cancelled >= 1, {
              timeoutMs: 2000,
              what: "upstream cancelled",
            });
          }
        });
      }

      await t.step("client leaves mid-narrative: the upstream request is cancelled", async () => {
        mock.mode = "slow";
        const cancelledBefore = mock.cancelled;
        const s = await hh.chatStream("carol", "look", EXP);
        await s.take(1, "content");
        await s.close();
        await eventually(() => mock.cancelled > cancelledBefore, {
          timeoutMs: 2000,
          what: "upstream cancelled",
        });
        await eventually(() => hh.chat.openStreams().chat === 0, {
          timeoutMs: 1000,
          what: "chat stream closed",
        });
      });

      await t.step(
        "stream:false carries the narrator error next to the committed update",
        async () => {
          mock.mode = "500";
          const { status, body } = await hh.act("dora", "take shell", EXP);
          assert.equal(status, 200);
          assert.equal(body.world_updates.length, 1);
          assert.equal(body.error.code, "narrator_unavailable");
        },
      );
    } finally {
      await h?.dispose();
      await mock.close();
    }
  });
}

Deno.test("stream:false: the narrator request is cancelled when the client leaves", async () => {
  const mock = startLlmMock("openai");
  mock.mode = "trickle"; // ~10 s of narrative
  try {
    await using h = await setup({ content: "glade", env: envFor("openai", mock) });
    const ac = new AbortController();
    const answer = h.fetch("/api/v0.3/chat", {
      method: "POST",
      headers: h.headers(await h.token("quitter")),
      body: JSON.stringify({ message: "take leaf", experience: EXP, stream: false }),
      signal: ac.signal,
    }).catch((e) => e.name);
    await eventually(() => mock.requests.length === 1, {
      timeoutMs: 3_000,
      what: "narration under way",
    });
    await eventually(() => mock.sent >= 3, { timeoutMs: 3_000, what: "narrative frames sent" });
    ac.abort();
    assert.equal(await answer, "AbortError");
    await eventually(() => mock.cancelled === 1, {
      timeoutMs: 3_000,
      what: "upstream request cancelled",
    });
    assert.equal(mock.finished, 0);
  } finally {
    await mock.close();
  }
});

Deno.test("openai narrator: a chunk without choices is skipped, not a failure", async () => {
  const mock = startLlmMock("openai");
  mock.mode = "no_choices";
  try {
    await using h = await setup({ content: "glade", env: envFor("openai", mock) });
    const { body } = await h.act("carol", "take stick", EXP);
    assert.equal(body.error, undefined, JSON.stringify(body.error));
    assert.equal(body.narrative, MOCK_CHUNKS.join(""));
  } finally {
    await mock.close();
  }
});

Deno.test("a narrator that throws at once: the stream ends with error then done; JSON answers 200", async () => {
  const throwing = {
    kind: "offline" as const,
    modelFor: () => "broken",
    narrate(): AsyncIterable<string> {
      throw new Error("broken narrator");
    },
  };
  await using h = await setup({ content: "glade", narrator: throwing });
  const msgs = await h.play("dora", "take bottle", EXP);
  assert.deepEqual(kinds(msgs), ["metadata", "world_update", "error", "done"]);
  const { status, body } = await h.act("dora", "take acorn", EXP);
  assert.equal(status, 200, JSON.stringify(body));
  assert.equal(body.world_updates.length, 1, "the committed change is in the answer");
  assert.equal(body.error.code, "narrator_failed");
});

Deno.test("tool-call wire formats: each SDK's own readers get the mock's act call, streamed and not", async () => {
  const tool = {
    name: "act",
    description: "one command",
    schema: {
      type: "object" as const,
      properties: { command: { type: "string" } },
      required: ["command"],
    },
  };
  const want = { command: "take dream bottle" };
  for (const kind of KINDS) {
    const mock = startLlmMock(kind);
    mock.toolCommand = () => want.command;
    try {
      if (kind === "anthropic") {
        const client = new Anthropic({ apiKey: "k", baseURL: mock.url, maxRetries: 0 });
        const params = {
          model: "fast-m",
          max_tokens: 64,
          tools: [{ name: tool.name, description: tool.description, input_schema: tool.schema }],
          messages: [{ role: "user" as const, content: "grab a bottle" }],
        };
        const json = await client.messages.create(params);
        const streamed = await client.messages.stream(params).finalMessage();
        assert.equal(mock.requests.at(-1)!.body.stream, true);
        for (const m of [json, streamed]) {
          const call = m.content.find((b) => b.type === "tool_use");
          assert.ok(call && call.type === "tool_use", JSON.stringify(m.content));
          assert.equal(call.name, "act");
          assert.deepEqual(call.input, want);
          assert.equal(m.stop_reason, "tool_use");
        }
      } else {
        const client = new OpenAI({ apiKey: "k", baseURL: `${mock.url}/v1`, maxRetries: 0 });
        const params = {
          model: "fast-m",
          tools: [{
            type: "function" as const,
            function: { name: tool.name, description: tool.description, parameters: tool.schema },
          }],
          messages: [{ role: "user" as const, content: "grab a bottle" }],
        };
        const json = await client.chat.completions.create(params);
        const streamed = await client.chat.completions.stream(params).finalChatCompletion();
        assert.equal(mock.requests.at(-1)!.body.stream, true);
        for (const c of [json, streamed]) {
          const call = c.choices[0]!.message.tool_calls?.[0];
          assert.ok(call && call.type === "function", JSON.stringify(c.choices[0]));
          assert.equal(call.function.name, "act");
          assert.deepEqual(JSON.parse(call.function.arguments), want);
          assert.equal(c.choices[0]!.finish_reason, "tool_calls");
        }
      }
      // A declined answer is text only, in both shapes.
      mock.toolMode = "decline";
      const model = kind === "anthropic"
        ? AnthropicIntent.fromSettings(settingsFor(kind, mock))
        : OpenAIIntent.fromSettings(settingsFor(kind, mock));
      const context = {
        verbs: [],
        location: "store",
        exits: [],
        items: [],
        npcs: [],
        players: [],
        inventory: [],
      };
      const signal = new AbortController().signal;
      assert.equal(await model.act({ text: "hm", context }, signal), undefined);
      mock.toolMode = "call";
      const call = await model.act({ text: "grab a bottle", context }, signal);
      assert.equal(call?.name, "act");
      const args = kind === "openai" ? JSON.parse(call!.arguments as string) : call!.arguments;
      assert.deepEqual(args, want);
    } finally {
      await mock.close();
    }
  }
});
