/**
 * Memory readings of a bench child process after a full GC, on request: the
 * bench sends `SIGUSR1`; the child runs V8's `gc` twice and writes
 * `Deno.memoryUsage()` with a sequence number to the file named by
 * `BENCH_MEM_FILE`. Used by the bench's server wrapper (`bench_server.ts`)
 * and the relay floor (`floor_server.ts`), so both are measured the same way.
 *
 * @module
 */
import v8 from "node:v8";
import vm from "node:vm";

/** What the child writes per request. */
export interface MemoryReading {
  seq: number;
  rss: number;
  heapUsed: number;
  heapTotal: number;
  external: number;
}

/**
 * Installs the `SIGUSR1` handler (no-op without `BENCH_MEM_FILE`).
 *
 * @example
 * ```ts
 * installMemoryHook(); // then: kill -USR1 <pid>; read $BENCH_MEM_FILE
 * ```
 */
export function installMemoryHook(): void {
  const file = Deno.env.get("BENCH_MEM_FILE");
  if (!file) return;
  v8.setFlagsFromString("--expose-gc");
  const gc = vm.runInNewContext("gc") as () => void;
  let seq = 0;
  Deno.addSignalListener("SIGUSR1", () => {
    gc();
    gc();
    const m = Deno.memoryUsage();
    const reading: MemoryReading = { seq: ++seq, ...m };
    Deno.writeTextFileSync(`${file}.tmp`, JSON.stringify(reading));
    Deno.renameSync(`${file}.tmp`, file);
  });
}
