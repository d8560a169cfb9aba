/**
 * The chat module: client connections. `POST /api/v0.3/chat` streams an
 * action's `world_update` before its narrative; `GET /api/v0.3/world/stream`
 * is the persistent, replayable stream of every world update a user may see.
 * Never imports `kb/`; reaches the KB over NATS (`kb.interact`), then through
 * the {@linkcode KbService} it is given: the in-process KB (`ROLE=all`) or a
 * {@linkcode RemoteKb} (`ROLE=chat`).
 *
 * @example
 * ```ts
 * import { Chat, RemoteKb } from "./chat/mod.ts";
 * const chat = await Chat.create({
 *   bus, auth: { secret }, kb: new RemoteKb({ bus, kbUrl, timeoutMs: 5000 }), actions,
 *   kbTimeoutMs: 5000, retentionMs: 3_600_000, keepAliveMs: 15_000, narrator: settings,
 * });
 * const routes = chat.routes();
 * ```
 *
 * @module
 */
export type { KbService } from "../shared/kb_service.ts";
export { Chat, type ChatOptions } from "./chat.ts";
export {
  AnthropicIntent,
  AnthropicNarrator,
  createIntentModel,
  createNarrator,
  type IntentModel,
  type NarrationInput,
  type Narrator,
  OfflineNarrator,
  offlineProse,
  OpenAIIntent,
  OpenAINarrator,
} from "./narrators/mod.ts";
export { IntentStep, parseActArguments } from "./intent.ts";
export { WORLD_STREAM } from "../shared/bus/mod.ts";
export { clientRoutes } from "./client_routes.ts";
export { RemoteKb, type RemoteKbOptions } from "./remote_kb.ts";
