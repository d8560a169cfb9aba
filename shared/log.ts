/**
 * Structured JSON logging: one line per record on stderr, with a level, a
 * message and fields (request ids travel as `request_id`).
 *
 * @module
 */

/** Log levels in increasing severity. */
export type LogLevel = "debug" | "info" | "warn" | "error";
const ORDER: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

// `info` until told otherwise: the server sets LOG_LEVEL from its settings,
// tests call setLogLevel themselves. Nothing here reads the environment.
let threshold: LogLevel = "info";

/**
 * Sets the minimum level written.
 *
 * @example
 * ```ts
 * setLogLevel("warn");
 * ```
 */
export function setLogLevel(level: LogLevel): void {
  threshold = ORDER[level] ? level : "info";
}

/**
 * Writes one JSON log record.
 *
 * @example
 * ```ts
 * log("info", "action committed", { request_id, experience, version });
 * ```
 */
export function log(level: LogLevel, msg: string, fields: Record<string, unknown> = {}): void {
  if (ORDER[level] < ORDER[threshold]) return;
  const record = { ts: new Date().toISOString(), level, msg, ...fields };
  console.error(JSON.stringify(record));
}
