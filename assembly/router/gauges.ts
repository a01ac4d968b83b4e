// Per-upstream gauges: what the filter believes about each upstream, exported through proxy-wasm metrics so
// Envoy's /stats/prometheus shows them (names and meanings: src/observability/metrics.ts, the one definition).
//
// Input is plain numbers per upstream, so this module does not care how the load view is kept. Series are defined
// lazily (first record) and a value is sent to the host only when it changed: steady state costs one comparison
// per gauge. Gauges are u64 in Envoy (context.cc recordMetric → Gauge::set, envoyproxy/envoy b40935ac), so
// fractions go out in milli-units and negatives are clamped to 0. Every worker VM records the same values (they
// read the same shared load view); Envoy keeps one stat per name for all of them, last writer wins.
//
// Bounded cardinality: at most GAUGE_COUNT series per catalog upstream. Proxy-wasm ABI 0.2.1 has no call to remove
// a metric, so when a new configuration drops an upstream, `retireMissing` sets its series to 0 once and they are
// never written again; `upstream_capacity_milli` 0 is the marker (a catalog upstream always has capacity > 0),
// which the generated alerts and dashboard use to leave such series out.
import { MetricType } from "../runtime/abi";
import { defineMetric, recordMetric } from "../runtime/host";
import { Catalog } from "./catalog";
import { statSegment, upstreamTags } from "./stats";

export const G_QUEUE: i32 = 0;
export const G_RUNNING: i32 = 1;
export const G_KV_CACHE: i32 = 2;
export const G_IN_FLIGHT: i32 = 3;
export const G_REPORT_AGE: i32 = 4;
export const G_STALE: i32 = 5;
export const G_EJECTED: i32 = 6;
export const G_CAPACITY: i32 = 7;
export const GAUGE_COUNT: i32 = 8;
const REFRESH_EVERY: i32 = 10;
const GAUGE_NAMES: StaticArray<string> = [
  "upstream_queue", "upstream_running", "upstream_kv_cache_permille", "upstream_in_flight", "upstream_report_age_ms",
  "upstream_stale", "upstream_ejected", "upstream_capacity_milli",
];

export class Gauges {
  /** Label part of each upstream's series (`pool=.=…;.;[endpoint=.=…;.;]`), built once. */
  readonly tags: Array<string> = [];
  private prefix: string;
  /** Metric ids per upstream × gauge (0 = not defined yet) and the last value sent (-1 = none). */
  private ids: StaticArray<u32>;
  private last: StaticArray<i64>;

  private publishes: i32 = 0;

  constructor(plugin: string, catalog: Catalog, private staleAfterMs: i64) {
    this.prefix = statSegment(plugin) + ".";
    const n = catalog.upstreams.length;
    this.ids = new StaticArray<u32>(n * GAUGE_COUNT);
    this.last = new StaticArray<i64>(n * GAUGE_COUNT);
    for (let i = 0; i < n * GAUGE_COUNT; i++) unchecked(this.last[i] = -1);
    for (let i = 0; i < n; i++) this.tags.push(upstreamTags(catalog, i));
  }

  /**
   * Starts a round of records. Every REFRESH_EVERY-th round sends every value even if unchanged: a root context
   * being replaced (Envoy creates a new root for a new plugin config and retires the old one) may zero a series
   * this one still owns, and the refresh heals that within a few seconds.
   */
  beginRound(): void {
    if (++this.publishes % REFRESH_EVERY == 0) {
      for (let i = 0; i < this.last.length; i++) unchecked(this.last[i] = -1);
    }
  }

  /**
   * Records one upstream's state. `running` < 0 and `reportedAtMs` <= 0 mean "never reported"; kvCache is 0..1;
   * capacity is the relative capacity the score divides by.
   */
  record(upstream: i32, queue: f64, running: f64, kvCache: f64, inFlight: i32, reportedAtMs: i64, nowMs: i64,
    ejected: bool, capacity: f64): void {
    const reported = reportedAtMs > 0;
    const age = reported ? max<i64>(0, nowMs - reportedAtMs) : -1;
    this.set(upstream, G_QUEUE, reported ? roundU(queue) : 0);
    this.set(upstream, G_RUNNING, reported && running >= 0 ? roundU(running) : 0);
    this.set(upstream, G_KV_CACHE, reported ? roundU(min(1.0, kvCache) * 1000) : 0);
    this.set(upstream, G_IN_FLIGHT, max(0, inFlight));
    if (reported) this.set(upstream, G_REPORT_AGE, age);
    this.set(upstream, G_STALE, !reported || age > this.staleAfterMs ? 1 : 0);
    this.set(upstream, G_EJECTED, ejected ? 1 : 0);
    this.set(upstream, G_CAPACITY, max<i64>(1, roundU(capacity * 1000)));
  }

  /**
   * Called on the outgoing instance when a configuration replaces it (`next`) or its root context ends (null):
   * every series of an upstream absent from `next` that was ever recorded is set to 0 once, then left alone.
   */
  retireMissing(next: Gauges | null): void {
    for (let u = 0; u < this.tags.length; u++) {
      if (next !== null && next.tags.includes(this.tags[u])) continue;
      for (let g = 0; g < GAUGE_COUNT; g++) {
        const id = unchecked(this.ids[u * GAUGE_COUNT + g]);
        if (id != 0) recordMetric(id, 0);
      }
    }
  }

  private set(upstream: i32, g: i32, v: i64): void {
    const i = upstream * GAUGE_COUNT + g;
    if (unchecked(this.last[i]) == v) return;
    let id = unchecked(this.ids[i]);
    if (id == 0) {
      id = defineMetric(MetricType.Gauge, this.prefix + this.tags[upstream] + GAUGE_NAMES[g]);
      unchecked(this.ids[i] = id);
    }
    unchecked(this.last[i] = v);
    recordMetric(id, <u64>v);
  }
}

function roundU(x: f64): i64 {
  if (!(x > 0)) return 0; // also NaN
  if (x >= 9.0e15) return <i64>9.0e15;
  return <i64>Math.round(x);
}
