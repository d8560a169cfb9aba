/**
 * The operations material in deploy/ only names metrics the server exports:
 * every Grafana panel query and every Prometheus alert expression is checked
 * against the prom-client registry of shared/metrics.ts (names, label names,
 * and for labels whose values the help text lists, the values).
 */
import { deepStrictEqual as eq, ok as assert } from "node:assert/strict";
import { metrics } from "../../shared/metrics.ts";

const DEPLOY = new URL("../../deploy/", import.meta.url);
const read = (name: string) => Deno.readTextFileSync(new URL(name, DEPLOY));

/** Labels Prometheus adds to every scraped series. */
const TARGET_LABELS = new Set(["job", "instance"]);

interface Series {
  /** Labels a selector or grouping of this series may name. */
  labels: Set<string>;
  /** Allowed values per label, where the help text lists them: "... (a, b, c)". */
  values: Map<string, Set<string>>;
  base: string;
}

/** Every series name the server exports, with its labels. */
function exportedSeries(): Map<string, Series> {
  const out = new Map<string, Series>();
  for (const m of metrics.registry.getMetricsAsArray()) {
    const labelNames = (m as unknown as { labelNames?: string[] }).labelNames ?? [];
    const labels = new Set([...labelNames, ...TARGET_LABELS]);
    const values = new Map<string, Set<string>>();
    const listed = /\(([a-z_-]+(?:, [a-z_-]+)+)\)$/.exec(m.help);
    if (listed && labelNames.length === 1) {
      values.set(labelNames[0]!, new Set(listed[1]!.split(", ")));
    }
    if (String(m.type) === "histogram") {
      out.set(`${m.name}_bucket`, { labels: new Set([...labels, "le"]), values, base: m.name });
      out.set(`${m.name}_sum`, { labels, values, base: m.name });
      out.set(`${m.name}_count`, { labels, values, base: m.name });
    } else {
      out.set(m.name, { labels, values, base: m.name });
    }
  }
  return out;
}

const SERIES = exportedSeries();

const KEYWORDS = new Set([
  "and",
  "or",
  "unless",
  "bool",
  "offset",
  "by",
  "without",
  "on",
  "ignoring",
  "group_left",
  "group_right",
  "inf",
  "nan",
]);
const AGGREGATIONS = new Set([
  "sum",
  "min",
  "max",
  "avg",
  "group",
  "stddev",
  "stdvar",
  "count",
  "count_values",
  "bottomk",
  "topk",
  "quantile",
]);
const GROUPING = new Set(["by", "without", "on", "ignoring", "group_left", "group_right"]);

type Token = { kind: "ident" | "braces" | "other"; text: string };

function tokenize(expr: string): Token[] {
  const re =
    /\s+|"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|\{(?:[^}"]|"(?:[^"\\]|\\.)*")*\}|\[[^\]]*\]|\$\{[^}]*\}|\$\w+|\d+(?:\.\d+)?(?:e[+-]?\d+)?(?:ms|[smhdwy])?|[a-zA-Z_:][\w:]*|==|!=|>=|<=|=~|!~|[-+*/%^()<>,=]/gy;
  const tokens: Token[] = [];
  let m: RegExpExecArray | null;
  while (re.lastIndex < expr.length && (m = re.exec(expr))) {
    const text = m[0];
    if (/^\s+$/.test(text)) continue;
    if (text.startsWith("{")) tokens.push({ kind: "braces", text });
    else if (/^[a-zA-Z_:]/.test(text)) tokens.push({ kind: "ident", text });
    else tokens.push({ kind: "other", text });
  }
  eq(re.lastIndex, expr.length, `cannot read the query at ${expr.slice(re.lastIndex)}`);
  return tokens;
}

/** The metric names one PromQL query uses; throws on any name, label or value not exported. */
function checkQuery(expr: string): string[] {
  const tokens = tokenize(expr);
  const used: string[] = [];
  const grouping: string[] = [];
  for (let i = 0; i < tokens.length; i++) {
    const tok = tokens[i]!;
    const next = tokens[i + 1];
    if (tok.kind === "braces") throw new Error(`selector without a metric name in: ${expr}`);
    if (tok.kind !== "ident") continue;
    if (GROUPING.has(tok.text)) {
      if (next?.text === "(") {
        let j = i + 2;
        for (; tokens[j] && tokens[j]!.text !== ")"; j++) {
          if (tokens[j]!.kind === "ident") grouping.push(tokens[j]!.text);
        }
        i = j;
      }
      continue;
    }
    if (KEYWORDS.has(tok.text.toLowerCase()) || next?.text === "(") continue;
    if (AGGREGATIONS.has(tok.text) && GROUPING.has(next?.text ?? "")) continue;
    const series = SERIES.get(tok.text);
    if (!series) throw new Error(`${tok.text} is not a metric of shared/metrics.ts (in: ${expr})`);
    used.push(tok.text);
    if (next?.kind === "braces") {
      const body = next.text.slice(1, -1);
      const matcher = /\s*([a-zA-Z_]\w*)\s*(=~|!~|!=|=)\s*"((?:[^"\\]|\\.)*)"\s*,?/gy;
      let mm: RegExpExecArray | null;
      while (matcher.lastIndex < body.length && (mm = matcher.exec(body))) {
        const [, label, op, value] = mm;
        if (!series.labels.has(label!)) {
          throw new Error(`${tok.text} has no label ${label} (in: ${expr})`);
        }
        const allowed = series.values.get(label!);
        if (op === "=" && allowed && !allowed.has(value!)) {
          throw new Error(`${tok.text}{${label}} never takes "${value}" (in: ${expr})`);
        }
      }
      eq(matcher.lastIndex, body.length, `cannot read the matchers ${next.text}`);
      i++;
    }
  }
  assert(used.length > 0, `no metric in: ${expr}`);
  for (const label of grouping) {
    assert(
      used.some((name) => SERIES.get(name)!.labels.has(label)),
      `grouping label ${label} is on none of ${used.join(", ")} (in: ${expr})`,
    );
  }
  return used;
}

/** A Grafana variable query `label_values(selector, label)` or plain PromQL. */
function checkVariableQuery(query: string): string[] {
  const m = /^label_values\((.*),\s*(\w+)\)$/.exec(query.trim());
  if (!m) return checkQuery(query);
  const used = checkQuery(m[1]!);
  assert(SERIES.get(used[0]!)!.labels.has(m[2]!), `no label ${m[2]} in ${query}`);
  return used;
}

interface Panel {
  id?: number;
  type: string;
  title: string;
  datasource?: { uid?: string };
  gridPos?: { x: number; y: number; w: number; h: number };
  targets?: Array<{ expr?: string; datasource?: { uid?: string } }>;
  panels?: Panel[];
}

function allPanels(panels: Panel[]): Panel[] {
  return panels.flatMap((p) => [p, ...allPanels(p.panels ?? [])]);
}

/** GitHub's heading anchors. */
function slug(heading: string): string {
  return heading.trim().toLowerCase().replace(/[^\w\- ]/g, "").replace(/ /g, "-");
}

const runbookAnchors = new Set(
  read("RUNBOOK.md").split("\n").filter((l) => /^#{1,6} /.test(l)).map((l) =>
    slug(l.replace(/^#+ /, ""))
  ),
);

Deno.test("the registry has the metrics this test relies on", () => {
  assert(SERIES.has("nats_world_updates_latency_ms_bucket"));
  assert(SERIES.get("nats_connection_state")!.values.get("state")!.has("reconnecting"));
});

Deno.test("dashboard: importable, every panel query names exported metrics", () => {
  const dash = JSON.parse(read("grafana-dashboard.json"));
  assert(dash.schemaVersion >= 36, "schemaVersion");
  eq(dash.__inputs.map((i: { name: string }) => i.name), ["DS_PROMETHEUS"]);
  eq(dash.id, null);
  assert(dash.uid && dash.title);

  const panels = allPanels(dash.panels as Panel[]);
  const ids = panels.map((p) => p.id);
  eq(new Set(ids).size, ids.length, "panel ids are unique");
  const used = new Set<string>();
  let queries = 0;
  for (const p of panels) {
    const g = p.gridPos!;
    assert(g && g.x >= 0 && g.w > 0 && g.x + g.w <= 24, `gridPos of ${p.title}`);
    if (p.type === "row") continue;
    eq(p.datasource?.uid, "${DS_PROMETHEUS}", `datasource of ${p.title}`);
    assert(p.targets?.length, `${p.title} has queries`);
    for (const t of p.targets!) {
      eq(t.datasource?.uid, "${DS_PROMETHEUS}", `target datasource of ${p.title}`);
      for (const name of checkQuery(t.expr!)) used.add(SERIES.get(name)!.base);
      queries++;
    }
  }
  for (const v of dash.templating.list) checkVariableQuery(v.query.query ?? v.query);
  assert(queries >= 20, `${queries} queries`);

  // Every exported metric has a panel: add one when you add a metric.
  const missing = metrics.registry.getMetricsAsArray().map((m) => m.name).filter((n) =>
    !used.has(n)
  );
  eq(missing, [], "metrics without a dashboard panel");
});

Deno.test("alerts: every expr names exported metrics, every alert links the runbook", () => {
  const text = read("prometheus-alerts.yml");
  assert(/^groups:\n/m.test(text));
  const blocks = text.split(/^\s*- alert: /m).slice(1);
  const names = blocks.map((b) => b.split("\n")[0]!.trim());
  eq(new Set(names).size, names.length, "alert names are unique");
  for (
    const required of [
      "NatsDisconnected",
      "NatsConnectionClosed",
      "WorldUpdatePublishFailures",
      "WorldUpdateLatencyHigh",
      "SlowConsumerDrops",
      "ResyncStorm",
      "OutboxBacklog",
      "OutboxEventsDropped",
      "KbCommitSlow",
    ]
  ) assert(names.includes(required), `alert ${required}`);

  for (const [i, block] of blocks.entries()) {
    const exprs = [...block.matchAll(/^\s+expr: (.+)$/gm)].map((m) => m[1]!.trim());
    eq(exprs.length, 1, `${names[i]}: one single-line expr`);
    checkQuery(exprs[0]!.replace(/^"(.*)"$/, "$1"));
    assert(/^\s+severity: (critical|warning)$/m.test(block), `${names[i]}: severity`);
    for (const key of ["summary", "description"]) {
      assert(new RegExp(`^\\s+${key}: "[^"]+"$`, "m").test(block), `${names[i]}: ${key}`);
    }
    const url = /^\s+runbook_url: "[^"#]*\/deploy\/RUNBOOK\.md#([\w-]+)"$/m.exec(block);
    assert(url, `${names[i]}: runbook_url into deploy/RUNBOOK.md`);
    assert(runbookAnchors.has(url[1]!), `${names[i]}: RUNBOOK.md has no section #${url[1]}`);
  }
});

Deno.test("runbook: the settings point at the README and every internal link resolves", () => {
  const text = read("RUNBOOK.md");
  assert(/authoritative list of settings[^\n]*README/i.test(text));
  for (const m of text.matchAll(/\]\(#([\w-]+)\)/g)) {
    assert(runbookAnchors.has(m[1]!), `RUNBOOK.md links to missing #${m[1]}`);
  }
  for (const m of text.matchAll(/`([a-z_]+(?:_total|_ms|_active|_state|_open))`/g)) {
    assert(
      metrics.registry.getSingleMetric(m[1]!),
      `RUNBOOK.md names ${m[1]}, not in shared/metrics.ts`,
    );
  }
});

Deno.test("nginx example: the SSE locations do not buffer and keep the stream open", () => {
  const text = read("nginx.conf.example");
  const location = (path: string) => {
    const m = new RegExp(`location = ${path.replaceAll("/", "\\/")} \\{([^}]*)\\}`).exec(text);
    assert(m, `location ${path}`);
    return m[1]!;
  };
  const world = location("/api/v0.3/world/stream");
  for (
    const d of [
      /proxy_buffering off;/,
      /proxy_cache off;/,
      /gzip off;/,
      /proxy_read_timeout 1h;/,
      /X-Accel-Buffering/,
    ]
  ) assert(d.test(world), `world stream location: ${d}`);
  const chat = location("/api/v0.3/chat");
  assert(/proxy_buffering off;/.test(chat) && /gzip off;/.test(chat), "chat location");
  // A proxy_set_header inside a location would drop the server-level ones there.
  assert(!/proxy_set_header/.test(world + chat), "no proxy_set_header in stream locations");
  for (
    const d of [
      /proxy_http_version 1\.1;/,
      /proxy_set_header Connection "";/,
      /proxy_set_header X-Request-Id /,
      /proxy_set_header Last-Event-ID /,
      /client_max_body_size 16k;/,
    ]
  ) assert(d.test(text), `server level: ${d}`);
  assert(!/gzip_types[^;]*event-stream/.test(text), "text/event-stream is never gzipped");
  for (const p of ["/kb/", "= /api/v0.3/world/state", "= /api/v0.3/experiences"]) {
    assert(text.includes(`location ${p}`) && /gaia_kb/.test(text), `split roles: ${p} to KB`);
  }
});

/** `promtool` validates the rules fully (Debian package `prometheus`; `.ci/run` installs it). */
Deno.test("alerts: promtool check rules", async () => {
  let out: Deno.CommandOutput;
  try {
    out = await new Deno.Command("promtool", {
      args: ["check", "rules", new URL("prometheus-alerts.yml", DEPLOY).pathname],
    }).output();
  } catch (e) {
    throw new Error(`promtool not found (${e}): install it with \`apt-get install -y prometheus\``);
  }
  assert(out.success, new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr));
});
