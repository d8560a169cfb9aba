/**
 * The live connection to one experience: the persistent world stream
 * (EventSource: it reconnects by itself and sends `Last-Event-ID`; besides
 * world updates it carries `presence` and `say` events), the
 * snapshot (`/world/state`, refetched on `resync`), and the connection state
 * the badge shows:
 *
 * - `live`: the stream is open and the server's NATS connection is up;
 * - `reconnecting`: the stream is reconnecting, or the server's bus is (from
 *   `/health`: the browser's stream stays open while NATS is down, but no
 *   other player's change can reach it);
 * - `offline`: the browser is offline, or three attempts in a row failed.
 *
 * When the server's bus comes back, the snapshot is refetched: changes
 * committed while it was down may never have been published.
 *
 * @module
 */
import { WorldSync } from "/client/sync.js";

const API = "/api/v0.3";
/** `/health` polling: slower while all is well (each poll is an access-log line). */
const HEALTH_UP_MS = 2000;
const HEALTH_DOWN_MS = 1000;
const FAILURES_FOR_OFFLINE = 3;

const busUp = (status) => status === "connected" || status === "in-process";

/**
 * One experience, kept live.
 *
 * @example
 * ```js
 * const live = new LiveWorld({ experience, token, onEvent, onChange, onConnection });
 * live.start();
 * ```
 */
export class LiveWorld {
  /**
   * @param {{
   *   experience: string,
   *   token: string,
   *   onEvent: (event: any, source: string) => void,
   *   onPresence?: (presence: any) => void,
   *   onSay?: (say: any) => void,
   *   onStreamOpen?: () => void,
   *   onChange: (prev: any, next: any, events: any[], reason: string) => void,
   *   onConnection: (state: string) => void,
   *   onResync?: (reason: string) => void,
   *   onUnauthorized: () => void,
   * }} opts
   */
  constructor(opts) {
    this.opts = opts;
    this.sync = new WorldSync({
      experience: opts.experience,
      fetchSnapshot: () => this.fetchSnapshot(),
      onChange: opts.onChange,
      onError: () => this.retryLoad(),
    });
    this.es = null;
    this.esOpen = false;
    this.esFailures = 0;
    this.lastEventId = "";
    this.bus = "unknown";
    this.busWasDown = false;
    this.healthFailures = 0;
    this.state = "reconnecting";
    this.stopped = false;
    this.timers = new Set();
    this.onNetwork = (e) => {
      // Back online after a network change: the old connection may be dead
      // without having closed (no error ever fires on it), so open a new one;
      // the last event id makes the switch gapless.
      if (e?.type === "online" || this.es?.readyState === EventSource.CLOSED) this.open();
      this.update();
    };
  }

  start() {
    this.open();
    // Normally the snapshot follows the stream's open (no gap in between);
    // if the stream is slow to open, do not wait for it.
    this.later(() => this.sync.snapshot || this.load("initial"), 1500);
    this.pollHealth();
    globalThis.addEventListener("online", this.onNetwork);
    globalThis.addEventListener("offline", this.onNetwork);
  }

  stop() {
    this.stopped = true;
    this.es?.close();
    for (const t of this.timers) clearTimeout(t);
    this.sync.close();
    globalThis.removeEventListener("online", this.onNetwork);
    globalThis.removeEventListener("offline", this.onNetwork);
  }

  /** Hands a world update (from any stream) to the snapshot; true if it was new. */
  receive(event) {
    return this.sync.receive(event);
  }

  /** Refetches the snapshot. */
  resync(reason) {
    this.opts.onResync?.(reason);
    this.load(reason);
  }

  later(fn, ms) {
    const t = setTimeout(() => {
      this.timers.delete(t);
      if (!this.stopped) fn();
    }, ms);
    this.timers.add(t);
  }

  load(reason) {
    if (!this.stopped) this.sync.load(reason).catch(() => this.retryLoad());
  }

  retryLoad() {
    this.later(() => this.load("retry"), 2000);
  }

  async fetchSnapshot() {
    const q = new URLSearchParams({ experience: this.opts.experience });
    const res = await fetch(`${API}/world/state?${q}`, {
      headers: { Authorization: `Bearer ${this.opts.token}` },
      cache: "no-store",
    });
    if (res.status === 401) {
      this.opts.onUnauthorized();
      throw new Error("unauthorized");
    }
    if (!res.ok) throw new Error(`snapshot: ${res.status}`);
    return await res.json();
  }

  /** The descriptions of the places as they read for this player now (`/world/describe`). */
  async fetchDescriptions() {
    const q = new URLSearchParams({ experience: this.opts.experience });
    const res = await fetch(`${API}/world/describe?${q}`, {
      headers: { Authorization: `Bearer ${this.opts.token}` },
      cache: "no-store",
    });
    if (!res.ok) throw new Error(`describe: ${res.status}`);
    return await res.json();
  }

  open() {
    if (this.stopped) return;
    this.es?.close();
    const q = new URLSearchParams({
      experience: this.opts.experience,
      access_token: this.opts.token,
    });
    if (this.lastEventId) q.set("last_event_id", this.lastEventId);
    const es = this.es = new EventSource(`${API}/world/stream?${q}`);
    let firstOpen = true;
    es.onopen = () => {
      // The server sends the whole roster after each open.
      this.opts.onStreamOpen?.();
      this.esOpen = true;
      this.esFailures = 0;
      // The snapshot follows the open, so no event can fall between the two.
      if (firstOpen) this.load(this.sync.snapshot ? "stream_opened" : "initial");
      firstOpen = false;
      this.update();
    };
    es.onerror = () => {
      this.esOpen = false;
      this.esFailures++;
      // CONNECTING: the browser retries by itself with Last-Event-ID. CLOSED
      // (an HTTP error): we retry, passing the last id in the query.
      if (es.readyState === EventSource.CLOSED && this.es === es) {
        // EventSource hides the status; the snapshot fetch shows a 401 (token
        // expired: sign in again) instead of retrying forever.
        this.load("stream_failed");
        this.later(() => this.open(), Math.min(1000 * 2 ** this.esFailures, 15000));
      }
      this.update();
    };
    es.addEventListener("world_update", (m) => {
      this.lastEventId = m.lastEventId || this.lastEventId;
      this.opts.onEvent(JSON.parse(m.data), "stream");
    });
    es.addEventListener("presence", (m) => this.opts.onPresence?.(JSON.parse(m.data)));
    es.addEventListener("say", (m) => this.opts.onSay?.(JSON.parse(m.data)));
    es.addEventListener("resync", (m) => {
      this.lastEventId = m.lastEventId; // the server may clear it
      this.resync(JSON.parse(m.data).reason ?? "server");
    });
  }

  async pollHealth() {
    try {
      const res = await fetch("/health", { cache: "no-store", signal: AbortSignal.timeout(3000) });
      this.bus = (await res.json()).nats ?? "unknown";
      // The server was unreachable and is back (sleep, network switch): the
      // stream's connection may have died silently, so open a new one.
      if (this.healthFailures > 0 && this.sync.snapshot) this.open();
      this.healthFailures = 0;
    } catch {
      this.bus = "unknown";
      this.healthFailures++;
    }
    if (this.stopped) return;
    this.later(() => this.pollHealth(), busUp(this.bus) ? HEALTH_UP_MS : HEALTH_DOWN_MS);
    if (!busUp(this.bus)) this.busWasDown = true;
    else if (this.busWasDown) {
      this.busWasDown = false;
      this.resync("bus_reconnected");
    }
    this.update();
  }

  update() {
    let state = "reconnecting";
    if (
      !navigator.onLine || this.bus === "closed" ||
      this.esFailures >= FAILURES_FOR_OFFLINE || this.healthFailures >= FAILURES_FOR_OFFLINE
    ) state = "offline";
    else if (this.esOpen && busUp(this.bus)) state = "live";
    if (state === this.state || this.stopped) return;
    this.state = state;
    this.opts.onConnection(state);
  }
}
