/**
 * An in-process {@linkcode Bus} for local play without a nats-server: one
 * process, no JetStream, so no replay history.
 *
 * @module
 */
import type { EventHistory, HistoryStreamSpec } from "./history.ts";
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

const decoder = new TextDecoder();

interface LocalSub {
  subject: string;
  queue?: string;
  deliver: (m: BusMessage) => void;
  active: boolean;
}

/**
 * An in-process {@linkcode Bus} for local play without a nats-server.
 * Literal subjects and NATS wildcards (`*` one token, `>` the rest); queue
 * groups pick one member round-robin. Delivery is
 * asynchronous (a microtask) as it would be over a network.
 *
 * @example
 * ```ts
 * const bus = new InProcessBus();
 * bus.subscribe("t", { callback: (m) => console.log(m.json()) });
 * bus.publish("t", "{}");
 * ```
 */
export class InProcessBus implements Bus {
  readonly kind = "in-process" as const;
  #subs = new Map<string, Set<LocalSub>>();
  /** Subscribed subjects with wildcards (checked against every published subject). */
  #patterns = new Set<string>();
  #rr = 0;
  #acked = 0;
  #closed = false;

  status(): BusStatus {
    return this.#closed ? "closed" : "in-process";
  }

  onStatus(_listener: (status: BusStatus) => void): () => void {
    return () => {};
  }

  /** Subscriptions whose subject matches `subject` (literal, then wildcard ones). */
  #matching(subject: string): LocalSub[] {
    const out = [...(this.#subs.get(subject) ?? [])];
    for (const pattern of this.#patterns) {
      if (pattern !== subject && matchesSubject(pattern, subject)) {
        out.push(...(this.#subs.get(pattern) ?? []));
      }
    }
    return out;
  }

  #deliver(subject: string, msg: BusMessage): boolean {
    const subs = this.#matching(subject);
    if (subs.length === 0) return false;
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

  /**
   * Delivers like {@linkcode InProcessBus.publish} and resolves at once: there
   * is no stream to store it, so `seq` only counts acked publishes and
   * nothing is ever a duplicate.
   */
  publishAcked(
    subject: string,
    payload: Uint8Array | string,
    opts: AckedPublishOptions = {},
  ): Promise<PublishAck> {
    if (this.#closed) return Promise.reject(new BusError("disconnected", "bus is closed"));
    this.publish(subject, payload, opts);
    return Promise.resolve({ stream: "in-process", seq: ++this.#acked, duplicate: false });
  }

  /** None: nothing is retained in process, so replay answers `resync`. */
  history(_spec: HistoryStreamSpec): EventHistory | undefined {
    return undefined;
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
    if (subject.includes("*") || subject.includes(">")) this.#patterns.add(subject);
    const unsubscribe = () => {
      if (!local.active) return;
      local.active = false;
      set.delete(local);
      if (set.size === 0) {
        this.#subs.delete(subject);
        this.#patterns.delete(subject);
      }
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

/** Whether a NATS subject pattern (`*` one token, `>` one or more at the end) matches `subject`. */
function matchesSubject(pattern: string, subject: string): boolean {
  if (!pattern.includes("*") && !pattern.includes(">")) return false;
  const p = pattern.split(".");
  const t = subject.split(".");
  for (let i = 0; i < p.length; i++) {
    if (p[i] === ">") return t.length > i;
    if (i >= t.length || (p[i] !== "*" && p[i] !== t[i])) return false;
  }
  return p.length === t.length;
}
