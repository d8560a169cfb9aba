/**
 * Memory readings of a bench child process after a full GC, on request: the
 * bench sends `SIGUSR1`; the child runs V8's `gc` twice and writes
 * `Deno.memoryUsage()` (and its event clock's offset, see
 * {@linkcode clockOffsetMs}) with a sequence number to the file named by
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
  /** This process's event clock (`timeOrigin + now()`) minus the wall clock, ms. */
  clockOffsetMs: number;
}

/**
 * This process's event clock (`performance.timeOrigin + performance.now()`,
 * the KB's timestamps and the bench's `nowMs()`) minus the wall clock, read
 * at a millisecond edge of `Date.now()` so it is exact to a few µs. Two
 * processes' event clocks differ by the wall-clock steps between their
 * starts (the origin is fixed at start); the difference of their offsets is
 * that skew.
 *
 * @example
 * ```ts
 * const skew = clockOffsetMs(); // compare with another process's
 * ```
 */
export function clockOffsetMs(): number {
  const d0 = Date.now();
  let d = d0;
  while (d === d0) d = Date.now();
  return performance.timeOrigin + performance.now() - d;
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
    const reading: MemoryReading = { seq: ++seq, ...m, clockOffsetMs: clockOffsetMs() };
    Deno.writeTextFileSync(`${file}.tmp`, JSON.stringify(reading));
    Deno.renameSync(`${file}.tmp`, file);
  });
}
