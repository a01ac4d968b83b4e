// Generated observability for one router config: the stats-tag config that gives the filter's metrics their
// Prometheus labels (Istio and plain Envoy), a Grafana dashboard and Prometheus alerting rules (PrometheusRule).
// Every metric name comes from src/observability/metrics.ts; everything written is validated here (PromQL by
// Prometheus's grammar, the PrometheusRule by its CRD schema, the Envoy fragment by Envoy's protos).
import type { Dashboard } from "@grafana/schema";
import { PrometheusRule } from "@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/PrometheusRule";
import { parse, stringify } from "yaml";
import type { PluginConfig } from "../config/plugin-config.js";
import type { RouterConfig } from "../config/router-config.js";
import { promMetric } from "../observability/metrics.js";
import { promqlProblems } from "../observability/promql.js";
import { STAT_TAGS, tagSpecifiers } from "../observability/tags.js";
import { envoyChecker } from "./envoy-proto.js";
import type { K8sObject, OutputFile } from "./generate.js";
import type { Problem } from "./validate.js";

export const DASHBOARD_FILE = "observability/grafana-dashboard.json";
export const RULES_FILE = "observability/prometheusrule.yaml";
export const ENVOY_STATS_FILE = "observability/envoy-stats-config.yaml";
export const ISTIO_STATS_FILE = "observability/istio-stats-tags.yaml";

/** Alert thresholds (documented in the rules' descriptions). */
const SHED_RATIO = 0.05;

/** PromQL for one router: metric names with the plugin's prefix; `live(x)` keeps series of catalog upstreams. */
function queries(plugin: string) {
  const m = (name: string) => promMetric(plugin, name);
  // A series whose upstream left the catalog is frozen at 0 with capacity 0 (assembly/router/gauges.ts): `and`
  // with default matching keeps only series whose capacity twin (same pod, pool, endpoint) is positive.
  const live = (expr: string) => `(${expr} and ${m("upstream_capacity_milli")} > 0)`;
  return { m, live };
}

export function alertRules(cfg: RouterConfig, pc: PluginConfig): K8sObject {
  const { m, live } = queries(pc.name);
  const perProxyPool = "pool, namespace, pod";
  const rules = [
    {
      alert: "InferenceRouterPoolAllStale",
      // Per proxy and pool: members in the catalog, none of them with a fresh report.
      expr: `count by (pool) ((count by (${perProxyPool}) (${m("upstream_capacity_milli")} > 0)) unless (count by (${perProxyPool}) ${live(`${m("upstream_stale")} == 0`)}))`,
      for: "2m",
      labels: { severity: "critical" },
      annotations: {
        summary: "Every upstream of pool {{ $labels.pool }} is stale in {{ $value }} proxies",
        description: `No member of the pool has a load report younger than scoring.staleAfterMs (${pc.scoring.staleAfterMs} ms): the filter routes on local in-flight counts only (fail-open). Check the metrics endpoint and ${m("poll_failures")}.`,
      },
    },
    {
      alert: "InferenceRouterShedding",
      expr: `sum(rate(${m("requests")}{outcome="shed"}[5m])) / sum(rate(${m("requests")}{outcome=~"routed|shed|no_healthy"}[5m])) > ${SHED_RATIO}`,
      for: "5m",
      labels: { severity: "warning" },
      annotations: {
        summary: "The inference router sheds {{ $value | humanizePercentage }} of requests (429)",
        description: `More than ${SHED_RATIO * 100}% of inference requests got 429 because every serving upstream was saturated (priority below shedding.belowPriority ${pc.shedding.belowPriority}). Add capacity or lower the load.`,
      },
    },
    {
      alert: "InferenceRouterUpstreamEjected",
      expr: `max by (pool, endpoint) ${live(m("upstream_ejected"))} == 1`,
      for: "5m",
      labels: { severity: "warning" },
      annotations: {
        summary: "Upstream {{ $labels.pool }} {{ $labels.endpoint }} has been ejected for 5 minutes",
        description: `Ejected after outlier.consecutiveErrors (${pc.outlier.consecutiveErrors}) errors or two unanswered polls; backoff doubles on repeat up to outlier.maxEjectionMs (${pc.outlier.maxEjectionMs} ms).`,
      },
    },
    {
      alert: "InferenceRouterEjectionsFlapping",
      expr: `sum by (pool, endpoint) (increase(${m("ejections")}[15m])) > 3`,
      for: "0m",
      labels: { severity: "warning" },
      annotations: {
        summary: "Upstream {{ $labels.pool }} {{ $labels.endpoint }} was ejected {{ $value }} times in 15 minutes",
        description: "Repeated ejections: the server fails intermittently. Check its logs and the filter's log line `ejected upstream`.",
      },
    },
    {
      alert: "InferenceRouterStaleFallback",
      expr: `sum(rate(${m("stale_fallbacks")}[5m])) > 0`,
      for: "10m",
      labels: { severity: "warning" },
      annotations: {
        summary: "The inference router picks without load reports ({{ $value }} picks/s)",
        description:
          "Every healthy candidate's report was stale, so picks fell back to local in-flight counts for 10 minutes. Polling or ORCA reports are not reaching the filter.",
      },
    },
  ];
  return {
    apiVersion: "monitoring.coreos.com/v1",
    kind: "PrometheusRule",
    metadata: {
      name: `${cfg.name}-alerts`,
      namespace: cfg.namespace,
      labels: { "app.kubernetes.io/part-of": cfg.name },
    } as K8sObject["metadata"],
    spec: { groups: [{ name: `${cfg.name}.rules`, rules }] },
  };
}

type Panel = NonNullable<Dashboard["panels"]>[number];

export function grafanaDashboard(cfg: RouterConfig, pc: PluginConfig): Dashboard {
  const { m, live } = queries(pc.name);
  const sel = `{pool=~"$pool"}`;
  const ds = { type: "prometheus", uid: "${datasource}" };
  let id = 0;
  const panel = (title: string, description: string, unit: string, targets: Array<[string, string]>, w = 12): Panel => {
    const i = id++;
    return {
      id: i + 1,
      type: "timeseries",
      title,
      description,
      datasource: ds,
      gridPos: { h: 8, w, x: (i % 2) * 12, y: Math.floor(i / 2) * 8 },
      fieldConfig: { defaults: { unit }, overrides: [] },
      options: {},
      targets: targets.map(([expr, legendFormat], k) => ({ refId: String.fromCharCode(65 + k), datasource: ds, expr, legendFormat })),
    };
  };
  const up = "{{pool}} {{endpoint}}";
  const panels: Panel[] = [
    panel("Reported queue", "Waiting requests each server last reported, as the filter sees it (max over proxies).", "short", [
      [`max by (pool, endpoint) ${live(m("upstream_queue") + sel)}`, up],
    ]),
    panel("Reported running", "Running requests each server last reported (all clients).", "short", [
      [`max by (pool, endpoint) ${live(m("upstream_running") + sel)}`, up],
    ]),
    panel("KV-cache use", "KV-cache use each server last reported.", "percentunit", [
      [`max by (pool, endpoint) ${live(m("upstream_kv_cache_permille") + sel)} / 1000`, up],
    ]),
    panel("In flight from the mesh", "Requests in flight to each upstream, summed over every proxy running the filter.", "short", [
      [`sum by (pool, endpoint) ${live(m("upstream_in_flight") + sel)}`, up],
    ]),
    panel("Picks", "Requests steered to each upstream.", "reqps", [
      [`sum by (pool, endpoint) (rate(${m("picks")}${sel}[$__rate_interval]))`, up],
    ]),
    panel("Report age", "Age of the freshest and the oldest view of each upstream's last load report across proxies.", "ms", [
      [`max by (pool, endpoint) ${live(m("upstream_report_age_ms") + sel)}`, `oldest ${up}`],
      [`min by (pool, endpoint) ${live(m("upstream_report_age_ms") + sel)}`, `freshest ${up}`],
    ]),
    panel("Stale and ejected", "Proxies that see each upstream as stale (no report within scoring.staleAfterMs) or ejected.", "short", [
      [`sum by (pool, endpoint) ${live(m("upstream_stale") + sel)}`, `stale ${up}`],
      [`sum by (pool, endpoint) ${live(m("upstream_ejected") + sel)}`, `ejected ${up}`],
    ]),
    panel("Ejections", "Ejections per upstream (error runs, unanswered polls).", "short", [
      [`sum by (pool, endpoint) (increase(${m("ejections")}${sel}[$__rate_interval]))`, up],
    ]),
    panel(
      "Decision outcomes",
      "Requests by outcome: routed, shed (429), no_healthy (503), unknown_model, undetermined (routed untouched), passthrough.",
      "reqps",
      [[`sum by (outcome) (rate(${m("requests")}[$__rate_interval]))`, "{{outcome}}"]],
    ),
    panel(
      "Decision reasons",
      "How picks were made: on stale reports, in a fallback pool, among saturated upstreams, by prefix or LoRA affinity.",
      "reqps",
      [
        [`sum(rate(${m("stale_fallbacks")}[$__rate_interval]))`, "stale fallback"],
        [`sum(rate(${m("fallback_pool_picks")}[$__rate_interval]))`, "fallback pool"],
        [`sum(rate(${m("saturated_picks")}[$__rate_interval]))`, "saturated"],
        [`sum(rate(${m("affinity_hits")}[$__rate_interval]))`, "prefix affinity"],
        [`sum(rate(${m("affinity_overrides")}[$__rate_interval]))`, "prefix affinity overridden by load"],
        [`sum(rate(${m("lora_affinity_hits")}[$__rate_interval]))`, "LoRA affinity"],
      ],
    ),
    panel("Shedding", "Share of inference requests answered 429 (all serving upstreams saturated).", "percentunit", [
      [
        `sum(rate(${m("requests")}{outcome="shed"}[$__rate_interval])) / sum(rate(${m("requests")}{outcome=~"routed|shed|no_healthy"}[$__rate_interval]))`,
        "shed",
      ],
    ]),
    panel("Load signals", "Polls, poll failures, unreadable pages, reports gone stale and load reports read from responses.", "ops", [
      [`sum(rate(${m("polls")}[$__rate_interval]))`, "polls"],
      [`sum(rate(${m("poll_failures")}[$__rate_interval]))`, "poll failures"],
      [`sum(rate(${m("parse_errors")}[$__rate_interval]))`, "parse errors"],
      [`sum(rate(${m("stale_reports")}[$__rate_interval]))`, "reports gone stale"],
      [`sum(rate(${m("orca_reports")}[$__rate_interval]))`, "response load reports"],
    ]),
  ];
  return {
    title: `${cfg.name}: inference routing`,
    uid: `${cfg.name}-routing`.slice(0, 40),
    description: `What the ${pc.name} filter believes about each GPU upstream and why it routes as it does (generated by inference-router).`,
    tags: ["inference-router", "envoy", "istio"],
    schemaVersion: 39,
    editable: true,
    refresh: "30s",
    time: { from: "now-1h", to: "now" },
    timezone: "browser",
    graphTooltip: 1,
    templating: {
      list: [
        { name: "datasource", type: "datasource", query: "prometheus", label: "Prometheus" },
        {
          name: "pool",
          type: "query",
          label: "Pool",
          datasource: ds,
          multi: true,
          includeAll: true,
          allValue: ".*",
          query: `label_values(${m("upstream_capacity_milli")}, pool)`,
          refresh: 2,
        },
      ],
    },
    annotations: { list: [] },
    panels,
  };
}

/** Envoy `stats_config` (bootstrap) giving the metrics their labels outside Istio. */
export function envoyStatsConfig(): Record<string, unknown> {
  return { stats_tags: tagSpecifiers() };
}

export function observabilityFiles(cfg: RouterConfig, pc: PluginConfig, source: string): OutputFile[] {
  const tags = STAT_TAGS.join(",");
  return [
    {
      path: ISTIO_STATS_FILE,
      header: [
        `# Generated by inference-router from ${source}. Gives the filter's metrics their Prometheus labels in Istio.`,
        "# Istio turns each extraStatTags name into the Envoy stats tag `(<tag>=\\.=(.*?);\\.;)`, the form the filter",
        "# names its series in (istio/istio tools/packaging/common/envoy_bootstrap.json, pkg/bootstrap/config.go).",
        "# Set it mesh-wide (below: istiod Helm values / IstioOperator spec) or per workload with the pod annotation",
        `#   sidecar.istio.io/extraStatTags: "${tags}"`,
        "# Proxies read it at start: restart the workloads after changing it. No stats inclusion setting is needed: Istio",
        "# always keeps stats starting with `wasm` (pkg/bootstrap/config.go requiredEnvoyStatsMatcherInclusionPrefixes),",
        "# which covers the filter's `wasmcustom.*` stats.",
      ],
      content: stringify({ meshConfig: { defaultConfig: { extraStatTags: [...STAT_TAGS] } } }),
    },
    {
      path: ENVOY_STATS_FILE,
      header: [
        `# Generated by inference-router from ${source}. Plain Envoy (no Istio): merge into the bootstrap's stats_config.`,
        "# Same tags as Istio's extraStatTags generate; keep use_all_default_tags as you have it.",
      ],
      content: stringify({ stats_config: envoyStatsConfig() }),
    },
    {
      path: RULES_FILE,
      header: [`# Generated by inference-router from ${source}. Needs the Prometheus Operator (monitoring.coreos.com/v1 CRDs).`],
      objects: [alertRules(cfg, pc)],
    },
    { path: DASHBOARD_FILE, content: `${JSON.stringify(grafanaDashboard(cfg, pc), null, 2)}\n` },
  ];
}

/**
 * Validates the generated observability files that are not Kubernetes objects (the PrometheusRule goes through
 * validateK8sObject like every object, which calls validatePrometheusRule); each problem names file and place.
 */
export function validateObservability(files: OutputFile[], plugin: string): Problem[] {
  const out: Problem[] = [];
  for (const f of files) {
    if (f.path === DASHBOARD_FILE) out.push(...dashboardProblems(JSON.parse(f.content ?? "null") as Dashboard, plugin, f.path));
    else if (f.path === ENVOY_STATS_FILE || f.path === ISTIO_STATS_FILE)
      out.push(...validateStatsDoc(parse(f.content ?? "") as Record<string, unknown>, f.path));
  }
  return out;
}

/** A PrometheusRule: the operator's CRD schema (@kubernetes-models/prometheus-operator), then every expr parsed. */
export function validatePrometheusRule(o: unknown, file: string, plugin?: string): Problem[] {
  const out: Problem[] = [];
  try {
    new PrometheusRule(o as never).validate();
  } catch (e) {
    const errs = (e as { errors?: Array<{ instancePath?: string; message?: string }> }).errors;
    for (const x of errs ?? [{ instancePath: "", message: String((e as Error).message) }])
      out.push({ file, path: x.instancePath || "$", message: `${x.message} [PrometheusRule CRD schema]` });
  }
  const groups = (o as { spec?: { groups?: Array<{ rules?: Array<{ expr?: unknown }> }> } }).spec?.groups ?? [];
  groups.forEach((g, gi) =>
    (g.rules ?? []).forEach((r, ri) => {
      for (const p of promqlProblems(String(r.expr ?? ""), plugin))
        out.push({ file, path: `spec.groups[${gi}].rules[${ri}].expr`, message: p });
    }),
  );
  return out;
}

/**
 * The stats-tag documents: Envoy's `stats_config` decoded strictly as envoy.config.metrics.v3.StatsConfig; Istio's
 * `meshConfig.defaultConfig.extraStatTags` must name tags Istio can use (plain label names).
 */
export function validateStatsDoc(v: Record<string, unknown>, file: string): Problem[] {
  if (v && "stats_config" in v) {
    return envoyChecker()
      .check("envoy.config.metrics.v3.StatsConfig", v["stats_config"], "stats_config")
      .map((i) => ({ file, path: i.path, message: `${i.message} [Envoy envoy.config.metrics.v3.StatsConfig]` }));
  }
  const tags = (v as { meshConfig?: { defaultConfig?: { extraStatTags?: unknown } } })?.meshConfig?.defaultConfig?.extraStatTags;
  if (!Array.isArray(tags) || tags.length === 0 || !tags.every((t) => typeof t === "string" && /^[a-z_][a-z0-9_]*$/.test(t)))
    return [{ file, path: "meshConfig.defaultConfig.extraStatTags", message: "must be a non-empty list of label names" }];
  return [];
}

/**
 * Grafana's dashboard model has no JSON schema on npm; @grafana/schema ships its TypeScript types, which check the
 * generator at build time. At run time: unique panel ids, every query with a refId and a PromQL expression that
 * parses, every `$variable` defined, panels inside the 24-column grid without overlap.
 */
export function dashboardProblems(d: Dashboard, plugin: string, file: string): Problem[] {
  const out: Problem[] = [];
  if (typeof d?.schemaVersion !== "number") out.push({ file, path: "schemaVersion", message: "schemaVersion is required" });
  const vars = new Set((d.templating?.list ?? []).map((v) => v.name));
  const ids = new Set<number>();
  const cells = new Set<string>();
  (d.panels ?? []).forEach((p, pi) => {
    const at = `panels[${pi}]`;
    if (typeof p.id !== "number" || ids.has(p.id)) out.push({ file, path: `${at}.id`, message: "panel ids must be unique numbers" });
    ids.add(p.id as number);
    const g = p.gridPos;
    if (!g || g.x < 0 || g.w <= 0 || g.x + g.w > 24 || g.h <= 0)
      out.push({ file, path: `${at}.gridPos`, message: "must lie within the 24-column grid" });
    else
      for (let x = g.x; x < g.x + g.w; x++)
        for (let y = g.y; y < g.y + g.h; y++) {
          if (cells.has(`${x},${y}`)) {
            out.push({ file, path: `${at}.gridPos`, message: "overlaps another panel" });
            return;
          }
          cells.add(`${x},${y}`);
        }
    const targets = ("targets" in p ? p.targets : []) ?? [];
    if (targets.length === 0) out.push({ file, path: at, message: "panel without a query" });
    const refs = new Set<string>();
    targets.forEach((t, ti) => {
      const expr = String((t as { expr?: unknown }).expr ?? "");
      const ref = typeof t.refId === "string" ? t.refId : "";
      if (!ref || refs.has(ref)) out.push({ file, path: `${at}.targets[${ti}].refId`, message: "refId must be unique in the panel" });
      refs.add(ref);
      for (const m of promqlProblems(expr, plugin)) out.push({ file, path: `${at}.targets[${ti}].expr`, message: m });
      for (const v of expr.matchAll(/\$(?!__)\{?(\w+)\}?/g))
        if (!vars.has(v[1]!)) out.push({ file, path: `${at}.targets[${ti}].expr`, message: `undefined variable $${v[1]}` });
    });
  });
  return out;
}
