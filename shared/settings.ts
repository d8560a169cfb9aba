/**
 * Settings from the environment (DESIGN.md "Settings"), validated with zod so
 * a bad value fails at start with the variable's name.
 *
 * @module
 */
import { z } from "zod";
import { AppError } from "./errors.ts";

const flag = z.enum(["", "0", "1", "true", "false"]).optional()
  .transform((v) => v === "1" || v === "true");

/** Parses `30s`, `15m`, `1h`, `2d` or plain milliseconds. */
export function parseDuration(text: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)?$/.exec(text.trim());
  if (!m) throw new Error(`not a duration: ${text}`);
  const n = Number(m[1]);
  const unit = { ms: 1, s: 1e3, m: 60e3, h: 3600e3, d: 86400e3 }[m[2] ?? "ms"]!;
  return n * unit;
}

/** Longest delay `setTimeout` takes (a larger one fires at once). */
const MAX_TIMER_MS = 2 ** 31 - 1;

const duration = (fallback: string, opts: { positive?: boolean; timer?: boolean } = {}) =>
  z.string().default(fallback).transform((v, ctx) => {
    let ms: number;
    try {
      ms = parseDuration(v);
    } catch (e) {
      ctx.addIssue({ code: "custom", message: String((e as Error).message) });
      return z.NEVER;
    }
    if (opts.positive && ms <= 0) {
      ctx.addIssue({ code: "custom", message: `must be more than 0 (got ${v})` });
      return z.NEVER;
    }
    if (opts.timer && ms > MAX_TIMER_MS) {
      ctx.addIssue({ code: "custom", message: `must be at most ${MAX_TIMER_MS} ms (got ${v})` });
      return z.NEVER;
    }
    return ms;
  });

const SettingsSchema = z.object({
  DEV: flag,
  PORT: z.coerce.number().int().min(0).max(65535).default(8000),
  HOST: z.string().default("127.0.0.1"),
  ROLE: z.enum(["all", "kb", "chat"]).default("all"),
  NATS_URL: z.string().optional(),
  KB_URL: z.url({ protocol: /^https?$/, error: "KB_URL must be an http(s) URL" })
    .transform((u) => u.replace(/\/+$/, "")).optional(),
  KB_DATA_DIR: z.string().default("./kb-data"),
  STATE_DIR: z.string().default("./.state"),
  JWT_SECRET: z.string().min(16, "JWT_SECRET must be at least 16 characters").optional(),
  ADMIN_SECRET: z.string().min(16, "ADMIN_SECRET must be at least 16 characters").optional(),
  NARRATOR: z.enum(["offline", "anthropic", "openai"]).default("offline"),
  NARRATOR_PACING: flag,
  // JetStream reads max_age 0 as "keep forever".
  WORLD_RETENTION: duration("1h", { positive: true }),
  KEEPALIVE_INTERVAL: duration("15s", { timer: true }),
  KB_REQUEST_TIMEOUT: duration("5s", { positive: true, timer: true }),
  NARRATOR_TIMEOUT: duration("20s", { positive: true, timer: true }),
  ACTION_RATE: z.coerce.number().min(0).default(10),
  ACTION_BURST: z.coerce.number().min(1).default(20),
  WORLD_UPDATE_RATE: z.coerce.number().min(0).default(1000),
  WORLD_UPDATE_BURST: z.coerce.number().min(1).default(2000),
  STREAM_BUFFER_BYTES: z.coerce.number().int().min(4096).default(1024 * 1024),
  MAX_STREAMS_PER_USER: z.coerce.number().int().min(1).default(8),
  MAX_STREAMS: z.coerce.number().int().min(1).default(20_000),
  SHUTDOWN_TIMEOUT: duration("10s", { positive: true, timer: true }),
  LOG_LEVEL: z.enum(["debug", "info", "warn", "error"]).default("info"),
});

/** Validated settings; durations are in milliseconds. */
export type Settings = z.infer<typeof SettingsSchema>;

/**
 * Reads settings from an environment map (defaults to `Deno.env`).
 *
 * @example
 * ```ts
 * const settings = loadSettings({ PORT: "0", DEV: "1" });
 * ```
 */
export function loadSettings(
  env: Record<string, string | undefined> = Deno.env.toObject(),
): Settings {
  // An empty variable (`PORT=`) means unset: its default applies, never a coerced 0.
  const set = Object.fromEntries(Object.entries(env).filter(([, v]) => v?.trim()));
  const parsed = SettingsSchema.safeParse(set);
  if (!parsed.success) {
    const detail = parsed.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("; ");
    throw new AppError("bad_settings", `invalid settings: ${detail}`, 500);
  }
  const s = parsed.data;
  if (!s.DEV && !s.JWT_SECRET) {
    throw new AppError(
      "bad_settings",
      "JWT_SECRET is required outside dev (set DEV=1 for local play)",
      500,
    );
  }
  if (!s.DEV && !s.NATS_URL) {
    throw new AppError(
      "bad_settings",
      "NATS_URL is required outside dev (set DEV=1 for local play)",
      500,
    );
  }
  return s;
}
