/**
 * {@linkcode Bus} over a real NATS connection (nats.js), with JetStream for
 * acknowledged publishes and replay history. The connection is this
 * module's alone: nothing outside it touches nats.js's `NatsConnection`.
 *
 * Over 400 lines on purpose: this is the one module that owns the nats.js
 * connection (the seam DESIGN.md asks for), so requests, subscriptions,
 * acknowledged publishes and status all live here; JetStream history and
 * KV are their own files.
 *
 * @module
 */
import {
  AuthorizationError,
  connect,
  ConnectionError,
  type ConnectionOptions,
  credsAuthenticator,
  headers as natsHeaders,
  type Msg,
  type MsgHdrs,
  type NatsConnection,
  RequestError,
  type Subscription,
  TimeoutError,
  UserAuthenticationExpiredError,
} from "@nats-io/transport-node";
import {
  jetstream,
  type JetStreamClient,
  type JetStreamManager,
  jetstreamManager,
} from "@nats-io/jetstream";
import { REQUEST_ID_HEADER } from "../subjects.ts";
import { log } from "../log.ts";
import type { EventHistory, HistoryStreamSpec } from "./history.ts";
import { jetStreamError } from "./jetstream_errors.ts";
import { JetStreamHistory } from "./jetstream_history.ts";
import { openKvBucket } from "./jetstream_kv.ts";
import type { KvBucket, KvBucketSpec } from "./kv.ts";
import {
  type AckedPublishOptions,
  type Bus,
  BusError,
  type BusMessage,
  type BusStatus,
  type BusSubscription,
  type PublishAck,
  type PublishOptions,
  type SubscribeOptions,
  toBytes,
} from "./types.ts";

/** JetStream's de-duplication header. */
const MSG_ID_HEADER = "Nats-Msg-Id";

const decoder = new TextDecoder();

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
  /** Authentication token (`NATS_TOKEN`). */
  token?: string;
  /** User and password (`NATS_USER`, `NATS_PASSWORD`). */
  user?: { name: string; password: string };
  /** Contents of a `.creds` file: the user JWT and its nkey seed (`NATS_CREDS`). */
  creds?: string;
  /** PEM of the CA the servers' certificates are signed by (`NATS_CA`); implies TLS. */
  ca?: string;
}

/** nats.js's connection options for the security part of {@linkcode NatsBusOptions}. */
function securityOptions(url: string, opts: NatsBusOptions): Partial<ConnectionOptions> {
  const tlsUrl = url.split(",").some((s) => s.trim().startsWith("tls://"));
  return {
    ...(opts.token ? { token: opts.token } : {}),
    ...(opts.user ? { user: opts.user.name, pass: opts.user.password } : {}),
    ...(opts.creds
      ? { authenticator: credsAuthenticator(new TextEncoder().encode(opts.creds)) }
      : {}),
    // A tls:// URL must never fall back to plain TCP; {} keeps the system CAs.
    ...(opts.ca ? { tls: { ca: opts.ca } } : tlsUrl ? { tls: {} } : {}),
  };
}

let resetGuard = false;

/**
 * A server that refuses a login closes the socket, and nats.js drops its
 * socket listeners before Deno's node layer reports the reset of the read
 * still pending on it: that `ECONNRESET` would reach the top level as an
 * uncaught error and end the process (exit 1 instead of the SettingsError's
 * 2). A socket read reset that nothing listens for belongs to a connection
 * already given up, so it is logged and dropped; nothing else is touched.
 */
function guardSocketResets(): void {
  if (resetGuard) return;
  resetGuard = true;
  globalThis.addEventListener("error", (event) => {
    const e = event.error as { code?: unknown; syscall?: unknown } | undefined;
    if (e?.code === "ECONNRESET" && e.syscall === "read") {
      event.preventDefault();
      log("debug", "reset of an abandoned NATS socket ignored");
    }
  });
}

/** TLS failures of node's sockets carry one of these codes (OpenSSL's verify errors). */
const TLS_ERROR_CODE = /CERT|SELF_SIGNED|UNABLE_TO_VERIFY|UNABLE_TO_GET_ISSUER|TLS|SSL/;

/**
 * What failed on the way to a first connection, as a `BusError`; undefined
 * when it is worth waiting for (no server answered yet: start order of a
 * host's services is nobody's contract).
 */
function firstConnectError(e: unknown, url: string, tls: boolean): BusError | undefined {
  const text = String((e as Error)?.message ?? e);
  if (e instanceof AuthorizationError || e instanceof UserAuthenticationExpiredError) {
    return new BusError("auth_failed", `NATS at ${url} refused the credentials: ${text}`, {
      cause: e,
    });
  }
  // Refused, or no answer within the connect timeout: the server may be starting.
  if (e instanceof ConnectionError || e instanceof TimeoutError) return undefined;
  const code = (e as { code?: unknown })?.code;
  if (tls || (typeof code === "string" && TLS_ERROR_CODE.test(code))) {
    return new BusError("tls_failed", `TLS to NATS at ${url} failed: ${text}`, { cause: e });
  }
  return new BusError("unreachable", `cannot connect to NATS at ${url}: ${text}`, { cause: e });
}

/**
 * {@linkcode Bus} over a real NATS connection, reconnecting forever with jitter.
 *
 * @example
 * ```ts
 * const bus = await NatsBus.connect("nats://127.0.0.1:4222", { name: "gaia" });
 * const { seq } = await bus.publishAcked("world.updates.user.alice", payload, { msgId });
 * ```
 */
export class NatsBus implements Bus {
  readonly kind = "nats" as const;
  readonly #nc: NatsConnection;
  /** The one JetStream client and manager of this connection, shared by every caller. */
  readonly #js: JetStreamClient;
  #jsm: Promise<JetStreamManager> | undefined;
  #setupJsm: Promise<JetStreamManager> | undefined;
  #status: BusStatus = "connected";
  #listeners = new Set<(s: BusStatus) => void>();
  #subs = new Set<Subscription>();

  private constructor(nc: NatsConnection) {
    this.#nc = nc;
    // JetStream API calls give up after 2 s (5 s by default): during a leader
    // election a replay retries sooner instead of holding its slot.
    this.#js = jetstream(nc, { timeout: 2_000 });
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
    const security = securityOptions(url, opts);
    guardSocketResets();
    // Not nats.js's waitOnFirstConnect: it retries refused credentials and
    // untrusted certificates forever too. Only "nobody answered" is waited out.
    for (let attempt = 1;; attempt++) {
      try {
        return new NatsBus(await NatsBus.#connectOnce(url, opts, security));
      } catch (e) {
        const error = firstConnectError(e, url, security.tls !== undefined);
        if (error) throw error;
        if (attempt === 1) log("warn", "NATS not reachable yet; waiting for it", { url });
        const waitMs = (opts.reconnectTimeWaitMs ?? 250) + Math.random() * 250;
        await new Promise((r) => setTimeout(r, waitMs));
      }
    }
  }

  static async #connectOnce(
    url: string,
    opts: NatsBusOptions,
    security: Partial<ConnectionOptions>,
  ): Promise<NatsConnection> {
    return await connect({
      servers: url.split(",").map((s) => s.trim()),
      name: opts.name ?? "gaia",
      maxReconnectAttempts: -1,
      reconnectTimeWait: opts.reconnectTimeWaitMs ?? 250,
      reconnectJitter: 250,
      timeout: 5_000,
      // Otherwise every request builds an Error up front for its stack
      // (measured: ~3% of server CPU per action in the benchmark profile).
      noAsyncTraces: true,
      ...security,
    });
  }

  async #watch(): Promise<void> {
    for await (const s of this.#nc.status()) {
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
    return this.#nc.isClosed() ? "closed" : this.#status;
  }

  onStatus(listener: (status: BusStatus) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  publish(subject: string, payload: Uint8Array | string, opts?: PublishOptions): boolean {
    try {
      this.#nc.publish(subject, toBytes(payload), {
        headers: headersFor(opts?.requestId, opts?.msgId),
      });
      return true;
    } catch (e) {
      log("warn", "publish failed", { subject, error: String(e) });
      return false;
    }
  }

  /**
   * JetStream publish with acknowledgement. nats.js sends the message with a
   * core request before its first await, so messages of calls made in order
   * leave in that order (the outbox built on this relies on it): nothing
   * here may await before `js.publish`.
   */
  publishAcked(
    subject: string,
    payload: Uint8Array | string,
    opts: AckedPublishOptions = {},
  ): Promise<PublishAck> {
    if (this.status() !== "connected") {
      // nats.js would buffer it and drop the buffer on reconnect: refuse now.
      return Promise.reject(new BusError("disconnected", `bus is ${this.status()}`));
    }
    let acked: Promise<{ stream: string; seq: number; duplicate: boolean }>;
    try {
      acked = this.#js.publish(subject, toBytes(payload), {
        msgID: opts.msgId,
        timeout: opts.timeoutMs,
        headers: headersFor(opts.requestId),
      });
    } catch (e) {
      return Promise.reject(jetStreamError(e, `acked publish on ${subject}`));
    }
    return acked.then(
      ({ stream, seq, duplicate }) => ({ stream, seq, duplicate }),
      (e) => {
        throw jetStreamError(e, `acked publish on ${subject}`);
      },
    );
  }

  /**
   * The JetStream history of `spec`'s stream, on this connection's one
   * JetStream client and manager. Keep the object: `ensure()` runs once per
   * history.
   */
  history(spec: HistoryStreamSpec): EventHistory {
    // checkAPI: false: no account-info round trip; a missing JetStream
    // shows up as `jetstream_unavailable` on first use instead.
    this.#jsm ??= this.#js.jetstreamManager(false);
    return new JetStreamHistory(spec, this.#js, this.#jsm, () => this.#clusterSize());
  }

  /**
   * Opens the KV bucket `spec` names on this connection (created when
   * missing, its replicas updated when they differ): the KB's `nats` state
   * backend and its leases.
   *
   * @example
   * ```ts
   * const kv = await bus.kv({ name: "gaia_state", replicas: 3 });
   * ```
   */
  kv(spec: KvBucketSpec): Promise<KvBucket> {
    this.#jsm ??= this.#js.jetstreamManager(false);
    // Creating or growing a replicated bucket can take longer than an API call's 2 s.
    this.#setupJsm ??= jetstreamManager(this.#nc, { timeout: 15_000, checkAPI: false });
    return openKvBucket({
      js: this.#js,
      jsm: this.#jsm,
      setupJsm: this.#setupJsm,
      clusterSize: () => this.#clusterSize(),
      maxPayload: () => this.#nc.info?.max_payload ?? 1024 * 1024,
    }, spec);
  }

  /**
   * How many servers the connected server's cluster has (1 outside a
   * cluster), from what it announces to clients: its cluster name and the
   * client URLs of its members.
   */
  #clusterSize(): number {
    const info = this.#nc.info;
    if (!info?.cluster) return 1;
    return Math.max(1, info.connect_urls?.length ?? 1);
  }

  subscribe(subject: string, opts: SubscribeOptions = {}): BusSubscription {
    const cb = opts.callback;
    // nats.js treats a present-but-undefined `callback` as callback mode.
    const sub = cb
      ? this.#nc.subscribe(subject, {
        queue: opts.queue,
        callback: (err, m) => err ? undefined : cb(wrapNatsMsg(m)),
      })
      : this.#nc.subscribe(subject, { queue: opts.queue });
    this.#subs.add(sub);
    sub.closed.then(() => this.#subs.delete(sub), () => this.#subs.delete(sub));
    const unsubscribe = () => {
      this.#subs.delete(sub);
      if (!sub.isClosed()) sub.unsubscribe();
    };
    return {
      subject,
      unsubscribe,
      isActive: () => !sub.isClosed() && !this.#nc.isClosed(),
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
      const m = await this.#nc.request(subject, toBytes(payload), {
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
    if (this.status() === "connected") await this.#nc.flush();
  }

  async close(): Promise<void> {
    if (this.#nc.isClosed()) return;
    try {
      await this.#nc.drain();
    } catch {
      await this.#nc.close();
    }
  }
}
