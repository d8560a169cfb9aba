/**
 * GAIA-specific load clients on top of the lean HTTP client: tokens, world
 * streams, a player that sends chat actions, and helpers to open many
 * streams at once.
 *
 * Tokens are signed here (HS256 with the `JWT_SECRET` the bench gives the
 * server, claim `sub`, as DESIGN.md fixes it) rather than through the dev
 * login route, so opening 10,000 streams does not first cost the server
 * 10,000 logins.
 *
 * @module
 */
import { eventTimestamp, type HttpResult, LeanConn, nowMs, type SseEvent } from "./http_client.ts";

const encoder = new TextEncoder();

function b64url(bytes: Uint8Array | string): string {
  const raw = typeof bytes === "string" ? encoder.encode(bytes) : bytes;
  let bin = "";
  for (const b of raw) bin += String.fromCharCode(b);
  return btoa(bin).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

/** Signs HS256 JWTs for user ids with one secret. */
export class TokenSigner {
  readonly #key: Promise<CryptoKey>;
  constructor(secret: string) {
    this.#key = crypto.subtle.importKey(
      "raw",
      encoder.encode(secret),
      { name: "HMAC", hash: "SHA-256" },
      false,
      ["sign"],
    );
  }

  /** A token for `userId`, valid for 12 hours. */
  async token(userId: string): Promise<string> {
    const now = Math.floor(Date.now() / 1000);
    const head = b64url(JSON.stringify({ alg: "HS256", typ: "JWT" }));
    const body = b64url(JSON.stringify({ sub: userId, iat: now, exp: now + 12 * 3600 }));
    const sig = await crypto.subtle.sign(
      "HMAC",
      await this.#key,
      encoder.encode(`${head}.${body}`),
    );
    return `${head}.${body}.${b64url(new Uint8Array(sig))}`;
  }
}

/** What a world-stream listener gets per `world_update`. */
export interface Arrival {
  id: string;
  /** KB commit time from the event (`timestamp`). */
  committed: number;
  /** Arrival time at this client. */
  at: number;
}

/** An open world stream. */
export interface WorldStreamConn {
  readonly conn: LeanConn;
  /** Closes the socket (the server's cancel path). */
  close(): void;
}

/**
 * Opens `GET /api/v0.3/world/stream`; resolves once the server has sent the
 * head (which it does only after the stream's subscriptions are live).
 */
export async function openWorldStream(
  port: number,
  token: string,
  experience: string,
  onUpdate: (a: Arrival) => void,
  bufSize = 16 * 1024,
): Promise<WorldStreamConn> {
  const conn = await LeanConn.open(port, bufSize);
  const head = new Promise<number>((resolve) => {
    const { done } = conn.send({
      method: "GET",
      path: `/api/v0.3/world/stream?experience=${experience}&access_token=${token}`,
      onHead: (status) => resolve(status),
      onEvent: (e: SseEvent) => {
        if (e.type !== "world_update" || !e.id) return;
        onUpdate({ id: e.id, committed: eventTimestamp(e.data), at: e.at });
      },
    });
    done.then((r) => resolve(r.status), () => resolve(0));
  });
  const status = await head;
  if (status !== 200) {
    conn.close();
    throw new Error(`world stream open failed: HTTP ${status}`);
  }
  return { conn, close: () => conn.close() };
}

/**
 * Runs `fn(i)` for i in [0, n) with at most `concurrency` in flight.
 *
 * @example
 * ```ts
 * const streams = await pool(1000, 64, (i) => openWorldStream(port, tokens[i], exp, cb));
 * ```
 */
export async function pool<T>(
  n: number,
  concurrency: number,
  fn: (i: number) => Promise<T>,
): Promise<T[]> {
  const out = new Array<T>(n);
  let next = 0;
  await Promise.all(Array.from({ length: Math.min(n, concurrency) }, async () => {
    while (next < n) {
      const i = next++;
      out[i] = await fn(i);
    }
  }));
  return out;
}

/** Timings of one chat action. */
export interface ActionTiming {
  status: number;
  /** When the request was written. */
  sent: number;
  /** Arrival of the action's `world_update` on the chat stream (NaN if none). */
  update: number;
  /** The event's commit timestamp (NaN if none). */
  committed: number;
  /** Event id of the world update. */
  eventId: string | undefined;
  /** Arrival of `done`. */
  done: number;
}

/** A player: one keep-alive connection for its chat actions. */
export class Player {
  readonly user: string;
  readonly #port: number;
  readonly #token: string;
  #conn: LeanConn | undefined;

  constructor(port: number, user: string, token: string) {
    this.#port = port;
    this.user = user;
    this.#token = token;
  }

  /** `POST /api/v0.3/chat` and read the SSE answer to its end. */
  async act(message: string, experience: string): Promise<ActionTiming> {
    if (!this.#conn || this.#conn.isClosed) this.#conn = await LeanConn.open(this.#port);
    const t: ActionTiming = {
      status: 0,
      sent: nowMs(),
      update: NaN,
      committed: NaN,
      eventId: undefined,
      done: NaN,
    };
    const { done } = this.#conn.send({
      method: "POST",
      path: "/api/v0.3/chat",
      headers: { "Authorization": `Bearer ${this.#token}`, "Content-Type": "application/json" },
      body: JSON.stringify({ message, experience }),
      onEvent: (e) => {
        if (e.type === "world_update" && Number.isNaN(t.update)) {
          t.update = e.at;
          t.committed = eventTimestamp(e.data);
          t.eventId = e.id;
        } else if (e.type === "done") t.done = e.at;
      },
    });
    let r: HttpResult;
    try {
      r = await done;
    } catch (e) {
      this.#conn.close();
      throw e;
    }
    t.status = r.status;
    if (Number.isNaN(t.done)) t.done = nowMs();
    if (r.status !== 200) {
      throw new Error(`action "${message}" by ${this.user}: HTTP ${r.status} ${r.body}`);
    }
    return t;
  }

  /** Closes the connection. */
  close(): void {
    this.#conn?.close();
  }
}

/**
 * A plain GET over a fresh lean connection (health, metrics).
 *
 * @example
 * ```ts
 * const text = await getText(port, "/health");
 * ```
 */
export async function getText(port: number, path: string): Promise<string> {
  const c = await LeanConn.open(port);
  try {
    const r = await c.send({ method: "GET", path }).done;
    return r.body;
  } finally {
    c.close();
  }
}
