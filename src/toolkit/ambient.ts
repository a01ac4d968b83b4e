// Ambient mode: the proxy that routes is the waypoint, so the filter runs there and steering must use what a
// waypoint honours. Facts from istio/istio (release commits: 1.24 734e100e, 1.28 ff49c188, 1.30 56df41f6):
// - Policies reach a waypoint only through targetRefs: "waypoints never use selector" (pilot/pkg/model/
//   policyattachment.go ShouldAttachPolicy, 1.24 and later). So a WasmPlugin/EnvoyFilter with a workload selector
//   does nothing there. (From 1.28 an EnvoyFilter may carry targetRefs and istiod runs listener/cluster patches for
//   waypoints too — listener_builder.go patchListeners — but the clusters it would patch are Istio's internal
//   per-Service waypoint clusters; endpoint mode's override_host patch is not generated for them.)
//   Kinds a waypoint policy may target (1.28, 1.30): the waypoint Gateway itself, a Service or ServiceEntry the
//   waypoint serves, or GatewayClass istio-waypoint from the root namespace. We target the waypoint Gateway.
// - An HTTPRoute whose parentRef is a Service is programmed on that Service's waypoint, provided the Service or its
//   namespace carries istio.io/use-waypoint (pilot/pkg/config/kube/gateway/conversion.go referenceAllowed, 1.28).
//   Waypoints route to Services (backendRefs), not DestinationRule subsets, so each pool gets its own Service.
// - TrafficExtension (extensions.istio.io/v1alpha1) exists from Istio 1.30 (its CRD first ships in 1.30's
//   crd-all.gen.yaml): wasm settings under `wasm`, same targetRefs.
// The filter rewrites x-inference-pool; with ABI 0.2.1 Envoy clears the route cache after the header write, so the
// waypoint's router matches the HTTPRoute rule of the chosen pool.
import type { RouterConfig } from "../config/router-config.js";
import { buildPluginConfig, GENERATOR, type K8sObject, type OutputFile, wasmDigest, wasmModuleSpec } from "./generate.js";
import { atLeast } from "./versions.js";
import { type Problem, validateK8sObject } from "./validate.js";

export const TRAFFIC_EXTENSION_SINCE = "1.30";
/** Oldest Istio whose waypoints take WasmPlugin targetRefs to the waypoint Gateway and Service-parented HTTPRoutes. */
export const AMBIENT_SINCE = "1.24";

export class AmbientError extends Error {}

export interface AmbientOptions {
  /** Name of the waypoint Gateway (gateway.networking.k8s.io) in the router's namespace. */
  waypoint: string;
  source?: string;
  /** The built module: its hash (https/file urls) or the manifest digest of its image (oci urls) is pinned. */
  wasm?: Buffer;
}

export interface AmbientResult {
  files: OutputFile[];
  warnings: string[];
  /** What the operator must still do (labels that enrol the frontend Service in the waypoint). */
  steps: string[];
}

export function poolServiceName(cfg: RouterConfig, pool: string): string {
  return `${cfg.frontend.host.split(".")[0]}-${pool}`.slice(0, 63).replace(/-+$/, "");
}

export function generateAmbient(cfg: RouterConfig, o: AmbientOptions): AmbientResult {
  if (cfg.steering === "endpoint") {
    throw new AmbientError(
      "steering: endpoint cannot work on a waypoint: it needs the override_host load-balancing policy on the waypoint's cluster, " +
        "which only an EnvoyFilter can set; Istio attaches nothing selected by workload labels to a waypoint " +
        "(pilot/pkg/model/policyattachment.go: \"waypoints never use selector\"), and the waypoint's clusters are Istio's own per-Service " +
        "inbound clusters, not an API the toolkit can patch reliably. Use steering: pool — the filter picks the pool " +
        "and the generated HTTPRoute sends the request to that pool's Service — or run the router in sidecars or a gateway.",
    );
  }
  const istio = cfg.versions.istio;
  if (!atLeast(istio, AMBIENT_SINCE)) throw new AmbientError(`ambient output needs Istio >= ${AMBIENT_SINCE} (versions.istio is ${istio})`);
  const ns = cfg.namespace;
  const warnings: string[] = [];
  const labels = { "app.kubernetes.io/managed-by": GENERATOR, "app.kubernetes.io/part-of": cfg.name };
  const meta = (name: string) => ({ name, namespace: ns, labels });
  const frontend = cfg.frontend.host.split(".")[0]!;
  const frontendNs = cfg.frontend.host.split(".")[1] ?? ns;
  if (frontendNs !== ns)
    throw new AmbientError(
      `frontend.host ${cfg.frontend.host} is in namespace ${frontendNs}: an HTTPRoute parented to a Service must live in that Service's namespace (${ns} here)`,
    );
  if (cfg.body.enabled) {
    warnings.push(
      "body.enabled on a waypoint: WasmPlugin/TrafficExtension cannot set allow_on_headers_stop_iteration, so requests whose model is only in the body are released after body.timeoutMs and routed on their headers",
    );
  }
  const targetRefs = [{ group: "gateway.networking.k8s.io", kind: "Gateway", name: o.waypoint }];
  const pluginConfig = buildPluginConfig(cfg);
  // The same digest rules as sidecars and gateways: for oci:// urls the image manifest digest (generate.ts wasmDigest).
  const digest = wasmDigest(cfg, o.wasm ? { wasm: o.wasm } : {});
  warnings.push(...digest.warnings);
  const wasm = wasmModuleSpec(cfg, digest.sha256, ns, pluginConfig);
  const common = { targetRefs, phase: cfg.phase, ...(cfg.priority !== undefined ? { priority: cfg.priority } : {}) };
  const wasmPlugin: K8sObject = {
    apiVersion: "extensions.istio.io/v1alpha1",
    kind: "WasmPlugin",
    metadata: meta(cfg.name),
    spec: { ...common, ...wasm },
  };
  const trafficExtension: K8sObject = {
    apiVersion: "extensions.istio.io/v1alpha1",
    kind: "TrafficExtension",
    metadata: meta(cfg.name),
    spec: { ...common, phase: cfg.phase === "UNSPECIFIED_PHASE" ? "UNSPECIFIED" : cfg.phase, wasm },
  };
  // One Service per pool, selecting the pool's pods by the same label DestinationRule subsets use.
  const poolServices: K8sObject[] = cfg.pools.map((p) => {
    const targetPort = p.service?.port ?? Number(p.endpoints[0]?.split(":").pop() ?? cfg.frontend.port);
    return {
      apiVersion: "v1",
      kind: "Service",
      metadata: meta(poolServiceName(cfg, p.name)),
      spec: {
        selector: { [cfg.routing.poolLabel]: p.name },
        ports: [{ name: "http", port: cfg.frontend.port, targetPort, protocol: "TCP", appProtocol: "http" }],
      },
    };
  });
  const route: K8sObject = {
    apiVersion: "gateway.networking.k8s.io/v1",
    kind: "HTTPRoute",
    metadata: meta(`${cfg.name}-pools`),
    spec: {
      parentRefs: [{ group: "", kind: "Service", name: frontend, port: cfg.frontend.port }],
      rules: [
        ...cfg.pools.map((p) => ({
          matches: [{ headers: [{ type: "Exact", name: cfg.routing.poolHeader, value: p.name }] }],
          backendRefs: [
            p.service
              ? { name: p.service.host.split(".")[0]!, port: p.service.port }
              : { name: poolServiceName(cfg, p.name), port: cfg.frontend.port },
          ],
        })),
        // No pool chosen (not inference, model unknown with passthrough, filter failed open): the frontend as usual.
        { backendRefs: [{ name: frontend, port: cfg.frontend.port }] },
      ],
    },
  };
  const useTe = atLeast(istio, TRAFFIC_EXTENSION_SINCE);
  const header = (what: string) => [
    `# Generated by ${GENERATOR} from ${o.source ?? "router.yaml"} for waypoint ${ns}/${o.waypoint}; do not edit.`,
    `# ${what}`,
  ];
  const files: OutputFile[] = [
    useTe
      ? {
          path: "trafficextension.yaml",
          objects: [trafficExtension],
          header: header(`The filter on the waypoint (TrafficExtension, Istio >= ${TRAFFIC_EXTENSION_SINCE}).`),
          kustomize: true,
        }
      : {
          path: "wasmplugin.yaml",
          objects: [wasmPlugin],
          header: header("The filter on the waypoint (WasmPlugin targeting the waypoint Gateway)."),
          kustomize: true,
        },
    {
      path: "pool-services.yaml",
      objects: poolServices.filter((_, i) => !cfg.pools[i]!.service),
      header: header("One Service per pool: waypoints route to Services, not subsets."),
      kustomize: true,
    },
    {
      path: "httproute.yaml",
      objects: [route],
      header: header(
        `Pool steering: the filter sets ${cfg.routing.poolHeader}; this route, bound to Service ${frontend}, sends each pool to its Service.`,
      ),
      kustomize: true,
    },
  ];
  if (useTe)
    files.push({
      path: "alternatives/wasmplugin.yaml",
      objects: [wasmPlugin],
      header: header("The same filter as a WasmPlugin (use one, not both)."),
    });
  files[1]!.objects = files[1]!.objects!.length ? files[1]!.objects : undefined;
  const out = files.filter((f) => f.objects);
  out.push({
    path: "kustomization.yaml",
    content: `apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n${out
      .filter((f) => f.kustomize)
      .map((f) => `  - ${f.path}\n`)
      .join("")}`,
  });
  const steps = [
    `kubectl label service ${frontend} -n ${ns} istio.io/use-waypoint=${o.waypoint}   # the HTTPRoute applies only to Services enrolled in the waypoint`,
  ];
  return { files: out, warnings, steps };
}

/** A TrafficExtension (Istio >= 1.30), strictly: the toolkit's one schema for it (traffic-extension-schema.ts) and rules. */
export function validateTrafficExtension(o: Record<string, unknown>, file: string): Problem[] {
  return validateK8sObject(o, file, { istio: "1.30" });
}
