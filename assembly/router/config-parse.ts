// parseConfig: the plugin configuration JSON (what Envoy hands to proxy_on_configure) to a RouterConfig, with
// exactly the rules of src/config/plugin-config.ts (the zod schema of record): types, integers, ranges, the
// header-name / identifier / model-name / endpoint patterns, strict objects, array bounds, defaults and the
// cross-field rules. The first problem found is returned as "<json path>: <reason>", e.g.
// `pools[1].weight: must be >= 0.01`; when it is not about the schema's cross-field rules, zod reports an issue
// at the same path (tests hold the two to parity).
//
// The walk over the schema is generated from it (config-schema.ts, `npm run gen:config`); it reads the text with
// the non-trapping readers of config-read.ts. The schema's cross-field rules (its superRefine) are below, by hand.
import { RouterConfig, ConfigResult, STEER_ENDPOINT } from "./config";
import { begin, end, fail, field, index, skipBlank } from "./config-read";
import { parseRoot } from "./config-schema";
import { checkJson } from "./json-check";

/** Nesting the syntax check admits (the walk copes with any depth; this only bounds the checker's stack). */
export const CONFIG_MAX_DEPTH: i32 = 65536;

/** The schema's superRefine, in its order; run only on a config that passed every other rule. */
function crossCheck(c: RouterConfig): void {
  const names = new Set<string>();
  const endpoints = new Set<string>();
  for (let i = 0; i < c.pools.length; i++) {
    const p = c.pools[i];
    const path = index("pools", i);
    if (names.has(p.name)) fail(field(path, "name"), "duplicate pool name \"" + p.name + "\"");
    names.add(p.name);
    if (c.steering == STEER_ENDPOINT && p.endpoints.length == 0)
      fail(field(path, "endpoints"), "endpoint steering needs at least one endpoint per pool");
    if (p.models.length == 0 && p.modelPrefixes.length == 0)
      fail(field(path, "models"), "a pool must serve at least one model or model prefix");
    // One load record per endpoint: an endpoint listed twice would split its in-flight count in two.
    for (let j = 0; j < p.endpoints.length; j++) {
      const e = p.endpoints[j];
      if (endpoints.has(e)) fail(index(field(path, "endpoints"), j), "endpoint \"" + e + "\" is listed more than once");
      endpoints.add(e);
    }
  }
  for (let i = 0; i < c.pools.length; i++) {
    const p = c.pools[i];
    const path = index("pools", i);
    if (p.fallback.length && !names.has(p.fallback)) fail(field(path, "fallback"), "unknown pool \"" + p.fallback + "\"");
    if (p.fallback == p.name) fail(field(path, "fallback"), "a pool cannot fall back to itself");
  }
  const h = c.headers;
  const written = [h.protocol, h.model, h.klass, h.priority, h.pool, h.endpoint, h.version, h.label];
  for (let i = 0; i < written.length; i++) {
    for (let j = 0; j < i; j++) if (written[i] == written[j]) fail("headers", "header names must be distinct");
  }
  if (c.outlier.maxEjectionMs < c.outlier.baseEjectionMs) fail("outlier.maxEjectionMs", "must be >= baseEjectionMs");
  for (let i = 0; i < c.pools.length; i++) {
    const p = c.pools[i];
    const path = index("pools", i);
    const m = p.metrics;
    if (m !== null) {
      const custom = m.engine == "custom";
      if (custom && (!m.hasSeries || m.queue.length + m.running.length + m.kvCache.length == 0))
        fail(field(path, "metrics.series"), "engine custom needs at least one series");
      if (!custom && m.hasSeries) fail(field(path, "metrics.series"), "series is only for engine custom");
      for (let k = 0; k < m.endpointClusters.length; k += 2) {
        if (!p.endpoints.includes(m.endpointClusters[k]))
          fail(field(path, "metrics.endpointClusters"), m.endpointClusters[k] + " is not an endpoint of this pool");
      }
    }
    const d = p.discovery;
    if (d !== null && d.enabled && m === null) fail(field(path, "discovery"), "discovery needs metrics (its cluster)");
  }
  if (c.polling.leaseMs != 0 && c.polling.leaseMs <= c.polling.intervalMs) fail("polling.leaseMs", "must be > intervalMs");
  if (c.affinity.prefix.enabled && !c.body.enabled) fail("affinity.prefix.enabled", "needs body.enabled");
}

/**
 * Parses the plugin configuration. Never traps: any input yields either a config (error "") or the first
 * problem as "<json path>: <reason>" (config null).
 */
export function parseConfig(json: string): ConfigResult {
  const r = new ConfigResult();
  if (json.length == 0) {
    r.error = "configuration is empty: pools is required";
    return r;
  }
  const syntax = checkJson(json, CONFIG_MAX_DEPTH);
  if (syntax.length) {
    r.error = "(root): invalid JSON at " + syntax;
    return r;
  }
  begin(json);
  const c = new RouterConfig();
  parseRoot(skipBlank(0), c);
  let error = end();
  if (error.length == 0) {
    begin("");
    crossCheck(c);
    error = end();
  }
  if (error.length) {
    r.error = error;
    return r;
  }
  r.config = c;
  return r;
}
