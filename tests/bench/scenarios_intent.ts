/**
 * The intent step's cost (`--only=intent`): for each provider's wire format,
 * a server whose remote narrator points at a local model server (the test
 * mock, in this process) that answers the intent step's `act` tool call
 * after 300 ms and streams narrations at once; the actor probe alternates
 * typed commands and free-form ones the model maps to the same commands,
 * in the same run, so the two POST → `world_update` figures sit side by
 * side (the typed one is the mapped one's floor).
 *
 * @module
 */
import { type LlmMock, type MockRequest, startLlmMock } from "../chat/llm_mock.ts";
import { type Figure, latencyFigure } from "./figures.ts";
import type { TokenSigner } from "./gaia_client.ts";
import { CpuMeter, type ServerOptions, startServer } from "./procs.ts";
import { histogramMeans, histograms, SHARED } from "./scenarios.ts";
import { Probe } from "./probe.ts";
import { sleep } from "./stats.ts";

/** The model server's delay before its tool answer (ms). */
export const MODEL_DELAY_MS = 300;

/** Free-form text → the command the mock model maps it to (the typed twin). */
const PAIRS: Array<{ typed: string; free: string; command: string }> = [
  {
    typed: "take the blue dream bottle",
    free: "could you grab one of those glowing bottles?",
    command: "take blue dream bottle",
  },
  {
    typed: "drop the blue dream bottle",
    free: "I don't want this bottle anymore, leave it here",
    command: "drop blue dream bottle",
  },
];

/** The player's text in an intent request (`{game, player_text}` in the user turn). */
function playerText(req: MockRequest): string {
  // deno-lint-ignore no-explicit-any
  const user = req.body.messages?.find((m: any) => m.role === "user");
  try {
    return String(JSON.parse(user?.content ?? "{}").player_text ?? "");
  } catch {
    return "";
  }
}

function narratorEnv(kind: "anthropic" | "openai", mock: LlmMock): Record<string, string> {
  const common = { NARRATOR: kind, INTENT_RATE: "1000", INTENT_BURST: "1000" };
  return kind === "anthropic"
    ? {
      ...common,
      ANTHROPIC_API_KEY: "bench",
      ANTHROPIC_BASE_URL: mock.url,
      ANTHROPIC_FAST_MODEL: "bench-fast",
      ANTHROPIC_CAPABLE_MODEL: "bench-capable",
    }
    : {
      ...common,
      OPENAI_API_KEY: "bench",
      OPENAI_BASE_URL: `${mock.url}/v1`,
      OPENAI_MODEL: "bench-fast",
    };
}

/** What the scenario needs from the run. */
export interface IntentCtx {
  /** Server options for a server of this tag (port, state dir, log, secret). */
  serverAt: (tag: string) => ServerOptions;
  natsPid: number;
  signer: TokenSigner;
  say: (s: string) => void;
}

/**
 * Typed against mapped commands, `samples` of each per provider.
 *
 * @example
 * ```ts
 * figures.push(...await runIntent(ctx, 100));
 * ```
 */
export async function runIntent(ctx: IntentCtx, samples: number): Promise<Figure[]> {
  const figures: Figure[] = [];
  for (const kind of ["openai", "anthropic"] as const) {
    const mock = startLlmMock(kind);
    mock.toolDelayMs = MODEL_DELAY_MS;
    mock.toolCommand = (req) => {
      const text = playerText(req);
      return PAIRS.find((p) => p.free === text)?.command ?? "look";
    };
    const opts = ctx.serverAt(`intent-${kind}`);
    ctx.say(`intent (${kind}): starting a server with the ${kind} narrator on a local model`);
    const server = await startServer({ ...opts, env: narratorEnv(kind, mock) });
    const user = `bench-intent-${kind}`;
    const actor = await Probe.start([
      "actor",
      String(server.port),
      user,
      await ctx.signer.token(user),
    ]);
    try {
      await actor.act("north", SHARED);
      await actor.act("east", SHARED);
      const typed: number[] = [], mapped: number[] = [];
      const typedDone: number[] = [], mappedDone: number[] = [];
      let failed = 0;
      const cpu = new CpuMeter({ server: server.pid, nats: ctx.natsPid, load: "self" });
      let hist = new Map<string, number>();
      ctx.say(`intent (${kind}): ${samples} typed and ${samples} mapped actions`);
      for (let i = -4; i < samples; i++) { // 4 warm-up rounds
        if (i === 0) {
          hist = await histograms(server.port);
          cpu.start();
        }
        const pair = PAIRS[((i % 2) + 2) % 2]!;
        // Typed, then its free-form twin: take, take, drop, drop (the store has 4 bottles).
        for (
          const [message, into, done] of [[pair.typed, typed, typedDone], [
            pair.free,
            mapped,
            mappedDone,
          ]] as const
        ) {
          const t = await actor.act(message, SHARED);
          if (!t.eventId) {
            failed++;
            continue;
          }
          if (i < 0) continue;
          into.push(t.update - t.sent);
          done.push(t.done - t.sent);
          await sleep(10);
        }
      }
      const used = cpu.stop();
      const cond = {
        provider_format: kind,
        samples,
        model_delay_ms: MODEL_DELAY_MS,
        model:
          "local mock (tests/chat/llm_mock.ts): tool answer after the delay, narration at once",
        typed: PAIRS.map((p) => p.typed),
        free_form: PAIRS.map((p) => `${p.free} → ${p.command}`),
        failed,
        tool_requests: mock.requests.filter((r) => Array.isArray(r.body.tools)).length,
        server_means_ms: histogramMeans(hist, await histograms(server.port)),
      };
      const typedId = `intent.typed.${kind}`;
      figures.push(
        latencyFigure(
          typedId,
          "intent",
          `POST /chat → world_update, typed (${kind})`,
          typed,
          cond,
          {
            cpu: used,
          },
        ),
        latencyFigure(
          `intent.mapped.${kind}`,
          "intent",
          `POST /chat → world_update, free-form mapped by the model (${kind})`,
          mapped,
          cond,
          { floor: typedId, cpu: used },
        ),
        latencyFigure(
          `intent.typed-done.${kind}`,
          "intent",
          `POST /chat → done, typed (${kind})`,
          typedDone,
          cond,
        ),
        latencyFigure(
          `intent.mapped-done.${kind}`,
          "intent",
          `POST /chat → done, free-form mapped (${kind})`,
          mappedDone,
          cond,
        ),
      );
    } finally {
      await actor.stop();
      await server.stop();
      await mock.close();
    }
  }
  return figures;
}
