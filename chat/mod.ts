/**
 * The chat module: client connections. `POST /api/v0.3/chat` streams an
 * action's `world_update` before its narrative; `GET /api/v0.3/world/stream`
 * is the persistent, replayable stream of every world update a user may see.
 * Never imports `kb/`; reaches the KB over NATS (`kb.interact`), with an
 * in-process or HTTP fallback.
 *
 * @example
 * ```ts
 * import { Chat } from "./chat/mod.ts";
 * const chat = await Chat.create({
 *   bus, jwtSecret, localKb, kbTimeoutMs: 5000, retentionMs: 3_600_000,
 *   keepAliveMs: 15_000, narrator: "offline",
 * });
 * app.route("/", chat.routes());
 * ```
 *
 * @module
 */
export { Chat, type ChatOptions } from "./chat.ts";
export {
  AnthropicNarrator,
  createNarrator,
  DEFAULT_NARRATOR_TIMEOUT_MS,
  type NarrationInput,
  type Narrator,
  type NarratorEnv,
  narratorTimeoutMs,
  OfflineNarrator,
  offlineProse,
  OpenAINarrator,
} from "./narrators/mod.ts";
export { WORLD_STREAM } from "../shared/bus/mod.ts";
export { clientRoutes } from "./client_routes.ts";
export { experienceDirectory, type ExperienceDirectoryOptions } from "./experience_directory.ts";
