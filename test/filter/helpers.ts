// Helpers for the router filter's tests: a proxy running build/inference-router.wasm on a virtual clock, and
// readers/writers of the filter's shared-data load records and VM registry (layouts: src/shared/load-record.ts).
import { join } from "node:path";
import { decodeLoadRecord, decodeVmRegistry, withHeaderFields, type LoadRecord, type VmRegistry } from "../../src/shared/load-record.js";
import { createProxy, VirtualClock, type Proxy, type ProxyOptions, type RequestSpec } from "../../src/host/index.js";
import { mulberry32 } from "../../src/sim/prng.js";
import { tagSpecifiers } from "../../src/observability/tags.js";

export const ROUTER_WASM = join(import.meta.dirname, "..", "..", "build", "inference-router.wasm");

/**
 * A proxy running the router on a virtual clock. The filter seeds its tie-breaking from WASI random_get; the
 * host's randomness is seeded here too, so every test run makes the same picks. Its Prometheus export applies the
 * stats tags the toolkit generates (src/observability/tags.ts), as a configured mesh does.
 */
export function routerProxy(pluginConfig: object | string, opts: Partial<ProxyOptions> = {}): Promise<Proxy> {
  return createProxy({
    wasm: ROUTER_WASM,
    pluginConfig,
    clock: new VirtualClock(1_700_000_000_000),
    workers: 1,
    random: mulberry32(7),
    statsTags: tagSpecifiers(),
    ...opts,
  });
}

// The one reader of the Prometheus text (the live view uses it too).
import { parsePromText as parsePrometheus } from "../../src/observability/prom-text.js";
export { parsePromText as parsePrometheus, type Series as Sample } from "../../src/observability/prom-text.js";

/**
 * The value of one series in the proxy's Prometheus export: `name` without the plugin prefix, labels exact
 * (a label not given must be absent). Undefined when there is no such series.
 */
export function gauge(p: Proxy, name: string, labels: Record<string, string> = {}, plugin = "inference_router"): number | undefined {
  const want = JSON.stringify(Object.entries(labels).sort());
  const s = parsePrometheus(p.prometheus()).find(
    (x) => x.name === `${plugin}_${name}` && JSON.stringify(Object.entries(x.labels).sort()) === want,
  );
  return s?.value;
}

/** Two pools, three models: the shape most tests start from. */
export function twoPools(extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    pools: [
      {
        name: "a100",
        models: ["llama-3-70b", "llama-3-8b"],
        modelPrefixes: ["llama-3-8b:"],
        weight: 2,
        gpu: "A100",
        endpoints: ["10.0.0.1:8000", "10.0.0.2:8000"],
      },
      { name: "l4", models: ["llama-3-8b", "mistral-7b"], weight: 1, gpu: "L4", endpoints: ["10.0.1.1:8000", "10.0.1.2:8000"] },
    ],
    ...extra,
  };
}

export function chat(model: string, extra: Partial<RequestSpec> = {}): RequestSpec {
  return {
    method: "POST",
    path: "/v1/chat/completions",
    headers: { "content-type": "application/json", ...(extra.headers ?? {}) },
    body: JSON.stringify({ model, messages: [{ role: "user", content: "hi" }] }),
    ...extra,
  } as RequestSpec;
}

/** A KServe v2 / OIP REST inference request: the model is in the path, so headers alone classify it. */
export function oip(model: string, extra: Partial<RequestSpec> = {}): RequestSpec {
  return {
    method: "POST",
    path: `/v2/models/${encodeURIComponent(model)}/infer`,
    body: '{"inputs":[]}',
    ...extra,
    headers: { "content-type": "application/json", ...(extra.headers ?? {}) },
  };
}

export type { LoadRecord } from "../../src/shared/load-record.js";

export function loadKey(pool: string, upstream: string, name = "inference-router"): string {
  return `${name}/load/${pool}/${upstream}`;
}

/** The load record of `key` as the .wasm stored it (codec: src/shared/load-record.ts, the layout's one definition). */
export function readLoad(p: Proxy, key: string): LoadRecord | undefined {
  const e = p.sharedData.get(p.vmId, key);
  return e ? decodeLoadRecord(e.value) : undefined;
}

/** The VM registry (heartbeats, tombstones of dead VMs) as the .wasm stored it (same codec). */
export function readVms(p: Proxy, name = "inference-router"): VmRegistry | undefined {
  const e = p.sharedData.get(p.vmId, `${name}/vms`);
  return e ? decodeVmRegistry(e.value) : undefined;
}

/** Writes a server report into a record, as the load-signal sources do (keeps the in-flight slots). */
export function writeReport(p: Proxy, key: string, r: { queue: number; kvCache: number; atMs: number; running?: number }): void {
  const e = p.sharedData.get(p.vmId, key);
  if (!e) throw new Error(`no load record ${key}`);
  const buf = withHeaderFields(e.value, {
    queue: r.queue,
    kvCache: r.kvCache,
    reportedAtMs: r.atMs,
    sentSinceReport: 0,
    running: r.running ?? -1,
  });
  p.sharedData.set(p.vmId, key, buf, 0);
}
