/**
 * One action over SSE against any server URL (a child process, a proxy):
 * `POST /api/v0.3/chat` with the user's token, read to the end.
 *
 * @module
 */
import { SseClient, type SseMessage } from "./sse.ts";
import { bearer, tokenFor } from "./tokens.ts";

/**
 * Plays `message` as `user` (a token signed with `secret`, default the
 * kit's) at `url` and returns every SSE message up to the end.
 *
 * @example
 * ```ts
 * const events = await playAt(chat.url, "ann", "north", "wylding-woods");
 * assert.ok(events.some((e) => e.event === "world_update"));
 * ```
 */
export async function playAt(
  url: string,
  user: string,
  message: string,
  experience: string,
  opts: { token?: string } = {},
): Promise<SseMessage[]> {
  const token = opts.token ?? await tokenFor(user);
  const s = await SseClient.open(`${url}/api/v0.3/chat`, {
    method: "POST",
    headers: { ...bearer(token), "Content-Type": "application/json" },
    body: JSON.stringify({ message, experience }),
  });
  try {
    return await s.untilEnd();
  } finally {
    await s.close();
  }
}
