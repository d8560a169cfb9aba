import { deepStrictEqual as eq, throws } from "node:assert/strict";
import { loadSettings, parseDuration } from "../../shared/settings.ts";

const dev = (env: Record<string, string>) => loadSettings({ DEV: "1", ...env });

Deno.test("settings: an empty variable means unset, never a coerced 0", () => {
  const s = dev({ PORT: "", ACTION_RATE: " ", WORLD_RETENTION: "", NATS_URL: "" });
  eq([s.PORT, s.ACTION_RATE, s.WORLD_RETENTION, s.NATS_URL], [8000, 10, 3_600_000, undefined]);
  throws(
    () => loadSettings({ JWT_SECRET: "", NATS_URL: "nats://x:4222" }),
    /JWT_SECRET is required/,
  );
});

Deno.test("settings: durations, and the ones that must be more than 0", () => {
  eq([parseDuration("250ms"), parseDuration("30s"), parseDuration("1.5h")], [
    250,
    30_000,
    5_400_000,
  ]);
  eq(dev({ KEEPALIVE_INTERVAL: "0" }).KEEPALIVE_INTERVAL, 0); // keep-alives off
  for (const name of ["WORLD_RETENTION", "KB_REQUEST_TIMEOUT", "SHUTDOWN_TIMEOUT"]) {
    throws(() => dev({ [name]: "0s" }), new RegExp(`${name}: must be more than 0`));
  }
  throws(() => dev({ WORLD_RETENTION: "soon" }), /WORLD_RETENTION: not a duration/);
  eq(dev({}).NARRATOR_TIMEOUT, 20_000);
  throws(() => dev({ NARRATOR_TIMEOUT: "0" }), /NARRATOR_TIMEOUT: must be more than 0/);
  // Longer than a timer can wait: setTimeout would fire at once.
  throws(() => dev({ NARRATOR_TIMEOUT: "30d" }), /NARRATOR_TIMEOUT: must be at most/);
});

Deno.test("settings: KB_URL is an http(s) URL without a trailing slash", () => {
  eq(dev({ KB_URL: "http://kb.internal:8001//" }).KB_URL, "http://kb.internal:8001");
  throws(() => dev({ KB_URL: "kb.internal:8001" }), /KB_URL must be an http\(s\) URL/);
});

Deno.test("settings: LOG_LEVEL is one of the levels", () => {
  eq(dev({}).LOG_LEVEL, "info");
  eq(dev({ LOG_LEVEL: "warn" }).LOG_LEVEL, "warn");
  throws(() => dev({ LOG_LEVEL: "verbose" }), /LOG_LEVEL/);
});
