// Unit harness for assembly/router/config-parse.ts and json-check.ts (built by scripts/build-wasm.mjs --only units
// config into build/units/config.wasm; test/units/config.test.ts drives it through @assemblyscript/loader).
// parse() returns "error: <message>" or the parsed RouterConfig as JSON with the key names and order of the zod
// schema's output (src/config/plugin-config.ts), so tests can compare the two directly.
// The product abort handler (asconfig `use abort=routerAbort`); it imports env.proxy_log.
import "../../assembly/runtime/abort";
import { parseConfig } from "../../assembly/router/config-parse";
import { checkJson } from "../../assembly/router/json-check";
import { RouterConfig, STEER_ENDPOINT, SeriesConfig } from "../../assembly/router/config";

function rec(kv: Array<string>): string {
  const parts = new Array<string>();
  for (let i = 0; i + 1 < kv.length; i += 2) parts.push(q(kv[i]) + ":" + q(kv[i + 1]));
  return "{" + parts.join(",") + "}";
}

function seriesList(a: Array<SeriesConfig>): string {
  const parts = new Array<string>();
  for (let i = 0; i < a.length; i++) {
    const x = a[i];
    parts.push("{\"name\":" + q(x.name) + (x.hasLabels ? ",\"labels\":" + rec(x.labels) : "") + ",\"scale\":" + n(x.scale) + "}");
  }
  return "[" + parts.join(",") + "]";
}

function q(s: string): string {
  let out = "\"";
  for (let i = 0; i < s.length; i++) {
    const c = <i32>s.charCodeAt(i);
    if (c == 0x22) out += "\\\"";
    else if (c == 0x5c) out += "\\\\";
    else if (c < 0x20 || c > 0x7e) {
      const h = c.toString(16);
      out += "\\u" + "0000".substring(h.length) + h;
    } else out += String.fromCharCode(c);
  }
  return out + "\"";
}

function n(v: f64): string {
  if (v == Math.floor(v) && Math.abs(v) < 1e15) return (<i64>v).toString();
  return v.toString();
}

function list(a: Array<string>): string {
  const parts = new Array<string>();
  for (let i = 0; i < a.length; i++) parts.push(q(a[i]));
  return "[" + parts.join(",") + "]";
}

function dump(c: RouterConfig): string {
  const h = c.headers;
  let s = "{\"name\":" + q(c.name) + ",\"steering\":" + (c.steering == STEER_ENDPOINT ? "\"endpoint\"" : "\"pool\"");
  s += ",\"headers\":{\"protocol\":" + q(h.protocol) + ",\"model\":" + q(h.model) + ",\"class\":" + q(h.klass) +
    ",\"priority\":" + q(h.priority) + ",\"pool\":" + q(h.pool) + ",\"endpoint\":" + q(h.endpoint) +
    ",\"version\":" + q(h.version) + ",\"label\":" + q(h.label);
  if (h.modelOverride.length) s += ",\"modelOverride\":" + q(h.modelOverride);
  if (h.priorityIn.length) s += ",\"priorityIn\":" + q(h.priorityIn);
  s += ",\"stripInbound\":" + list(h.stripInbound) + ",\"trustedPeers\":" + list(h.trustedPeers);
  s += "},\"body\":{\"enabled\":" + (c.body.enabled ? "true" : "false") + ",\"maxBytes\":" + c.body.maxBytes.toString() +
    ",\"timeoutMs\":" + c.body.timeoutMs.toString() + ",\"bufferLimitBytes\":" + c.body.bufferLimitBytes.toString() + "}";
  const pools = new Array<string>();
  for (let i = 0; i < c.pools.length; i++) {
    const p = c.pools[i];
    let t = "{\"name\":" + q(p.name) + ",\"models\":" + list(p.models) + ",\"modelPrefixes\":" + list(p.modelPrefixes) +
      ",\"weight\":" + n(p.weight) + ",\"gpu\":" + q(p.gpu) + ",\"endpoints\":" + list(p.endpoints);
    if (p.fallback.length) t += ",\"fallback\":" + q(p.fallback);
    t += ",\"maxInFlight\":" + p.maxInFlight.toString();
    const m = p.metrics;
    if (m !== null) {
      t += ",\"metrics\":{\"cluster\":" + q(m.cluster) + ",\"path\":" + q(m.path) + ",\"engine\":" + q(m.engine);
      if (m.authority.length) t += ",\"authority\":" + q(m.authority);
      t += ",\"timeoutMs\":" + m.timeoutMs.toString();
      if (m.modelLabelFilter.length) t += ",\"modelLabelFilter\":" + q(m.modelLabelFilter);
      if (m.hasSeries) t += ",\"series\":{\"queue\":" + seriesList(m.queue) + ",\"running\":" + seriesList(m.running) + ",\"kvCache\":" + seriesList(m.kvCache) + "}";
      if (m.hasEndpointClusters) t += ",\"endpointClusters\":" + rec(m.endpointClusters);
      t += "}";
    }
    const d = p.discovery;
    if (d !== null) {
      t += ",\"discovery\":{\"enabled\":" + (d.enabled ? "true" : "false") + ",\"path\":" + q(d.path) + ",\"intervalMs\":" + d.intervalMs.toString() + "}";
    }
    pools.push(t + "}");
  }
  s += ",\"pools\":[" + pools.join(",") + "]";
  const models = new Array<string>();
  for (let i = 0; i < c.models.length; i++) {
    models.push("{\"name\":" + q(c.models[i].name) + ",\"priority\":" + c.models[i].priority.toString() + "}");
  }
  s += ",\"models\":[" + models.join(",") + "]";
  const sc = c.scoring;
  s += ",\"scoring\":{\"inFlight\":" + n(sc.inFlight) + ",\"queue\":" + n(sc.queue) + ",\"kvCache\":" + n(sc.kvCache) +
    ",\"sampleAbove\":" + sc.sampleAbove.toString() + ",\"staleAfterMs\":" + sc.staleAfterMs.toString() + "}";
  s += ",\"saturation\":{\"queue\":" + n(c.saturation.queue) + ",\"kvCache\":" + n(c.saturation.kvCache) + "}";
  s += ",\"shedding\":{\"belowPriority\":" + c.shedding.belowPriority.toString() + ",\"retryAfterSeconds\":" +
    c.shedding.retryAfterSeconds.toString() + "}";
  s += ",\"unknownModel\":" + (c.unknownModelPassthrough ? "\"passthrough\"" : "\"reject\"");
  const o = c.outlier;
  s += ",\"outlier\":{\"consecutiveErrors\":" + o.consecutiveErrors.toString() + ",\"baseEjectionMs\":" +
    o.baseEjectionMs.toString() + ",\"maxEjectionMs\":" + o.maxEjectionMs.toString() + ",\"maxEjectionPercent\":" +
    o.maxEjectionPercent.toString() + "}";
  const pl = c.polling;
  s += ",\"polling\":{\"intervalMs\":" + pl.intervalMs.toString() + ",\"probesPerTick\":" + pl.probesPerTick.toString() +
    ",\"subsetAbove\":" + pl.subsetAbove.toString() + (pl.leaseMs != 0 ? ",\"leaseMs\":" + pl.leaseMs.toString() : "") + "}";
  const lr = c.loadReports;
  s += ",\"loadReports\":{\"orca\":" + (lr.orca ? "true" : "false") +
    (lr.queueHeader.length ? ",\"queueHeader\":" + q(lr.queueHeader) : "") +
    (lr.kvCacheHeader.length ? ",\"kvCacheHeader\":" + q(lr.kvCacheHeader) : "") + "}";
  const pf = c.affinity.prefix;
  s += ",\"affinity\":{\"prefix\":{\"enabled\":" + (pf.enabled ? "true" : "false") + ",\"blockBytes\":" + pf.blockBytes.toString() +
    ",\"blocks\":" + pf.blocks.toString() + ",\"tableSize\":" + pf.tableSize.toString() + ",\"maxLoadFactor\":" + n(pf.maxLoadFactor) +
    "},\"lora\":" + (c.affinity.lora ? "true" : "false") + "}}";
  return s;
}

/** "error: <message>" or the parsed config as JSON (zod's key names and order). */
export function parse(json: string): string {
  const r = parseConfig(json);
  const c = r.config;
  if (c === null) return "error: " + r.error;
  return dump(c);
}

/** checkJson's verdict: "" or "offset N: reason". */
export function check(json: string, maxDepth: i32): string {
  return checkJson(json, maxDepth);
}
