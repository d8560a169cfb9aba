/**
 * What `kb/` and `chat/` share: schemas, subjects, the bus, deltas, auth,
 * HTTP plumbing, settings, logging, metrics and limits.
 *
 * @example
 * ```ts
 * import { NatsBus, userSubject, WorldUpdateEventSchema } from "./shared/mod.ts";
 * ```
 *
 * @module
 */
export {
  ChatRequestSchema,
  ContentEventSchema,
  ErrorBodySchema,
  InteractBodySchema,
  InteractReplySchema,
  InteractRequestSchema,
  MAX_MESSAGE_BYTES,
  MetadataEventSchema,
  OutcomeSchema,
  ResyncEventSchema,
  StateModelSchema,
  StateOperationSchema,
  WorldChangesSchema,
  WorldSnapshotSchema,
  WorldUpdateEventSchema,
  worldUpdateJsonSchema,
} from "./schema.ts";
export type {
  ChatRequest,
  ErrorBody,
  InteractReply,
  InteractRequest,
  InteractSuccess,
  Outcome,
  StateModel,
  StateOperation,
  WorldChanges,
  WorldSnapshot,
  WorldUpdateEvent,
} from "./schema.ts";
export {
  decodeSubjectToken,
  experienceSubject,
  fileNameFor,
  KB_INTERACT,
  KB_QUEUE,
  REQUEST_ID_HEADER,
  SERVICE_HEALTH,
  SERVICE_READY,
  subjectToken,
  userSubject,
  WORLD_UPDATES_PREFIX,
} from "./subjects.ts";
export {
  applyOperations,
  applyWorldUpdate,
  escapePathSegment,
  joinPath,
  splitPath,
} from "./apply.ts";
export type { Delta, Operation, Snapshot } from "./apply.ts";
export { BusError, InProcessBus, NatsBus, WORLD_STREAM, worldUpdatesStream } from "./bus/mod.ts";
export type {
  AckedPublishOptions,
  Bus,
  BusErrorCode,
  BusMessage,
  BusStatus,
  BusSubscription,
  EventHistory,
  HistoryStreamSpec,
  NatsBusOptions,
  PublishAck,
  PublishOptions,
  SubscribeOptions,
} from "./bus/mod.ts";
export { AppError, fromErrorBody, toAppError } from "./errors.ts";
export type { ErrorStatus } from "./errors.ts";
export { newEventId, newRequestId } from "./ids.ts";
export { log, setLogLevel } from "./log.ts";
export type { LogLevel } from "./log.ts";
export { issueToken, MAX_USER_ID_LENGTH, requireUser, validateUserId } from "./auth.ts";
export type { AuthVariables } from "./auth.ts";
export {
  httpMetrics,
  jsonErrorHandler,
  limitBody,
  MAX_BODY_BYTES,
  REQUEST_ID_HTTP_HEADER,
  requestId,
  validate,
} from "./http.ts";
export type { RequestIdVariables } from "./http.ts";
export { loadSettings, parseDuration } from "./settings.ts";
export type { Settings } from "./settings.ts";
export { findNatsServer, freePort, NATS_INSTALL_HINT, startNatsServer } from "./nats_server.ts";
export type { NatsServerOptions, NatsServerProcess } from "./nats_server.ts";
export { metrics } from "./metrics.ts";
export { TokenBucket } from "./rate_limit.ts";
export type { TakeResult } from "./rate_limit.ts";
