// Every metric the filter exports, defined once. The filter (assembly/router/stats.ts, gauges.ts) defines these
// names through proxy-wasm metrics; the README's metrics table, the Envoy/Istio tag config, the Grafana dashboard
// and the Prometheus alerts are all generated from this table, and tests check the .wasm emits exactly these.
//
// Naming. The filter defines `<plugin>.<label>=.=<value>;.;…<name>` (labels in the order listed). Envoy keeps it as
// `wasmcustom.<that>`; with the tag specifiers of ./tags.ts (which are Istio's own `extraStatTags` form) each
// `<label>=.=<value>;.;` becomes a Prometheus label, and /stats/prometheus shows `<plugin>_<name>{<label>="<value>"}`
// (`.`/`-` of the plugin name → `_`).
// Envoy: source/extensions/common/wasm/context.cc defineMetric (commit b40935ac07f770581a402ca8a220d251bc02b3a5)
// prefixes the custom-stat namespace `wasmcustom`; gauges are u64 and set by proxy_record_metric, which is why
// fractions are exported in milli-units.

export type Label = "pool" | "endpoint" | "protocol" | "outcome";

export interface MetricDef {
  /** Name after tag extraction, without the plugin prefix (Prometheus: `<plugin>_<name>`). */
  name: string;
  type: "counter" | "gauge";
  /** Labels lifted by tag extraction; `endpoint` is present in endpoint steering mode only. */
  labels: readonly Label[];
  /** One line: what the number means, with its unit. */
  meaning: string;
}

/** `pool`: the pool name (`.` → `_`); `endpoint`: the `ip:port` steered to (endpoint mode only). */
const UP: readonly Label[] = ["pool", "endpoint"];

export const METRICS: readonly MetricDef[] = [
  // Decisions.
  {
    name: "requests",
    type: "counter",
    labels: ["protocol", "outcome"],
    meaning:
      "requests by protocol and outcome: `routed`, `passthrough` (not inference), `undetermined` (model unreadable: routed untouched), `unknown_model` (404 or passthrough), `shed` (429), `no_healthy` (503)",
  },
  { name: "picks", type: "counter", labels: UP, meaning: "requests steered to this upstream" },
  {
    name: "ejections",
    type: "counter",
    labels: UP,
    meaning: "times this upstream was ejected (error run, or no answer to two polls in a row)",
  },
  {
    name: "stale_fallbacks",
    type: "counter",
    labels: [],
    meaning: "picks made on local in-flight counts because every healthy candidate's report was stale",
  },
  { name: "fallback_pool_picks", type: "counter", labels: [], meaning: "picks that went to a `fallback` pool" },
  {
    name: "saturated_picks",
    type: "counter",
    labels: [],
    meaning: "picks among saturated upstreams (priority at or above `shedding.belowPriority`)",
  },
  { name: "body_timeouts", type: "counter", labels: [], meaning: "requests released after `body.timeoutMs` without their body" },
  {
    name: "in_flight_update_lost",
    type: "counter",
    labels: [],
    meaning: "in-flight updates dropped after repeated shared-data CAS conflicts (counts stay best effort)",
  },
  // Request intake.
  {
    name: "model_after_scan_limit",
    type: "counter",
    labels: [],
    meaning:
      "body mode released a request at the scan limit (`min(body.maxBytes, body.bufferLimitBytes)`) without finding its model: routed untouched",
  },
  {
    name: "untrusted_headers",
    type: "counter",
    labels: [],
    meaning: "`headers.modelOverride` / `headers.priorityIn` sent by a peer not in `headers.trustedPeers`: ignored",
  },
  // Load signals.
  { name: "polls", type: "counter", labels: [], meaning: "metrics polls dispatched" },
  { name: "poll_failures", type: "counter", labels: [], meaning: "polls refused, reset, timed out or answered non-200" },
  { name: "parse_errors", type: "counter", labels: [], meaning: "malformed metric lines, or a page without any configured series" },
  { name: "stale_reports", type: "counter", labels: [], meaning: "a polled target's report went stale (once per transition)" },
  { name: "orca_reports", type: "counter", labels: [], meaning: "load reports read from responses (ORCA or the plain headers)" },
  { name: "poller_lease_changes", type: "counter", labels: [], meaning: "this worker VM became the poller" },
  { name: "discovery_polls", type: "counter", labels: [], meaning: "model-discovery calls dispatched" },
  { name: "discovery_failures", type: "counter", labels: [], meaning: "model-discovery calls failed or unreadable" },
  // Affinity.
  { name: "affinity_hits", type: "counter", labels: [], meaning: "picks of the prefix holder" },
  { name: "affinity_overrides", type: "counter", labels: [], meaning: "the load bound sent a request away from the known prefix holder" },
  { name: "lora_affinity_hits", type: "counter", labels: [], meaning: "picks of an upstream running the requested LoRA adapter" },
  // What the filter believes about each upstream (assembly/router/gauges.ts; refreshed on the tick, about 1 s).
  {
    name: "upstream_queue",
    type: "gauge",
    labels: UP,
    meaning: "waiting requests the server last reported (rounded; 0 before any report)",
  },
  {
    name: "upstream_running",
    type: "gauge",
    labels: UP,
    meaning: "running requests the server last reported, all clients (rounded; 0 before any report)",
  },
  { name: "upstream_kv_cache_permille", type: "gauge", labels: UP, meaning: "KV-cache use the server last reported, in ‰ (0…1000)" },
  { name: "upstream_in_flight", type: "gauge", labels: UP, meaning: "requests this proxy has in flight to it, all worker VMs" },
  {
    name: "upstream_report_age_ms",
    type: "gauge",
    labels: UP,
    meaning: "age of the last load report (poll or response header), ms; absent until the first report",
  },
  {
    name: "upstream_stale",
    type: "gauge",
    labels: UP,
    meaning: "1 when it has no report younger than `scoring.staleAfterMs` (the picker treats it as saturated), else 0",
  },
  { name: "upstream_ejected", type: "gauge", labels: UP, meaning: "1 while ejected, else 0" },
  {
    name: "upstream_capacity_milli",
    type: "gauge",
    labels: UP,
    meaning:
      "capacity the score divides by, ×1000 (`weight` or the learned capacity, × members in pool mode); 0 = left the catalog (series frozen)",
  },
];

export function metricDef(name: string): MetricDef {
  const d = METRICS.find((m) => m.name === name);
  if (!d) throw new Error(`no metric ${name} in src/observability/metrics.ts`);
  return d;
}

/**
 * The Prometheus prefix of a plugin's metrics: the filter turns anything but letters, digits, `_` and `-` of the
 * plugin name into `_` (stats.ts statSegment), Envoy's Prometheus output turns `-` into `_`.
 */
export function pluginPromPrefix(plugin: string): string {
  return plugin.replace(/[^a-zA-Z0-9_]/g, "_");
}

/** The Prometheus metric name of `name` for a plugin named `plugin` (`inference-router` → `inference_router_…`). */
export function promMetric(plugin: string, name: string): string {
  metricDef(name);
  return `${pluginPromPrefix(plugin)}_${name}`;
}

/**
 * A label's value as the filter writes it (assembly/router/stats.ts tagValue): `;`, `=` and other unsafe characters
 * → `_`; pool names also lose `.` (Istio's unanchored `cache\.`/`tag\.` tag regexes could match it), endpoints
 * (`ip:port`, `[ipv6]:port`) keep theirs.
 */
export function labelValue(label: Label, value: string): string {
  return value.replace(label === "endpoint" ? /[^A-Za-z0-9_.:\[\]-]/g : /[^A-Za-z0-9_:\[\]-]/g, "_");
}

/** The stat name the filter defines for `name` with these label values (labels in the table's order). */
export function statName(plugin: string, name: string, labels: Partial<Record<Label, string>>): string {
  const d = metricDef(name);
  let s = `${plugin.replace(/[^A-Za-z0-9_-]/g, "_")}.`; // the filter's statSegment
  for (const l of d.labels) if (labels[l] !== undefined) s += `${l}=.=${labelValue(l, labels[l]!)};.;`;
  return s + name;
}

/** The README table (between the `metrics-table` markers; a test fails when it is stale). */
export function metricsTableMarkdown(plugin = "inference-router"): string {
  const rows = METRICS.map((m) => {
    const labels = m.labels.length ? m.labels.map((l) => `\`${l}\``).join(", ") : "–";
    return `| \`${promMetric(plugin, m.name)}\` | ${m.type} | ${labels} | ${m.meaning.replace(/\|/g, "\\|")} |`;
  });
  return ["| metric (Prometheus) | type | labels | meaning |", "|---|---|---|---|", ...rows].join("\n");
}
