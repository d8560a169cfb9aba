/**
 * The deploy/ material against a real Prometheus (Debian package
 * `prometheus`; `.ci/run` installs it): it scrapes a running server after
 * real actions, loads `prometheus-alerts.yml` and evaluates every rule, and
 * answers every Grafana panel query (with Grafana's variables filled in)
 * without an error; the panels of the core path return data.
 */
import { deepStrictEqual as eq, ok as assert } from "node:assert/strict";
import { delay, eventually, freePort, setup, type SseClient } from "../_helpers/mod.ts";

const DEPLOY = new URL("../../deploy/", import.meta.url);
const JOB = "gaia";

interface Panel {
  title?: string;
  type?: string;
  panels?: Panel[];
  targets?: { expr?: string }[];
}

const flatten = (ps: Panel[]): Panel[] => ps.flatMap((p) => [p, ...flatten(p.panels ?? [])]);

/** A panel query as Grafana sends it, for every job and instance. */
const fill = (expr: string) =>
  expr.replaceAll("$__rate_interval", "1m").replaceAll("$job", JOB).replaceAll(
    "$instance",
    ".*",
  );

/** Series the core path always has after an action and an open world stream. */
const MUST_HAVE_DATA = [
  "nats_connection_state",
  "sse_streams_open",
  "nats_subscriptions_active",
  "http_requests_total",
  "kb_commits_total",
  "kb_actions_total",
  "nats_world_updates_published_total",
];

async function startPrometheus(target: string, dir: string) {
  const port = freePort();
  const config = `${dir}/prometheus.yml`;
  await Deno.writeTextFile(
    config,
    [
      "global:",
      "  scrape_interval: 1s",
      "  evaluation_interval: 1s",
      "rule_files:",
      `  - ${new URL("prometheus-alerts.yml", DEPLOY).pathname}`,
      "scrape_configs:",
      `  - job_name: ${JOB}`,
      "    static_configs:",
      `      - targets: ["${target}"]`,
      "",
    ].join("\n"),
  );
  let child: Deno.ChildProcess;
  try {
    child = new Deno.Command("prometheus", {
      args: [
        `--config.file=${config}`,
        `--storage.tsdb.path=${dir}/data`,
        `--web.listen-address=127.0.0.1:${port}`,
      ],
      stdout: "null",
      stderr: "piped",
    }).spawn();
  } catch (e) {
    throw new Error(
      `prometheus not found (${e}): install it with \`apt-get install -y prometheus\``,
    );
  }
  const stderr = new Response(child.stderr).text();
  const api = async (path: string) => {
    const res = await fetch(`http://127.0.0.1:${port}/api/v1/${path}`);
    const body = await res.json();
    assert(body.status === "success", `${path}: ${JSON.stringify(body)}`);
    return body.data;
  };
  const stop = async () => {
    try {
      child.kill("SIGTERM");
    } catch { /* already gone */ }
    await child.status;
    return await stderr;
  };
  return { api, stop, port };
}

/** Polls `check` every 250 ms until it returns true (a check that throws is not yet). */
function until(what: string, ms: number, check: () => Promise<boolean>): Promise<unknown> {
  return eventually(check, { timeoutMs: ms, what, intervalMs: 250 });
}

Deno.test("prometheus: scrapes the server, evaluates every alert rule, answers every panel", async () => {
  const stack = await setup();
  const dir = await Deno.makeTempDir({ prefix: "gaia-prom-" });
  let prom: Awaited<ReturnType<typeof startPrometheus>> | undefined;
  let world: SseClient | undefined;
  try {
    prom = await startPrometheus(new URL(stack.url).host, dir);
    const { api } = prom;
    const token = await stack.login("metrics-watcher");
    world = await stack.world("metrics-watcher", "wylding-woods", { query: true });
    await until("the first scrape", 20_000, async () => {
      const targets = await api("targets");
      return targets.activeTargets.some((t: { health: string }) => t.health === "up");
    });
    // Actions spread over a few scrapes, so rate() and histogram_quantile() have samples.
    for (let i = 0; i < 8; i++) {
      const res = await fetch(`${stack.url}/api/v0.3/chat`, {
        method: "POST",
        headers: stack.headers(token),
        body: JSON.stringify({
          message: i % 2 ? "south" : "north",
          experience: "wylding-woods",
          stream: false,
        }),
      });
      eq(res.status, 200);
      await res.body?.cancel();
      await delay(400); // actions spread over scrapes (the point: rates need samples)
    }
    await until("the actions in Prometheus", 10_000, async () => {
      const r = await api(`query?query=${encodeURIComponent(`sum(kb_commits_total)`)}`);
      return Number(r.result[0]?.value[1]) >= 8;
    });

    // Every alert rule loads and evaluates without an error.
    await until("every rule evaluated", 10_000, async () => {
      const groups = (await api("rules")).groups as {
        rules: { name: string; health: string; lastError?: string }[];
      }[];
      const rules = groups.flatMap((g) => g.rules);
      assert(rules.length >= 4, `${rules.length} rules loaded`);
      const bad = rules.filter((r) => r.health !== "ok");
      if (bad.some((r) => r.health === "err")) {
        throw new Error(`rules failing: ${JSON.stringify(bad)}`);
      }
      return bad.length === 0;
    }).catch(async (e) => {
      const groups = await api("rules");
      throw new Error(`${e.message}: ${JSON.stringify(groups).slice(0, 2000)}`);
    });

    // Every panel query is valid PromQL here; the core ones return data.
    const dash = JSON.parse(await Deno.readTextFile(new URL("grafana-dashboard.json", DEPLOY)));
    const empty: string[] = [];
    const exprs: string[] = [];
    for (const p of flatten(dash.panels)) {
      for (const t of p.targets ?? []) {
        if (!t.expr) continue;
        exprs.push(t.expr);
        const data = await api(`query?query=${encodeURIComponent(fill(t.expr))}`);
        if (data.result.length === 0) empty.push(t.expr);
      }
    }
    assert(exprs.length >= 20, `${exprs.length} queries`);
    for (const name of MUST_HAVE_DATA) {
      const panels = exprs.filter((e) => e.includes(name));
      assert(
        panels.some((e) => !empty.includes(e)),
        `every panel on ${name} returned nothing:\n${panels.join("\n")}`,
      );
    }
    // Stat panels (one number) must show 0 rather than "No data" on a healthy server.
    const stats = flatten(dash.panels).filter((p) => p.type === "stat");
    for (const p of stats) {
      for (const t of p.targets ?? []) {
        assert(!empty.includes(t.expr!), `stat panel "${p.title}" shows no data: ${t.expr}`);
      }
    }
    // The dashboard's variables: label_values(nats_connection_state, job) and its instance.
    const jobs = await api(
      `query?query=${encodeURIComponent("group by (job, instance) (nats_connection_state)")}`,
    );
    eq(jobs.result.map((r: { metric: { job: string } }) => r.metric.job), [JOB]);
  } finally {
    await world?.close();
    const log = await prom?.stop();
    await stack.dispose();
    await Deno.remove(dir, { recursive: true }).catch(() => {});
    if (Deno.env.get("DEBUG_PROMETHEUS")) console.log(log);
  }
});
