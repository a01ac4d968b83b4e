// THE version table: what each Istio minor 1.24–1.31 (and the Envoy minor it ships, 1.32–1.39) can take, and the
// check of a router config against the version it targets. Every entry says where upstream the fact comes from
// (file and commit); the commits are the release tags' commits in github.com/istio/istio (I), istio/proxy (P).
//
//   I 1.24.6  734e100e0cfbc22f431613b49b8932a700da6b35   P c72ea79f32… (Envoy 1.32)
//   I 1.25.5  60cf0ca3bf5cdb0e1ae69a5cd845f09ba39d28ca   P ab5b0d32f5… (Envoy 1.33)
//   I 1.26.8  4ea27a1efd955d5ed1db8b817d3c8dd70a7ae52a   P 51e3efe76b3f7d4f81ad159701829f8a97f81600 (Envoy 1.34)
//   I 1.27.9  b9159ca3e5d56b05f69f3a58d687b8767d5639dd   P a2abd28fd2e938454fb8a04a3b471f1f52e16c9d (Envoy 1.35)
//   I 1.28.10 ff49c1889ebad8d444b8f82425a2fd326c039e54   P 6aa6f06f5c5ff0d8ef4d3cff073f73be90f05d22 (Envoy 1.36)
//   I 1.29.6  7019d6d3608e4995e9a36d2977cfec3a341431cd   P 8f4f69324c5c9271faad34c13e2e20a558669121 (Envoy 1.37)
//   I 1.30.3  56df41f63e513f834c9a3af33d8aed82d1d961f2   P 81864a1cd5099d2f9e1289bfc604f4b200b2b27c (Envoy 1.38)
//   I 1.31.0-rc.0 423f108b5459fd9fd93929e2004861f2f14e3492 P 99b153254193a4990fd0cb44c7c5539a825ca446 (Envoy 1.39)
//
// Istio minor N ships Envoy minor N+8: istio/istio `istio.deps` PROXY_REPO_SHA → istio/proxy `WORKSPACE` ENVOY_SHA
// at each commit above.
import type { RouterConfig } from "../config/router-config.js";
import type { Problem } from "./validate.js";

/** Istio minors this table covers (oldest first). */
export const ISTIO_MINORS = ["1.24", "1.25", "1.26", "1.27", "1.28", "1.29", "1.30", "1.31"] as const;
export type IstioMinor = (typeof ISTIO_MINORS)[number];
/** Envoy minors those Istio minors ship. */
export const ENVOY_MINORS = ["1.32", "1.33", "1.34", "1.35", "1.36", "1.37", "1.38", "1.39"] as const;

export interface Feature {
  /** What a user would call it (used in refusals). */
  title: string;
  /** Oldest Istio minor whose istiod/CRDs accept it and whose proxy runs it. */
  istio?: string;
  /** Oldest Envoy minor that runs it (for bare Envoy, `local --envoy-image`). */
  envoy?: string;
  /** Where upstream that minimum comes from. */
  source: string;
}

const FEATURE_TABLE = {
  overrideHost: {
    title: "endpoint steering (envoy.load_balancing_policies.override_host in a CLUSTER patch)",
    istio: "1.27",
    envoy: "1.35",
    // istiod resolves EnvoyFilter `@type`s only against the go-control-plane packages imported by
    // pkg/config/xds/filter_types.gen.go: override_host/v3 is imported at I 1.27.9 (line 240), not at I 1.26.8, so
    // 1.26 rejects the EnvoyFilter ("referenced type unknown", pkg/config/validation/envoyfilter/envoyfilter.go).
    // The extension is first compiled into the proxy in istio/proxy bazel/extension_config/extensions_build_config.bzl
    // at P a2abd28f (Envoy 1.35), absent at P 51e3efe7 (Envoy 1.34).
    source:
      "istio/istio pkg/config/xds/filter_types.gen.go @ b9159ca3 (1.27.9); istio/proxy bazel/extension_config/extensions_build_config.bzl @ a2abd28f",
  },
  bodyMode: {
    title: "body mode (allow_on_headers_stop_iteration on the Wasm filter)",
    istio: "1.28",
    envoy: "1.35",
    // PluginConfig.allow_on_headers_stop_iteration is field 9 of envoy/extensions/wasm/v3/wasm.proto (Envoy 1.35).
    // istiod converts EnvoyFilter values with unknown fields allowed (pilot/pkg/model/envoyfilter.go →
    // BuildXDSObjectFromStruct(…, false)), so a field its go-control-plane lacks is silently dropped: I 1.27.9 go.mod
    // pins go-control-plane/envoy v1.32.5-0.20250627145903-197b96a9c7f8 (no field 9), I 1.28.10 go.mod v1.37.0 (has it).
    source:
      "istio/istio go.mod @ ff49c188 (1.28.10: go-control-plane/envoy v1.37.0) vs @ b9159ca3 (1.27.9); pilot/pkg/model/envoyfilter.go",
  },
  failReload: {
    title: "failStrategy FAIL_RELOAD",
    istio: "1.27",
    envoy: "1.33",
    // WasmPlugin spec.failStrategy enum in manifests/charts/base/files/crd-all.gen.yaml gains FAIL_RELOAD at I 1.27.9;
    // Envoy's PluginConfig.failure_policy (FAIL_RELOAD) is in Envoy 1.33 (changelogs/1.33.0.yaml).
    source: "istio/istio manifests/charts/base/files/crd-all.gen.yaml @ b9159ca3 (1.27.9) vs @ 4ea27a1e (1.26.8)",
  },
  failurePolicy: {
    title: "Wasm PluginConfig.failure_policy",
    istio: "1.25",
    envoy: "1.33",
    // istiod drops EnvoyFilter fields its go-control-plane lacks (pilot/pkg/model/envoyfilter.go): I 1.24.6 go.mod pins
    // github.com/envoyproxy/go-control-plane v0.13.1-0.20241009135036-bec043f2e850, whose wasm PluginConfig has no
    // failure_policy (only fail_open); I 1.25.5's v1.32.4-0.20250114143102-4eb1955954fa has it. Below it the toolkit
    // writes the deprecated fail_open instead, which the agent also reads (pkg/wasm/convert.go httpWasmFailOpen).
    source: "istio/istio go.mod @ 734e100e (1.24.6) vs @ 60cf0ca3 (1.25.5); pkg/wasm/convert.go",
  },
  targetRefsGateway: {
    title: "targetRefs kind Gateway (group gateway.networking.k8s.io)",
    istio: "1.24",
    // allowedTargetRefs in pkg/config/validation/validation.go: Service, ServiceEntry, KubernetesGateway from 1.24.6
    // (+ GatewayClass from 1.26); the group must be the kind's canonical group ("" = core for Service).
    source: "istio/istio pkg/config/validation/validation.go allowedTargetRefs @ 734e100e (1.24.6), @ ff49c188 (1.28.10)",
  },
  targetRefsService: {
    title: "targetRefs kind Service / ServiceEntry (waypoints only)",
    istio: "1.24",
    // pilot/pkg/model/policyattachment.go: a Service or ServiceEntry targetRef matches only when p.IsWaypoint.
    source: "istio/istio pilot/pkg/model/policyattachment.go @ ff49c188 (1.28.10) lines 154-175",
  },
  wasmPluginMatchPorts: {
    title: "WasmPlugin match.ports",
    istio: "1.24",
    source: "istio/istio pkg/config/validation/validation.go validateWasmPluginMatch @ 734e100e (1.24.6)",
  },
  trafficExtension: {
    title: "TrafficExtension extensions.istio.io/v1alpha1 (WasmPlugin's successor)",
    istio: "1.30",
    // Kind TrafficExtension is first served in manifests/charts/base/files/crd-all.gen.yaml at I 1.30.3.
    source: "istio/istio manifests/charts/base/files/crd-all.gen.yaml @ 56df41f6 (1.30.3)",
  },
  wasmPlugin: {
    title: "WasmPlugin extensions.istio.io/v1alpha1",
    istio: "1.24",
    source: "istio/istio manifests/charts/base/files/crd-all.gen.yaml @ 734e100e (1.24.6)",
  },
  networkingV1: {
    title: "networking.istio.io/v1 and security.istio.io/v1 APIs",
    istio: "1.24",
    source: "istio/istio manifests/charts/base/files/crd-all.gen.yaml @ 734e100e (1.24.6): v1 served",
  },
} as const satisfies Record<string, Feature>;

export type FeatureName = keyof typeof FEATURE_TABLE;
/** Every version-dependent feature the toolkit can emit. */
export const FEATURES: Record<FeatureName, Feature> = FEATURE_TABLE;

export function parseVersion(v: string): [number, number] {
  const m = /^v?(\d+)\.(\d+)/.exec(v.trim());
  return m ? [Number(m[1]), Number(m[2])] : [0, 0];
}

export function atLeast(have: string, need: string): boolean {
  const [a, b] = parseVersion(have);
  const [c, d] = parseVersion(need);
  return a > c || (a === c && b >= d);
}

/** The Envoy minor an Istio minor ships with. */
export function envoyOfIstio(istio: string): string {
  const [maj, min] = parseVersion(istio);
  return maj === 1 ? `1.${min + 8}` : "0.0";
}

/** The minor ("1.28") of a version string ("1.28.3", "v1.28"). */
export function minorOf(v: string): string {
  const [a, b] = parseVersion(v);
  return `${a}.${b}`;
}

/**
 * Whether an Istio version (`target.istio`) and/or a bare Envoy version (`target.envoy`) has a feature. A feature
 * without an Envoy minimum is an Istio-only concept: a bare-Envoy target does not have it.
 */
export function supports(target: { istio?: string; envoy?: string }, feature: FeatureName): boolean {
  const f: Feature = FEATURES[feature];
  if (target.istio !== undefined && (f.istio === undefined || !atLeast(target.istio, f.istio))) return false;
  if (target.envoy !== undefined && (f.envoy === undefined ? target.istio === undefined : !atLeast(target.envoy, f.envoy))) return false;
  return true;
}

/** One line naming the feature, its minimum and the target, for refusals. */
export function shortfall(feature: FeatureName, target: { istio?: string; envoy?: string }): string {
  const f: Feature = FEATURES[feature];
  if (target.istio !== undefined && f.istio !== undefined && !atLeast(target.istio, f.istio))
    return `${f.title} needs Istio >= ${f.istio}; the target is Istio ${target.istio} (${f.source})`;
  if (target.envoy !== undefined && f.envoy !== undefined && !atLeast(target.envoy, f.envoy))
    return `${f.title} needs Envoy >= ${f.envoy}; the target is Envoy ${target.envoy} (${f.source})`;
  return `${f.title} is not available on the target`;
}

export type WasmDelivery = "WasmPlugin" | "EnvoyFilter" | "TrafficExtension";

/** How the filter is delivered for a config: body mode needs the ECDS EnvoyFilter (the only way to set the flag). */
export function wasmDelivery(cfg: RouterConfig): WasmDelivery {
  if (cfg.body.enabled) return "EnvoyFilter";
  return cfg.delivery === "TrafficExtension" ? "TrafficExtension" : "WasmPlugin";
}

export interface Requirement {
  /** Generated output (file) this applies to. */
  output: string;
  feature: FeatureName;
}

/** Every version-dependent feature of what `generate` emits for this config. */
export function requirements(cfg: RouterConfig, opts: { unsafeOriginalDst?: boolean } = {}): Requirement[] {
  const r: Requirement[] = [];
  const delivery = wasmDelivery(cfg);
  const wasmOut =
    delivery === "EnvoyFilter" ? "wasm-envoyfilter.yaml" : delivery === "TrafficExtension" ? "trafficextension.yaml" : "wasmplugin.yaml";
  r.push({
    output: wasmOut,
    feature: delivery === "TrafficExtension" ? "trafficExtension" : delivery === "EnvoyFilter" ? "networkingV1" : "wasmPlugin",
  });
  if (cfg.failStrategy === "FAIL_RELOAD") r.push({ output: wasmOut, feature: "failReload" });
  if (cfg.body.enabled) r.push({ output: wasmOut, feature: "bodyMode" });
  for (const t of cfg.workload.targetRefs ?? [])
    r.push({ output: wasmOut, feature: t.kind === "Gateway" ? "targetRefsGateway" : "targetRefsService" });
  if (cfg.steering === "endpoint" && !opts.unsafeOriginalDst) r.push({ output: "override-host-envoyfilter.yaml", feature: "overrideHost" });
  r.push({ output: "(all)", feature: "networkingV1" });
  return r;
}

/** The Istio (and Envoy) version a config is generated for. */
export interface Target {
  istio: string;
  envoy: string;
}

export function targetOf(cfg: RouterConfig, istioOverride?: string): Target {
  const istio = istioOverride ?? cfg.versions.istio;
  const shipped = envoyOfIstio(istio);
  // An explicit versions.envoy below the shipped one (a proxy image pinned older) is what counts.
  const envoy = istioOverride !== undefined || atLeast(cfg.versions.envoy, shipped) ? shipped : cfg.versions.envoy;
  return { istio, envoy };
}

/** What the target lacks for this config: one problem per feature, naming it and its minimum. */
export function checkVersions(cfg: RouterConfig, file: string, opts: { unsafeOriginalDst?: boolean; istio?: string } = {}): Problem[] {
  const t = targetOf(cfg, opts.istio);
  const seen = new Set<string>();
  const out: Problem[] = [];
  for (const req of requirements(cfg, opts)) {
    if (seen.has(req.feature)) continue;
    seen.add(req.feature);
    if (req.feature === "targetRefsService") {
      out.push({
        file,
        path: "workload.targetRefs",
        message: `${FEATURES.targetRefsService.title}: sidecars and gateways ignore a Service/ServiceEntry targetRef (${FEATURES.targetRefsService.source}); fix: use workload.selector or a Gateway targetRef`,
      });
      continue;
    }
    if (!supports({ istio: t.istio }, req.feature))
      out.push({
        file,
        path: "versions.istio",
        message: `${shortfall(req.feature, { istio: t.istio })}; fix: target a newer Istio or drop the feature`,
      });
    else if (FEATURES[req.feature].envoy !== undefined && !supports({ envoy: t.envoy }, req.feature))
      out.push({
        file,
        path: "versions.envoy",
        message: `${shortfall(req.feature, { envoy: t.envoy })}; fix: raise versions.envoy or drop the feature`,
      });
  }
  return out;
}

/** What a bare Envoy (the `local` test bed) lacks for this config. */
export function checkEnvoy(cfg: RouterConfig, envoy: string): string[] {
  const out: string[] = [];
  if (cfg.body.enabled && !supports({ envoy }, "bodyMode")) out.push(shortfall("bodyMode", { envoy }));
  if (cfg.steering === "endpoint" && !supports({ envoy }, "overrideHost")) out.push(shortfall("overrideHost", { envoy }));
  if (cfg.failStrategy === "FAIL_RELOAD" && !supports({ envoy }, "failReload")) out.push(shortfall("failReload", { envoy }));
  return out;
}

/** The Envoy version in an image reference such as envoyproxy/envoy:v1.34.0 or …:distroless-v1.36.2; undefined if none. */
export function envoyVersionOfImage(image: string): string | undefined {
  const tag = image.includes(":") ? image.slice(image.lastIndexOf(":") + 1) : "";
  const m = /(?:^|[^0-9])v?(1\.\d+)(?:\.\d+)?(?:[^0-9.]|$)/.exec(tag);
  return m ? m[1] : undefined;
}

export function versionMatrixMarkdown(reqs: Requirement[]): string {
  const seen = new Set<string>();
  const rows: string[] = [];
  for (const r of reqs) {
    if (seen.has(r.feature)) continue;
    seen.add(r.feature);
    const f: Feature = FEATURES[r.feature];
    rows.push(`| ${r.output} | ${f.title} | ${f.istio ? `>= ${f.istio}` : "-"} | ${f.envoy ? `>= ${f.envoy}` : "-"} |`);
  }
  return ["| Output | Feature | Istio | Envoy |", "| --- | --- | --- | --- |", ...rows].join("\n");
}
