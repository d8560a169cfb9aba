/**
 * The server as the bench runs it: `main.ts`'s `startServer` with the
 * settings from the environment, exactly as `deno task start` serves, plus
 * the bench's memory hook (a full GC and a heap reading on `SIGUSR1`, see
 * `mem_hook.ts`) and the same SIGTERM shutdown.
 *
 *   BENCH_MEM_FILE=/tmp/mem.json deno run <perms> tests/bench/bench_server.ts
 *
 * @module
 */
import { startServer } from "../../main.ts";
import { loadSettings, setLogLevel } from "../../shared/mod.ts";
import { installMemoryHook } from "./mem_hook.ts";

if (import.meta.main) {
  const settings = loadSettings();
  setLogLevel(settings.LOG_LEVEL);
  installMemoryHook();
  const server = await startServer(settings);
  Deno.addSignalListener("SIGTERM", async () => {
    await server.close();
    Deno.exit(0);
  });
}
