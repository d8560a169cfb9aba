/**
 * Settings from the environment (DESIGN.md "Settings"): every variable the
 * server reads, narrators' included, parsed and validated by one zod schema
 * at start, so a bad value fails before anything is opened, with the
 * variable's name ({@linkcode SettingsError}). Nothing reads the
 * environment after `loadSettings`.
 *
 * @module
 */
import { z } from "zod";
import { SettingsError } from "./errors.ts";
import { describeIssues } from "./schema.ts";

const flag = z.enum(["", "0", "1", "true", "false"]).optional()
  .transform((v) => v === "1" || v === "true");

/**
 * Parses `30s`, `15m`, `1h`, `2d` or plain milliseconds.
 *
 * @example
 * ```ts
 * parseDuration("1.5h"); // 5_400_000
 * ```
 */
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

const httpUrl = z.url({ protocol: /^https?$/, error: "must be an http(s) URL" });
const int = (min: number, fallback: number) => z.coerce.number().int().min(min).default(fallback);

const SettingsSchema = z.object({
  DEV: flag,
  PORT: z.coerce.number().int().min(0).max(65535).default(8000),
  HOST: z.string().default("127.0.0.1"),
  ROLE: z.enum(["all", "kb", "chat"]).default("all"),
  NATS_URL: z.string().optional(),
  /** Dev only: the nats-server binary to start when `NATS_URL` is unset (else PATH). */
  NATS_SERVER_BIN: z.string().optional(),
  /** NATS authentication: a token, a user and password, or a `.creds` file (one of the three). */
  NATS_TOKEN: z.string().optional(),
  NATS_USER: z.string().optional(),
  NATS_PASSWORD: z.string().optional(),
  NATS_CREDS: z.string().optional(),
  /** PEM file of the CA that signed the NATS servers' certificates (`tls://` URLs). */
  NATS_CA: z.string().optional(),
  /** How often a process announces `gaia.service.health`. */
  HEALTH_INTERVAL: duration("30s", { positive: true, timer: true }),
  KB_URL: httpUrl.transform((u) => u.replace(/\/+$/, "")).optional(),
  KB_DATA_DIR: z.string().default("./kb-data"),
  STATE_DIR: z.string().default("./.state"),
  /** Where the KB keeps state: `files` (under STATE_DIR, one host) or `nats` (JetStream KV, any hosts). */
  STATE_BACKEND: z.enum(["files", "nats"]).default("files"),
  JWT_SECRET: z.string().min(16, "must be at least 16 characters").optional(),
  /** Longest a token may still be valid: an `exp` further ahead is refused. */
  JWT_MAX_TTL: duration("30d", { positive: true }),
  ADMIN_SECRET: z.string().min(16, "must be at least 16 characters").optional(),
  NARRATOR: z.enum(["offline", "anthropic", "openai"]).default("offline"),
  NARRATOR_PACING: flag,
  NARRATOR_FIRST_TOKEN_MS: int(0, 350),
  NARRATOR_TOKENS_PER_SEC: int(1, 40),
  NARRATOR_TIMEOUT: duration("20s", { positive: true, timer: true }),
  NARRATOR_MAX_TOKENS: int(1, 400),
  NARRATOR_MAX_RETRIES: int(0, 1),
  ANTHROPIC_API_KEY: z.string().optional(),
  ANTHROPIC_BASE_URL: httpUrl.default("https://api.anthropic.com"),
  ANTHROPIC_FAST_MODEL: z.string().default("claude-haiku-4-5"),
  ANTHROPIC_CAPABLE_MODEL: z.string().default("claude-sonnet-4-5"),
  OPENAI_BASE_URL: httpUrl.default("https://api.openai.com/v1"),
  OPENAI_API_KEY: z.string().optional(),
  OPENAI_MODEL: z.string().default("gpt-4o-mini"),
  OPENAI_CAPABLE_MODEL: z.string().optional(),
  /** Remote narrators: the longest wait for the model's intent answer before not-understood. */
  INTENT_TIMEOUT: duration("3s", { positive: true, timer: true }),
  /** Intent calls per second per user (0: no intent step), and the burst. */
  INTENT_RATE: z.coerce.number().min(0).default(0.5),
  INTENT_BURST: z.coerce.number().min(1).default(5),
  // JetStream reads max_age 0 as "keep forever".
  WORLD_RETENTION: duration("1h", { positive: true }),
  // Unset: 3 when the account has at least 3 JetStream servers, else 1.
  WORLD_REPLICAS: z.coerce.number().int().min(1).max(5).optional(),
  OUTBOX_MAX_EVENTS: z.coerce.number().int().min(1).default(20_000),
  OUTBOX_MAX_BYTES: z.coerce.number().int().min(4096).default(8 * 1024 * 1024),
  KEEPALIVE_INTERVAL: duration("15s", { timer: true }),
  KB_REQUEST_TIMEOUT: duration("5s", { positive: true, timer: true }),
  ACTION_RATE: z.coerce.number().min(0).default(10),
  ACTION_BURST: z.coerce.number().min(1).default(20),
  WORLD_UPDATE_RATE: z.coerce.number().min(0).default(1000),
  WORLD_UPDATE_BURST: z.coerce.number().min(1).default(2000),
  /** How long a world stream holds versions after a missing one before resync gap. */
  WORLD_GAP_WAIT: duration("5s", { timer: true }),
  /** How long a player stays listed after their last world stream closed (a reconnect does not flicker). */
  PRESENCE_GRACE: duration("10s", { positive: true, timer: true }),
  /** Present players past which presence events only reach the players at the same location. */
  PRESENCE_WIDE_MAX: z.coerce.number().int().min(0).default(200),
  /** `say`/`emote` lines per second per user, and the burst. */
  SAY_RATE: z.coerce.number().min(0).default(1),
  SAY_BURST: z.coerce.number().min(1).default(5),
  STREAM_BUFFER_BYTES: z.coerce.number().int().min(4096).default(1024 * 1024),
  MAX_STREAMS_PER_USER: z.coerce.number().int().min(1).default(8),
  MAX_STREAMS: z.coerce.number().int().min(1).default(20_000),
  SHUTDOWN_TIMEOUT: duration("10s", { positive: true, timer: true }),
  LOG_LEVEL: z.enum(["debug", "info", "warn", "error"]).default("info"),
}).superRefine((s, ctx) => {
  const need = (name: keyof typeof s, message: string) =>
    ctx.addIssue({ code: "custom", path: [name], message });
  if (!s.DEV && !s.JWT_SECRET) need("JWT_SECRET", "required outside dev (DEV=1 for local play)");
  if (!s.DEV && !s.NATS_URL) need("NATS_URL", "required outside dev (DEV=1 for local play)");
  if (!!s.NATS_USER !== !!s.NATS_PASSWORD) {
    need(s.NATS_USER ? "NATS_PASSWORD" : "NATS_USER", "NATS_USER and NATS_PASSWORD go together");
  }
  const natsAuth = [
    s.NATS_TOKEN && "NATS_TOKEN",
    s.NATS_USER && "NATS_USER",
    s.NATS_CREDS && "NATS_CREDS",
  ]
    .filter(Boolean);
  if (natsAuth.length > 1) {
    need(
      natsAuth[1] as keyof typeof s,
      `set one NATS authentication, not ${natsAuth.join(" and ")}`,
    );
  }
  if (s.NARRATOR === "anthropic" && !s.ANTHROPIC_API_KEY) {
    need("ANTHROPIC_API_KEY", "required with NARRATOR=anthropic");
  }
}).transform((s) => ({ ...s, OPENAI_CAPABLE_MODEL: s.OPENAI_CAPABLE_MODEL ?? s.OPENAI_MODEL }));

/** Validated settings; durations are in milliseconds. */
export type Settings = z.infer<typeof SettingsSchema>;

/** The settings a narrator is built from (`chat/narrators`). */
export type NarratorSettings = Pick<
  Settings,
  | "NARRATOR"
  | "NARRATOR_PACING"
  | "NARRATOR_FIRST_TOKEN_MS"
  | "NARRATOR_TOKENS_PER_SEC"
  | "NARRATOR_TIMEOUT"
  | "NARRATOR_MAX_TOKENS"
  | "NARRATOR_MAX_RETRIES"
  | "ANTHROPIC_API_KEY"
  | "ANTHROPIC_BASE_URL"
  | "ANTHROPIC_FAST_MODEL"
  | "ANTHROPIC_CAPABLE_MODEL"
  | "OPENAI_BASE_URL"
  | "OPENAI_API_KEY"
  | "OPENAI_MODEL"
  | "OPENAI_CAPABLE_MODEL"
  | "INTENT_TIMEOUT"
  | "INTENT_RATE"
  | "INTENT_BURST"
>;

/**
 * Reads settings from an environment map (defaults to `Deno.env`). Throws a
 * {@linkcode SettingsError} naming every variable at fault.
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
    const names = [...new Set(parsed.error.issues.map((i) => String(i.path[0] ?? "")))];
    throw new SettingsError(names, `invalid settings: ${describeIssues(parsed.error)}`);
  }
  return parsed.data;
}
