/**
 * The test kit: import everything from here.
 *
 * - `setup()` / `dispose()` (`setup.ts`): a process built like main.ts, with
 *   its nats-server (or cluster, or in-process bus), temp state and content.
 * - `startKb()` (`kb.ts`): a KB on its own bus connection.
 * - `spawnServer()`, `runToExit()` (`process.ts`): main.ts as a child process.
 * - `natsServer()`, `natsCluster()` (`nats.ts`): the launcher.
 * - `makeTestCa()` (`tls.ts`): a throwaway CA and server certificate.
 * - `playAt()` (`play.ts`): one action over SSE at any URL.
 * - `SseClient` (`sse.ts`), `openWorldStream()` (`world.ts`: a world stream
 *   of a child or any URL), `eventually()` / `delay()` (`eventually.ts`).
 * - `storedUnit()` (`state_kv.ts`): a unit as the `nats` state backend stored it.
 * - Fixtures: content (`content.ts`), state trees (`state_tree.ts`), item
 *   counts (`items.ts`), `rng` (`rng.ts`), tokens (`tokens.ts`),
 *   `percentiles` (`stats.ts`), `forceGc` (`gc.ts`).
 *
 * Assertions come from `node:assert/strict` everywhere.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { setup } from "../_helpers/mod.ts";
 *
 * Deno.test("a move", async () => {
 *   await using stack = await setup({ content: "glade" });
 *   const { status, body } = await stack.act("ann", "north", "glade");
 *   assert.equal(status, 200);
 *   assert.equal(body.outcome.kind, "moved");
 * });
 * ```
 *
 * @module
 */
export {
  COLORS,
  copyShippedContent,
  CRASH_ITEMS,
  GLADE,
  SHIPPED_DATA_DIR,
  writeExperience,
  writeGladeContent,
  writeVaultContent,
} from "./content.ts";
export { delay, eventually, type EventuallyOptions } from "./eventually.ts";
export { forceGc } from "./gc.ts";
export { countItems, countWorldItems } from "./items.ts";
export { type SeparateKb, startKb, type StartKbOptions } from "./kb.ts";
export {
  freePort,
  natsBinary,
  type NatsCluster,
  natsCluster,
  natsServer,
  type NatsServerProcess,
  natsSubscriptions,
} from "./nats.ts";
export { runToExit, type ServerProcess, type SpawnOptions, spawnServer } from "./process.ts";
export { playAt } from "./play.ts";
export { rng } from "./rng.ts";
export {
  type JsonAnswer,
  setup,
  type SetupContent,
  type SetupOptions,
  type TestStack,
} from "./setup.ts";
export { SseClient, type SseClientOptions, type SseMessage } from "./sse.ts";
export { settledTree, tree } from "./state_tree.ts";
export { makeTestCa, type TestTls } from "./tls.ts";
export { storedUnit } from "./state_kv.ts";
export { openWorldStream } from "./world.ts";
export { percentiles } from "./stats.ts";
export { bearer, TEST_SECRET, tokenFor } from "./tokens.ts";
