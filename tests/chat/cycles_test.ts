/**
 * Merge and cleanup, against the real KB: 1,000 chat open/close cycles,
 * half closed by the client mid-narrative (the other half with a world
 * stream open around them), leave NATS subscriptions (client count and
 * nats-server /subsz), open streams, running narrators and heap back at
 * baseline.
 */
import assert from "node:assert/strict";
import { OfflineNarrator } from "../../chat/mod.ts";
import type { NarrationInput, Narrator } from "../../chat/mod.ts";
import type { Outcome } from "../../shared/schema.ts";
import {
  eventually,
  forceGc,
  GLADE,
  natsSubscriptions,
  setup,
  startKb,
  type TestStack,
} from "../_helpers/mod.ts";

/** Wraps a narrator and counts narrations still running. */
class CountingNarrator implements Narrator {
  readonly kind = "offline" as const;
  running = 0;
  started = 0;
  readonly #inner: Narrator;
  constructor(inner: Narrator) {
    this.#inner = inner;
  }
  modelFor(outcome: Outcome): string {
    return this.#inner.modelFor(outcome);
  }
  async *narrate(input: NarrationInput, signal: AbortSignal): AsyncIterable<string> {
    this.running++;
    this.started++;
    try {
      yield* this.#inner.narrate(input, signal);
    } finally {
      this.running--;
    }
  }
}

async function cycle(h: TestStack, user: string, closeEarly: boolean): Promise<void> {
  // Every other cycle also holds a world stream open across the action.
  const world = closeEarly ? undefined : await h.world(user, GLADE.solo);
  const s = await h.chatStream(user, "inventory", GLADE.solo);
  if (closeEarly) {
    await s.take(1, "content");
    await s.close(); // mid-narrative: the paced narrator has more to say
    return;
  }
  await s.untilEnd();
  await s.close();
  assert.equal(s.messages.at(-1)!.event, "done");
  await world!.close();
}

Deno.test("1,000 chat open/close cycles leave subscriptions, narrators and heap at baseline", async () => {
  const narrator = new CountingNarrator(new OfflineNarrator({ firstTokenMs: 2, tokenMs: 3 }));
  await using h = await setup({ role: "chat", content: "glade", narrator });
  // The KB on its own connection, as in a split deployment; it keeps few
  // replies, so the heap measured is chat's.
  await using _kb = await startKb({ natsUrl: h.nats!.url, dataDir: h.dataDir, dedupeSize: 16 });
  const subsz = () => natsSubscriptions(h.nats!);
  const run = async (n: number, offset: number) => {
    const workers = 16;
    let next = 0;
    await Promise.all(Array.from({ length: workers }, async () => {
      while (next < n) {
        const i = next++;
        await cycle(h, `cyc${(offset + i) % 50}`, i % 2 === 0);
      }
    }));
  };
  await run(100, 0); // warm-up: JIT, connection pools, lazily created state
  await eventually(() => narrator.running === 0, {
    timeoutMs: 2000,
    what: "warm-up narrators stopped",
  });
  await eventually(() => h.chat.openStreams().world === 0, {
    timeoutMs: 2000,
    what: "warm-up streams closed",
  });
  const baseLocal = h.bus.subscriptionCount();
  assert.equal(baseLocal, 0, "an idle chat holds no subscriptions");
  await h.bus.flush(); // the server has seen the last UNSUBs
  const baseServer = await subsz();
  forceGc();
  const baseHeap = Deno.memoryUsage().heapUsed;

  const t0 = performance.now();
  await run(1000, 100);
  const ms = performance.now() - t0;

  await eventually(() => narrator.running === 0, { timeoutMs: 2000, what: "narrators stopped" });
  await eventually(() => h.bus.subscriptionCount() === baseLocal, {
    timeoutMs: 1000,
    what: "local subscriptions back",
  });
  await eventually(async () => (await subsz()) === baseServer, {
    timeoutMs: 1000,
    what: "server subscriptions back",
  });
  assert.deepEqual(h.chat.openStreams(), { chat: 0, world: 0 });
  assert.equal(narrator.started, 1100);
  forceGc();
  const growth = Deno.memoryUsage().heapUsed - baseHeap;
  console.log(
    `1,000 cycles in ${
      ms.toFixed(0)
    } ms; subscriptions ${baseLocal}→${h.bus.subscriptionCount()} ` +
      `(server ${baseServer}→${await subsz()}); heap growth ${(growth / 1e6).toFixed(1)} MB`,
  );
  assert.ok(growth < 3e6, `heap grew ${(growth / 1e6).toFixed(1)} MB`);
});
