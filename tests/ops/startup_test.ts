/**
 * A bad setting stops the process at start, before anything is opened, with
 * exit status 2 and the variable's name on stderr: narrator settings
 * included, which used to be read (or silently defaulted) only when the
 * narrator was built.
 */
import { deepStrictEqual as eq, ok } from "node:assert/strict";
import { runToExit } from "../_helpers/mod.ts";

/** main.ts started with nothing of this process's settings inherited. */
const start = (env: Record<string, string>) => runToExit({ DEV: "1", PORT: "0", ...env });

Deno.test("startup: a bad setting exits 2 naming the variable", async () => {
  for (
    const [env, name] of [
      [{ NARRATOR_MAX_TOKENS: "lots" }, "NARRATOR_MAX_TOKENS"],
      [{ NARRATOR: "anthropic" }, "ANTHROPIC_API_KEY"],
      [{ OPENAI_BASE_URL: "localhost:11434" }, "OPENAI_BASE_URL"],
      [{ JWT_MAX_TTL: "forever" }, "JWT_MAX_TTL"],
    ] as const
  ) {
    const { code, stderr } = await start(env);
    eq(code, 2, `${name}: ${stderr}`);
    ok(stderr.startsWith("error: invalid settings: "), stderr);
    ok(stderr.includes(`${name}: `), `${name} not named: ${stderr}`);
  }
});
