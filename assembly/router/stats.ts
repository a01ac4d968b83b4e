// Envoy stats for the router, defined lazily through proxy-wasm metrics. Envoy exposes them as
// `wasmcustom.<name>` and its Prometheus endpoint as `<name>` with '.' turned into '_'. Every name and label is
// defined once in src/observability/metrics.ts: `<plugin>.<label>=.=<value>;.;…<what>`, the form Istio's
// `extraStatTags` (and the toolkit's Envoy `stats_tags`) turn into Prometheus labels. Ids are cached in flat
// arrays: after the first use of a series, counting allocates nothing.
import { MetricType } from "../runtime/abi";
import { defineMetric, incrementMetric, recordMetric } from "../runtime/host";
import { Catalog } from "./catalog";

export const OUTCOME_ROUTED: i32 = 0;
export const OUTCOME_PASSTHROUGH: i32 = 1; // not an inference call (health, metadata, lists, metrics...)
export const OUTCOME_UNDETERMINED: i32 = 2; // inference call whose model could not be read: routed untouched
export const OUTCOME_UNKNOWN_MODEL: i32 = 3; // no pool serves the model
export const OUTCOME_SHED: i32 = 4; // 429: all saturated, priority below the shedding threshold
export const OUTCOME_NO_HEALTHY: i32 = 5; // 503: every serving upstream ejected
const OUTCOMES: i32 = 6;
const OUTCOME_NAMES: StaticArray<string> = ["routed", "passthrough", "undetermined", "unknown_model", "shed", "no_healthy"];

// Counters of the load-signal sources and of affinity (`<plugin>.<name>`).
export const POLLS: i32 = 0; // metrics polls dispatched
export const POLL_FAILURES: i32 = 1; // refused, reset, timed out, or non-200
export const PARSE_ERRORS: i32 = 2; // a 200 whose body gave no usable signal (or malformed lines)
export const STALE_REPORTS: i32 = 3; // a polled target's report went stale (counted once per transition)
export const ORCA_REPORTS: i32 = 4; // load reports read from responses (ORCA or plain headers)
export const AFFINITY_HITS: i32 = 5; // picked the prefix holder
export const AFFINITY_OVERRIDES: i32 = 6; // the prefix holder was known but the load bound sent it elsewhere
export const LORA_AFFINITY_HITS: i32 = 7; // picked an upstream running the requested adapter
export const POLLER_LEASE_CHANGES: i32 = 8; // this VM became the poller
export const DISCOVERY_POLLS: i32 = 9; // model-discovery calls dispatched
export const DISCOVERY_FAILURES: i32 = 10; // failed or unreadable model-discovery calls
export const MODEL_AFTER_SCAN_LIMIT: i32 = 11; // body-mode request released at the scan limit without a model
export const UNTRUSTED_HEADERS: i32 = 12; // modelOverride / priorityIn sent by a peer not in headers.trustedPeers
const NAMED_COUNT: i32 = 13;
const NAMED_NAMES: StaticArray<string> = [
  "polls", "poll_failures", "parse_errors", "stale_reports", "orca_reports", "affinity_hits", "affinity_overrides",
  "lora_affinity_hits", "poller_lease_changes", "discovery_polls", "discovery_failures", "model_after_scan_limit",
  "untrusted_headers",
];

/**
 * A label value inside `<label>=.=<value>;.;`: ip:port passes unchanged ('.', ':', '[', ']' are safe there);
 * anything that could end the value early (';', '=') or is not plain ASCII becomes '_'. Pool names also get '.'
 * → '_': Istio's bootstrap carries unanchored tag regexes such as `(cache\.(.+?)\.)`, which a pool named
 * `kv.cache.x` would feed; endpoints are digits, hex and ':' only, which none of them can match.
 */
export function tagValue(s: string, keepDots: bool): string {
  let out = "";
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    const ok = (c >= 48 && c <= 58) || (c >= 65 && c <= 91) || (c >= 97 && c <= 122) || c == 93 || c == 95 || c == 45 || (c == 46 && keepDots);
    out += ok ? String.fromCharCode(c) : "_";
  }
  return out;
}

/** The label part of a per-upstream series: `pool=.=<p>;.;` plus `endpoint=.=<ip:port>;.;` in endpoint mode. */
export function upstreamTags(catalog: Catalog, upstream: i32): string {
  const u = catalog.upstreams[upstream];
  const pool = catalog.pools[u.pool].cfg.name;
  let s = "pool=.=" + tagValue(pool, false) + ";.;";
  if (u.name != pool) s += "endpoint=.=" + tagValue(u.name, true) + ";.;";
  return s;
}

/** Turns a value into one stat-name segment: '.' and ':' would split or break the name. */
export function statSegment(s: string): string {
  let out = "";
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    const ok = (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c == 95 || c == 45;
    out += ok ? String.fromCharCode(c) : "_";
  }
  return out;
}

export class Stats {
  private prefix: string;
  private requests: StaticArray<u32>;
  private protocolCount: i32;
  private picks: StaticArray<u32>;
  private ejections: StaticArray<u32>;
  private staleFallbacks: u32 = 0;
  private fallbackPicks: u32 = 0;
  private saturatedPicks: u32 = 0;
  private bodyTimeouts: u32 = 0;
  private inFlightLost: u32 = 0;
  // Load signals and affinity: ids of the named counters below, defined on first use.
  private named: StaticArray<u32> = new StaticArray<u32>(NAMED_COUNT);

  constructor(name: string, private catalog: Catalog, protocolCount: i32, private protocolName: (p: i32) => string) {
    this.prefix = statSegment(name);
    this.protocolCount = protocolCount;
    this.requests = new StaticArray<u32>(protocolCount * OUTCOMES);
    this.picks = new StaticArray<u32>(catalog.upstreams.length);
    this.ejections = new StaticArray<u32>(catalog.upstreams.length);
  }

  private counter(name: string): u32 {
    return defineMetric(MetricType.Counter, this.prefix + "." + name);
  }

  request(protocol: i32, outcome: i32): void {
    if (protocol < 0 || protocol >= this.protocolCount) protocol = 0;
    const i = protocol * OUTCOMES + outcome;
    let id = this.requests[i];
    if (id == 0) {
      id = this.counter("protocol=.=" + this.protocolName(protocol) + ";.;outcome=.=" + OUTCOME_NAMES[outcome] + ";.;requests");
      this.requests[i] = id;
    }
    incrementMetric(id, 1);
  }

  pick(upstream: i32): void {
    let id = this.picks[upstream];
    if (id == 0) {
      id = this.counter(upstreamTags(this.catalog, upstream) + "picks");
      this.picks[upstream] = id;
    }
    incrementMetric(id, 1);
  }

  ejection(upstream: i32): void {
    let id = this.ejections[upstream];
    if (id == 0) {
      id = this.counter(upstreamTags(this.catalog, upstream) + "ejections");
      this.ejections[upstream] = id;
    }
    incrementMetric(id, 1);
  }

  staleFallback(): void {
    if (this.staleFallbacks == 0) this.staleFallbacks = this.counter("stale_fallbacks");
    incrementMetric(this.staleFallbacks, 1);
  }

  fallbackPick(): void {
    if (this.fallbackPicks == 0) this.fallbackPicks = this.counter("fallback_pool_picks");
    incrementMetric(this.fallbackPicks, 1);
  }

  saturatedPick(): void {
    if (this.saturatedPicks == 0) this.saturatedPicks = this.counter("saturated_picks");
    incrementMetric(this.saturatedPicks, 1);
  }

  bodyTimeout(): void {
    if (this.bodyTimeouts == 0) this.bodyTimeouts = this.counter("body_timeouts");
    incrementMetric(this.bodyTimeouts, 1);
  }

  /** A shared in-flight update that could not be applied (CAS lost repeatedly): counts stay best effort. */
  inFlightUpdateLost(): void {
    if (this.inFlightLost == 0) this.inFlightLost = this.counter("in_flight_update_lost");
    incrementMetric(this.inFlightLost, 1);
  }

  /** One of the NAMED_* counters (polls, poll_failures, ...). */
  count(which: i32, delta: i64 = 1): void {
    let id = this.named[which];
    if (id == 0) {
      id = this.counter(NAMED_NAMES[which]);
      this.named[which] = id;
    }
    incrementMetric(id, delta);
  }
}

export { recordMetric };
