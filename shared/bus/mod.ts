/**
 * The message bus: its interface ({@linkcode Bus}), the NATS bus, the
 * in-process bus, replay history ({@linkcode EventHistory}) and the streams
 * this system retains. Import the bus from here, not from its files.
 *
 * @example
 * ```ts
 * import { type Bus, InProcessBus, NatsBus } from "../shared/bus/mod.ts";
 * const bus: Bus = url ? await NatsBus.connect(url) : new InProcessBus();
 * ```
 *
 * @module
 */
export { BusError } from "./types.ts";
export type {
  AckedPublishOptions,
  Bus,
  BusErrorCode,
  BusMessage,
  BusStatus,
  BusSubscription,
  PublishAck,
  PublishOptions,
  SubscribeOptions,
} from "./types.ts";
export type {
  EventHistory,
  HistoryReader,
  HistoryReadOptions,
  HistoryState,
  HistoryStreamSpec,
  StoredMessage,
} from "./history.ts";
export type { KvBucket, KvBucketSpec, KvChange, KvEntry, KvWatch } from "./kv.ts";
export { NatsBus } from "./nats_bus.ts";
export type { NatsBusOptions } from "./nats_bus.ts";
export { InProcessBus } from "./in_process_bus.ts";
export { WORLD_STREAM, worldUpdatesStream } from "./streams.ts";
export type { WorldStreamSettings } from "./streams.ts";
