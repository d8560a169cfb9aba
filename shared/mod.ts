/**
 * What `kb/` and `chat/` share: schemas, subjects, the bus, deltas, auth,
 * HTTP plumbing, settings and logging.
 *
 * @module
 */
export * from "./schema.ts";
export * from "./subjects.ts";
export * from "./apply.ts";
export * from "./bus.ts";
export * from "./errors.ts";
export * from "./ids.ts";
export * from "./log.ts";
export * from "./auth.ts";
export * from "./http.ts";
export * from "./settings.ts";
export * from "./nats_server.ts";
export * from "./metrics.ts";
