/**
 * What the delivery tests share (DESIGN.md guarantee 9): players acting as
 * fast as they can against a server that may be killed at any moment, and a
 * late observer that replays a shared world from `Last-Event-ID` and counts
 * what it got against what was committed.
 *
 * @module
 */
import assert from "node:assert/strict";
import { bearer, delay, openWorldStream, type SseClient, tokenFor } from "../_helpers/mod.ts";

/** The shared experience the tests play. */
export const EXP = "wylding-woods";

/** A world stream of `user` in the shared world on the server at `url`. */
export function openWorld(url: string, user: string, lastEventId?: string): Promise<SseClient> {
  return openWorldStream(url, user, EXP, { lastEventId });
}

/** Players walking north and south in the shared world until stopped. */
export interface Load {
  /** Actions the server answered with a committed change. */
  readonly acked: () => number;
  stop(): Promise<void>;
}

/**
 * Starts `players` loops acting on whatever server `url()` names now;
 * connection errors (a killed server) are counted as failures and retried.
 */
export async function startLoad(players: number, url: () => string): Promise<Load> {
  const tokens = await Promise.all(
    Array.from({ length: players }, (_, i) => tokenFor(`walker-${i}`)),
  );
  let stop = false;
  let acked = 0;
  const loops = tokens.map(async (t, p) => {
    for (let i = 0; !stop; i++) {
      try {
        const res = await fetch(`${url()}/kb/experience/interact`, {
          method: "POST",
          headers: bearer(t),
          body: JSON.stringify({ message: (i + p) % 2 ? "south" : "north", experience: EXP }),
          signal: AbortSignal.timeout(5_000),
        });
        if (res.status === 200 && (await res.json()).outcome.changed) acked++;
        else await res.body?.cancel();
      } catch {
        await delay(20); // the server is down: a player tries again soon
      }
    }
  });
  return {
    acked: () => acked,
    async stop() {
      stop = true;
      await Promise.all(loops);
    },
  };
}

/** The committed version of the shared world, from its state file. */
export async function committedVersion(stateDir: string): Promise<number> {
  const text = await Deno.readTextFile(`${stateDir}/experiences/${EXP}/world.json`);
  return JSON.parse(text).version as number;
}

/** What a world stream delivered. */
export interface Delivered {
  versions: number[];
  ids: string[];
  resyncs: string[];
  /** The events' own ids (`data.id`), when recorded: one event per version across observers. */
  eventIds?: string[];
}

/**
 * Opens the world stream of `user` after `lastEventId` and reads until the
 * shared world's `untilVersion` arrives (or `timeoutMs` passes).
 */
export async function replayUntil(
  url: string,
  user: string,
  lastEventId: string,
  untilVersion: number,
  timeoutMs = 30_000,
  experience = EXP,
): Promise<Delivered> {
  const stream = await openWorldStream(url, user, experience, { lastEventId });
  const out: Delivered = { versions: [], ids: [], resyncs: [] };
  const deadline = performance.now() + timeoutMs;
  try {
    while ((out.versions.at(-1) ?? 0) < untilVersion) {
      const left = deadline - performance.now();
      if (left <= 0) break;
      let e;
      try {
        e = await stream.next(left);
      } catch {
        break; // timed out or ended: report what came
      }
      if (e.event === "resync") out.resyncs.push(e.data.reason);
      if (e.event !== "world_update") continue;
      out.versions.push(e.data.version);
      out.ids.push(e.data.id);
    }
  } finally {
    await stream.close();
  }
  return out;
}

/** A world stream of `user` opened now, and the first `world_update` it will receive. */
export async function watchFirst(
  url: string,
  user: string,
): Promise<{ first: () => Promise<{ id: string; version: number }>; close: () => Promise<void> }> {
  const stream = await openWorld(url, user);
  return {
    async first() {
      const [e] = await stream.take(1, "world_update", 10_000);
      return { id: e!.id!, version: e!.data.version };
    },
    close: () => stream.close(),
  };
}

/** One action over HTTP that must commit a change; returns the version it made. */
export async function act(url: string, user: string, message: string): Promise<number> {
  const res = await fetch(`${url}/kb/experience/interact`, {
    method: "POST",
    headers: bearer(await tokenFor(user)),
    body: JSON.stringify({ message, experience: EXP }),
  });
  const body = await res.json();
  assert.equal(res.status, 200, JSON.stringify(body));
  assert.ok(body.outcome.changed, `'${message}' changed nothing: ${body.outcome.summary}`);
  return body.events[0].version;
}

/** The world's exits from its start location, for a walk that always moves: there and back. */
export const WALK = ["north", "south"] as const;

/**
 * Asserts that a replay delivered exactly `from..to`, each once, in order,
 * with no resync: what the issue calls nothing lost, nothing duplicated.
 */
export function assertContiguous(d: Delivered, from: number, to: number, what: string): void {
  const want = Array.from({ length: to - from + 1 }, (_, i) => from + i);
  const missing = want.filter((v) => !d.versions.includes(v));
  const repeated = d.versions.filter((v, i) => d.versions.indexOf(v) !== i);
  assert.deepEqual(
    { missing, repeated, resyncs: d.resyncs },
    { missing: [], repeated: [], resyncs: [] },
    `${what}: ${d.versions.length} delivered of ${want.length} committed`,
  );
  assert.deepEqual(d.versions, want, `${what}: in order`);
}

/**
 * A player who watches the shared world and drops and reopens the stream
 * every few hundred ms with `Last-Event-ID`, as a phone on a bad network
 * would; `finish` then reads on until the last committed version.
 */
export function flakyObserver(user: string, url: () => string, experience = EXP) {
  const got: Delivered = { versions: [], ids: [], resyncs: [], eventIds: [] };
  let lastId: string | undefined;
  let stopping = false;
  /** Reads one connection until `deadline` or `untilVersion`. */
  const session = async (deadline: number, untilVersion = Infinity) => {
    let stream: SseClient;
    try {
      stream = await openWorldStream(url(), user, experience, { lastEventId: lastId });
    } catch {
      await delay(50); // refused while the cluster elects: the phone tries again soon
      return;
    }
    try {
      while (performance.now() < deadline && (got.versions.at(-1) ?? 0) < untilVersion) {
        const e = await stream.next(Math.max(1, deadline - performance.now())).catch(() =>
          undefined
        );
        if (!e) return; // ended (a slow-consumer resync, a cut) or timed out: reconnect
        if (e.event === "resync") got.resyncs.push(e.data.reason);
        if (e.event !== "world_update") continue;
        lastId = e.id!;
        got.versions.push(e.data.version);
        got.ids.push(e.id!);
        got.eventIds?.push(e.data.id);
      }
    } finally {
      await stream.close();
    }
  };
  const flaky = (async () => {
    while (!stopping) await session(performance.now() + 200 + Math.random() * 400);
  })();
  return {
    got,
    async finish(untilVersion: number) {
      stopping = true;
      await flaky;
      const deadline = performance.now() + 30_000;
      while (performance.now() < deadline && (got.versions.at(-1) ?? 0) < untilVersion) {
        await session(deadline, untilVersion);
      }
    },
  };
}
