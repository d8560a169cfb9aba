/**
 * The parts a chat answer is made of, before they become SSE frames or the
 * `stream: false` JSON answer.
 *
 * @module
 */
import type { WorldUpdateEvent } from "../shared/schema.ts";
import type { Say } from "../shared/presence_schema.ts";
import { encodeEvent, encodeWorldUpdate } from "./sse.ts";

/** One part of a chat answer. */
export type ChatPart =
  | { type: "world_update"; event: WorldUpdateEvent; frame?: Uint8Array }
  | { type: "content"; content: string }
  /** The command the intent step ran for a message the grammar did not understand. */
  | { type: "intent"; command: string }
  | { type: "error"; code: string; message: string }
  /** The speaker's confirmation of a `say`/`emote` line. */
  | { type: "say"; say: Say };

/**
 * The SSE frame of a part (world updates reuse the hub's pre-encoded frame).
 *
 * @example
 * ```ts
 * controller.enqueue(partFrame({ type: "content", content: "Hello. " }));
 * ```
 */
export function partFrame(part: ChatPart): Uint8Array {
  switch (part.type) {
    case "world_update":
      return part.frame ?? encodeWorldUpdate(part.event);
    case "content":
      return encodeEvent("content", { content: part.content });
    case "intent":
      return encodeEvent("intent", { command: part.command });
    case "error":
      return encodeEvent("error", { code: part.code, message: part.message });
    case "say":
      return encodeEvent("say", part.say);
  }
}
