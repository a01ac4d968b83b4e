// Strict checking of Envoy configuration fragments against Envoy's v3 protos.
//
// The protos come from @grpc/grpc-js-xds (deps/envoy-api with its google, validate, udpa and xds
// includes) plus a small overlay of our own (src/envoy-api/overlay) for what that copy predates.
// The checker walks a YAML/JSON value the way Envoy's strict proto-JSON loading does: unknown fields
// are errors at every depth, `@type` Any values are resolved and checked recursively, enum names,
// scalar kinds, oneofs and the common protoc-gen-validate rules (message.required,
// repeated.min_items, oneof required) are enforced.
import { existsSync } from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import { fileURLToPath } from "node:url";
import protobuf from "protobufjs";

const require = createRequire(import.meta.url);

/** Root of this package (works from src/toolkit/*.ts and dist/toolkit/*.js alike). */
export const PACKAGE_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "..");
export const OVERLAY_DIR = path.join(PACKAGE_ROOT, "src", "envoy-api", "overlay");

function depsDir(): string {
  const pkg = require.resolve("@grpc/grpc-js-xds/package.json");
  return path.join(path.dirname(pkg), "deps");
}

function protobufjsDir(): string {
  return path.dirname(require.resolve("protobufjs/package.json"));
}

/** The Envoy API files the toolkit emits messages from; their imports are loaded with them. */
export const ENTRY_FILES = [
  "envoy/config/bootstrap/v3/bootstrap.proto",
  "envoy/extensions/filters/network/http_connection_manager/v3/http_connection_manager.proto",
  "envoy/extensions/filters/http/wasm/v3/wasm.proto",
  "envoy/extensions/filters/http/router/v3/router.proto",
  "envoy/extensions/load_balancing_policies/least_request/v3/least_request.proto",
  "envoy/extensions/load_balancing_policies/round_robin/v3/round_robin.proto",
  "envoy/extensions/load_balancing_policies/cluster_provided/v3/cluster_provided.proto",
  "envoy/extensions/upstreams/http/v3/http_protocol_options.proto",
  "google/protobuf/wrappers.proto",
  "google/protobuf/struct.proto",
];

/** What the overlay defines. The overlay test fails when the shipped copy defines any of these. */
export const OVERLAY_FILES = [
  "envoy/extensions/load_balancing_policies/override_host/v3/override_host.proto",
  "inference_router/overlay/wasm_plugin_config.proto",
];
export const OVERLAY_TYPES = [
  "envoy.extensions.load_balancing_policies.override_host.v3.OverrideHost",
  "envoy.extensions.wasm.v3.FailurePolicy",
  "envoy.extensions.wasm.v3.ReloadConfig",
];
/** Fields of InferenceRouterOverlayPluginConfigFields grafted onto Envoy's PluginConfig. */
const FIELD_GRAFTS: Array<{ from: string; to: string }> = [
  { from: "envoy.extensions.wasm.v3.InferenceRouterOverlayPluginConfigFields", to: "envoy.extensions.wasm.v3.PluginConfig" },
];
export const OVERLAY_FIELDS = [
  "envoy.extensions.wasm.v3.PluginConfig.failure_policy",
  "envoy.extensions.wasm.v3.PluginConfig.reload_config",
  "envoy.extensions.wasm.v3.PluginConfig.allow_on_headers_stop_iteration",
];

function makeRoot(includeDirs: string[]): protobuf.Root {
  const root = new protobuf.Root();
  root.resolvePath = (_origin: string, target: string): string | null => {
    if (path.isAbsolute(target) && existsSync(target)) return target;
    for (const dir of includeDirs) {
      const p = path.join(dir, target);
      if (existsSync(p)) return p;
    }
    return null;
  };
  return root;
}

function includeDirs(withOverlay: boolean): string[] {
  const d = depsDir();
  const dirs = [
    path.join(d, "envoy-api"),
    path.join(d, "xds"),
    path.join(d, "googleapis"),
    path.join(d, "protoc-gen-validate"),
    protobufjsDir(),
  ];
  return withOverlay ? [OVERLAY_DIR, ...dirs] : dirs;
}

/** Loads the shipped Envoy API only (no overlay). */
export function loadShippedRoot(extraFiles: string[] = []): protobuf.Root {
  const root = makeRoot(includeDirs(false));
  root.loadSync([...ENTRY_FILES, ...extraFiles], { keepCase: true });
  root.resolveAll();
  return root;
}

/** Loads the shipped Envoy API plus our overlay, fields grafted. */
export function loadEnvoyRoot(): protobuf.Root {
  const root = makeRoot(includeDirs(true));
  root.loadSync([...ENTRY_FILES, ...OVERLAY_FILES], { keepCase: true });
  const grafted: protobuf.Field[] = [];
  for (const g of FIELD_GRAFTS) {
    const from = root.lookupType(g.from);
    const to = root.lookupType(g.to);
    for (const f of from.fieldsArray) {
      if (to.fields[f.name] !== undefined || to.fieldsById[f.id] !== undefined)
        throw new Error(`overlay field ${g.to}.${f.name} (= ${f.id}) already exists in the shipped Envoy API: remove it from the overlay`);
      const copy = new protobuf.Field(f.name, f.id, f.type, f.rule === "repeated" ? "repeated" : undefined, undefined, f.options);
      to.add(copy);
      grafted.push(copy);
    }
    from.parent?.remove(from);
  }
  root.resolveAll();
  // resolveAll skips fields added after parsing; resolve the grafted ones explicitly.
  for (const f of grafted) f.resolve();
  return root;
}

let cached: EnvoyChecker | undefined;
/** One checker per process: loading the protos takes a moment. */
export function envoyChecker(): EnvoyChecker {
  cached ??= new EnvoyChecker(loadEnvoyRoot());
  return cached;
}

export interface ProtoIssue {
  path: string;
  message: string;
}

const TYPE_URL_PREFIX = "type.googleapis.com/";
const WRAPPERS: Record<string, string> = {
  "google.protobuf.DoubleValue": "double",
  "google.protobuf.FloatValue": "float",
  "google.protobuf.Int64Value": "int64",
  "google.protobuf.UInt64Value": "uint64",
  "google.protobuf.Int32Value": "int32",
  "google.protobuf.UInt32Value": "uint32",
  "google.protobuf.BoolValue": "bool",
  "google.protobuf.StringValue": "string",
  "google.protobuf.BytesValue": "bytes",
};
/** Well-known types whose JSON form is not an object of fields; inside Any they sit under "value". */
const SPECIAL_JSON = new Set([
  ...Object.keys(WRAPPERS),
  "google.protobuf.Duration",
  "google.protobuf.Timestamp",
  "google.protobuf.FieldMask",
  "google.protobuf.Struct",
  "google.protobuf.Value",
  "google.protobuf.ListValue",
]);

function camel(s: string): string {
  return s.replace(/_([a-z0-9])/g, (_m, c: string) => c.toUpperCase());
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function fullName(t: protobuf.ReflectionObject): string {
  return t.fullName.replace(/^\./, "");
}

function closest(name: string, candidates: string[]): string | undefined {
  let best: string | undefined;
  let bestD = Infinity;
  for (const c of candidates) {
    const d = editDistance(name, c);
    if (d < bestD) {
      bestD = d;
      best = c;
    }
  }
  return bestD <= Math.max(2, Math.floor(name.length / 3)) ? best : undefined;
}

function editDistance(a: string, b: string): number {
  const dp = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let prev = dp[0]!;
    dp[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const tmp = dp[j]!;
      dp[j] = Math.min(dp[j]! + 1, dp[j - 1]! + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = tmp;
    }
  }
  return dp[b.length]!;
}

export class EnvoyChecker {
  constructor(readonly root: protobuf.Root) {}

  /** True when the loaded API has a message or enum of that full name. */
  has(typeName: string): boolean {
    try {
      this.root.lookupTypeOrEnum(typeName);
      return true;
    } catch {
      return false;
    }
  }

  /** Checks `value` as a `typeName` message; returns every problem found (empty = valid). */
  check(typeName: string, value: unknown, basePath = "", opts: { partial?: boolean } = {}): ProtoIssue[] {
    const issues: ProtoIssue[] = [];
    let type: protobuf.Type;
    try {
      type = this.root.lookupType(typeName);
    } catch {
      return [{ path: basePath || "$", message: `unknown Envoy message type ${typeName}` }];
    }
    this.message(type, value, basePath, issues);
    // A partial message (EnvoyFilter MERGE) may omit the top level's required fields.
    if (opts.partial)
      return issues.filter(
        (i) => !(i.message.startsWith("required field") && i.path.split(".").length === (basePath ? basePath.split(".").length + 1 : 1)),
      );
    return issues;
  }

  private message(type: protobuf.Type, value: unknown, p: string, out: ProtoIssue[]): void {
    const name = fullName(type);
    if (SPECIAL_JSON.has(name) || name === "google.protobuf.Any" || name === "google.protobuf.Empty") {
      this.wellKnown(name, type, value, p, out);
      return;
    }
    if (value === null) return;
    if (!isPlainObject(value)) {
      out.push({ path: p || "$", message: `expected an object (${name}), got ${JSON.stringify(value)}` });
      return;
    }
    this.fields(type, value, p, out);
  }

  private fields(type: protobuf.Type, value: Record<string, unknown>, p: string, out: ProtoIssue[]): void {
    const byName = new Map<string, protobuf.Field>();
    for (const f of type.fieldsArray) {
      byName.set(f.name, f);
      byName.set(camel(f.name), f);
    }
    const seen = new Set<protobuf.Field>();
    for (const [key, v] of Object.entries(value)) {
      const kp = p ? `${p}.${key}` : key;
      const f = byName.get(key);
      if (!f) {
        const hint = closest(
          key,
          type.fieldsArray.map((x) => x.name),
        );
        out.push({
          path: kp,
          message: `unknown field "${key}" in ${fullName(type)}${hint ? ` (did you mean "${hint}"?)` : ""}`,
        });
        continue;
      }
      if (seen.has(f)) out.push({ path: kp, message: `field ${f.name} given twice (snake_case and camelCase)` });
      seen.add(f);
      this.field(f, v, kp, out);
    }
    for (const o of type.oneofsArray) {
      const set = o.fieldsArray.filter((f) => seen.has(f) && value[f.name] !== null && value[camel(f.name)] !== null);
      if (set.length > 1)
        out.push({
          path: p || "$",
          message: `only one of ${o.fieldsArray.map((f) => f.name).join(", ")} may be set (oneof ${o.name}); got ${set.map((f) => f.name).join(", ")}`,
        });
      if (set.length === 0 && o.options?.["(validate.required)"] === true)
        out.push({ path: p || "$", message: `one of ${o.fieldsArray.map((f) => f.name).join(", ")} is required (oneof ${o.name})` });
    }
    for (const f of type.fieldsArray) {
      // Inside a oneof, "required" constrains the member only when that member is the one chosen.
      if (!seen.has(f) && !f.partOf && f.options?.["(validate.rules).message.required"] === true)
        out.push({ path: p ? `${p}.${f.name}` : f.name, message: `required field ${f.name} of ${fullName(type)} is missing` });
    }
  }

  private field(f: protobuf.Field, v: unknown, p: string, out: ProtoIssue[]): void {
    if (f.map) {
      if (v === null) return;
      if (!isPlainObject(v)) {
        out.push({ path: p, message: `expected a map (object) for ${f.name}` });
        return;
      }
      for (const [k, item] of Object.entries(v)) this.single(f, item, `${p}.${k}`, out);
      return;
    }
    if (f.repeated) {
      if (v === null) return;
      if (!Array.isArray(v)) {
        out.push({ path: p, message: `expected a list for ${f.name}` });
        return;
      }
      const min = f.options?.["(validate.rules).repeated.min_items"];
      if (typeof min === "number" && v.length < min) out.push({ path: p, message: `${f.name} needs at least ${min} item(s)` });
      v.forEach((item, i) => this.single(f, item, `${p}[${i}]`, out));
      return;
    }
    this.single(f, v, p, out);
  }

  private single(f: protobuf.Field, v: unknown, p: string, out: ProtoIssue[]): void {
    const rt = f.resolvedType;
    if (rt instanceof protobuf.Type) {
      this.message(rt, v, p, out);
    } else if (rt instanceof protobuf.Enum) {
      this.enumValue(rt, v, p, out);
    } else {
      this.scalar(f.type, v, p, out);
    }
  }

  private enumValue(e: protobuf.Enum, v: unknown, p: string, out: ProtoIssue[]): void {
    if (v === null) return;
    const names = Object.keys(e.values);
    if (typeof v === "string" && names.includes(v)) return;
    if (typeof v === "number" && Object.values(e.values).includes(v)) return;
    const hint = typeof v === "string" ? closest(v, names) : undefined;
    out.push({
      path: p,
      message: `${JSON.stringify(v)} is not a value of enum ${fullName(e)} (one of ${names.join(", ")})${hint ? `; did you mean ${hint}?` : ""}`,
    });
  }

  private scalar(kind: string, v: unknown, p: string, out: ProtoIssue[]): void {
    if (v === null) return;
    const bad = (what: string): void => void out.push({ path: p, message: `expected ${what}, got ${JSON.stringify(v)}` });
    switch (kind) {
      case "string":
        if (typeof v !== "string") bad("a string");
        return;
      case "bool":
        if (typeof v !== "boolean") bad("true or false");
        return;
      case "bytes":
        if (typeof v !== "string" || !/^[A-Za-z0-9+/_-]*={0,2}$/.test(v)) bad("base64 bytes");
        return;
      case "double":
      case "float":
        if (typeof v !== "number" && !(typeof v === "string" && /^(NaN|-?Infinity|-?\d+(\.\d+)?([eE][-+]?\d+)?)$/.test(v))) bad("a number");
        return;
      default: {
        const unsigned = kind.startsWith("uint") || kind.startsWith("fixed");
        const n = typeof v === "number" ? v : typeof v === "string" && /^-?\d+$/.test(v) ? Number(v) : NaN;
        if (!Number.isInteger(n)) return bad(`an integer (${kind})`);
        if (unsigned && n < 0) return bad(`a non-negative integer (${kind})`);
        if (kind.endsWith("32") && (n > (unsigned ? 4294967295 : 2147483647) || n < -2147483648)) bad(`a ${kind} in range`);
      }
    }
  }

  private wellKnown(name: string, type: protobuf.Type, v: unknown, p: string, out: ProtoIssue[]): void {
    if (v === null) return;
    const at = p || "$";
    switch (name) {
      case "google.protobuf.Any": {
        if (!isPlainObject(v)) return void out.push({ path: at, message: "expected an Any object with @type" });
        const url = v["@type"];
        if (typeof url !== "string") return void out.push({ path: at, message: 'Any value needs "@type"' });
        const tn = url.slice(url.lastIndexOf("/") + 1);
        if (!url.startsWith(TYPE_URL_PREFIX) && !url.includes("/"))
          out.push({ path: `${at}.@type`, message: `type URL should look like ${TYPE_URL_PREFIX}<message>` });
        let inner: protobuf.Type;
        try {
          inner = this.root.lookupType(tn);
        } catch {
          return void out.push({ path: `${at}.@type`, message: `unknown or unloaded Envoy type ${tn}` });
        }
        const rest: Record<string, unknown> = { ...v };
        delete rest["@type"];
        const innerName = fullName(inner);
        if (SPECIAL_JSON.has(innerName)) {
          const extra = Object.keys(rest).filter((k) => k !== "value");
          for (const k of extra) out.push({ path: `${at}.${k}`, message: `unknown field "${k}" in Any(${innerName}): use "value"` });
          this.wellKnown(innerName, inner, rest["value"], `${at}.value`, out);
        } else {
          this.message(inner, rest, p, out);
        }
        return;
      }
      case "google.protobuf.Duration":
        if (typeof v !== "string" || !/^-?\d+(\.\d{1,9})?s$/.test(v))
          out.push({ path: at, message: `expected a duration such as "5s" or "0.250s", got ${JSON.stringify(v)}` });
        return;
      case "google.protobuf.Timestamp":
        if (typeof v !== "string" || Number.isNaN(Date.parse(v))) out.push({ path: at, message: "expected an RFC 3339 timestamp" });
        return;
      case "google.protobuf.FieldMask":
        if (typeof v !== "string") out.push({ path: at, message: "expected a field mask string" });
        return;
      case "google.protobuf.Struct":
        if (!isPlainObject(v)) out.push({ path: at, message: "expected an object (Struct)" });
        return;
      case "google.protobuf.ListValue":
        if (!Array.isArray(v)) out.push({ path: at, message: "expected a list (ListValue)" });
        return;
      case "google.protobuf.Value":
        return;
      case "google.protobuf.Empty":
        if (!isPlainObject(v) || Object.keys(v).length > 0) out.push({ path: at, message: "expected {} (Empty)" });
        return;
      default: {
        const kind = WRAPPERS[name];
        if (kind) this.scalar(kind, v, at, out);
        else this.message(type, v, p, out);
      }
    }
  }
}

/** Envoy message type a Istio EnvoyFilter patch value is parsed as, per applyTo. */
export const ENVOY_FILTER_PATCH_TYPES: Record<string, string> = {
  LISTENER: "envoy.config.listener.v3.Listener",
  FILTER_CHAIN: "envoy.config.listener.v3.FilterChain",
  NETWORK_FILTER: "envoy.config.listener.v3.Filter",
  HTTP_FILTER: "envoy.extensions.filters.network.http_connection_manager.v3.HttpFilter",
  ROUTE_CONFIGURATION: "envoy.config.route.v3.RouteConfiguration",
  VIRTUAL_HOST: "envoy.config.route.v3.VirtualHost",
  HTTP_ROUTE: "envoy.config.route.v3.Route",
  CLUSTER: "envoy.config.cluster.v3.Cluster",
  EXTENSION_CONFIG: "envoy.config.core.v3.TypedExtensionConfig",
  BOOTSTRAP: "envoy.config.bootstrap.v3.Bootstrap",
  LISTENER_FILTER: "envoy.config.listener.v3.ListenerFilter",
};
