/**
 * What `kb/` and `chat/` share: schemas, subjects, the bus, deltas, auth,
 * HTTP plumbing and the app builder, the KB service interface, settings,
 * logging, metrics, limits and the timeout race.
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
  describeIssue,
  describeIssues,
  ErrorBodySchema,
  InteractBodySchema,
  InteractReplySchema,
  InteractRequestSchema,
  isMessageTooLarge,
  MAX_MESSAGE_BYTES,
  MESSAGE_TOO_LARGE,
  OutcomeSchema,
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
  ZodIssues,
} from "./schema.ts";
export {
  decodeSubjectToken,
  experienceSubject,
  fileNameFor,
  KB_INTERACT,
  KB_INTERACT_ANY,
  KB_QUEUE,
  kbInteractSubject,
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
  VersionGapError,
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
export { AppError, fromErrorBody, SettingsError, toAppError } from "./errors.ts";
export type { ErrorStatus } from "./errors.ts";
export { newEventId, newRequestId } from "./ids.ts";
export { log, setLogLevel } from "./log.ts";
export type { LogLevel } from "./log.ts";
export {
  DEFAULT_JWT_MAX_TTL_MS,
  DEFAULT_TOKEN_TTL_SECONDS,
  issueToken,
  MAX_USER_ID_LENGTH,
  requireUser,
  userIdProblem,
  validateUserId,
  verifyToken,
} from "./auth.ts";
export type { AuthOptions, AuthVariables } from "./auth.ts";
export { buildApp } from "./app.ts";
export type { AppOptions } from "./app.ts";
export {
  actionLimit,
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
export type { NarratorSettings, Settings } from "./settings.ts";
export {
  findNatsServer,
  freePort,
  NATS_INSTALL_HINT,
  startNatsCluster,
  startNatsServer,
} from "./nats_server.ts";
export type { NatsServerOptions, NatsServerProcess } from "./nats_server.ts";
export { metrics } from "./metrics.ts";
export { TokenBucket } from "./rate_limit.ts";
export type { TakeResult } from "./rate_limit.ts";
export { parseInteractReply } from "./kb_service.ts";
export type { KbCallContext, KbService } from "./kb_service.ts";
export { withTimeout } from "./timeout.ts";
