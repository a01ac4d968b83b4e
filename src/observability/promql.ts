// PromQL checks for the generated dashboard and alerts: every expression is parsed by Prometheus's own grammar
// (@prometheus-io/lezer-promql, the parser of the Prometheus web UI's editor), and every metric of ours it names
// must be in src/observability/metrics.ts, so a rename cannot leave a dead panel or a silent alert behind.
import { parser } from "@prometheus-io/lezer-promql";
import { METRICS, pluginPromPrefix } from "./metrics.js";

/** Grafana template variables replaced by plain values before parsing (they are not PromQL). */
export function withoutGrafanaVariables(expr: string): string {
  return expr.replace(/\$__rate_interval|\$__interval|\$__range/g, "5m").replace(/\$\{?(\w+)\}?/g, "x");
}

/** Problems with one expression (empty when it parses and names only known metrics). */
export function promqlProblems(expr: string, plugin = "inference-router"): string[] {
  const text = withoutGrafanaVariables(expr);
  const out: string[] = [];
  const tree = parser.parse(text);
  tree.iterate({
    enter(n) {
      if (n.type.isError) out.push(`PromQL syntax error at ${n.from}: …${text.slice(Math.max(0, n.from - 20), n.from + 20)}…`);
    },
  });
  const prefix = `${pluginPromPrefix(plugin)}_`;
  const known = new Set(METRICS.map((m) => prefix + m.name));
  for (const m of text.matchAll(new RegExp(`\\b${prefix}[a-zA-Z0-9_]+`, "g"))) {
    if (!known.has(m[0])) out.push(`unknown metric ${m[0]} (not in src/observability/metrics.ts)`);
  }
  return out;
}
