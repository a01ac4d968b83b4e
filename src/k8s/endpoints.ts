// Which addresses of a pool are ready, from the objects Kubernetes keeps: EndpointSlices of the pool's Service
// (discovery.k8s.io/v1) or the Pods a GIE InferencePool selects (inference.networking.k8s.io/v1). Inputs are
// untrusted objects: anything malformed is skipped, never thrown on.
import { isIP } from "node:net";

/** `ip:port`, IPv6 in brackets: the form the filter's endpoints take. */
export function hostPort(ip: string, port: number): string {
  return isIP(ip) === 6 ? `[${ip}]:${port}` : `${ip}:${port}`;
}

function validPort(n: unknown): n is number {
  return typeof n === "number" && Number.isInteger(n) && n >= 1 && n <= 65535;
}

/**
 * The EndpointSlice port that carries a Service port: slices name their ports after the Service's port names, and
 * give the target (container) port number. `servicePortName` undefined: the slice's only port.
 */
function slicePort(slice: Record<string, any>, servicePortName: string | undefined): number | undefined {
  const ports: any[] = Array.isArray(slice.ports) ? slice.ports : [];
  const tcp = ports.filter((p) => p && (p.protocol ?? "TCP") === "TCP" && validPort(p.port));
  if (servicePortName === undefined) return tcp.length === 1 ? tcp[0].port : undefined;
  return tcp.find((p) => (p.name ?? "") === servicePortName)?.port;
}

/** The name of the Service port numbered `port` ("" when unnamed); undefined when the Service has no such port. */
export function servicePortName(service: Record<string, any> | undefined, port: number): string | undefined {
  const ports: any[] = Array.isArray(service?.spec?.ports) ? service!.spec.ports : [];
  const p = ports.find((x) => x?.port === port && (x.protocol ?? "TCP") === "TCP");
  return p ? (typeof p.name === "string" ? p.name : "") : undefined;
}

/**
 * Ready endpoints of a Service from its EndpointSlices. EndpointSlice API: `conditions.ready` nil means ready
 * ("should be interpreted as true"); terminating endpoints are not ready. FQDN slices are skipped.
 */
export function readyFromSlices(slices: Iterable<Record<string, any>>, portName: string | undefined): string[] {
  const out = new Set<string>();
  for (const s of slices) {
    if (s?.addressType !== "IPv4" && s?.addressType !== "IPv6") continue;
    const port = slicePort(s, portName);
    if (port === undefined) continue;
    for (const ep of Array.isArray(s.endpoints) ? s.endpoints : []) {
      const c = ep?.conditions ?? {};
      if (c.ready === false || c.terminating === true) continue;
      for (const a of Array.isArray(ep?.addresses) ? ep.addresses : []) {
        if (typeof a === "string" && isIP(a) === (s.addressType === "IPv4" ? 4 : 6)) out.add(hostPort(a, port));
      }
    }
  }
  return [...out].sort();
}

/** Does a pod's labels match a label selector (matchLabels and matchExpressions)? */
export function selectorMatches(selector: Record<string, any> | undefined, labels: Record<string, string> | undefined): boolean {
  if (!selector || typeof selector !== "object") return false;
  const l = labels ?? {};
  const ml = selector.matchLabels ?? {};
  for (const [k, v] of Object.entries(ml)) if (l[k] !== v) return false;
  for (const e of Array.isArray(selector.matchExpressions) ? selector.matchExpressions : []) {
    const vals: string[] = Array.isArray(e?.values) ? e.values : [];
    const has = Object.hasOwn(l, e?.key);
    switch (e?.operator) {
      case "In":
        if (!has || !vals.includes(l[e.key]!)) return false;
        break;
      case "NotIn":
        if (has && vals.includes(l[e.key]!)) return false;
        break;
      case "Exists":
        if (!has) return false;
        break;
      case "DoesNotExist":
        if (has) return false;
        break;
      default:
        return false;
    }
  }
  return Object.keys(ml).length > 0 || (Array.isArray(selector.matchExpressions) && selector.matchExpressions.length > 0);
}

/** InferencePool v1 `spec.selector` is a plain label map (matchLabels); older alphas used `{matchLabels}`. */
export function inferencePoolSelector(pool: Record<string, any>): Record<string, any> | undefined {
  const s = pool?.spec?.selector;
  if (!s || typeof s !== "object") return undefined;
  if (s.matchLabels && typeof s.matchLabels === "object") return s;
  return { matchLabels: s };
}

/** InferencePool v1 `spec.targetPorts[].number` (v1alpha2: `spec.targetPortNumber`). */
export function inferencePoolPorts(pool: Record<string, any>): number[] {
  const tp = pool?.spec?.targetPorts;
  if (Array.isArray(tp)) return tp.map((p: any) => p?.number).filter(validPort);
  return validPort(pool?.spec?.targetPortNumber) ? [pool.spec.targetPortNumber] : [];
}

/** Ready, running, not-deleting pods with an IP, selected by `selector`, as ip:port for each port. */
export function readyFromPods(pods: Iterable<Record<string, any>>, selector: Record<string, any> | undefined, ports: number[]): string[] {
  const out = new Set<string>();
  for (const p of pods) {
    if (!selectorMatches(selector, p?.metadata?.labels)) continue;
    if (p?.metadata?.deletionTimestamp || p?.status?.phase !== "Running") continue;
    const ready = (Array.isArray(p?.status?.conditions) ? p.status.conditions : []).some(
      (c: any) => c?.type === "Ready" && c?.status === "True",
    );
    if (!ready) continue;
    const ip = p?.status?.podIP;
    if (typeof ip !== "string" || !isIP(ip)) continue;
    for (const port of ports) out.add(hostPort(ip, port));
  }
  return [...out].sort();
}
