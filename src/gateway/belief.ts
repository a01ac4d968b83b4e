// What the filter believes about each upstream next to what the simulators really have: the live view's second
// table. The belief is read only from the filter's per-upstream gauges in the proxy's Prometheus export (the same
// text `/stats/prometheus` serves), so it shows exactly what an operator's Prometheus would scrape — including how
// old the filter's last report is, which is the staleness it routes with.
import { pluginPromPrefix } from "../observability/metrics.js";
import { parsePromText } from "../observability/prom-text.js";

export { parsePromText, type Series } from "../observability/prom-text.js";

/** One filter upstream (a pool in pool mode, an endpoint in endpoint mode) as its gauges describe it. */
export interface Belief {
  pool: string;
  endpoint: string | undefined;
  queue: number;
  running: number;
  /** 0..1 */
  kvCache: number;
  inFlight: number;
  /** Undefined until the first report. */
  reportAgeMs: number | undefined;
  stale: boolean;
  ejected: boolean;
  /** Capacity the score divides by (configured or learned). */
  capacity: number;
}

/** The catalog upstreams' beliefs, from the gauges (series frozen at capacity 0 — left the catalog — are skipped). */
export function readBeliefs(prometheus: string, plugin = "inference-router"): Belief[] {
  const prefix = `${pluginPromPrefix(plugin)}_upstream_`;
  const byKey = new Map<string, Map<string, number> & { labels?: Record<string, string> }>();
  for (const s of parsePromText(prometheus)) {
    if (!s.name.startsWith(prefix) || s.labels.pool === undefined) continue;
    const key = `${s.labels.pool}\u0000${s.labels.endpoint ?? ""}`;
    let g = byKey.get(key);
    if (!g) byKey.set(key, (g = Object.assign(new Map<string, number>(), { labels: s.labels })));
    g.set(s.name.slice(prefix.length), s.value);
  }
  const out: Belief[] = [];
  for (const g of byKey.values()) {
    const capacity = (g.get("capacity_milli") ?? 0) / 1000;
    if (capacity <= 0) continue;
    out.push({
      pool: g.labels!.pool!,
      endpoint: g.labels!.endpoint,
      queue: g.get("queue") ?? 0,
      running: g.get("running") ?? 0,
      kvCache: (g.get("kv_cache_permille") ?? 0) / 1000,
      inFlight: g.get("in_flight") ?? 0,
      reportAgeMs: g.get("report_age_ms"),
      stale: g.get("stale") === 1,
      ejected: g.get("ejected") === 1,
      capacity,
    });
  }
  return out.sort((a, b) => (a.pool + (a.endpoint ?? "")).localeCompare(b.pool + (b.endpoint ?? "")));
}

/** What the simulator(s) behind one filter upstream really have (pool mode: members summed, KV averaged). */
export interface Truth {
  queue: number;
  running: number;
  kvCache: number;
}

function pad(s: string, n: number): string {
  return s.length >= n ? s : s + " ".repeat(n - s.length);
}

function age(ms: number | undefined): string {
  if (ms === undefined) return "never";
  return ms >= 10_000 ? `${Math.round(ms / 1000)}s` : `${(ms / 1000).toFixed(1)}s`;
}

const pct = (x: number) => `${Math.round(x * 100)}%`;

/** The table: one line per filter upstream, belief on the left, truth (or `-` for an external server) on the right. */
export function beliefLines(beliefs: Belief[], truthOf: (b: Belief) => Truth | undefined): string[] {
  const lines = [
    `${pad("filter's belief (its gauges)", 72)}| simulator truth`,
    `${pad("upstream", 26)}${pad("queue", 6)}${pad("run", 5)}${pad("kv", 5)}${pad("in-fl", 6)}${pad("report age", 11)}${pad("state", 8)}${pad("cap", 5)}| ${pad("queue", 6)}${pad("run", 5)}kv`,
  ];
  for (const b of beliefs) {
    const t = truthOf(b);
    const state = b.ejected ? "ejected" : b.reportAgeMs === undefined ? "none" : b.stale ? "stale" : "fresh";
    lines.push(
      `${pad(b.endpoint ? `${b.pool}/${b.endpoint}` : b.pool, 26)}${pad(String(b.queue), 6)}${pad(String(b.running), 5)}${pad(pct(b.kvCache), 5)}` +
        `${pad(String(b.inFlight), 6)}${pad(age(b.reportAgeMs), 11)}${pad(state, 8)}${pad(String(+b.capacity.toFixed(2)), 5)}| ` +
        (t ? `${pad(String(t.queue), 6)}${pad(String(t.running), 5)}${pct(t.kvCache)}` : "-"),
    );
  }
  return lines;
}
