/**
 * The bus interface both modules talk through, and its types. Two
 * implementations: `NatsBus` (nats.js) and `InProcessBus` (local play
 * without a nats-server).
 *
 * - `publish` never throws into the caller: it returns whether the message was
 *   accepted. While reconnecting, nats.js takes it but discards its send
 *   buffer on every reconnect attempt, so callers that must not lose
 *   messages keep their own outbox (see `kb/event_publisher.ts`).
 * - `publishAcked` is the JetStream publish: it resolves with the stored
 *   sequence once a stream has the message, or fails with a
 *   {@linkcode BusError}.
 * - `subscribe` returns an async iterable that unsubscribes when iteration
 *   stops (break, return, or an error), or calls `callback` per message.
 * - `request` has a timeout and fails with a {@linkcode BusError} whose `code`
 *   tells a caller whether the request could have reached a responder.
 * - `history` reads back what a stream retained (see `history.ts`); only a
 *   bus with JetStream has one.
 * - A request id travels in the `X-Request-Id` header.
 *
 * @module
 */
import type { EventHistory, HistoryStreamSpec } from "./history.ts";
import type { KvBucket, KvBucketSpec } from "./kv.ts";

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

/** Options of {@linkcode Bus.publishAcked}. */
export interface AckedPublishOptions extends PublishOptions {
  /** Longest wait for the stream's acknowledgement (ms); default 5,000. */
  timeoutMs?: number;
}

/** A stream's acknowledgement of {@linkcode Bus.publishAcked}. */
export interface PublishAck {
  /** The stream that stored the message. */
  stream: string;
  /** Its stream sequence. */
  seq: number;
  /** True when the stream already had a message with this `msgId` (nothing new stored). */
  duplicate: boolean;
}

/** Options of {@linkcode Bus.subscribe}. */
export interface SubscribeOptions {
  queue?: string;
  callback?: (msg: BusMessage) => void;
}

/**
 * Why a bus operation failed.
 *
 * - `timeout`: sent, no answer in time (it may have been acted on or stored);
 * - `no_responders`: nobody listens on the subject (not delivered);
 * - `disconnected`: not sent, the bus is not connected;
 * - `failed`: sent, then the connection failed (unknown outcome);
 * - `jetstream_unavailable`: JetStream is off, or no stream stores the subject;
 * - `stream_not_found`: the named stream does not exist;
 * - `rejected`: the JetStream server refused it (sending it again fails again);
 * - `wrong_revision`: a compare-and-set write lost: the key is no longer at
 *   the revision the write expected (JetStream error 10071); nothing was stored;
 * - `auth_failed`, `tls_failed`, `unreachable`: the first connection failed
 *   (credentials refused, certificate not trusted, no server answered).
 */
export type BusErrorCode =
  | "timeout"
  | "no_responders"
  | "disconnected"
  | "failed"
  | "jetstream_unavailable"
  | "stream_not_found"
  | "rejected"
  | "wrong_revision"
  | "auth_failed"
  | "tls_failed"
  | "unreachable";

/**
 * A failed bus operation. `timeout` and `failed` mean it may have reached
 * the other side ({@linkcode BusError.mayHaveArrived}); every other code
 * means it did not.
 *
 * @example
 * ```ts
 * try {
 *   await bus.request("kb.interact", body, { timeoutMs: 2_000 });
 * } catch (e) {
 *   if (e instanceof BusError && !e.mayHaveArrived) retryElsewhere();
 * }
 * ```
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
  /**
   * Publishes and waits for a stream to acknowledge it. The message is
   * written before this returns (no await comes first), so calls made in
   * order reach the server in order. Rejects with a {@linkcode BusError}.
   */
  publishAcked(
    subject: string,
    payload: Uint8Array | string,
    opts?: AckedPublishOptions,
  ): Promise<PublishAck>;
  subscribe(subject: string, opts?: SubscribeOptions): BusSubscription;
  request(
    subject: string,
    payload: Uint8Array | string,
    opts: { timeoutMs: number; requestId?: string },
  ): Promise<BusMessage>;
  /** The retained history of a stream; `undefined` when this bus keeps none. */
  history(spec: HistoryStreamSpec): EventHistory | undefined;
  /**
   * Opens (creating or updating) a key-value bucket; only a bus with
   * JetStream has them (the in-process bus has none).
   */
  kv?(spec: KvBucketSpec): Promise<KvBucket>;
  /** Number of live subscriptions this bus holds. */
  subscriptionCount(): number;
  /** Waits until everything published so far reached the server (no-op in process). */
  flush(): Promise<void>;
  /** Drains and closes. */
  close(): Promise<void>;
}

const encoder = new TextEncoder();

/**
 * @internal A payload as bytes (both buses share it; not exported from `mod.ts`).
 *
 * @example
 * ```ts
 * toBytes("{}"); // Uint8Array [123, 125]
 * ```
 */
export const toBytes = (p: Uint8Array | string): Uint8Array =>
  typeof p === "string" ? encoder.encode(p) : p;
