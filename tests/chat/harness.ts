/**
 * Test harness for chat: a real nats-server (or the in-process bus), the
 * fake KB on its own connection (as a separate KB process would be), the
 * chat module in the app main.ts builds (shared/app.ts) behind a real HTTP
 * port, and an SSE client built on `eventsource-parser`.
 *
 * @module
 */
import v8 from "node:v8";
import vm from "node:vm";
import { createParser } from "eventsource-parser";
import { buildApp } from "../../shared/app.ts";
import { type Bus, InProcessBus, NatsBus } from "../../shared/bus/mod.ts";
import { issueToken } from "../../shared/auth.ts";
import type { KbService } from "../../shared/kb_service.ts";
import { type NatsServerProcess, startNatsServer } from "../../shared/nats_server.ts";
import { setLogLevel } from "../../shared/log.ts";
import { loadSettings } from "../../shared/settings.ts";
import { Chat, type ChatOptions, RemoteKb } from "../../chat/mod.ts";
import { FakeKb } from "./fake_kb.ts";

setLogLevel((Deno.env.get("LOG_LEVEL") as "debug" | undefined) ?? "error");

/** Secret of every test token. */
export const SECRET = "test-secret-0123456789abcdef";

/** Harness options. */
export interface HarnessOptions {
  /** Use the in-process bus instead of a nats-server. */
  inProcess?: boolean;
  /**
   * The fake KB is chat's fallback `KbService`, as the in-process KB is with
   * ROLE=all (default true); false: a `RemoteKb` over `kbUrl` (ROLE=chat).
   */
  localKb?: boolean;
  /** `KB_URL` of the `RemoteKb` when `localKb` is false. */
  kbUrl?: string;
  /** Start the fake KB's NATS responder. Default true. */
  kbResponder?: boolean;
  /** Reconnect wait of chat's NATS connection (ms, default 100). */
  chatReconnectMs?: number;
  chat?: Partial<ChatOptions>;
}

/** A running chat under test. */
export interface Harness {
  nats?: NatsServerProcess;
  bus: Bus;
  kbBus: Bus;
  kb: FakeKb;
  chat: Chat;
  server: Deno.HttpServer<Deno.NetAddr>;
  base: string;
  token(user: string): Promise<string>;
  close(): Promise<void>;
}

/**
 * Starts everything.
 *
 * @example
 * ```ts
 * const h = await startHarness();
 * try { ... } finally { await h.close(); }
 * ```
 */
export async function startHarness(opts: HarnessOptions = {}): Promise<Harness> {
  let nats: NatsServerProcess | undefined;
  let bus: Bus;
  let kbBus: Bus;
  if (opts.inProcess) {
    bus = kbBus = new InProcessBus();
  } else {
    nats = await startNatsServer();
    bus = await NatsBus.connect(nats.url, {
      name: "chat-test",
      reconnectTimeWaitMs: opts.chatReconnectMs ?? 100,
    });
    kbBus = await NatsBus.connect(nats.url, { name: "kb-test", reconnectTimeWaitMs: 100 });
  }
  const kb = new FakeKb(kbBus);
  if (opts.kbResponder ?? true) kb.start();
  await kbBus.flush();
  // The fake in process (ROLE=all): it claims no timed-out request (those get
  // 504) and lets a world stream open for any experience.
  const local: KbService = {
    interact: kb.interact,
    hasRequest: () => false,
    hasExperience: () => Promise.resolve(true),
  };
  const chat = await Chat.create({
    bus,
    auth: { secret: SECRET },
    kb: (opts.localKb ?? true) ? local : new RemoteKb({ bus, kbUrl: opts.kbUrl, timeoutMs: 2_000 }),
    kbTimeoutMs: 2_000,
    retentionMs: 3_600_000,
    keepAliveMs: 15_000,
    narrator: loadSettings({ DEV: "1" }),
    ...opts.chat,
  });
  const app = buildApp({
    role: "chat",
    bus,
    streams: () => chat.openStreams(),
    routes: [chat.routes()],
  });
  const server = Deno.serve({ port: 0, hostname: "127.0.0.1", onListen() {} }, app.fetch);
  const base = `http://127.0.0.1:${server.addr.port}`;
  return {
    nats,
    bus,
    kbBus,
    kb,
    chat,
    server,
    base,
    token: (user) => issueToken(user, SECRET, 3600),
    close: async () => {
      await chat.close();
      await server.shutdown();
      kb.stop();
      await bus.close();
      if (kbBus !== bus) await kbBus.close();
      await nats?.dispose();
    },
  };
}

/** One received SSE message (data parsed as JSON). */
export interface SseMessage {
  event: string;
  // deno-lint-ignore no-explicit-any
  data: any;
  id?: string;
}

/**
 * An SSE client over fetch: messages queue up; `next()` waits for one.
 *
 * @example
 * ```ts
 * const s = await SseClient.open(`${base}/api/v0.3/world/stream?experience=x`, { headers });
 * const msg = await s.next();
 * await s.close();
 * ```
 */
export class SseClient {
  readonly messages: SseMessage[] = [];
  readonly comments: string[] = [];
  retry: number | undefined;
  /** The SSE id an EventSource would send as Last-Event-ID. */
  lastEventId = "";
  ended = false;
  readonly response: Response;
  #read = 0;
  #wake: (() => void) | undefined;
  #reader: ReadableStreamDefaultReader<Uint8Array>;
  #loop: Promise<void>;

  private constructor(res: Response) {
    this.response = res;
    const reader = res.body!.getReader();
    this.#reader = reader;
    const parser = createParser({
      onEvent: (m) => {
        if (m.id !== undefined) this.lastEventId = m.id;
        this.messages.push({ event: m.event ?? "message", data: JSON.parse(m.data), id: m.id });
        this.#wake?.();
      },
      onComment: (c) => this.comments.push(c.trim()),
      onRetry: (r) => this.retry = r,
    });
    const decoder = new TextDecoder();
    this.#loop = (async () => {
      try {
        for (;;) {
          const { done, value } = await reader.read();
          if (done) break;
          parser.feed(decoder.decode(value, { stream: true }));
        }
      } catch { /* cancelled or reset */ }
      this.ended = true;
      this.#wake?.();
    })();
  }

  /** Opens a stream; throws with the body when the status is not 200. */
  static async open(url: string, init: RequestInit = {}): Promise<SseClient> {
    const res = await fetch(url, init);
    if (res.status !== 200) {
      const text = await res.text();
      throw new Error(`SSE open failed: ${res.status} ${text}`);
    }
    return new SseClient(res);
  }

  /** The next unread message; rejects after `timeoutMs` or when the stream ended. */
  async next(timeoutMs = 5_000): Promise<SseMessage> {
    const deadline = Date.now() + timeoutMs;
    while (this.#read >= this.messages.length) {
      if (this.ended) throw new Error("stream ended");
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no SSE message within ${timeoutMs} ms`);
      let timer: ReturnType<typeof setTimeout> | undefined;
      await new Promise<void>((r) => {
        this.#wake = r;
        timer = setTimeout(r, left);
      });
      clearTimeout(timer);
      this.#wake = undefined;
    }
    return this.messages[this.#read++]!;
  }

  /** Reads `n` messages of type `event`, skipping others. */
  async take(n: number, event = "world_update", timeoutMs = 10_000): Promise<SseMessage[]> {
    const out: SseMessage[] = [];
    const deadline = Date.now() + timeoutMs;
    while (out.length < n) {
      const m = await this.next(Math.max(1, deadline - Date.now()));
      if (m.event === event) out.push(m);
    }
    return out;
  }

  /** Waits until the server ends the stream. */
  async untilEnd(timeoutMs = 5_000): Promise<void> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error("stream did not end")), timeoutMs);
    });
    try {
      await Promise.race([this.#loop, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** Closes the connection (client side). */
  async close(): Promise<void> {
    await this.#reader.cancel().catch(() => {});
    await this.#loop;
  }
}

/** Auth header for a user. */
export async function authHeaders(h: Harness, user: string): Promise<Record<string, string>> {
  return { Authorization: `Bearer ${await h.token(user)}`, "Content-Type": "application/json" };
}

/**
 * Plays one action over SSE and returns every message up to `done`.
 *
 * @example
 * ```ts
 * const msgs = await playSse(h, "alice", "take bottle", "shared-woods");
 * ```
 */
export async function playSse(
  h: Harness,
  user: string,
  message: string,
  experience: string,
): Promise<SseMessage[]> {
  const s = await SseClient.open(`${h.base}/api/v0.3/chat`, {
    method: "POST",
    headers: await authHeaders(h, user),
    body: JSON.stringify({ message, experience }),
  });
  await s.untilEnd(10_000);
  await s.close();
  return s.messages;
}

/** Opens a world stream for a user. */
export async function openWorld(
  h: Harness,
  user: string,
  experience: string,
  lastEventId?: string,
): Promise<SseClient> {
  const headers: Record<string, string> = { Authorization: `Bearer ${await h.token(user)}` };
  if (lastEventId !== undefined) headers["Last-Event-ID"] = lastEventId;
  return await SseClient.open(
    `${h.base}/api/v0.3/world/stream?experience=${encodeURIComponent(experience)}`,
    { headers },
  );
}

/** Polls `fn` until it returns true. */
export async function eventually(
  fn: () => boolean | Promise<boolean>,
  timeoutMs = 5_000,
  what = "condition",
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await fn())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

let gcFn: (() => void) | undefined;

/**
 * Runs a full garbage collection (V8's `gc`, exposed at run time through
 * node:v8 flags), so heap figures compare live data rather than garbage.
 *
 * @example
 * ```ts
 * forceGc(); const heap = Deno.memoryUsage().heapUsed;
 * ```
 */
export function forceGc(): void {
  if (!gcFn) {
    v8.setFlagsFromString("--expose-gc");
    gcFn = vm.runInNewContext("gc") as () => void;
  }
  gcFn();
  gcFn();
}
