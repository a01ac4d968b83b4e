// One router config → the Istio resources and Envoy fragments that deploy the filter.
import { bufferLimitFor, bufferLimitPatches } from "./buffer-limit.js";
import { createHash } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { stringify } from "yaml";
import type { RouterConfig, RouterPool } from "../config/router-config.js";
import { parsePluginConfig, type PluginConfig, type PluginConfigInput } from "../config/plugin-config.js";
import { type Problem, validateK8sObject } from "./validate.js";
import { checkVersions, requirements, versionMatrixMarkdown } from "./versions.js";

export const GENERATOR = "inference-router";
export const WASM_TYPE_URL = "type.googleapis.com/envoy.extensions.filters.http.wasm.v3.Wasm";
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
      endpoint: cfg.routing.destinationHeader,
    },
    body: { ...cfg.body, bufferLimitBytes: bufferLimitFor(cfg) },
    pools: cfg.pools.map((p, i) => ({
      name: p.name,
      models: p.models,
      modelPrefixes: p.modelPrefixes,
      weight: p.weight,
      gpu: p.gpu,
      endpoints: endpoints?.[p.name] ?? p.endpoints,
      ...(p.fallback !== undefined ? { fallback: p.fallback } : {}),
      ...(p.maxInFlight !== undefined ? { maxInFlight: p.maxInFlight } : {}),
      ...(p.metrics
        ? {
            metrics: {
              cluster: metricsClusters?.[p.name]?.cluster ?? targets[i]!.cluster,
              ...(metricsClusters?.[p.name]?.endpointClusters ? { endpointClusters: metricsClusters[p.name]!.endpointClusters } : {}),
              path: p.metrics.path,
              // vLLM's V0 KV-cache name is a fallback series of the filter's vllm preset.
              engine: p.metrics.engine === "vllm-v0" ? "vllm" : p.metrics.engine,
              ...(p.metrics.timeoutMs !== undefined ? { timeoutMs: p.metrics.timeoutMs } : {}),
              ...(p.metrics.modelLabelFilter !== undefined ? { modelLabelFilter: p.metrics.modelLabelFilter } : {}),
            },
          }
        : {}),
    })),
    models: Object.entries(cfg.priorities).map(([name, priority]) => ({ name, priority })),
    unknownModel: cfg.unknownModel,
    ...(cfg.shedding ? { shedding: cfg.shedding } : {}),
    ...(cfg.outlier ? { outlier: cfg.outlier } : {}),
    ...(cfg.polling ? { polling: cfg.polling } : {}),
    ...(cfg.loadReports ? { loadReports: cfg.loadReports } : {}),
    ...(cfg.affinity ? { affinity: cfg.affinity } : {}),
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

function workloadSelection(cfg: RouterConfig): Record<string, unknown> {
  if (cfg.workload.targetRefs) return { targetRefs: cfg.workload.targetRefs.map((r) => ({ group: r.group, kind: r.kind, name: r.name })) };
  return { selector: { matchLabels: { ...cfg.workload.selector!.matchLabels } } };
}

function envoyFilterSelection(cfg: RouterConfig): Record<string, unknown> {
  if (cfg.workload.targetRefs) return { targetRefs: cfg.workload.targetRefs.map((r) => ({ group: r.group, kind: r.kind, name: r.name })) };
  return { workloadSelector: { labels: { ...cfg.workload.selector!.matchLabels } } };
}

const ENVOY_FAILURE_POLICY = { FAIL_CLOSE: "FAIL_CLOSED", FAIL_OPEN: "FAIL_OPEN", FAIL_RELOAD: "FAIL_RELOAD" } as const;

/** The Envoy wasm filter config (envoy.extensions.filters.http.wasm.v3.Wasm) for this router. */
export function wasmFilterConfig(
  cfg: RouterConfig,
  pluginConfig: PluginConfig,
  code: Record<string, unknown>,
  name = `${cfg.namespace}.${cfg.name}`,
): Record<string, unknown> {
  return {
    "@type": WASM_TYPE_URL,
    config: {
      name,
      root_id: cfg.pluginName,
      failure_policy: ENVOY_FAILURE_POLICY[cfg.failStrategy],
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

export const ORIGINAL_DST_CAVEATS = [
  "ORIGINAL_DST sends each request to whatever ip:port the steering header names. Clients can set that header",
  "themselves: unless the filter (or an earlier filter) strips inbound copies, any caller can reach any address the proxy",
  "can reach (SSRF / spoofing). The cluster is added by EnvoyFilter, so it has no Istio transport socket: traffic to the",
  "model servers is plaintext and fails against STRICT mTLS. Prefer the default override_host output, which keeps EDS and mTLS.",
];

export function generate(cfg: RouterConfig, opts: GenerateOptions = {}): GenerateResult {
  const source = opts.source ?? "router.yaml";
  const ns = cfg.namespace;
  const pluginConfig = buildPluginConfig(cfg);
  const metrics = metricsTargets(cfg);
  const reqs = requirements(cfg, opts);
  const warnings: string[] = [];
  const files: OutputFile[] = [];
  const frontend = fqdn(cfg.frontend.host, ns);
  const sha256 = opts.wasmSha256 ?? cfg.wasm.sha256;
  const needs = (output: string) =>
    reqs
      .filter((r) => r.output === output)
      .map((r) => `#   ${r.feature}: ${r.istio ? `Istio >= ${r.istio}` : ""}${r.istio && r.envoy ? ", " : ""}${r.envoy ? `Envoy >= ${r.envoy}` : ""}`);
  const header = (output: string, what: string[]) => [
    `# Generated by ${GENERATOR} from ${source}; do not edit, rerun \`inference-router generate\`.`,
    ...what.map((l) => `# ${l}`),
    "# Needs:",
    ...needs(output),
  ];

  // --- Wasm delivery: WasmPlugin (primary unless body mode) and the ECDS EnvoyFilter alternative.
  const wasmPlugin: K8sObject = {
    apiVersion: "extensions.istio.io/v1alpha1",
    kind: "WasmPlugin",
    metadata: meta(cfg, cfg.name),
    spec: {
      ...workloadSelection(cfg),
      url: cfg.wasm.url,
      ...(sha256 ? { sha256 } : {}),
      imagePullPolicy: cfg.wasm.imagePullPolicy,
      ...(cfg.wasm.imagePullSecret ? { imagePullSecret: cfg.wasm.imagePullSecret } : {}),
      pluginName: cfg.pluginName,
      phase: cfg.phase,
      ...(cfg.priority !== undefined ? { priority: cfg.priority } : {}),
      failStrategy: cfg.failStrategy,
      type: "HTTP",
      match: [{ mode: "CLIENT" }],
      vmConfig: { env: [{ name: "INFERENCE_ROUTER_NAMESPACE", value: ns }] },
      pluginConfig,
    },
  };
  const code = cfg.wasm.url.startsWith("file://")
    ? { local: { filename: cfg.wasm.url.slice("file://".length) } }
    : { remote: { http_uri: { uri: cfg.wasm.url, cluster: "_", timeout: "30s" }, sha256: sha256 ?? "" } };
  if (!cfg.wasm.url.startsWith("file://") && !sha256)
    warnings.push("wasm.sha256 unknown: the EnvoyFilter's remote code has an empty sha256; pass --wasm build/inference-router.wasm or set wasm.sha256");
  const ecdsName = `${ns}.${cfg.name}`;
  const wasmEnvoyFilter: K8sObject = {
    apiVersion: "networking.istio.io/v1alpha3",
    kind: "EnvoyFilter",
    metadata: meta(cfg, `${cfg.name}-wasm`),
    spec: {
      ...envoyFilterSelection(cfg),
      configPatches: [
        {
          applyTo: "EXTENSION_CONFIG",
          patch: { operation: "ADD", value: { name: ecdsName, typed_config: wasmFilterConfig(cfg, pluginConfig, code, ecdsName) } },
        },
        {
          applyTo: "HTTP_FILTER",
          match: {
            context: cfg.workload.context,
            listener: {
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
                type_urls: [WASM_TYPE_URL],
              },
            },
          },
        },
        ...bufferLimitPatches(cfg),
      ],
    },
  };
  const wasmPluginText = [
    "WasmPlugin: Istio fetches the module (oci/https/file), verifies sha256 and inserts the filter.",
    `The filter steers with the ${cfg.steering === "pool" ? `\`${cfg.routing.poolHeader}\` header (pool mode)` : `\`${cfg.routing.destinationHeader}\` header (endpoint mode)`}.`,
  ];
  const envoyFilterText = [
    "EnvoyFilter alternative to the WasmPlugin: the same filter delivered over ECDS (EXTENSION_CONFIG + HTTP_FILTER",
    "INSERT_BEFORE envoy.filters.http.router), for what WasmPlugin cannot express: vm_id, failure_policy set",
    "explicitly and allow_on_headers_stop_iteration (body mode, Envoy >= 1.35). The istio-agent downloads remote",
    "code for ECDS Wasm resources and swaps in a local file, as it does for WasmPlugin.",
    "Apply either this or wasmplugin.yaml, never both (the filter would run twice).",
  ];
  if (cfg.body.enabled) {
    files.push({ path: "wasm-envoyfilter.yaml", objects: [wasmEnvoyFilter], header: header("wasm-envoyfilter.yaml", envoyFilterText), kustomize: true });
    files.push({ path: "alternatives/wasmplugin.yaml", objects: [wasmPlugin], header: header("wasmplugin.yaml", [...wasmPluginText, "Alternative only: WasmPlugin cannot enable allow_on_headers_stop_iteration, so body mode would not work."]) });
  } else {
    files.push({ path: "wasmplugin.yaml", objects: [wasmPlugin], header: header("wasmplugin.yaml", wasmPluginText), kustomize: true });
    files.push({ path: "alternatives/wasm-envoyfilter.yaml", objects: [wasmEnvoyFilter], header: header("wasm-envoyfilter.yaml", envoyFilterText) });
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
        header: header("destinationrule.yaml", [`One subset per pool without its own service; label the model-server pods \`${cfg.routing.poolLabel}: <pool>\`.`]),
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
                original_dst_lb_config: { use_http_header: true, http_header_name: cfg.routing.destinationHeader },
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
              value: { lb_policy: "CLUSTER_PROVIDED", load_balancing_policy: overrideHostPolicy(cfg.routing.destinationHeader) },
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
        `override_host load-balancing policy reading \`${cfg.routing.destinationHeader}: ip:port[,ip:port]\` (set by the filter),`,
        "falling back to least_request. The cluster keeps its EDS endpoints and Istio mTLS; a named host that is not",
        "one of the service's endpoints is skipped, so clients cannot steer outside the service.",
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
      metadata: meta(cfg, `${cfg.name}-metrics-${host.replace(/[^a-z0-9-]/g, "-").slice(0, 40).replace(/-+$/, "")}`),
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
        header: header("peerauthentication.yaml", ["The GPU model servers accept mutual-TLS traffic only (no plaintext from outside the mesh)."]),
        kustomize: true,
      });
    }
  }

  files.push({
    path: "kustomization.yaml",
    header: [`# Generated by ${GENERATOR} from ${source}; \`kubectl apply -k .\``],
    content: stringify({
      apiVersion: "kustomize.config.k8s.io/v1beta1",
      kind: "Kustomization",
      resources: files.filter((f) => f.kustomize).map((f) => f.path),
    }),
  });
  files.push({ path: "README.md", content: readme(cfg, source, files, metrics, reqs, opts) });
  return { files, pluginConfig, metrics, warnings };
}

function readme(
  cfg: RouterConfig,
  source: string,
  files: OutputFile[],
  metrics: MetricsTarget[],
  reqs: ReturnType<typeof requirements>,
  opts: GenerateOptions,
): string {
  const applied = files.filter((f) => f.kustomize).map((f) => `- \`${f.path}\``);
  const alt = files.filter((f) => f.path.startsWith("alternatives/")).map((f) => `- \`${f.path}\``);
  return [
    `# ${cfg.name} — generated Istio resources`,
    "",
    `Generated by \`inference-router generate\` from \`${source}\`. Do not edit: change the config and regenerate.`,
    `Steering mode: **${cfg.steering}**${cfg.steering === "endpoint" && opts.unsafeOriginalDst ? " (ORIGINAL_DST, unsafe)" : ""}; body mode: **${cfg.body.enabled ? "on" : "off"}**;`,
    `targets Istio ${cfg.versions.istio} / Envoy ${cfg.versions.envoy}.`,
    "",
    "Apply with `kubectl apply -k .` — it applies:",
    "",
    ...applied,
    "",
    ...(alt.length > 0 ? ["Not applied (alternatives, validated like the rest):", "", ...alt, ""] : []),
    "## Version matrix",
    "",
    versionMatrixMarkdown(reqs),
    "",
    "Istio 1.N ships Envoy 1.(N+8): 1.25/1.33, 1.26/1.34, 1.27/1.35, 1.28/1.36.",
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
  for (const f of result.files) for (const o of f.objects ?? []) problems.push(...validateK8sObject(o, f.path));
  return problems;
}

/** YAML text of an output file, header first. */
export function renderFile(f: OutputFile): string {
  const head = f.header ? `${f.header.join("\n")}\n` : "";
  if (f.content !== undefined) return head + f.content;
  const docs = (f.objects ?? []).map((o) => stringify(o, { lineWidth: 0 }));
  return head + docs.map((d, i) => (i === 0 ? d : `---\n${d}`)).join("");
}
