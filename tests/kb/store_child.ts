/**
 * Child process for the cross-process lock test: increments one counter in a
 * shared unit `n` times from `loops` concurrent loops. Usage:
 * `deno run -A tests/kb/store_child.ts <stateDir> <n> <loops>`
 */
import { StateStore } from "../../kb/state/mod.ts";

const [stateDir, n, loops] = [Deno.args[0]!, Number(Deno.args[1]), Number(Deno.args[2] ?? 1)];
const store = new StateStore(stateDir);
const unit = await store.unit("counter", "shared", `writer-${Deno.pid}`);
await Promise.all(Array.from({ length: loops }, async () => {
  for (let i = 0; i < n; i++) {
    await store.transact(unit, "w", (s) => {
      const count = (s.world?.count as number | undefined) ?? 0;
      return {
        base: { world: s.world ?? {}, player: s.player ?? {} },
        world: [{ operation: "update", path: "", data: { count: count + 1 } }],
        player: [{
          operation: "update",
          path: "",
          data: { writes: ((s.player?.writes as number) ?? 0) + 1 },
        }],
        result: null,
      };
    });
  }
}));
