// Unit harness for assembly/router/config-parse.ts and json-check.ts (built by scripts/build-wasm.mjs --only units
// config into build/units/config.wasm; test/units/config.test.ts drives it through @assemblyscript/loader).
// parse() returns "error: <message>" or the parsed RouterConfig as JSON with the key names and order of the zod
// schema's output (src/config/plugin-config.ts), so tests can compare the two directly.
// The product abort handler (asconfig `use abort=routerAbort`); it imports env.proxy_log.
import "../../assembly/runtime/abort";
import { parseConfig } from "../../assembly/router/config-parse";
import { checkJson } from "../../assembly/router/json-check";
import { RouterConfig, STEER_ENDPOINT } from "../../assembly/router/config";

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
    ",\"priority\":" + q(h.priority) + ",\"pool\":" + q(h.pool) + ",\"endpoint\":" + q(h.endpoint);
  if (h.modelOverride.length) s += ",\"modelOverride\":" + q(h.modelOverride);
  if (h.priorityIn.length) s += ",\"priorityIn\":" + q(h.priorityIn);
  s += "},\"body\":{\"enabled\":" + (c.body.enabled ? "true" : "false") + ",\"maxBytes\":" + c.body.maxBytes.toString() +
    ",\"timeoutMs\":" + c.body.timeoutMs.toString() + "}";
  const pools = new Array<string>();
  for (let i = 0; i < c.pools.length; i++) {
    const p = c.pools[i];
    let t = "{\"name\":" + q(p.name) + ",\"models\":" + list(p.models) + ",\"modelPrefixes\":" + list(p.modelPrefixes) +
      ",\"weight\":" + n(p.weight) + ",\"gpu\":" + q(p.gpu) + ",\"endpoints\":" + list(p.endpoints);
    if (p.fallback.length) t += ",\"fallback\":" + q(p.fallback);
    pools.push(t + ",\"maxInFlight\":" + p.maxInFlight.toString() + "}");
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
    o.maxEjectionPercent.toString() + "}}";
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
