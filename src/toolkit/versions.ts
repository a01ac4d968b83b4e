// Which Istio / Envoy versions each generated output needs, and the check against the versions a
// router config targets. Istio minor N ships Envoy minor N+8 (1.25→1.33 … 1.28→1.36).
import type { RouterConfig } from "../config/router-config.js";
import type { Problem } from "./validate.js";

export interface Requirement {
  /** Generated output (file or feature) this applies to. */
  output: string;
  feature: string;
  istio?: string;
  envoy?: string;
}

export function parseVersion(v: string): [number, number] {
  const [maj, min] = v.split(".").map((x) => Number(x));
  return [maj ?? 0, min ?? 0];
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

/** Every version requirement of what `generate` emits for this config. */
export function requirements(cfg: RouterConfig, opts: { unsafeOriginalDst?: boolean } = {}): Requirement[] {
  const r: Requirement[] = [];
  const wasmOut = cfg.body.enabled ? "wasm-envoyfilter.yaml" : "wasmplugin.yaml";
  r.push({ output: "wasmplugin.yaml", feature: "WasmPlugin extensions.istio.io/v1alpha1", istio: "1.12" });
  if (cfg.workload.targetRefs) r.push({ output: "wasmplugin.yaml", feature: "WasmPlugin targetRefs", istio: "1.22" });
  if (cfg.failStrategy === "FAIL_RELOAD") r.push({ output: "wasmplugin.yaml", feature: "failStrategy FAIL_RELOAD", istio: "1.25", envoy: "1.33" });
  r.push({ output: "wasm-envoyfilter.yaml", feature: "Wasm PluginConfig.failure_policy (ECDS EnvoyFilter)", istio: "1.25", envoy: "1.33" });
  if (cfg.body.enabled)
    r.push({ output: wasmOut, feature: "allow_on_headers_stop_iteration (body mode)", istio: "1.27", envoy: "1.35" });
  if (cfg.steering === "pool") {
    r.push({ output: "virtualservice.yaml", feature: "VirtualService networking.istio.io/v1 header-match routes", istio: "1.22" });
    if (cfg.pools.some((p) => !p.service))
      r.push({ output: "destinationrule.yaml", feature: "DestinationRule networking.istio.io/v1 subsets", istio: "1.22" });
  } else if (opts.unsafeOriginalDst) {
    r.push({ output: "original-dst-envoyfilter.yaml", feature: "ORIGINAL_DST cluster with use_http_header", istio: "1.22", envoy: "1.30" });
  } else {
    r.push({ output: "override-host-envoyfilter.yaml", feature: "envoy.load_balancing_policies.override_host with a header source", istio: "1.26", envoy: "1.34" });
  }
  if (cfg.hardening) {
    if (cfg.hardening.allowedPrincipals.length + cfg.hardening.allowedServiceAccounts.length > 0)
      r.push({ output: "authorizationpolicy.yaml", feature: "AuthorizationPolicy security.istio.io/v1", istio: "1.22" });
    if (cfg.hardening.peerAuthenticationStrict)
      r.push({ output: "peerauthentication.yaml", feature: "PeerAuthentication security.istio.io/v1 STRICT", istio: "1.22" });
  }
  if (cfg.pools.some((p) => p.metrics?.external)) r.push({ output: "serviceentry-metrics.yaml", feature: "ServiceEntry networking.istio.io/v1", istio: "1.22" });
  return r;
}

/** The versions the config targets must satisfy what its outputs need; one problem per shortfall. */
export function checkVersions(cfg: RouterConfig, file: string, opts: { unsafeOriginalDst?: boolean } = {}): Problem[] {
  const out: Problem[] = [];
  const istio = cfg.versions.istio;
  const envoy = atLeast(cfg.versions.envoy, envoyOfIstio(istio)) ? envoyOfIstio(istio) : cfg.versions.envoy;
  const primaryWasm = cfg.body.enabled ? "wasm-envoyfilter.yaml" : "wasmplugin.yaml";
  for (const req of requirements(cfg, opts)) {
    // The alternative Wasm delivery is not applied by default; only the primary one must fit.
    if ((req.output === "wasmplugin.yaml" || req.output === "wasm-envoyfilter.yaml") && req.output !== primaryWasm) continue;
    if (req.istio && !atLeast(istio, req.istio))
      out.push({ file, path: "versions.istio", message: `${req.feature} (${req.output}) needs Istio >= ${req.istio}, config targets ${istio}; fix: raise versions.istio or drop the feature` });
    else if (req.envoy && !atLeast(envoy, req.envoy))
      out.push({ file, path: "versions.envoy", message: `${req.feature} (${req.output}) needs Envoy >= ${req.envoy}, config targets ${envoy}; fix: raise versions.envoy/versions.istio or drop the feature` });
  }
  return out;
}

export function versionMatrixMarkdown(reqs: Requirement[]): string {
  const rows = reqs.map((r) => `| ${r.output} | ${r.feature} | ${r.istio ? `>= ${r.istio}` : "-"} | ${r.envoy ? `>= ${r.envoy}` : "-"} |`);
  return ["| Output | Feature | Istio | Envoy |", "| --- | --- | --- | --- |", ...rows].join("\n");
}
