// What the structural schemas (istio-schemas.json, from the npm package's type declarations) cannot say: the
// CRDs' value constraints and x-kubernetes-validations (CEL) rules, istiod's validating-webhook rules that matter
// for what the toolkit emits, and where Istio 1.24–1.31 differ. Sources (istio/istio, tag commits as in versions.ts):
//   CRDs: manifests/charts/base/files/crd-all.gen.yaml @ 734e100e (1.24.6) … 423f108b (1.31.0-rc.0)
//   webhook: pkg/config/validation/validation.go (ValidateWasmPlugin, validatePolicyTargetReference,
//   validateOneOfSelectorType) and pkg/config/validation/envoyfilter/envoyfilter.go @ ff49c188 (1.28.10)
import { atLeast } from "./versions.js";

export interface RuleProblem {
  path: string;
  message: string;
}

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === "object" && v !== null && !Array.isArray(v);
const arr = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);

const DNS1123_SUBDOMAIN = /^(?=.{1,253}$)[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;
const LABEL_KEY = /^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$/;
const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]{0,61})?[A-Za-z0-9])?$/;
const INT32 = (v: unknown) => typeof v === "number" && Number.isInteger(v) && v >= -2147483648 && v <= 2147483647;

/** [group, kind] pairs istiod accepts in targetRefs; GatewayClass from 1.26 (allowedTargetRefs). */
function allowedTargetRefs(istio: string): Array<[string, string]> {
  const list: Array<[string, string]> = [
    ["", "Service"],
    ["core", "Service"],
    ["networking.istio.io", "ServiceEntry"],
    ["gateway.networking.k8s.io", "Gateway"],
  ];
  if (atLeast(istio, "1.26")) list.push(["gateway.networking.k8s.io", "GatewayClass"]);
  return list;
}

function metadataRules(o: Obj, out: RuleProblem[]): void {
  const m = o["metadata"];
  if (!isObj(m)) return void out.push({ path: "metadata", message: "metadata is required" });
  if (typeof m["name"] !== "string" || !DNS1123_SUBDOMAIN.test(m["name"]))
    out.push({ path: "metadata.name", message: "must be a DNS-1123 subdomain (lower-case letters, digits, '-', '.', at most 253)" });
  if (m["namespace"] !== undefined && (typeof m["namespace"] !== "string" || !DNS1123_LABEL.test(m["namespace"])))
    out.push({ path: "metadata.namespace", message: "must be a DNS-1123 label" });
  for (const k of ["labels", "annotations"]) {
    const l = m[k];
    if (l === undefined) continue;
    if (!isObj(l)) out.push({ path: `metadata.${k}`, message: "must be a map of strings" });
    else
      for (const [key, v] of Object.entries(l)) {
        if (!LABEL_KEY.test(key)) out.push({ path: `metadata.${k}.${key}`, message: "invalid key" });
        if (typeof v !== "string" || (k === "labels" && !LABEL_VALUE.test(v)))
          out.push({ path: `metadata.${k}.${key}`, message: "invalid value" });
      }
  }
  const known = new Set([
    "name",
    "namespace",
    "labels",
    "annotations",
    "generateName",
    "uid",
    "resourceVersion",
    "generation",
    "creationTimestamp",
    "deletionTimestamp",
    "deletionGracePeriodSeconds",
    "ownerReferences",
    "finalizers",
    "managedFields",
    "selfLink",
  ]);
  for (const k of Object.keys(m)) if (!known.has(k)) out.push({ path: `metadata.${k}`, message: `unknown field "${k}"` });
}

function matchLabelsRules(labels: unknown, at: string, out: RuleProblem[]): void {
  if (!isObj(labels)) return;
  for (const [k, v] of Object.entries(labels)) {
    if (k.length === 0) out.push({ path: at, message: "key must not be empty" });
    if (k.includes("*")) out.push({ path: `${at}.${k}`, message: "wildcard not allowed in label key match" });
    if (typeof v === "string" && v.includes("*")) out.push({ path: `${at}.${k}`, message: "wildcard not allowed in label value match" });
    if (typeof v === "string" && v.length > 63) out.push({ path: `${at}.${k}`, message: "must be at most 63 characters" });
  }
}

function targetRefRules(spec: Obj, istio: string, out: RuleProblem[]): void {
  const refs = arr(spec["targetRefs"]);
  if (refs.length > 16) out.push({ path: "spec.targetRefs", message: "must have at most 16 items" });
  const allowed = allowedTargetRefs(istio);
  refs.forEach((r, i) => {
    const at = `spec.targetRefs[${i}]`;
    if (!isObj(r)) return;
    const group = typeof r["group"] === "string" ? r["group"] : "";
    const kind = String(r["kind"] ?? "");
    if (typeof r["name"] !== "string" || r["name"].length === 0 || r["name"].length > 253)
      out.push({ path: `${at}.name`, message: "targetRef name must be set (1-253 characters)" });
    if (typeof r["namespace"] === "string" && r["namespace"].length > 0)
      out.push({ path: `${at}.namespace`, message: "cross namespace referencing is not currently supported" });
    if (group !== "" && !/^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/.test(group))
      out.push({ path: `${at}.group`, message: "must be a DNS subdomain or empty" });
    if (!allowed.some(([g, k]) => g === group && k === kind))
      out.push({
        path: at,
        message: `targetRef must be to one of ${allowed.map(([g, k]) => `${g || '""'}/${k}`).join(", ")} but was ${group || '""'}/${kind} (Istio ${istio})`,
      });
  });
}

/** WasmPlugin spec and TrafficExtension spec.wasm share these fields. */
function wasmModuleRules(m: Obj, at: string, out: RuleProblem[]): void {
  const url = m["url"];
  if (typeof url !== "string" || url.length === 0) out.push({ path: `${at}.url`, message: "url field needs to be set" });
  else {
    const scheme = /^([a-zA-Z][a-zA-Z0-9+.-]*):\/\//.exec(url)?.[1]?.toLowerCase() ?? "";
    if (!["", "http", "https", "file", "oci"].includes(scheme))
      out.push({ path: `${at}.url`, message: "url must have schema one of [http, https, file, oci]" });
    if (/\s/.test(url)) out.push({ path: `${at}.url`, message: "url must not contain whitespace" });
  }
  if (m["sha256"] !== undefined && (typeof m["sha256"] !== "string" || !/^(|[a-f0-9]{64})$/.test(m["sha256"])))
    out.push({ path: `${at}.sha256`, message: "must match (^$|^[a-f0-9]{64}$)" });
  const pn = m["pluginName"];
  if (pn !== undefined && (typeof pn !== "string" || pn.length < 1 || pn.length > 256))
    out.push({ path: `${at}.pluginName`, message: "must be 1-256 characters" });
  const ps = m["imagePullSecret"];
  if (ps !== undefined && (typeof ps !== "string" || ps.length < 1 || ps.length > 253))
    out.push({ path: `${at}.imagePullSecret`, message: "must be 1-253 characters" });
  const env = isObj(m["vmConfig"]) ? arr(m["vmConfig"]["env"]) : [];
  if (env.length > 256) out.push({ path: `${at}.vmConfig.env`, message: "must have at most 256 items" });
  const names = new Set<string>();
  env.forEach((e, i) => {
    if (!isObj(e)) return;
    const p = `${at}.vmConfig.env[${i}]`;
    const n = e["name"];
    if (typeof n !== "string" || n.length < 1 || n.length > 256) out.push({ path: `${p}.name`, message: "must be 1-256 characters" });
    else if (names.has(n)) out.push({ path: `${p}.name`, message: `duplicate entry "${n}" (list-map key)` });
    else names.add(n);
    if (typeof e["value"] === "string" && e["value"].length > 2048)
      out.push({ path: `${p}.value`, message: "must be at most 2048 characters" });
    if (e["valueFrom"] === "HOST" && e["value"] !== undefined)
      out.push({ path: p, message: "value may only be set when valueFrom is INLINE" });
  });
  if (m["pluginConfig"] !== undefined && !isObj(m["pluginConfig"])) out.push({ path: `${at}.pluginConfig`, message: "must be an object" });
}

function extensionRules(spec: Obj, istio: string, out: RuleProblem[]): void {
  if (spec["selector"] !== undefined && (spec["targetRefs"] !== undefined || spec["targetRef"] !== undefined))
    out.push({ path: "spec", message: "only one of targetRefs or selector can be set" });
  if (isObj(spec["selector"])) matchLabelsRules(spec["selector"]["matchLabels"], "spec.selector.matchLabels", out);
  targetRefRules(spec, istio, out);
  if (spec["priority"] !== undefined && !INT32(spec["priority"])) out.push({ path: "spec.priority", message: "must be a 32-bit integer" });
  arr(spec["match"]).forEach((sel, i) => {
    if (!isObj(sel)) return;
    const seen = new Set<number>();
    arr(sel["ports"]).forEach((p, j) => {
      const n = isObj(p) ? p["number"] : undefined;
      if (typeof n !== "number" || !Number.isInteger(n) || n < 1 || n > 65535)
        out.push({ path: `spec.match[${i}].ports[${j}].number`, message: "must be an integer from 1 to 65535" });
      else if (seen.has(n)) out.push({ path: `spec.match[${i}].ports[${j}].number`, message: `duplicate port ${n} (list-map key)` });
      else seen.add(n);
    });
  });
}

const LISTENER_CLASS = new Set(["LISTENER", "FILTER_CHAIN", "NETWORK_FILTER", "HTTP_FILTER"]);
const ROUTE_CLASS = new Set(["ROUTE_CONFIGURATION", "VIRTUAL_HOST", "HTTP_ROUTE"]);

function envoyFilterRules(spec: Obj, istio: string, out: RuleProblem[]): void {
  if (spec["workloadSelector"] !== undefined && spec["targetRefs"] !== undefined)
    out.push({ path: "spec", message: "only one of targetRefs or workloadSelector can be set" });
  if (isObj(spec["workloadSelector"])) matchLabelsRules(spec["workloadSelector"]["labels"], "spec.workloadSelector.labels", out);
  targetRefRules(spec, istio, out);
  if (spec["priority"] !== undefined && !INT32(spec["priority"])) out.push({ path: "spec.priority", message: "must be a 32-bit integer" });
  arr(spec["configPatches"]).forEach((cp, i) => {
    const at = `spec.configPatches[${i}]`;
    if (!isObj(cp)) return void out.push({ path: at, message: "Envoy filter: null config patch" });
    const applyTo = cp["applyTo"];
    if (applyTo === undefined || applyTo === "INVALID")
      return void out.push({ path: `${at}.applyTo`, message: "Envoy filter: missing applyTo" });
    const patch = cp["patch"];
    if (!isObj(patch)) return void out.push({ path: `${at}.patch`, message: "Envoy filter: missing patch" });
    if (patch["operation"] === undefined || patch["operation"] === "INVALID")
      out.push({ path: `${at}.patch.operation`, message: "Envoy filter: missing patch operation" });
    else if (patch["operation"] !== "REMOVE" && patch["value"] === undefined)
      out.push({ path: `${at}.patch.value`, message: "Envoy filter: missing patch value for non-remove operation" });
    const m = cp["match"];
    if (!isObj(m)) return;
    const ctx = m["context"];
    if (m["waypoint"] !== undefined && ctx !== "WAYPOINT")
      out.push({ path: `${at}.match`, message: "only support waypointMatch when context is WAYPOINT" });
    const objectType = ["listener", "routeConfiguration", "cluster", "waypoint"].filter((k) => m[k] !== undefined);
    if (objectType.length > 1)
      out.push({
        path: `${at}.match`,
        message: `set at most one of listener, routeConfiguration, cluster, waypoint (have ${objectType.join(", ")})`,
      });
    const a = String(applyTo);
    if (LISTENER_CLASS.has(a) && objectType.length > 0 && m["listener"] === undefined)
      out.push({ path: `${at}.match`, message: "Envoy filter: applyTo for listener class objects cannot have non listener match" });
    if (ROUTE_CLASS.has(a) && objectType.length > 0 && m["routeConfiguration"] === undefined)
      out.push({
        path: `${at}.match`,
        message: "Envoy filter: applyTo for http route class objects cannot have non route configuration match",
      });
    if (a === "CLUSTER" && objectType.length > 0 && m["cluster"] === undefined)
      out.push({ path: `${at}.match`, message: "Envoy filter: applyTo for cluster class objects cannot have non cluster match" });
    const filter = isObj(m["listener"]) && isObj(m["listener"]["filterChain"]) ? m["listener"]["filterChain"]["filter"] : undefined;
    if (isObj(filter)) {
      if (typeof filter["name"] !== "string" || filter["name"] === "")
        out.push({ path: `${at}.match.listener.filterChain.filter.name`, message: "Envoy filter: filter match has no name to match on" });
      if (filter["subFilter"] !== undefined) {
        if (a !== "HTTP_FILTER")
          out.push({ path: `${at}.match`, message: "Envoy filter: subfilter match can be used with applyTo HTTP_FILTER only" });
        if (filter["name"] !== "envoy.filters.network.http_connection_manager" && filter["name"] !== "envoy.http_connection_manager")
          out.push({
            path: `${at}.match`,
            message: "Envoy filter: subfilter match requires filter match with envoy.filters.network.http_connection_manager",
          });
      }
    }
    const portNumber = isObj(m["listener"]) ? m["listener"]["portNumber"] : undefined;
    if (
      portNumber !== undefined &&
      (typeof portNumber !== "number" || !Number.isInteger(portNumber) || portNumber < 0 || portNumber > 65535)
    )
      out.push({ path: `${at}.match.listener.portNumber`, message: "must be a port number" });
  });
}

function portNumberRule(v: unknown, at: string, out: RuleProblem[]): void {
  if (v !== undefined && (typeof v !== "number" || !Number.isInteger(v) || v < 1 || v > 65535))
    out.push({ path: at, message: "must be an integer from 1 to 65535" });
}

function virtualServiceRules(spec: Obj, out: RuleProblem[]): void {
  const hosts = arr(spec["hosts"]);
  if (hosts.length === 0) out.push({ path: "spec.hosts", message: "virtual service must have at least one host" });
  arr(spec["http"]).forEach((h, i) => {
    if (!isObj(h)) return;
    if (h["route"] === undefined && h["redirect"] === undefined && h["directResponse"] === undefined && h["delegate"] === undefined)
      out.push({ path: `spec.http[${i}]`, message: "HTTP route, redirect, direct response or delegate is required" });
    arr(h["route"]).forEach((r, j) => {
      const d = isObj(r) ? r["destination"] : undefined;
      if (!isObj(d) || typeof d["host"] !== "string" || d["host"] === "")
        out.push({ path: `spec.http[${i}].route[${j}].destination.host`, message: "destination.host is required" });
      else portNumberRule(isObj(d["port"]) ? d["port"]["number"] : undefined, `spec.http[${i}].route[${j}].destination.port.number`, out);
    });
  });
}

function destinationRuleRules(spec: Obj, out: RuleProblem[]): void {
  if (typeof spec["host"] !== "string" || spec["host"] === "") out.push({ path: "spec.host", message: "host is required" });
  const names = new Set<string>();
  arr(spec["subsets"]).forEach((s, i) => {
    if (!isObj(s)) return;
    const n = s["name"];
    if (typeof n !== "string" || !DNS1123_LABEL.test(n)) out.push({ path: `spec.subsets[${i}].name`, message: "must be a DNS-1123 label" });
    else if (names.has(n)) out.push({ path: `spec.subsets[${i}].name`, message: `duplicate subset "${n}"` });
    else names.add(n);
  });
}

function selectorPolicyRules(spec: Obj, istio: string, out: RuleProblem[]): void {
  if (spec["selector"] !== undefined && (spec["targetRefs"] !== undefined || spec["targetRef"] !== undefined))
    out.push({ path: "spec", message: "only one of targetRefs or selector can be set" });
  if (isObj(spec["selector"])) matchLabelsRules(spec["selector"]["matchLabels"], "spec.selector.matchLabels", out);
  targetRefRules(spec, istio, out);
}

/** Rules for one object of a known kind, for a target Istio version. */
export function istioRules(o: Obj, istio: string): RuleProblem[] {
  const out: RuleProblem[] = [];
  metadataRules(o, out);
  const spec = isObj(o["spec"]) ? o["spec"] : {};
  switch (o["kind"]) {
    case "WasmPlugin":
      extensionRules(spec, istio, out);
      wasmModuleRules(spec, "spec", out);
      // FAIL_RELOAD joins the enum in 1.27 (crd-all.gen.yaml @ b9159ca3).
      if (spec["failStrategy"] === "FAIL_RELOAD" && !atLeast(istio, "1.27"))
        out.push({
          path: "spec.failStrategy",
          message: `FAIL_RELOAD is not in Istio ${istio}'s enum (allowed: FAIL_CLOSE, FAIL_OPEN; FAIL_RELOAD from 1.27)`,
        });
      break;
    case "TrafficExtension":
      extensionRules(spec, istio, out);
      if ((spec["wasm"] !== undefined) === (spec["lua"] !== undefined))
        out.push({ path: "spec", message: "exactly one of wasm or lua must be set" });
      if (isObj(spec["wasm"])) wasmModuleRules(spec["wasm"], "spec.wasm", out);
      break;
    case "EnvoyFilter":
      envoyFilterRules(spec, istio, out);
      break;
    case "VirtualService":
      virtualServiceRules(spec, out);
      break;
    case "DestinationRule":
      destinationRuleRules(spec, out);
      break;
    case "AuthorizationPolicy":
    case "PeerAuthentication":
      selectorPolicyRules(spec, istio, out);
      break;
    case "ServiceEntry":
      if (arr(spec["hosts"]).length === 0) out.push({ path: "spec.hosts", message: "ServiceEntry must have at least one host" });
      arr(spec["hosts"]).forEach((h, i) => h === "*" && out.push({ path: `spec.hosts[${i}]`, message: "hostname cannot be wildcard" }));
      arr(spec["ports"]).forEach((p, i) => portNumberRule(isObj(p) ? p["number"] : undefined, `spec.ports[${i}].number`, out));
      break;
  }
  return out;
}
