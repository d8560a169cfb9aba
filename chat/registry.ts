/**
 * The open streams of this process: counts for `/metrics`, one shared
 * keep-alive timer (running only while world streams are open, so an idle
 * process holds no timers), the NATS-reconnect hook that makes world streams
 * fill their gap, and shutdown.
 *
 * @module
 */
import type { Bus, BusStatus } from "../shared/bus.ts";
import type { WorldStream } from "./world_stream.ts";

/** Something that can be ended on shutdown. */
export interface ChatHandle {
  shutdown(): void;
}

/**
 * Stream registry.
 *
 * @example
 * ```ts
 * const registry = new StreamRegistry(bus, 15_000);
 * registry.addWorld(ws); // ... ws's onEnd: registry.removeWorld(ws)
 * ```
 */
export class StreamRegistry {
  readonly #world = new Set<WorldStream>();
  readonly #chat = new Set<ChatHandle>();
  readonly #keepAliveMs: number;
  readonly #offStatus: () => void;
  #timer: ReturnType<typeof setInterval> | undefined;
  #lastStatus: BusStatus;

  constructor(bus: Bus, keepAliveMs: number) {
    this.#keepAliveMs = keepAliveMs;
    this.#lastStatus = bus.status();
    this.#offStatus = bus.onStatus((status) => {
      const was = this.#lastStatus;
      this.#lastStatus = status;
      if (status === "connected" && was !== "connected") {
        for (const ws of this.#world) ws.onReconnect();
      }
    });
  }

  /** Registers a world stream (and starts the keep-alive timer if needed). */
  addWorld(ws: WorldStream): void {
    this.#world.add(ws);
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
    this.#world.delete(ws);
    if (this.#world.size === 0 && this.#timer !== undefined) {
      clearInterval(this.#timer);
      this.#timer = undefined;
    }
  }

  /** Registers an open chat stream. */
  addChat(handle: ChatHandle): void {
    this.#chat.add(handle);
  }

  /** Unregisters a chat stream. */
  removeChat(handle: ChatHandle): void {
    this.#chat.delete(handle);
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
