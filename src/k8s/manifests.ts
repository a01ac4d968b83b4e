// The objects that run `inference-router sync` in the cluster: a ServiceAccount, a namespaced Role with only what
// the controller reads and writes, its RoleBinding, the router config as a ConfigMap, and a Deployment of two
// replicas (safe: updates are compare-and-swap on resourceVersion, see sync.ts).
import { stringify } from "yaml";
import type { RouterConfig } from "../config/router-config.js";
import type { K8sObject } from "../toolkit/generate.js";
import type { SyncSource, SyncTarget } from "./sync.js";

export interface SyncManifestOptions {
  /** Image with the inference-router CLI on its PATH (entrypoint `inference-router`). */
  image: string;
  source: SyncSource;
  target?: SyncTarget;
  /** The router config file's text, mounted as router.yaml. */
  routerConfigText: string;
  debounceMs?: number;
}

function namespaces(cfg: RouterConfig, source: SyncSource): string[] {
  const ns = new Set([cfg.namespace]);
  if (source === "endpointslices") for (const p of cfg.pools) if (p.service?.host.includes(".")) ns.add(p.service.host.split(".")[1]!);
  return [...ns];
}

export function syncObjects(cfg: RouterConfig, o: SyncManifestOptions): K8sObject[] {
  const name = `${cfg.name}-sync`;
  const labels = {
    "app.kubernetes.io/name": name,
    "app.kubernetes.io/part-of": "inference-router",
    "app.kubernetes.io/managed-by": "inference-router",
  };
  const meta = (n: string, ns = cfg.namespace) => ({ name: n, namespace: ns, labels });
  const objects: K8sObject[] = [{ apiVersion: "v1", kind: "ServiceAccount", metadata: meta(name), automountServiceAccountToken: true }];
  // Least privilege: read what the source needs, and get/update only the one WasmPlugin generate wrote.
  for (const ns of namespaces(cfg, o.source)) {
    const rules: Array<Record<string, unknown>> =
      o.source === "endpointslices"
        ? [
            { apiGroups: ["discovery.k8s.io"], resources: ["endpointslices"], verbs: ["list", "watch"] },
            { apiGroups: [""], resources: ["services"], verbs: ["list", "watch"] },
          ]
        : [
            { apiGroups: ["inference.networking.k8s.io"], resources: ["inferencepools"], verbs: ["list", "watch"] },
            { apiGroups: [""], resources: ["pods"], verbs: ["list", "watch"] },
          ];
    const resource = o.target === "trafficextension" ? "trafficextensions" : "wasmplugins";
    if (ns === cfg.namespace)
      rules.push({ apiGroups: ["extensions.istio.io"], resources: [resource], resourceNames: [cfg.name], verbs: ["get", "update"] });
    objects.push({ apiVersion: "rbac.authorization.k8s.io/v1", kind: "Role", metadata: meta(name, ns), rules });
    objects.push({
      apiVersion: "rbac.authorization.k8s.io/v1",
      kind: "RoleBinding",
      metadata: meta(name, ns),
      roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name },
      subjects: [{ kind: "ServiceAccount", name, namespace: cfg.namespace }],
    });
  }
  objects.push({ apiVersion: "v1", kind: "ConfigMap", metadata: meta(name), data: { "router.yaml": o.routerConfigText } });
  objects.push({
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: meta(name),
    spec: {
      replicas: 2,
      selector: { matchLabels: { "app.kubernetes.io/name": name } },
      template: {
        // The controller talks to the API server only; it needs no sidecar.
        metadata: { labels, annotations: { "sidecar.istio.io/inject": "false" } },
        spec: {
          serviceAccountName: name,
          securityContext: { runAsNonRoot: true, runAsUser: 65532, seccompProfile: { type: "RuntimeDefault" } },
          containers: [
            {
              name: "sync",
              image: o.image,
              args: [
                "sync",
                "-c",
                "/etc/inference-router/router.yaml",
                "--source",
                o.source,
                "--debounce-ms",
                String(o.debounceMs ?? 1000),
                ...(o.target === "trafficextension" ? ["--target", "trafficextension"] : []),
              ],
              resources: { requests: { cpu: "10m", memory: "64Mi" }, limits: { memory: "256Mi" } },
              securityContext: { allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ["ALL"] } },
              volumeMounts: [{ name: "config", mountPath: "/etc/inference-router", readOnly: true }],
            },
          ],
          volumes: [{ name: "config", configMap: { name } }],
        },
      },
    },
  });
  return objects;
}

export function renderObjects(objects: K8sObject[], header: string[]): string {
  return `${header.join("\n")}\n${objects.map((x) => stringify(x, { lineWidth: 0 })).join("---\n")}`;
}
