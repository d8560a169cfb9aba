/**
 * Prometheus metrics (through `prom-client`), one registry per process. Every
 * label takes a bounded set of values: experience ids come from the loaded
 * catalog, routes are Hono route patterns, never user ids or raw paths.
 *
 * @example
 * ```ts
 * metrics.worldUpdatesPublished.inc({ experience: "wylding-woods", scope: "user" });
 * const text = await metrics.registry.metrics();
 * ```
 *
 * @module
 */
import client from "prom-client";

const registry = new client.Registry();
const registers = [registry];

/** Latency buckets in ms: sub-millisecond to seconds. */
const LATENCY_BUCKETS = [0.25, 0.5, 1, 2, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000];

/** Every metric this server exports. */
export const metrics = {
  registry,
  worldUpdatesPublished: new client.Counter({
    name: "nats_world_updates_published_total",
    help:
      "world_update messages the KB published and JetStream acknowledged, by experience and subject scope",
    labelNames: ["experience", "scope"] as const,
    registers,
  }),
  worldUpdatesPublishFailures: new client.Counter({
    name: "nats_world_updates_publish_failures_total",
    help:
      "world_update publishes JetStream did not acknowledge (the event stays in its outbox and is resent), by reason",
    labelNames: ["experience", "reason"] as const,
    registers,
  }),
  worldUpdatesReceived: new client.Counter({
    name: "nats_world_updates_received_total",
    help: "world_update messages received by chat from the bus, by subject scope",
    labelNames: ["scope"] as const,
    registers,
  }),
  worldUpdateLatency: new client.Histogram({
    name: "nats_world_updates_latency_ms",
    help: "KB commit to SSE write of a world_update, in ms (the figure the client sees)",
    labelNames: ["stream"] as const,
    buckets: LATENCY_BUCKETS,
    registers,
  }),
  subscriptionsActive: new client.Gauge({
    name: "nats_subscriptions_active",
    help: "NATS subscriptions this process holds",
    registers,
  }),
  connectionFailures: new client.Counter({
    name: "nats_connection_failures_total",
    help: "times the NATS connection was lost",
    registers,
  }),
  busState: new client.Gauge({
    name: "nats_connection_state",
    help: "1 for the current bus state (connected, reconnecting, closed, in-process)",
    labelNames: ["state"] as const,
    registers,
  }),
  sseStreamsOpen: new client.Gauge({
    name: "sse_streams_open",
    help: "open SSE streams by kind (chat, world)",
    labelNames: ["kind"] as const,
    registers,
  }),
  slowConsumerDrops: new client.Counter({
    name: "sse_slow_consumer_drops_total",
    help: "world streams ended because the client did not read fast enough",
    registers,
  }),
  replaysServed: new client.Counter({
    name: "world_replays_served_total",
    help: "world streams resumed from Last-Event-ID by replay",
    registers,
  }),
  replayedEvents: new client.Counter({
    name: "world_replayed_events_total",
    help: "events delivered by replay",
    registers,
  }),
  resyncsSent: new client.Counter({
    name: "world_resyncs_sent_total",
    help: "resync events sent, by reason",
    labelNames: ["reason"] as const,
    registers,
  }),
  httpRequests: new client.Counter({
    name: "http_requests_total",
    help: "HTTP requests by route pattern, method and status",
    labelNames: ["route", "method", "status"] as const,
    registers,
  }),
  httpDuration: new client.Histogram({
    name: "http_request_duration_ms",
    help: "time to the response head (streams: until headers), by route pattern",
    labelNames: ["route", "method"] as const,
    buckets: LATENCY_BUCKETS,
    registers,
  }),
  kbCommits: new client.Counter({
    name: "kb_commits_total",
    help: "committed state changes by experience and state model",
    labelNames: ["experience", "state_model"] as const,
    registers,
  }),
  kbCommitDuration: new client.Histogram({
    name: "kb_commit_duration_ms",
    help: "one group commit with the lock held: write-ahead intent, fsyncs and renames, in ms",
    labelNames: ["state_model"] as const,
    buckets: LATENCY_BUCKETS,
    registers,
  }),
  kbStateConflicts: new client.Counter({
    name: "kb_state_conflicts_total",
    help:
      "state writes (STATE_BACKEND=nats) that lost a compare-and-set to another KB and were decided again",
    labelNames: ["experience"] as const,
    registers,
  }),
  kbActions: new client.Counter({
    name: "kb_actions_total",
    help: "KB interactions by outcome kind",
    labelNames: ["kind"] as const,
    registers,
  }),
  outboxPending: new client.Gauge({
    name: "kb_outbox_events",
    help: "committed events this KB process holds that JetStream has not acknowledged yet",
    registers,
  }),
  outboxPausedUnits: new client.Gauge({
    name: "kb_outbox_paused_units",
    help: "units whose publishing waits for a retry after JetStream did not acknowledge",
    registers,
  }),
  outboxDropped: new client.Counter({
    name: "kb_outbox_dropped_total",
    help: "committed events dropped past a unit's outbox bound (never delivered: watchers resync)",
    labelNames: ["experience"] as const,
    registers,
  }),
  rateLimited: new client.Counter({
    name: "rate_limited_total",
    help:
      "requests refused by a limit (actions, streams_user, streams_process, world_updates, intent)",
    labelNames: ["limit"] as const,
    registers,
  }),
  intentCalls: new client.Counter({
    name: "intent_calls_total",
    help:
      "LLM intent calls for commands the grammar did not understand, by result (mapped, not_understood, declined, invalid, timeout, failed)",
    labelNames: ["result"] as const,
    registers,
  }),
  intentDuration: new client.Histogram({
    name: "intent_call_duration_ms",
    help: "one LLM intent call, request to the model's answer (or the timeout), in ms",
    buckets: LATENCY_BUCKETS,
    registers,
  }),
};
