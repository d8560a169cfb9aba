/**
 * The open streams of this process: counts for `/metrics`, one shared
 * keep-alive timer (running only while world streams are open, so an idle
 * process holds no timers), the NATS-reconnect hook that makes world streams
 * fill their gap, and shutdown.
 *
 * @module
 */
import type { Bus, BusStatus } from "../shared/bus/mod.ts";
import { AppError } from "../shared/errors.ts";
import { metrics } from "../shared/metrics.ts";
import type { WorldStream } from "./world_stream.ts";

/** Something that can be ended on shutdown. */
export interface ChatHandle {
  readonly userId: string;
  shutdown(): void;
}

/** Caps on open streams (chat and world together). */
const TAKE = Symbol("take");

/**
 * A stream admitted by {@linkcode StreamRegistry.admit} and counted against
 * the caps until it is registered (`addWorld`/`addChat` take it over) or
 * released because the stream never opened.
 */
export interface StreamSlot {
  /** Gives the slot back (no-op once taken over or released). */
  release(): void;
  /** @internal The registry takes the slot over; false if already used. */
  [TAKE](): boolean;
}

export interface StreamLimits {
  perUser: number;
  perProcess: number;
}

/**
 * Stream registry.
 *
 * @example
 * ```ts
 * const registry = new StreamRegistry(bus, 15_000);
 * const slot = registry.admit(userId); // throws 429/503 past a cap
 * registry.addWorld(ws, slot); // ... ws's onEnd: registry.removeWorld(ws)
 * ```
 */
export class StreamRegistry {
  readonly #world = new Set<WorldStream>();
  readonly #chat = new Set<ChatHandle>();
  readonly #keepAliveMs: number;
  readonly #offStatus: () => void;
  #timer: ReturnType<typeof setInterval> | undefined;
  #lastStatus: BusStatus;
  readonly #limits: StreamLimits;
  readonly #perUser = new Map<string, number>();
  /** Admitted streams not registered yet. */
  #reserved = 0;

  constructor(
    bus: Bus,
    keepAliveMs: number,
    limits: StreamLimits = { perUser: Infinity, perProcess: Infinity },
  ) {
    this.#keepAliveMs = keepAliveMs;
    this.#limits = limits;
    this.#lastStatus = bus.status();
    this.#offStatus = bus.onStatus((status) => {
      const was = this.#lastStatus;
      this.#lastStatus = status;
      if (status === "connected" && was !== "connected") {
        for (const ws of this.#world) ws.onReconnect();
      }
    });
  }

  /**
   * Throws unless `userId` may open one more stream: 429 past the per-user
   * cap, 503 past the per-process cap (another process may have room).
   */
  admit(userId: string): StreamSlot {
    if (this.#chat.size + this.#world.size + this.#reserved >= this.#limits.perProcess) {
      metrics.rateLimited.inc({ limit: "streams_process" });
      throw new AppError(
        "too_many_streams",
        `this server holds its maximum of ${this.#limits.perProcess} streams; retry later`,
        503,
      );
    }
    if ((this.#perUser.get(userId) ?? 0) >= this.#limits.perUser) {
      metrics.rateLimited.inc({ limit: "streams_user" });
      throw new AppError(
        "too_many_streams",
        `at most ${this.#limits.perUser} open streams per user; close one first`,
        429,
      );
    }
    // Counted from now on, so requests admitted concurrently (a chat stream
    // opens only after its KB round trip) cannot all pass the caps.
    this.#reserved++;
    this.#count(userId, 1);
    let held = true;
    const drop = () => {
      if (!held) return false;
      held = false;
      this.#reserved--;
      return true;
    };
    return {
      release: () => {
        if (drop()) this.#count(userId, -1);
      },
      [TAKE]: drop,
    };
  }

  #count(userId: string, delta: number): void {
    const n = (this.#perUser.get(userId) ?? 0) + delta;
    if (n <= 0) this.#perUser.delete(userId);
    else this.#perUser.set(userId, n);
    metrics.sseStreamsOpen.set({ kind: "chat" }, this.#chat.size);
    metrics.sseStreamsOpen.set({ kind: "world" }, this.#world.size);
  }

  /** Registers a world stream in the slot `admit` gave (and starts the keep-alive timer if needed). */
  addWorld(ws: WorldStream, slot: StreamSlot): void {
    if (this.#world.has(ws) || !slot[TAKE]()) return;
    this.#world.add(ws);
    this.#count(ws.userId, 0);
    if (!this.#timer && this.#keepAliveMs > 0) {
      // Ticks at half the interval: an idle stream hears from us at least every interval.
      const half = this.#keepAliveMs / 2;
      this.#timer = setInterval(() => {
        const now = performance.now();
        for (const s of this.#world) s.keepAlive(now, half);
      }, half);
    }
  }

  /** Unregisters a world stream (stopping the timer with the last one). */
  removeWorld(ws: WorldStream): void {
    if (!this.#world.delete(ws)) return;
    this.#count(ws.userId, -1);
    if (this.#world.size === 0 && this.#timer !== undefined) {
      clearInterval(this.#timer);
      this.#timer = undefined;
    }
  }

  /** Registers an open chat stream in the slot `admit` gave. */
  addChat(handle: ChatHandle, slot: StreamSlot): void {
    if (this.#chat.has(handle) || !slot[TAKE]()) return;
    this.#chat.add(handle);
    this.#count(handle.userId, 0);
  }

  /** Unregisters a chat stream. */
  removeChat(handle: ChatHandle): void {
    if (!this.#chat.delete(handle)) return;
    this.#count(handle.userId, -1);
  }

  /** Open stream counts. */
  counts(): { chat: number; world: number } {
    return { chat: this.#chat.size, world: this.#world.size };
  }

  /**
   * Ends every stream: chat streams with `error` + `done`, world streams
   * with a jittered `retry:` hint so clients do not all reconnect at once.
   */
  shutdownAll(baseRetryMs: number): void {
    for (const h of [...this.#chat]) h.shutdown();
    for (const ws of [...this.#world]) ws.shutdown(baseRetryMs + Math.random() * baseRetryMs * 2);
    this.#offStatus();
  }
}
