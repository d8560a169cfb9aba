/**
 * Child process of the crash test: plays random take/drop/put/give actions
 * in a shared and an isolated experience as fast as it can, until killed.
 * Prints `ready` once the KB is up. Usage:
 * `deno run -A tests/kb/crash_child.ts <dataDir> <stateDir> <seed>`
 */
import { Kb } from "../../kb/mod.ts";
import { InProcessBus } from "../../shared/bus/mod.ts";
import { setLogLevel } from "../../shared/log.ts";
import { CRASH_ITEMS, rng } from "../_helpers/mod.ts";

setLogLevel("error");
const [dataDir, stateDir, seed] = [Deno.args[0]!, Deno.args[1]!, Number(Deno.args[2])];
const bus = new InProcessBus();
const kb = await Kb.create({ bus, dataDir, stateDir });
const random = rng(seed);
const pick = <T>(xs: readonly T[]) => xs[Math.floor(random() * xs.length)]!;
const names = [...CRASH_ITEMS, "chest", "medal"];
let n = 0;

async function play(user: string, experience: string) {
  while (true) {
    const r = random();
    const message = r < 0.4
      ? `take ${pick(names)}`
      : r < 0.75
      ? `drop ${pick(names)}`
      : r < 0.88
      ? `put ${pick(names)} in chest`
      : `give ${pick(names)} to collector`;
    await kb.interact({ request_id: `${seed}-${n++}`, user_id: user, experience, message });
  }
}

await Deno.stdout.write(new TextEncoder().encode("ready\n"));
await Promise.all([
  play("p.one", "vault-shared"),
  play("p/two", "vault-shared"),
  play("../p3", "vault-shared"),
  play("p4", "vault-shared"),
  play("solo-a", "vault-solo"),
  play("solo-b", "vault-solo"),
]);
