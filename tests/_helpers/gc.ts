/**
 * A full garbage collection on demand, so heap figures compare live data
 * rather than garbage.
 *
 * @module
 */
import v8 from "node:v8";
import vm from "node:vm";

let gcFn: (() => void) | undefined;

/**
 * Runs V8's `gc` (exposed at run time through node:v8 flags), twice.
 *
 * @example
 * ```ts
 * forceGc();
 * const heap = Deno.memoryUsage().heapUsed;
 * ```
 */
export function forceGc(): void {
  if (!gcFn) {
    v8.setFlagsFromString("--expose-gc");
    gcFn = vm.runInNewContext("gc") as () => void;
  }
  gcFn();
  gcFn();
}
