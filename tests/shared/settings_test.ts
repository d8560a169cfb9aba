import { deepStrictEqual as eq, ok, throws } from "node:assert/strict";
import { SettingsError } from "../../shared/errors.ts";
import { loadSettings, parseDuration } from "../../shared/settings.ts";

const dev = (env: Record<string, string>) => loadSettings({ DEV: "1", ...env });

/** Asserts that `env` is refused with a SettingsError naming `names`, its message matching `text`. */
function refused(env: Record<string, string>, names: string[], text: RegExp): void {
  throws(() => loadSettings(env), (e: unknown) => {
    ok(e instanceof SettingsError, String(e));
    eq(e.variables, names);
    ok(text.test(e.message), e.message);
    return true;
  });
}

Deno.test("settings: an empty variable means unset, never a coerced 0", () => {
  const s = dev({ PORT: "", ACTION_RATE: " ", WORLD_RETENTION: "", NATS_URL: "" });
  eq([s.PORT, s.ACTION_RATE, s.WORLD_RETENTION, s.NATS_URL], [8000, 10, 3_600_000, undefined]);
  refused(
    { JWT_SECRET: "", NATS_URL: "nats://x:4222" },
    ["JWT_SECRET"],
    /JWT_SECRET: required outside dev/,
  );
  refused({ JWT_SECRET: "x".repeat(16) }, ["NATS_URL"], /NATS_URL: required outside dev/);
});

Deno.test("settings: durations, and the ones that must be more than 0", () => {
  eq([parseDuration("250ms"), parseDuration("30s"), parseDuration("1.5h")], [
    250,
    30_000,
    5_400_000,
  ]);
  eq(dev({ KEEPALIVE_INTERVAL: "0" }).KEEPALIVE_INTERVAL, 0); // keep-alives off
  for (const name of ["WORLD_RETENTION", "KB_REQUEST_TIMEOUT", "SHUTDOWN_TIMEOUT", "JWT_MAX_TTL"]) {
    throws(() => dev({ [name]: "0s" }), new RegExp(`${name}: must be more than 0`));
  }
  throws(() => dev({ WORLD_RETENTION: "soon" }), /WORLD_RETENTION: not a duration/);
  eq(dev({}).NARRATOR_TIMEOUT, 20_000);
  throws(() => dev({ NARRATOR_TIMEOUT: "0" }), /NARRATOR_TIMEOUT: must be more than 0/);
  // Longer than a timer can wait: setTimeout would fire at once.
  throws(() => dev({ NARRATOR_TIMEOUT: "30d" }), /NARRATOR_TIMEOUT: must be at most/);
  eq(dev({}).JWT_MAX_TTL, 30 * 86_400_000);
  eq(dev({ JWT_MAX_TTL: "1h" }).JWT_MAX_TTL, 3_600_000);
});

Deno.test("settings: KB_URL is an http(s) URL without a trailing slash", () => {
  eq(dev({ KB_URL: "http://kb.internal:8001//" }).KB_URL, "http://kb.internal:8001");
  refused({ DEV: "1", KB_URL: "kb.internal:8001" }, ["KB_URL"], /KB_URL: must be an http\(s\) URL/);
});

Deno.test("settings: LOG_LEVEL is one of the levels", () => {
  eq(dev({}).LOG_LEVEL, "info");
  eq(dev({ LOG_LEVEL: "warn" }).LOG_LEVEL, "warn");
  throws(() => dev({ LOG_LEVEL: "verbose" }), /LOG_LEVEL/);
});

Deno.test("settings: narrator variables are parsed at start, with their defaults", () => {
  const s = dev({});
  eq(
    [s.NARRATOR, s.NARRATOR_PACING, s.NARRATOR_FIRST_TOKEN_MS, s.NARRATOR_TOKENS_PER_SEC],
    ["offline", false, 350, 40],
  );
  eq([s.NARRATOR_MAX_TOKENS, s.NARRATOR_MAX_RETRIES], [400, 1]);
  eq(
    [s.ANTHROPIC_BASE_URL, s.ANTHROPIC_FAST_MODEL, s.ANTHROPIC_CAPABLE_MODEL],
    ["https://api.anthropic.com", "claude-haiku-4-5", "claude-sonnet-4-5"],
  );
  eq(
    [s.OPENAI_BASE_URL, s.OPENAI_MODEL, s.OPENAI_CAPABLE_MODEL, s.OPENAI_API_KEY],
    ["https://api.openai.com/v1", "gpt-4o-mini", "gpt-4o-mini", undefined],
  );
  // The capable model defaults to the fast one, whatever that is.
  const local = dev({ NARRATOR: "openai", OPENAI_MODEL: "llama3.2" });
  eq([local.OPENAI_MODEL, local.OPENAI_CAPABLE_MODEL], ["llama3.2", "llama3.2"]);
  eq(dev({ NARRATOR_MAX_RETRIES: "0", NARRATOR_PACING: "1" }).NARRATOR_MAX_RETRIES, 0);
});

Deno.test("settings: a bad narrator variable stops the start with its name", () => {
  refused(
    { DEV: "1", NARRATOR_MAX_TOKENS: "lots" },
    ["NARRATOR_MAX_TOKENS"],
    /NARRATOR_MAX_TOKENS:/,
  );
  refused({ DEV: "1", NARRATOR_MAX_TOKENS: "0" }, ["NARRATOR_MAX_TOKENS"], /NARRATOR_MAX_TOKENS:/);
  refused({ DEV: "1", NARRATOR_MAX_RETRIES: "-1" }, ["NARRATOR_MAX_RETRIES"], /RETRIES:/);
  refused({ DEV: "1", NARRATOR_TOKENS_PER_SEC: "0" }, ["NARRATOR_TOKENS_PER_SEC"], /PER_SEC:/);
  refused({ DEV: "1", NARRATOR_FIRST_TOKEN_MS: "1.5" }, ["NARRATOR_FIRST_TOKEN_MS"], /_MS:/);
  refused({ DEV: "1", OPENAI_BASE_URL: "localhost:11434" }, ["OPENAI_BASE_URL"], /http\(s\)/);
  refused({ DEV: "1", NARRATOR: "anthropic" }, ["ANTHROPIC_API_KEY"], /NARRATOR=anthropic/);
  refused({ DEV: "1", NARRATOR: "llama" }, ["NARRATOR"], /NARRATOR:/);
  // Several at once: each is named.
  refused(
    { DEV: "1", PORT: "70000", NARRATOR_MAX_TOKENS: "x" },
    ["PORT", "NARRATOR_MAX_TOKENS"],
    /PORT: .*; NARRATOR_MAX_TOKENS: /,
  );
  eq(dev({ NARRATOR: "anthropic", ANTHROPIC_API_KEY: "k" }).ANTHROPIC_API_KEY, "k");
});

Deno.test("settings: NATS_SERVER_BIN is read once, like every other variable", () => {
  eq(dev({}).NATS_SERVER_BIN, undefined);
  eq(dev({ NATS_SERVER_BIN: "/opt/nats/nats-server" }).NATS_SERVER_BIN, "/opt/nats/nats-server");
});

Deno.test("NATS credentials: user and password together, one kind of authentication", () => {
  refused({ DEV: "1", NATS_USER: "gaia" }, ["NATS_PASSWORD"], /go together/);
  refused({ DEV: "1", NATS_PASSWORD: "pw" }, ["NATS_USER"], /go together/);
  refused(
    { DEV: "1", NATS_TOKEN: "t", NATS_CREDS: "/x.creds" },
    ["NATS_CREDS"],
    /one NATS authentication, not NATS_TOKEN and NATS_CREDS/,
  );
  const s = dev({ NATS_USER: "gaia", NATS_PASSWORD: "pw", NATS_CA: "/ca.pem" });
  eq([s.NATS_USER, s.NATS_PASSWORD, s.NATS_CA, s.HEALTH_INTERVAL], [
    "gaia",
    "pw",
    "/ca.pem",
    30_000,
  ]);
});
