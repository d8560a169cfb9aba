/**
 * A chat message that is speech (`say`, `'`, `"`, `emote`, `me`): checked
 * (not empty, at most {@linkcode MAX_SAY_CHARS} characters, the user's
 * speech bucket, the experience exists), spoken through presence (the
 * players at the speaker's location hear it), and answered like an action:
 * the chat stream's `say` event is the speaker's confirmation. Speech never
 * reaches the KB's state: it is not part of any world.
 *
 * @module
 */
import { AppError } from "../shared/errors.ts";
import type { KbService } from "../shared/kb_service.ts";
import { metrics } from "../shared/metrics.ts";
import { MAX_SAY_CHARS } from "../shared/presence_schema.ts";
import type { TokenBucket } from "../shared/rate_limit.ts";
import { type Speech, speechProblem } from "../shared/speech.ts";
import type { ChatAction } from "./chat_answer.ts";
import type { ChatPart } from "./parts.ts";
import type { PresenceService } from "./presence.ts";

/** What speech needs of the process. */
export interface SayDeps {
  presence: PresenceService;
  /** `SAY_RATE`/`SAY_BURST`, per user. */
  sayLimit: TokenBucket;
  kb: Pick<KbService, "hasExperience">;
}

/** The `metadata.model` of a speech answer: nothing narrates it. */
export const SPEECH_MODEL = "none";

/**
 * Speaks `speech` for `userId` in `experience`; throws an
 * {@linkcode AppError} (400 `say_empty`/`say_too_long`, 404
 * `unknown_experience`, 429 `rate_limited`, 503 `kb_unavailable`) before
 * anything is sent.
 *
 * @example
 * ```ts
 * const action = await startSayAction(deps, "ada", "wylding-woods", { kind: "say", text: "hello" });
 * ```
 */
export async function startSayAction(
  deps: SayDeps,
  userId: string,
  experience: string,
  speech: Speech,
): Promise<ChatAction> {
  const problem = speechProblem(speech);
  if (problem === "say_empty") {
    throw new AppError("say_empty", `say what? (${speech.kind} needs some text)`, 400);
  }
  if (problem === "say_too_long") {
    throw new AppError("say_too_long", `speech is at most ${MAX_SAY_CHARS} characters`, 400);
  }
  if (!(await deps.kb.hasExperience(experience))) {
    throw new AppError("unknown_experience", "no such experience", 404);
  }
  const r = deps.sayLimit.take(userId);
  if (!r.ok) {
    metrics.rateLimited.inc({ limit: "say" });
    throw new AppError(
      "rate_limited",
      `you are speaking too fast; wait ${Math.ceil(r.retryAfterMs / 1000)} s`,
      429,
    );
  }
  const say = await deps.presence.speak(userId, experience, speech);
  if (!say) {
    throw new AppError("kb_unavailable", "cannot tell where you are right now; retry", 503);
  }
  return {
    model: SPEECH_MODEL,
    outcome: Promise.resolve({
      kind: speech.kind === "say" ? "said" : "emoted",
      changed: false,
      summary: speech.kind === "say" ? `You say: ${say.text}` : `${say.name} ${say.text}`,
      facts: { location: say.location },
      needs_capable_model: false,
    }),
    parts: ReadableStream.from<ChatPart>([{ type: "say", say }]),
  };
}
