/**
 * A world stream of a server the kit did not build in-process (a
 * `spawnServer()` child, any URL): `GET /api/v0.3/world/stream` with a
 * token signed with the kit's secret, as an {@linkcode SseClient}. A
 * `setup()` stack has the same as `stack.world()`.
 *
 * @module
 */
import { SseClient } from "./sse.ts";
import { tokenFor } from "./tokens.ts";

/**
 * Opens the world stream of `user` in `experience` on the server at `url`,
 * after `lastEventId` when given; throws unless 200.
 *
 * @example
 * ```ts
 * await using srv = await spawnServer({ NATS_URL: nats.url, STATE_DIR: dir });
 * const s = await openWorldStream(srv.url, "ann", "wylding-woods", { lastEventId: id });
 * const [update] = await s.take(1);
 * ```
 */
export async function openWorldStream(
  url: string,
  user: string,
  experience: string,
  opts: { lastEventId?: string } = {},
): Promise<SseClient> {
  const headers: Record<string, string> = { Authorization: `Bearer ${await tokenFor(user)}` };
  if (opts.lastEventId) headers["Last-Event-ID"] = opts.lastEventId;
  const q = new URLSearchParams({ experience });
  return await SseClient.open(`${url}/api/v0.3/world/stream?${q}`, { headers });
}
