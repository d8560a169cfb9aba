/**
 * Measures committed actions per second with fsync on, for 1 writer and for
 * 8 concurrent writers on one shared world, plus commit-time percentiles;
 * then 50 writers on the shared world against 50 players each in their own
 * isolated world, with the process's CPU time (all threads) per action.
 * Not a test. Run: `deno run -A tests/kb/commit_rate.ts [actionsPerRun]`
 *
 * - "action" numbers go through `Kb.interact` (parse, engine, lock, commit,
 *   in-process publish): what a caller waits for, lock queueing included.
 * - "commit" numbers are the time inside the unit's lock, from reading the
 *   files to the commit being durable (timed with the store's own hooks).
 */
import process from "node:process";
import { Kb } from "../../kb/mod.ts";
import { StateStore } from "../../kb/state/mod.ts";
import { initialWorld, newPlayer } from "../../kb/world.ts";
import { loadExperience } from "../../kb/content.ts";
import { decide } from "../../kb/engine.ts";
import { InProcessBus } from "../../shared/bus/mod.ts";
import { SHIPPED_DATA_DIR as DATA_DIR } from "../_helpers/mod.ts";

const TOTAL = Number(Deno.args[0] ?? 1000);
const EXP = "wylding-woods";

function pct(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!;
}

async function actions(writers: number, experience = EXP) {
  const stateDir = await Deno.makeTempDir({ prefix: "kb-rate-" });
  const bus = new InProcessBus();
  const kb = await Kb.create({ bus, dataDir: DATA_DIR, stateDir });
  const lat: number[] = [];
  let n = 0;
  const per = Math.ceil(TOTAL / writers);
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  await Promise.all(Array.from({ length: writers }, async (_, w) => {
    for (let i = 0; i < per; i++) {
      const s = performance.now();
      const r = await kb.interact({
        request_id: `r${n++}`,
        user_id: `writer-${w}`,
        experience,
        message: i % 2 ? "south" : "north",
      });
      if (!r.ok || !r.outcome.changed) throw new Error(JSON.stringify(r));
      lat.push(performance.now() - s);
    }
  }));
  const secs = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  await kb.close();
  await bus.close();
  await Deno.remove(stateDir, { recursive: true });
  return {
    rate: lat.length / secs,
    p50: pct(lat, 50),
    p99: pct(lat, 99),
    userMs: cpu.user / 1000 / lat.length,
    systemMs: cpu.system / 1000 / lat.length,
  };
}

async function commits(writers: number) {
  const stateDir = await Deno.makeTempDir({ prefix: "kb-commit-" });
  const exp = await loadExperience(DATA_DIR, EXP);
  const store = new StateStore(stateDir);
  const times: number[] = [];
  const per = Math.ceil(TOTAL / writers);
  await Promise.all(Array.from({ length: writers }, async (_, w) => {
    const user = `writer-${w}`;
    const unit = await store.unit(EXP, "shared", user);
    for (let i = 0; i < per; i++) {
      let start = 0;
      const commit = store.transact(unit, user, (s) => {
        start = performance.now();
        const world = s.world ?? initialWorld(exp);
        const player = s.player ?? newPlayer(exp, user);
        const r = decide({
          exp,
          world: world as never,
          player: player as never,
          userId: user,
          message: i % 2 ? "south" : "north",
          now: Date.now(),
        });
        return { base: { world, player }, world: r.world, player: r.player, result: null };
      });
      await commit;
      times.push(performance.now() - start);
    }
  }));
  await Deno.remove(stateDir, { recursive: true });
  return { p50: pct(times, 50), p99: pct(times, 99) };
}

const f = (x: number) => x.toFixed(2);
console.log(`KB commit rate, fsync on, ${TOTAL} actions per run, shared world '${EXP}'`);
for (const writers of [1, 8]) {
  const a = await actions(writers);
  const c = await commits(writers);
  console.log(
    `${writers} writer(s): ${a.rate.toFixed(0)} actions/s; action latency p50 ${f(a.p50)} ms, p99 ${
      f(a.p99)
    } ms; ` +
      `commit (in lock) p50 ${f(c.p50)} ms, p99 ${f(c.p99)} ms`,
  );
}

console.log("50 writers, CPU time of the whole process (all threads) per action:");
for (const [label, experience] of [["shared", EXP], ["isolated", "drowned-lighthouse"]]) {
  const a = await actions(50, experience);
  console.log(
    `${label} (${experience}): ${a.rate.toFixed(0)} actions/s; p50 ${f(a.p50)} ms, p99 ${
      f(a.p99)
    } ms; CPU ${f(a.userMs + a.systemMs)} ms/action (user ${f(a.userMs)}, system ${f(a.systemMs)})`,
  );
}
