/**
 * The message bus both modules talk through: a thin wrapper over nats.js
 * (`NatsBus`) and an in-process stand-in for local play without a
 * nats-server (`InProcessBus`). Both share one interface, {@linkcode Bus}.
 *
 * - `publish` never throws into the caller: it returns whether the message was
 *   accepted. While reconnecting, nats.js takes it but discards its send
 *   buffer on every reconnect attempt, so callers that must not lose
 *   messages keep their own outbox (see `kb/publisher.ts`).
 * - `subscribe` returns an async iterable that unsubscribes when iteration
 *   stops (break, return, or an error), or calls `callback` per message.
 * - `request` has a timeout and fails with a {@linkcode BusError} whose `code`
 *   tells a caller whether the request could have reached a responder.
 * - A request id travels in the `X-Request-Id` header.
 *
 * @module
 */
import {
  connect,
  headers as natsHeaders,
  type Msg,
  type MsgHdrs,
  type NatsConnection,
  RequestError,
  type Subscription,
  TimeoutError,
} from "@nats-io/transport-node";
import { REQUEST_ID_HEADER } from "./subjects.ts";
import { log } from "./log.ts";

/** Connection state as `/health` reports it. */
export type BusStatus = "connected" | "reconnecting" | "closed" | "in-process";

/** One received message. */
export interface BusMessage {
  readonly subject: string;
  readonly data: Uint8Array;
  /** The request id header, when the sender set one. */
  readonly requestId: string | undefined;
  /** Parses `data` as JSON. */
  json<T = unknown>(): T;
  /** Replies to a request; false when the message was not a request or the reply failed. */
  respond(payload: Uint8Array | string, opts?: { requestId?: string }): boolean;
}

/** A subscription; iterate it, or pass `callback` when subscribing. */
export interface BusSubscription extends AsyncIterable<BusMessage> {
  readonly subject: string;
  unsubscribe(): void;
  /** True until unsubscribed or the bus closes. */
  isActive(): boolean;
}

/** Options of {@linkcode Bus.publish}. */
export interface PublishOptions {
  /** Sent in the `X-Request-Id` header. */
  requestId?: string;
  /**
   * Sent in the `Nats-Msg-Id` header: JetStream stores a message with the
   * same id only once within its duplicate window, so a resend is safe.
   */
  msgId?: string;
}

/** JetStream's de-duplication header. */
const MSG_ID_HEADER = "Nats-Msg-Id";

/** Options of {@linkcode Bus.subscribe}. */
export interface SubscribeOptions {
  queue?: string;
  callback?: (msg: BusMessage) => void;
}

/** Why a request failed. */
export type BusErrorCode = "timeout" | "no_responders" | "disconnected" | "failed";

/**
 * A failed bus request. `no_responders` and `disconnected` mean the request
 * did not reach a responder; `timeout` and `failed` mean it may have
 * ({@linkcode BusError.mayHaveArrived}).
 */
export class BusError extends Error {
  readonly code: BusErrorCode;
  /** The request was sent and may have been acted on: retrying elsewhere could act twice. */
  get mayHaveArrived(): boolean {
    return this.code === "timeout" || this.code === "failed";
  }
  constructor(code: BusErrorCode, message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "BusError";
    this.code = code;
  }
}

/**
 * What both modules need from a message bus.
 *
 * @example
 * ```ts
 * const bus = await NatsBus.connect("nats://127.0.0.1:4222");
 * bus.publish("world.updates.user.alice", JSON.stringify(event), { requestId });
 * for await (const msg of bus.subscribe("kb.interact", { queue: "kb" })) msg.respond("{}");
 * ```
 */
export interface Bus {
  readonly kind: "nats" | "in-process";
  status(): BusStatus;
  /** Calls `listener` on every status change; returns an unsubscribe function. */
  onStatus(listener: (status: BusStatus) => void): () => void;
  publish(subject: string, payload: Uint8Array | string, opts?: PublishOptions): boolean;
  subscribe(subject: string, opts?: SubscribeOptions): BusSubscription;
  request(
    subject: string,
    payload: Uint8Array | string,
    opts: { timeoutMs: number; requestId?: string },
  ): Promise<BusMessage>;
  /** Number of live subscriptions this bus holds. */
  subscriptionCount(): number;
  /** Waits until everything published so far reached the server (no-op in process). */
  flush(): Promise<void>;
  /** Drains and closes. */
  close(): Promise<void>;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();
const toBytes = (p: Uint8Array | string) => typeof p === "string" ? encoder.encode(p) : p;

function headersFor(requestId: string | undefined, msgId?: string): MsgHdrs | undefined {
  if (!requestId && !msgId) return undefined;
  const h = natsHeaders();
  if (requestId) h.set(REQUEST_ID_HEADER, requestId);
  if (msgId) h.set(MSG_ID_HEADER, msgId);
  return h;
}

function wrapNatsMsg(m: Msg): BusMessage {
  return {
    subject: m.subject,
    data: m.data,
    requestId: m.headers?.get(REQUEST_ID_HEADER) || undefined,
    json: <T>() => JSON.parse(decoder.decode(m.data)) as T,
    respond: (payload, opts) => {
      try {
        return m.respond(toBytes(payload), { headers: headersFor(opts?.requestId) });
      } catch {
        return false;
      }
    },
  };
}

/** Options of {@linkcode NatsBus.connect}. */
export interface NatsBusOptions {
  /** Connection name shown in nats-server monitoring. */
  name?: string;
  /** Base wait between reconnect attempts (ms); jitter is added. */
  reconnectTimeWaitMs?: number;
}

/** {@linkcode Bus} over a real NATS connection, reconnecting forever with jitter. */
export class NatsBus implements Bus {
  readonly kind = "nats" as const;
  readonly nc: NatsConnection;
  #status: BusStatus = "connected";
  #listeners = new Set<(s: BusStatus) => void>();
  #subs = new Set<Subscription>();

  private constructor(nc: NatsConnection) {
    this.nc = nc;
    this.#watch();
  }

  /**
   * Connects (waiting for the first connection) with endless jittered reconnects.
   *
   * @example
   * ```ts
   * const bus = await NatsBus.connect(Deno.env.get("NATS_URL")!, { name: "gaia" });
   * ```
   */
  static async connect(url: string, opts: NatsBusOptions = {}): Promise<NatsBus> {
    const nc = await connect({
      servers: url.split(",").map((s) => s.trim()),
      name: opts.name ?? "gaia",
      maxReconnectAttempts: -1,
      reconnectTimeWait: opts.reconnectTimeWaitMs ?? 250,
      reconnectJitter: 250,
      waitOnFirstConnect: true,
      timeout: 5_000,
      // Otherwise every request builds an Error up front for its stack
      // (measured: ~3% of server CPU per action in the benchmark profile).
      noAsyncTraces: true,
    });
    return new NatsBus(nc);
  }

  async #watch(): Promise<void> {
    for await (const s of this.nc.status()) {
      if (s.type === "disconnect" || s.type === "reconnecting") this.#set("reconnecting");
      else if (s.type === "reconnect") this.#set("connected");
      else if (s.type === "close") break;
    }
    this.#set("closed");
  }

  #set(status: BusStatus): void {
    if (this.#status === status) return;
    this.#status = status;
    log(status === "reconnecting" ? "warn" : "info", "bus status", { status });
    for (const l of this.#listeners) l(status);
  }

  status(): BusStatus {
    return this.nc.isClosed() ? "closed" : this.#status;
  }

  onStatus(listener: (status: BusStatus) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  publish(subject: string, payload: Uint8Array | string, opts?: PublishOptions): boolean {
    try {
      this.nc.publish(subject, toBytes(payload), {
        headers: headersFor(opts?.requestId, opts?.msgId),
      });
      return true;
    } catch (e) {
      log("warn", "publish failed", { subject, error: String(e) });
      return false;
    }
  }

  subscribe(subject: string, opts: SubscribeOptions = {}): BusSubscription {
    const cb = opts.callback;
    // nats.js treats a present-but-undefined `callback` as callback mode.
    const sub = cb
      ? this.nc.subscribe(subject, {
        queue: opts.queue,
        callback: (err, m) => err ? undefined : cb(wrapNatsMsg(m)),
      })
      : this.nc.subscribe(subject, { queue: opts.queue });
    this.#subs.add(sub);
    sub.closed.then(() => this.#subs.delete(sub), () => this.#subs.delete(sub));
    const unsubscribe = () => {
      this.#subs.delete(sub);
      if (!sub.isClosed()) sub.unsubscribe();
    };
    return {
      subject,
      unsubscribe,
      isActive: () => !sub.isClosed() && !this.nc.isClosed(),
      async *[Symbol.asyncIterator]() {
        try {
          for await (const m of sub) yield wrapNatsMsg(m);
        } finally {
          unsubscribe();
        }
      },
    };
  }

  async request(
    subject: string,
    payload: Uint8Array | string,
    opts: { timeoutMs: number; requestId?: string },
  ): Promise<BusMessage> {
    if (this.status() !== "connected") {
      throw new BusError("disconnected", `bus is ${this.status()}`);
    }
    try {
      const m = await this.nc.request(subject, toBytes(payload), {
        timeout: opts.timeoutMs,
        headers: headersFor(opts.requestId),
      });
      return wrapNatsMsg(m);
    } catch (e) {
      if (e instanceof RequestError && e.isNoResponders()) {
        throw new BusError("no_responders", `no responders on ${subject}`, { cause: e });
      }
      if (e instanceof TimeoutError || (e as Error)?.cause instanceof TimeoutError) {
        throw new BusError("timeout", `request on ${subject} timed out`, { cause: e });
      }
      // Sent, then the connection failed: whether it arrived is unknown.
      throw new BusError("failed", `request on ${subject} failed: ${e}`, { cause: e });
    }
  }

  subscriptionCount(): number {
    return this.#subs.size;
  }

  async flush(): Promise<void> {
    if (this.status() === "connected") await this.nc.flush();
  }

  async close(): Promise<void> {
    if (this.nc.isClosed()) return;
    try {
      await this.nc.drain();
    } catch {
      await this.nc.close();
    }
  }
}

interface LocalSub {
  subject: string;
  queue?: string;
  deliver: (m: BusMessage) => void;
  active: boolean;
}

/**
 * An in-process {@linkcode Bus} for local play without a nats-server. Only
 * literal subjects; queue groups pick one member round-robin. Delivery is
 * asynchronous (a microtask) as it would be over a network.
 */
export class InProcessBus implements Bus {
  readonly kind = "in-process" as const;
  #subs = new Map<string, Set<LocalSub>>();
  #rr = 0;
  #closed = false;

  status(): BusStatus {
    return this.#closed ? "closed" : "in-process";
  }

  onStatus(_listener: (status: BusStatus) => void): () => void {
    return () => {};
  }

  #deliver(subject: string, msg: BusMessage): boolean {
    const subs = this.#subs.get(subject);
    if (!subs || subs.size === 0) return false;
    const plain: LocalSub[] = [];
    const groups = new Map<string, LocalSub[]>();
    for (const s of subs) {
      if (!s.queue) plain.push(s);
      else groups.set(s.queue, [...(groups.get(s.queue) ?? []), s]);
    }
    for (const members of groups.values()) plain.push(members[this.#rr++ % members.length]!);
    queueMicrotask(() => {
      for (const s of plain) if (s.active) s.deliver(msg);
    });
    return true;
  }

  #message(subject: string, data: Uint8Array, requestId?: string, reply?: string): BusMessage {
    return {
      subject,
      data,
      requestId,
      json: <T>() => JSON.parse(decoder.decode(data)) as T,
      respond: (payload, opts) =>
        reply
          ? this.#deliver(reply, this.#message(reply, toBytes(payload), opts?.requestId))
          : false,
    };
  }

  publish(subject: string, payload: Uint8Array | string, opts?: PublishOptions): boolean {
    if (this.#closed) return false;
    this.#deliver(subject, this.#message(subject, toBytes(payload), opts?.requestId));
    return true;
  }

  subscribe(subject: string, opts: SubscribeOptions = {}): BusSubscription {
    const queue: BusMessage[] = [];
    let wake: (() => void) | undefined;
    const local: LocalSub = {
      subject,
      queue: opts.queue,
      active: true,
      deliver: opts.callback ?? ((m) => {
        queue.push(m);
        wake?.();
      }),
    };
    const set = this.#subs.get(subject) ?? new Set();
    set.add(local);
    this.#subs.set(subject, set);
    const unsubscribe = () => {
      if (!local.active) return;
      local.active = false;
      set.delete(local);
      if (set.size === 0) this.#subs.delete(subject);
      wake?.();
    };
    return {
      subject,
      unsubscribe,
      isActive: () => local.active && !this.#closed,
      async *[Symbol.asyncIterator]() {
        try {
          while (local.active) {
            const next = queue.shift();
            if (next) {
              yield next;
              continue;
            }
            await new Promise<void>((r) => wake = r);
            wake = undefined;
          }
        } finally {
          unsubscribe();
        }
      },
    };
  }

  request(
    subject: string,
    payload: Uint8Array | string,
    opts: { timeoutMs: number; requestId?: string },
  ): Promise<BusMessage> {
    const inbox = `_INBOX.${crypto.randomUUID()}`;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        sub.unsubscribe();
        reject(new BusError("timeout", `request on ${subject} timed out`));
      }, opts.timeoutMs);
      const sub = this.subscribe(inbox, {
        callback: (m) => {
          clearTimeout(timer);
          sub.unsubscribe();
          resolve(m);
        },
      });
      const msg = this.#message(subject, toBytes(payload), opts.requestId, inbox);
      if (!this.#deliver(subject, msg)) {
        clearTimeout(timer);
        sub.unsubscribe();
        reject(new BusError("no_responders", `no responders on ${subject}`));
      }
    });
  }

  subscriptionCount(): number {
    let n = 0;
    for (const s of this.#subs.values()) n += s.size;
    return n;
  }

  flush(): Promise<void> {
    return new Promise((r) => setTimeout(r, 0));
  }

  close(): Promise<void> {
    this.#closed = true;
    for (const set of this.#subs.values()) for (const s of set) s.active = false;
    this.#subs.clear();
    return Promise.resolve();
  }
}
