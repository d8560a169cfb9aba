/**
 * A bad setting stops the process at start, before anything is opened, with
 * exit status 2 and the variable's name on stderr: narrator settings
 * included, which used to be read (or silently defaulted) only when the
 * narrator was built.
 */
import { deepStrictEqual as eq, ok } from "node:assert/strict";

const MAIN = new URL("../../main.ts", import.meta.url).pathname;

function denoEnv(): Record<string, string> {
  const keep = ["PATH", "HOME", "DENO_DIR", "XDG_CACHE_HOME"];
  return Object.fromEntries(keep.flatMap((k) => {
    const v = Deno.env.get(k);
    return v === undefined ? [] : [[k, v]];
  }));
}

async function start(env: Record<string, string>): Promise<{ code: number; stderr: string }> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", MAIN],
    // Nothing of this process's settings inherited: only what Deno itself needs.
    clearEnv: true,
    env: { ...denoEnv(), DEV: "1", PORT: "0", ...env },
    stdin: "null",
    stdout: "null",
    stderr: "piped",
  }).output();
  return { code: out.code, stderr: new TextDecoder().decode(out.stderr) };
}

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
