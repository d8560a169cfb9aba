/**
 * Child process of the crash test that dies at a chosen instant: between
 * the renames of one commit. It wraps `Deno.rename` so that the `n`th
 * rename of a player file waits until the commit's `world.json` is renamed,
 * then SIGKILLs this process before renaming the player file: the world is
 * new, the profile old, and only the intent can make the commit whole.
 * Plays take/drop in the shared vault as one player until then. Usage:
 * `deno run -A tests/kb/crash_rename_child.ts <dataDir> <stateDir> <seed> <n>`
 */
import { Kb } from "../../kb/mod.ts";
import { InProcessBus } from "../../shared/bus/mod.ts";
import { setLogLevel } from "../../shared/log.ts";
import { CRASH_ITEMS, rng } from "../_helpers/mod.ts";

setLogLevel("error");
const [dataDir, stateDir, seed, n] = [
  Deno.args[0]!,
  Deno.args[1]!,
  Number(Deno.args[2]),
  Number(Deno.args[3]),
];
const rename = Deno.rename;
let players = 0;
let worldRenamed = Promise.resolve();
Object.assign(Deno, {
  rename: (from: string | URL, to: string | URL): Promise<void> => {
    const target = String(to);
    if (target.endsWith("/world.json")) {
      worldRenamed = rename(from, to);
      return worldRenamed;
    }
    if (target.includes("/players/") && ++players === n) {
      return worldRenamed.then(() => Deno.kill(Deno.pid, "SIGKILL"));
    }
    return rename(from, to);
  },
});

const bus = new InProcessBus();
const kb = await Kb.create({ bus, dataDir, stateDir });
const random = rng(seed);
const pick = <T>(xs: readonly T[]) => xs[Math.floor(random() * xs.length)]!;
await Deno.stdout.write(new TextEncoder().encode("ready\n"));
for (let i = 0;; i++) {
  const message = `${random() < 0.5 ? "take" : "drop"} ${pick(CRASH_ITEMS)}`;
  await kb.interact({
    request_id: `${seed}-${i}`,
    user_id: "p.one",
    experience: "vault-shared",
    message,
  });
}
