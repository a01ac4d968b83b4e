// One router config → the Istio resources and Envoy fragments that deploy the filter.
import { bufferLimitFor, bufferLimitPatches } from "./buffer-limit.js";
import { presetOf, speaksOrca } from "../config/engines.js";
import { createHash } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { stringify } from "yaml";
import type { RouterConfig, RouterPool } from "../config/router-config.js";
import { parsePluginConfig, type PluginConfig, type PluginConfigInput } from "../config/plugin-config.js";
import { type Problem, validateK8sObject } from "./validate.js";
import { observabilityFiles, validateObservability } from "./observability.js";
import { checkVersions, FEATURES, requirements, supports, targetOf, versionMatrixMarkdown, wasmDelivery } from "./versions.js";
import { TARGET_REF_GROUPS } from "../config/router-config.js";
import { packageWasm } from "./oci.js";

export const GENERATOR = "inference-router";
export const WASM_TYPE_URL = "type.googleapis.com/envoy.extensions.filters.http.wasm.v3.Wasm";
// When the agent cannot fetch a module it answers the ECDS request with an RBAC filter in its place (allow-all for
// FAIL_OPEN, deny-all otherwise: istio/istio pkg/wasm/convert.go @ ff49c188 (1.28.10) createHTTPDefaultFilter), so
// the filter's config_discovery must accept that type too — Istio's own WasmPlugin conversion lists both
// (pilot/pkg/networking/core/extension/wasmplugin.go toEnvoyHTTPFilter @ ff49c188).
export const RBAC_TYPE_URL = "type.googleapis.com/envoy.extensions.filters.http.rbac.v3.RBAC";
export const OVERRIDE_HOST_TYPE_URL = "type.googleapis.com/envoy.extensions.load_balancing_policies.override_host.v3.OverrideHost";
export const LEAST_REQUEST_TYPE_URL = "type.googleapis.com/envoy.extensions.load_balancing_policies.least_request.v3.LeastRequest";
export const STRING_VALUE_TYPE_URL = "type.googleapis.com/google.protobuf.StringValue";

export type K8sObject = Record<string, unknown> & { apiVersion: string; kind: string; metadata: { name: string; namespace?: string } };

export interface OutputFile {
  /** Path relative to the output directory. */
  path: string;
  /** Kubernetes objects (YAML documents) — absent for non-YAML files. */
  objects?: K8sObject[];
  /** Comment lines written above the YAML. */
  header?: string[];
  /** Raw content for non-object files (README, kustomization). */
  content?: string;
  /** Listed in kustomization.yaml. */
  kustomize?: boolean;
}

export interface GenerateOptions {
  /** Config file name shown in headers (basename only, to keep output stable). */
  source?: string;
  /** sha256 of the built module (hex), wins over the config's. */
  wasmSha256?: string;
  /** The built module itself: for oci:// urls the digest of the image `package` makes from it is used. */
  wasm?: Buffer;
  /** Istio version to generate for (wins over versions.istio). */
  istio?: string;
  /** Endpoint mode via an ORIGINAL_DST cluster instead of override_host (unsafe, see caveats). */
  unsafeOriginalDst?: boolean;
}

export interface MetricsTarget {
  pool: string;
  cluster: string;
  host?: string;
  port?: number;
  path: string;
  engine: string;
  /** Cluster exists only once a ServiceEntry is applied. */
  serviceEntry: boolean;
}

export interface GenerateResult {
  files: OutputFile[];
  pluginConfig: PluginConfig;
  metrics: MetricsTarget[];
  warnings: string[];
}

export function fqdn(host: string, namespace: string): string {
  return host.includes(".") ? host : `${host}.${namespace}.svc.cluster.local`;
}

export function istioClusterName(port: number, host: string, subset = ""): string {
  return `outbound|${port}|${subset}|${host}`;
}

export function sha256File(path: string): string {
  return createHash("sha256").update(readFileSync(path)).digest("hex");
}

/** The module the config's file:// url points to, when it exists. */
export function localWasmPath(cfg: RouterConfig): string | undefined {
  if (!cfg.wasm.url.startsWith("file://")) return undefined;
  const p = cfg.wasm.url.slice("file://".length);
  return existsSync(p) ? p : undefined;
}

/** The filter's own configuration, built from the router config and checked by the filter's schema. */
/** Where a pool's metrics calls go when the caller knows better than the Istio naming (local test beds). */
export interface MetricsClusterOverride {
  cluster: string;
  /** Per endpoint `ip:port` → cluster holding only that endpoint. */
  endpointClusters?: Record<string, string>;
}

export function buildPluginConfig(
  cfg: RouterConfig,
  endpoints?: Record<string, string[]>,
  metricsClusters?: Record<string, MetricsClusterOverride>,
  /** :authority values per pool (poolHosts); without them the filter acts on every request (local test beds). */
  hosts?: Record<string, string[]>,
): PluginConfig {
  // Pools with a metrics source poll the cluster metricsTargets() resolves (explicit, service or subset cluster).
  const targets = metricsTargets(cfg);
  const input: PluginConfigInput = {
    name: cfg.pluginName,
    steering: cfg.steering,
    headers: {
      protocol: "x-inference-protocol",
      model: "x-inference-model",
      class: "x-inference-class",
      priority: "x-inference-priority",
      pool: cfg.routing.poolHeader,
      endpoint: cfg.routing.endpointHeader,
      ...(cfg.modelHeader ? { modelOverride: cfg.modelHeader } : {}),
    },
    body: { ...cfg.body, bufferLimitBytes: bufferLimitFor(cfg) },
    pools: cfg.pools.map((p, i) => ({
      name: p.name,
      models: p.models,
      modelPrefixes: p.modelPrefixes,
      ...(p.weight !== undefined ? { weight: p.weight } : {}),
      gpu: p.gpu,
      endpoints: endpoints?.[p.name] ?? p.endpoints,
      hosts: hosts?.[p.name] ?? [],
      ...(p.fallback !== undefined ? { fallback: p.fallback } : {}),
      ...(p.maxInFlight !== undefined ? { maxInFlight: p.maxInFlight } : {}),
      // An engine whose ORCA answer differs from its preset's (vllm-v0 answers none; the vllm preset's default asks)
      // is written explicitly, so the filter's per-pool default never asks a server that cannot answer.
      ...(p.orca !== undefined
        ? { orca: p.orca }
        : p.metrics && speaksOrca(p.metrics.engine) !== speaksOrca(presetOf(p.metrics.engine) ?? p.metrics.engine)
          ? { orca: speaksOrca(p.metrics.engine) }
          : {}),
      ...(p.metrics
        ? {
            metrics: {
              cluster: metricsClusters?.[p.name]?.cluster ?? targets[i]!.cluster,
              ...(metricsClusters?.[p.name]?.endpointClusters ? { endpointClusters: metricsClusters[p.name]!.endpointClusters } : {}),
              path: p.metrics.path,
              // vLLM's V0 KV-cache name is a fallback series of the filter's vllm preset.
              engine: presetOf(p.metrics.engine)!,
              ...(p.metrics.timeoutMs !== undefined ? { timeoutMs: p.metrics.timeoutMs } : {}),
              ...(p.metrics.modelLabelFilter !== undefined ? { modelLabelFilter: p.metrics.modelLabelFilter } : {}),
            },
          }
        : {}),
    })),
    models: Object.entries(cfg.priorities).map(([name, priority]) => ({ name, priority })),
    unknownModel: cfg.unknownModel,
    ...(cfg.scoring ? { scoring: cfg.scoring } : {}),
    ...(cfg.saturation ? { saturation: cfg.saturation } : {}),
    ...(cfg.capacity ? { capacity: cfg.capacity } : {}),
    ...(cfg.shedding ? { shedding: cfg.shedding } : {}),
    ...(cfg.outlier ? { outlier: cfg.outlier } : {}),
    ...(cfg.polling ? { polling: cfg.polling } : {}),
    ...(cfg.loadReports ? { loadReports: cfg.loadReports } : {}),
    ...(cfg.affinity ? { affinity: cfg.affinity } : {}),
    ...(cfg.decisionTrace ? { decisionTrace: cfg.decisionTrace } : {}),
  };
  return parsePluginConfig(input);
}

export function metricsTargets(cfg: RouterConfig): MetricsTarget[] {
  return cfg.pools.map((p: RouterPool) => {
    const m = p.metrics;
    const path = m?.path ?? "/metrics";
    const engine = m?.engine ?? "vllm";
    if (m?.cluster) return { pool: p.name, cluster: m.cluster, path, engine, serviceEntry: false };
    const rawHost = m?.service ?? p.service?.host ?? cfg.frontend.host;
    const host = m?.external ? rawHost : fqdn(rawHost, cfg.namespace);
    const port = m?.port ?? p.service?.port ?? cfg.frontend.port;
    // A pool that is a DestinationRule subset of the frontend has its own subset cluster in pool mode.
    const subset = cfg.steering === "pool" && !m?.service && !p.service ? p.name : "";
    return { pool: p.name, cluster: istioClusterName(port, host, subset), host, port, path, engine, serviceEntry: m?.external ?? false };
  });
}

function meta(cfg: RouterConfig, name: string): { name: string; namespace: string; labels: Record<string, string> } {
  return { name, namespace: cfg.namespace, labels: { "app.kubernetes.io/managed-by": GENERATOR, "app.kubernetes.io/part-of": cfg.name } };
}

/** targetRefs with each kind's own group: istiod accepts no other (pkg/config/validation/validation.go allowedTargetRefs). */
function targetRefs(cfg: RouterConfig): Array<{ group: string; kind: string; name: string }> {
  return (cfg.workload.targetRefs ?? []).map((r) => ({ group: TARGET_REF_GROUPS[r.kind], kind: r.kind, name: r.name }));
}

function workloadSelection(cfg: RouterConfig): Record<string, unknown> {
  if (cfg.workload.targetRefs) return { targetRefs: targetRefs(cfg) };
  return { selector: { matchLabels: { ...cfg.workload.selector!.matchLabels } } };
}

function envoyFilterSelection(cfg: RouterConfig): Record<string, unknown> {
  if (cfg.workload.targetRefs) return { targetRefs: targetRefs(cfg) };
  return { workloadSelector: { labels: { ...cfg.workload.selector!.matchLabels } } };
}

/** The service ports the filter must see: the frontend's and each pool service's. */
export function servicePorts(cfg: RouterConfig): number[] {
  return [...new Set([cfg.frontend.port, ...cfg.pools.flatMap((p) => (p.service ? [p.service.port] : []))])].sort((a, b) => a - b);
}

/**
 * Every :authority a client can use for a Kubernetes service, the way Istio names it in its outbound route
 * domains (pilot/pkg/networking/core/httproute.go generateVirtualHostDomains and
 * generateAltVirtualHostsForKubernetesService @ ff49c188 (1.28.10): the FQDN, name.ns.svc and name.ns, plus the
 * short name only for callers in the same namespace; each with and without the port).
 */
export function serviceAuthorities(host: string, port: number, namespace: string, clientNamespace: string): string[] {
  const names: string[] = [];
  const m = /^([a-z0-9-]+)\.([a-z0-9-]+)\.svc\.(.+)$/.exec(host);
  if (m) {
    const [, name, ns] = m;
    names.push(host, `${name}.${ns}.svc`, `${name}.${ns}`);
    if (ns === clientNamespace) names.push(name!);
  } else if (!host.includes(".")) {
    names.push(`${host}.${namespace}.svc.cluster.local`, `${host}.${namespace}.svc`, `${host}.${namespace}`);
    if (namespace === clientNamespace) names.push(host);
  } else names.push(host);
  return names.flatMap((n) => [n, `${n}:${port}`]);
}

/** The :authority values the filter acts on, per pool (the frontend's, the pool's own service's and the extras). */
export function poolHosts(cfg: RouterConfig): Record<string, string[]> {
  const frontend = serviceAuthorities(cfg.frontend.host, cfg.frontend.port, cfg.namespace, cfg.namespace);
  const out: Record<string, string[]> = {};
  for (const p of cfg.pools) {
    const own = p.service ? serviceAuthorities(p.service.host, p.service.port, cfg.namespace, cfg.namespace) : [];
    out[p.name] = [...new Set([...frontend, ...cfg.frontend.authorities, ...own])];
  }
  return out;
}

const ENVOY_FAILURE_POLICY = { FAIL_CLOSE: "FAIL_CLOSED", FAIL_OPEN: "FAIL_OPEN", FAIL_RELOAD: "FAIL_RELOAD" } as const;

/** The Envoy wasm filter config (envoy.extensions.filters.http.wasm.v3.Wasm) for this router. */
export function wasmFilterConfig(
  cfg: RouterConfig,
  pluginConfig: PluginConfig,
  code: Record<string, unknown>,
  name = `${cfg.namespace}.${cfg.name}`,
  target: { istio?: string; envoy?: string } = {},
): Record<string, unknown> {
  // failure_policy where the target passes it through; otherwise the deprecated fail_open (never both: Envoy
  // rejects the pair). FAIL_RELOAD is refused for such targets by checkVersions/checkEnvoy.
  const failure = supports(target, "failurePolicy")
    ? { failure_policy: ENVOY_FAILURE_POLICY[cfg.failStrategy] }
    : cfg.failStrategy === "FAIL_OPEN"
      ? { fail_open: true }
      : {};
  return {
    "@type": WASM_TYPE_URL,
    config: {
      name,
      root_id: cfg.pluginName,
      ...failure,
      ...(cfg.body.enabled ? { allow_on_headers_stop_iteration: true } : {}),
      vm_config: {
        vm_id: cfg.pluginName,
        runtime: "envoy.wasm.runtime.v8",
        code,
      },
      configuration: { "@type": STRING_VALUE_TYPE_URL, value: JSON.stringify(pluginConfig) },
    },
  };
}

/** override_host on a cluster: the filter's header picks the endpoint, least_request otherwise. */
export function overrideHostPolicy(header: string): Record<string, unknown> {
  return {
    policies: [
      {
        typed_extension_config: {
          name: "envoy.load_balancing_policies.override_host",
          typed_config: {
            "@type": OVERRIDE_HOST_TYPE_URL,
            override_host_sources: [{ header }],
            fallback_policy: {
              policies: [
                {
                  typed_extension_config: {
                    name: "envoy.load_balancing_policies.least_request",
                    typed_config: { "@type": LEAST_REQUEST_TYPE_URL },
                  },
                },
              ],
            },
          },
        },
      },
    ],
  };
}

/** What happens when the module cannot be fetched or fails, per failStrategy (pkg/wasm/convert.go @ ff49c188). */
export const FAILURE_TEXT: Record<RouterConfig["failStrategy"], string> = {
  FAIL_OPEN:
    "failStrategy FAIL_OPEN: if the module cannot be fetched the agent puts an allow-all RBAC filter in its place and traffic flows unsteered; if it traps, requests skip it.",
  FAIL_CLOSE:
    "failStrategy FAIL_CLOSE: if the module cannot be fetched the agent puts a deny-all RBAC filter in its place: every request through these listeners gets 403 until it loads.",
  FAIL_RELOAD:
    "failStrategy FAIL_RELOAD: a trapped VM is reloaded; if the module cannot be fetched the agent puts a deny-all RBAC filter in its place (403) until it loads.",
};

export interface WasmDigest {
  /** Value for WasmPlugin/TrafficExtension `sha256` and the ECDS remote code `sha256` (hex), if known. */
  sha256?: string;
  /** One line for the output's header saying what the digest is. */
  note: string;
  warnings: string[];
}

/**
 * The digest proxies check the module against. For https:// and file:// the agent hashes the module bytes
 * (istio/istio pkg/wasm/cache.go getOrFetch, sha256.Sum256(b), @ ff49c188 (1.28.10)); for oci:// it compares the
 * image MANIFEST digest (pkg/wasm/imagefetcher.go PrepareFetch: img.Digest()), or takes the digest pinned in an
 * `@sha256:` url when none is given (cache.go getEntry). Giving the module's own hash for an oci:// url makes
 * every fetch fail the check.
 */
export function wasmDigest(cfg: RouterConfig, opts: GenerateOptions): WasmDigest {
  const url = cfg.wasm.url;
  const warnings: string[] = [];
  if (!url.startsWith("oci://")) {
    const sha256 = opts.wasmSha256 ?? (opts.wasm ? createHash("sha256").update(opts.wasm).digest("hex") : cfg.wasm.sha256);
    return {
      ...(sha256 ? { sha256 } : {}),
      note: sha256
        ? "sha256: the module's own hash (what the agent checks for https:// and file:// urls)."
        : "No sha256: the module is not verified (set wasm.sha256 or pass --wasm).",
      warnings,
    };
  }
  const pinned = /@sha256:([0-9a-f]{64})$/.exec(url)?.[1];
  if (opts.wasmSha256 && !opts.wasm)
    warnings.push("a module hash was given for an oci:// url: the agent checks the image manifest digest instead, so it is not used");
  if (pinned) {
    if (cfg.wasm.sha256 && cfg.wasm.sha256 !== pinned)
      warnings.push(`wasm.sha256 differs from the digest pinned in wasm.url; the url's (the image manifest digest) is used`);
    return {
      sha256: pinned,
      note: "sha256: the image manifest digest pinned in the url (what the agent checks for oci:// urls).",
      warnings,
    };
  }
  if (opts.wasm) {
    const manifest = packageWasm(opts.wasm).manifest.digest.slice("sha256:".length);
    return {
      sha256: manifest,
      note: "sha256: manifest digest of the image `inference-router package` builds from this module (reproducible); push exactly that image.",
      warnings,
    };
  }
  if (cfg.wasm.sha256)
    return { sha256: cfg.wasm.sha256, note: "sha256: wasm.sha256, which for an oci:// url must be the image manifest digest.", warnings };
  return {
    note: "No sha256: the agent takes whatever image the tag points to (pin it with --wasm, wasm.sha256 or url@sha256:).",
    warnings,
  };
}

/** The module fields a WasmPlugin spec and a TrafficExtension's `wasm` share (sidecar, gateway and waypoint). */
export function wasmModuleSpec(
  cfg: RouterConfig,
  sha256: string | undefined,
  ns: string,
  pluginConfig: PluginConfig,
): Record<string, unknown> {
  return {
    url: cfg.wasm.url,
    ...(sha256 ? { sha256 } : {}),
    imagePullPolicy: cfg.wasm.imagePullPolicy,
    ...(cfg.wasm.imagePullSecret ? { imagePullSecret: cfg.wasm.imagePullSecret } : {}),
    pluginName: cfg.pluginName,
    failStrategy: cfg.failStrategy,
    type: "HTTP",
    vmConfig: { env: [{ name: "INFERENCE_ROUTER_NAMESPACE", value: ns }] },
    pluginConfig,
  };
}

export const ORIGINAL_DST_CAVEATS = [
  "ORIGINAL_DST sends each request to whatever ip:port the steering header names. Clients can set that header",
  "themselves: unless the filter (or an earlier filter) strips inbound copies, any caller can reach any address the proxy",
  "can reach (SSRF / spoofing). The cluster is added by EnvoyFilter, so it has no Istio transport socket: traffic to the",
  "model servers is plaintext and fails against STRICT mTLS. Prefer the default override_host output, which keeps EDS and mTLS.",
];

export function generate(cfg: RouterConfig, opts: GenerateOptions = {}): GenerateResult {
  const source = opts.source ?? "router.yaml";
  const ns = cfg.namespace;
  const pluginConfig = buildPluginConfig(cfg, undefined, undefined, poolHosts(cfg));
  const metrics = metricsTargets(cfg);
  const reqs = requirements(cfg, opts);
  const warnings: string[] = [];
  const files: OutputFile[] = [];
  const frontend = fqdn(cfg.frontend.host, ns);
  const digest = wasmDigest(cfg, opts);
  const sha256 = digest.sha256;
  const target = targetOf(cfg, opts.istio);
  const needs = (output: string) =>
    reqs
      .filter((r) => r.output === output || r.output === "(all)")
      .map((r) => FEATURES[r.feature])
      .map(
        (f) =>
          `#   ${f.title}: ${f.istio ? `Istio >= ${f.istio}` : ""}${f.istio && f.envoy ? ", " : ""}${f.envoy ? `Envoy >= ${f.envoy}` : ""}`,
      );
  const header = (output: string, what: string[]) => [
    `# Generated by ${GENERATOR} from ${source} for Istio ${target.istio}; do not edit, rerun \`inference-router generate\`.`,
    ...what.map((l) => `# ${l}`),
    "# Needs:",
    ...needs(output),
  ];
  warnings.push(...digest.warnings);

  // --- Wasm delivery: WasmPlugin / TrafficExtension (body mode off) or the ECDS EnvoyFilter (body mode on).
  // In sidecars the filter only runs on the listeners of the inference service ports (WasmPlugin match.ports,
  // validated in pkg/config/validation/validation.go validateWasmPluginMatch); a gateway's listener ports are
  // its own, so there it runs on every port and the filter's :authority scope does the narrowing.
  const ports = cfg.workload.context === "SIDECAR_OUTBOUND" ? servicePorts(cfg) : [];
  const match = [{ mode: "CLIENT", ...(ports.length > 0 ? { ports: ports.map((number) => ({ number })) } : {}) }];
  const wasmCommon = wasmModuleSpec(cfg, sha256, ns, pluginConfig);
  const wasmPlugin: K8sObject = {
    apiVersion: "extensions.istio.io/v1alpha1",
    kind: "WasmPlugin",
    metadata: meta(cfg, cfg.name),
    spec: {
      ...workloadSelection(cfg),
      ...wasmCommon,
      phase: cfg.phase,
      ...(cfg.priority !== undefined ? { priority: cfg.priority } : {}),
      match,
    },
  };
  // TrafficExtension (Istio >= 1.30) moves the module fields under `wasm:` and renames phase UNSPECIFIED_PHASE to
  // UNSPECIFIED (manifests/charts/base/files/crd-all.gen.yaml @ 56df41f6 (1.30.3)).
  const trafficExtension: K8sObject = {
    apiVersion: "extensions.istio.io/v1alpha1",
    kind: "TrafficExtension",
    metadata: meta(cfg, cfg.name),
    spec: {
      ...workloadSelection(cfg),
      phase: cfg.phase === "UNSPECIFIED_PHASE" ? "UNSPECIFIED" : cfg.phase,
      ...(cfg.priority !== undefined ? { priority: cfg.priority } : {}),
      match,
      wasm: wasmCommon,
    },
  };
  const code = cfg.wasm.url.startsWith("file://")
    ? { local: { filename: cfg.wasm.url.slice("file://".length) } }
    : { remote: { http_uri: { uri: cfg.wasm.url, cluster: "_", timeout: "30s" }, sha256: sha256 ?? "" } };
  if (!cfg.wasm.url.startsWith("file://") && !sha256 && cfg.body.enabled)
    warnings.push(
      "wasm.sha256 unknown: the EnvoyFilter's remote code has an empty sha256, so the agent takes whatever the url serves; pass --wasm build/inference-router.wasm or set wasm.sha256",
    );
  const ecdsName = `${ns}.${cfg.name}`;
  // One HTTP_FILTER insertion per service port in sidecars (listener portNumber), one for every listener in gateways.
  const listenerMatches = ports.length > 0 ? ports.map((p) => ({ portNumber: p })) : [{}];
  const wasmEnvoyFilter: K8sObject = {
    apiVersion: "networking.istio.io/v1alpha3",
    kind: "EnvoyFilter",
    metadata: meta(cfg, `${cfg.name}-wasm`),
    spec: {
      ...envoyFilterSelection(cfg),
      configPatches: [
        {
          applyTo: "EXTENSION_CONFIG",
          patch: {
            operation: "ADD",
            value: { name: ecdsName, typed_config: wasmFilterConfig(cfg, pluginConfig, code, ecdsName, { istio: target.istio }) },
          },
        },
        ...listenerMatches.map((l) => ({
          applyTo: "HTTP_FILTER",
          match: {
            context: cfg.workload.context,
            listener: {
              ...l,
              filterChain: {
                filter: { name: "envoy.filters.network.http_connection_manager", subFilter: { name: "envoy.filters.http.router" } },
              },
            },
          },
          patch: {
            operation: "INSERT_BEFORE",
            value: {
              name: ecdsName,
              config_discovery: {
                config_source: { ads: {}, initial_fetch_timeout: "0s", resource_api_version: "V3" },
                type_urls: [WASM_TYPE_URL, RBAC_TYPE_URL],
              },
            },
          },
        })),
        ...bufferLimitPatches(cfg, ports),
      ],
    },
  };
  const failText = FAILURE_TEXT[cfg.failStrategy];
  const wasmPluginText = [
    "WasmPlugin: Istio's agent fetches the module (oci/https/file), checks sha256 and inserts the filter",
    `${ports.length > 0 ? `on the listeners of port(s) ${ports.join(", ")}` : "on every listener"}; the filter itself acts only on requests to the pools' services.`,
    `The filter steers with the ${cfg.steering === "pool" ? `\`${cfg.routing.poolHeader}\` header (pool mode)` : `\`${cfg.routing.endpointHeader}\` header (endpoint mode)`}.`,
    digest.note,
    failText,
  ];
  const envoyFilterText = [
    "The filter delivered over ECDS (EXTENSION_CONFIG + HTTP_FILTER INSERT_BEFORE envoy.filters.http.router), for what",
    "WasmPlugin cannot express: allow_on_headers_stop_iteration (body mode), vm_id, failure_policy set explicitly.",
    "The istio-agent downloads remote code for ECDS Wasm resources and swaps in a local file, as for WasmPlugin;",
    "type_urls lists the RBAC filter type too, because that is what the agent sends when the module cannot be fetched.",
    digest.note,
    failText,
    "Apply either this or the WasmPlugin/TrafficExtension, never both (the filter would run twice).",
  ];
  const delivery = wasmDelivery(cfg);
  if (delivery === "EnvoyFilter") {
    files.push({
      path: "wasm-envoyfilter.yaml",
      objects: [wasmEnvoyFilter],
      header: header("wasm-envoyfilter.yaml", envoyFilterText),
      kustomize: true,
    });
    files.push({
      path: "alternatives/wasmplugin.yaml",
      objects: [wasmPlugin],
      header: header("wasmplugin.yaml", [
        ...wasmPluginText,
        "Alternative only: WasmPlugin cannot enable allow_on_headers_stop_iteration, so body mode would not work.",
      ]),
    });
  } else if (delivery === "TrafficExtension") {
    files.push({
      path: "trafficextension.yaml",
      objects: [trafficExtension],
      header: header("trafficextension.yaml", [
        "TrafficExtension (Istio >= 1.30, the successor of WasmPlugin):",
        ...wasmPluginText.slice(1),
      ]),
      kustomize: true,
    });
    files.push({
      path: "alternatives/wasm-envoyfilter.yaml",
      objects: [wasmEnvoyFilter],
      header: header("wasm-envoyfilter.yaml", envoyFilterText),
    });
  } else {
    files.push({ path: "wasmplugin.yaml", objects: [wasmPlugin], header: header("wasmplugin.yaml", wasmPluginText), kustomize: true });
    files.push({
      path: "alternatives/wasm-envoyfilter.yaml",
      objects: [wasmEnvoyFilter],
      header: header("wasm-envoyfilter.yaml", envoyFilterText),
    });
  }

  // --- Steering.
  const context = cfg.workload.context;
  if (cfg.steering === "pool") {
    const subsets = cfg.pools.filter((p) => !p.service);
    const vs: K8sObject = {
      apiVersion: "networking.istio.io/v1",
      kind: "VirtualService",
      metadata: meta(cfg, cfg.name),
      spec: {
        hosts: [frontend],
        ...(cfg.frontend.gateways ? { gateways: cfg.frontend.gateways } : {}),
        http: [
          ...cfg.pools.map((p) => ({
            name: `pool-${p.name}`,
            match: [{ headers: { [cfg.routing.poolHeader]: { exact: p.name } } }],
            route: [
              {
                destination: p.service
                  ? { host: fqdn(p.service.host, ns), port: { number: p.service.port } }
                  : { host: frontend, subset: p.name, port: { number: cfg.frontend.port } },
              },
            ],
          })),
          { name: "default", route: [{ destination: { host: frontend, port: { number: cfg.frontend.port } } }] },
        ],
      },
    };
    files.push({
      path: "virtualservice.yaml",
      objects: [vs],
      header: header("virtualservice.yaml", [
        `Pool steering: the filter writes \`${cfg.routing.poolHeader}: <pool>\`; writing a request header clears Envoy's route`,
        "cache, so these header-match routes are re-evaluated and send the request to that pool. Requests without the",
        "header (filter failed open, unknown model in passthrough mode) take the default route.",
      ]),
      kustomize: true,
    });
    if (subsets.length > 0) {
      const dr: K8sObject = {
        apiVersion: "networking.istio.io/v1",
        kind: "DestinationRule",
        metadata: meta(cfg, cfg.name),
        spec: {
          host: frontend,
          trafficPolicy: { loadBalancer: { simple: "LEAST_REQUEST" } },
          subsets: subsets.map((p) => ({ name: p.name, labels: { [cfg.routing.poolLabel]: p.name } })),
        },
      };
      files.push({
        path: "destinationrule.yaml",
        objects: [dr],
        header: header("destinationrule.yaml", [
          `One subset per pool without its own service; label the model-server pods \`${cfg.routing.poolLabel}: <pool>\`.`,
        ]),
        kustomize: true,
      });
    }
  } else if (opts.unsafeOriginalDst) {
    warnings.push(...ORIGINAL_DST_CAVEATS);
    const clusterName = `${cfg.name}-original-dst`;
    const ef: K8sObject = {
      apiVersion: "networking.istio.io/v1alpha3",
      kind: "EnvoyFilter",
      metadata: meta(cfg, `${cfg.name}-original-dst`),
      spec: {
        ...envoyFilterSelection(cfg),
        configPatches: [
          {
            applyTo: "CLUSTER",
            match: { context },
            patch: {
              operation: "ADD",
              value: {
                name: clusterName,
                type: "ORIGINAL_DST",
                lb_policy: "CLUSTER_PROVIDED",
                connect_timeout: "5s",
                original_dst_lb_config: { use_http_header: true, http_header_name: cfg.routing.endpointHeader },
              },
            },
          },
          {
            applyTo: "HTTP_ROUTE",
            match: { context, routeConfiguration: { vhost: { name: `${frontend}:${cfg.frontend.port}` } } },
            patch: { operation: "MERGE", value: { route: { cluster: clusterName } } },
          },
        ],
      },
    };
    files.push({
      path: "original-dst-envoyfilter.yaml",
      objects: [ef],
      header: header("original-dst-envoyfilter.yaml", ["UNSAFE endpoint steering (--unsafe-original-dst).", ...ORIGINAL_DST_CAVEATS]),
      kustomize: true,
    });
  } else {
    const ef: K8sObject = {
      apiVersion: "networking.istio.io/v1alpha3",
      kind: "EnvoyFilter",
      metadata: meta(cfg, `${cfg.name}-override-host`),
      spec: {
        ...envoyFilterSelection(cfg),
        configPatches: [
          {
            applyTo: "CLUSTER",
            match: { context, cluster: { service: frontend, portNumber: cfg.frontend.port } },
            patch: {
              operation: "MERGE",
              value: { lb_policy: "CLUSTER_PROVIDED", load_balancing_policy: overrideHostPolicy(cfg.routing.endpointHeader) },
            },
          },
        ],
      },
    };
    files.push({
      path: "override-host-envoyfilter.yaml",
      objects: [ef],
      header: header("override-host-envoyfilter.yaml", [
        `Endpoint steering: MERGE into Istio's own cluster ${istioClusterName(cfg.frontend.port, frontend)} an`,
        `override_host load-balancing policy reading \`${cfg.routing.endpointHeader}: ip:port[,ip:port]\` (set by the filter),`,
        "with fallback policy least_request (requests without the header, or naming no endpoint of the service). The",
        "cluster keeps its EDS endpoints and Istio mTLS; a named host that is not one of the service's endpoints is",
        "skipped, so clients cannot steer outside the service. Headless services (ORIGINAL_DST clusters) are refused.",
      ]),
      kustomize: true,
    });
    // Envoy refuses a cluster that has both load_balancing_policy and common_lb_config.locality_weighted_lb_config,
    // which Istio sets when locality failover/distribute applies (pilot/pkg/networking/core/cluster_traffic_policy.go
    // applyLocalityLoadBalancer @ ff49c188). A MERGE cannot delete a field, so locality load balancing is switched
    // off for this host at the source: GetLocalityLbSetting returns nil for `enabled: false`
    // (pilot/pkg/networking/core/loadbalancer/loadbalancer.go @ ff49c188). The filter's picks replace it anyway.
    const dr: K8sObject = {
      apiVersion: "networking.istio.io/v1",
      kind: "DestinationRule",
      metadata: meta(cfg, `${cfg.name}-endpoint`),
      spec: { host: frontend, trafficPolicy: { loadBalancer: { localityLbSetting: { enabled: false } } } },
    };
    files.push({
      path: "destinationrule.yaml",
      objects: [dr],
      header: header("destinationrule.yaml", [
        `Endpoint steering: locality load balancing off for ${frontend}, so Istio never puts locality_weighted_lb_config`,
        "next to the override_host policy (Envoy rejects the pair). Merge this into your own DestinationRule for the host",
        "if you have one (Istio uses one traffic policy per host), and leave ENABLE_LOCALITY_WEIGHTED_LB_CONFIG off in istiod.",
      ]),
      kustomize: true,
    });
  }

  // --- Metrics sources.
  const external = metrics.filter((m) => m.serviceEntry);
  if (external.length > 0) {
    const byHost = new Map<string, MetricsTarget[]>();
    for (const m of external) byHost.set(m.host!, [...(byHost.get(m.host!) ?? []), m]);
    const entries: K8sObject[] = [...byHost.entries()].map(([host, ms]) => ({
      apiVersion: "networking.istio.io/v1",
      kind: "ServiceEntry",
      metadata: meta(
        cfg,
        `${cfg.name}-metrics-${host
          .replace(/[^a-z0-9-]/g, "-")
          .slice(0, 40)
          .replace(/-+$/, "")}`,
      ),
      spec: {
        hosts: [host],
        location: "MESH_EXTERNAL",
        resolution: "DNS",
        ports: [...new Set(ms.map((m) => m.port!))].map((p) => ({ number: p, name: `http-metrics-${p}`, protocol: "HTTP" })),
      },
    }));
    files.push({
      path: "serviceentry-metrics.yaml",
      objects: entries,
      header: header("serviceentry-metrics.yaml", [
        "Metrics hosts outside the mesh registry: a ServiceEntry makes Istio push a cluster for each to the proxy, so the filter's",
        "proxy_http_call to it finds the cluster:",
        ...external.map((m) => `  pool ${m.pool}: ${m.cluster} ${m.path} (${m.engine})`),
      ]),
      kustomize: true,
    });
  }

  // --- Hardening.
  const h = cfg.hardening;
  if (h) {
    const principals = [...h.allowedPrincipals, ...h.allowedServiceAccounts.map((s) => `${h.trustDomain}/ns/${s.namespace}/sa/${s.name}`)];
    const selector = h.gpuWorkloads ? { selector: { matchLabels: { ...h.gpuWorkloads.matchLabels } } } : {};
    if (!h.gpuWorkloads) warnings.push(`hardening.gpuWorkloads not set: the policies apply to every workload in namespace ${ns}`);
    if (principals.length > 0) {
      files.push({
        path: "authorizationpolicy.yaml",
        objects: [
          {
            apiVersion: "security.istio.io/v1",
            kind: "AuthorizationPolicy",
            metadata: meta(cfg, `${cfg.name}-gpu-clients`),
            spec: { ...selector, action: "ALLOW", rules: [{ from: [{ source: { principals } }] }] },
          },
        ],
        header: header("authorizationpolicy.yaml", [
          "Only the named client workloads (mTLS identities) reach the GPU model servers; everything else gets 403.",
          "Remember the router's own proxies: their service account must be listed for the filter's metrics calls.",
        ]),
        kustomize: true,
      });
    }
    if (h.peerAuthenticationStrict) {
      files.push({
        path: "peerauthentication.yaml",
        objects: [
          {
            apiVersion: "security.istio.io/v1",
            kind: "PeerAuthentication",
            metadata: meta(cfg, `${cfg.name}-gpu-strict`),
            spec: { ...selector, mtls: { mode: "STRICT" } },
          },
        ],
        header: header("peerauthentication.yaml", [
          "The GPU model servers accept mutual-TLS traffic only (no plaintext from outside the mesh).",
        ]),
        kustomize: true,
      });
    }
  }

  files.push(...observabilityFiles(cfg, pluginConfig, source)); // not in kustomization: needs Prometheus Operator / mesh config
  files.push({
    path: "kustomization.yaml",
    header: [`# Generated by ${GENERATOR} from ${source}; \`kubectl apply -k .\``],
    content: stringify({
      apiVersion: "kustomize.config.k8s.io/v1beta1",
      kind: "Kustomization",
      resources: files.filter((f) => f.kustomize).map((f) => f.path),
    }),
  });
  files.push({
    path: "README.md",
    content: readme(cfg, source, files, metrics, reqs, opts, [...new Set(Object.values(poolHosts(cfg)).flat())]),
  });
  return { files, pluginConfig, metrics, warnings };
}

function readme(
  cfg: RouterConfig,
  source: string,
  files: OutputFile[],
  metrics: MetricsTarget[],
  reqs: ReturnType<typeof requirements>,
  opts: GenerateOptions,
  hosts: string[],
): string {
  const applied = files.filter((f) => f.kustomize).map((f) => `- \`${f.path}\``);
  const alt = files.filter((f) => f.path.startsWith("alternatives/")).map((f) => `- \`${f.path}\``);
  const t = targetOf(cfg, opts.istio);
  const mo = cfg.modelHeader;
  return [
    `# ${cfg.name} — generated Istio resources`,
    "",
    `Generated by \`inference-router generate\` from \`${source}\`. Do not edit: change the config and regenerate.`,
    `Steering mode: **${cfg.steering}**${cfg.steering === "endpoint" && opts.unsafeOriginalDst ? " (ORIGINAL_DST, unsafe)" : ""}; body mode: **${cfg.body.enabled ? "on" : "off"}**;`,
    `generated for Istio ${t.istio} (Envoy ${t.envoy}).`,
    "",
    "Apply with `kubectl apply -k .` (or `inference-router generate … -o - | kubectl apply -f -`) — it applies:",
    "",
    ...applied,
    "",
    ...(alt.length > 0 ? ["Not applied (alternatives, validated like the rest):", "", ...alt, ""] : []),
    "## What is steered, what passes untouched",
    "",
    `The filter acts only on requests whose \`:authority\` is one of: ${hosts.map((h) => `\`${h}\``).join(", ")}.`,
    "Every other request from these proxies (other services, external APIs) passes unsteered: the filter only removes its own `x-inference-*` / steering headers.",
    "",
    ...(cfg.body.enabled
      ? [
          "Body mode is on: OpenAI-style requests (`/v1/chat/completions`, `/v1/completions`, `/v1/embeddings`, …) are held until",
          `the first ${cfg.body.maxBytes} bytes of the body are read, the \`model\` is taken from the JSON, and the request is steered.`,
          "Requests whose model is in the path or headers (KServe v2, TGI, Triton, TF Serving) are steered from their headers.",
        ]
      : mo
        ? [
            `Body mode is off (the target cannot deliver bodies to a paused filter): OpenAI-style requests are steered when the client`,
            `sends the model in the trusted header \`${mo}\` (set it in your client or gateway; it is read only on requests to the`,
            "services above). Without it they pass untouched, routed by Istio as usual. Requests whose model is in the path",
            "(KServe v2, Triton, TF Serving) are steered from their headers.",
          ]
        : [
            "Body mode is off and no model header is configured: OpenAI-style requests (model only in the JSON body) pass untouched,",
            "routed by Istio as usual. Requests whose model is in the path (KServe v2, Triton, TF Serving) are steered.",
          ]),
    "",
    "## Version matrix",
    "",
    versionMatrixMarkdown(reqs),
    "",
    "Istio 1.N ships Envoy 1.(N+8): 1.24/1.32 … 1.31/1.39. `inference-router generate --istio-version X` refuses what X lacks.",
    "",
    "## Metrics sources",
    "",
    "The Istio cluster each pool's load signals are read from (what `istioctl proxy-config clusters` must list on the router's proxies):",
    "",
    "| Pool | Cluster | Path | Engine | Made to exist by |",
    "| --- | --- | --- | --- | --- |",
    ...metrics.map(
      (m) =>
        `| ${m.pool} | \`${m.cluster.replace(/\|/g, "\\|")}\` | ${m.path} | ${m.engine} | ${m.serviceEntry ? "serviceentry-metrics.yaml" : m.host ? "the Kubernetes Service (keep it in the proxies' Sidecar egress hosts if you restrict them)" : "you (existing cluster)"} |`,
    ),
    "",
  ].join("\n");
}

/** Validates every generated object (Istio CRD schemas + Envoy protos) and the config's version needs. */
export function validateGenerated(cfg: RouterConfig, result: GenerateResult, source: string, opts: GenerateOptions = {}): Problem[] {
  const problems: Problem[] = [...checkVersions(cfg, source, opts)];
  const istio = targetOf(cfg, opts.istio).istio;
  for (const f of result.files) for (const o of f.objects ?? []) problems.push(...validateK8sObject(o, f.path, { istio }));
  problems.push(...validateObservability(result.files, result.pluginConfig.name));
  return problems;
}

/** YAML text of an output file, header first. */
export function renderFile(f: OutputFile): string {
  const head = f.header ? `${f.header.join("\n")}\n` : "";
  if (f.content !== undefined) return head + f.content;
  const docs = (f.objects ?? []).map((o) => stringify(o, { lineWidth: 0 }));
  return head + docs.map((d, i) => (i === 0 ? d : `---\n${d}`)).join("");
}
