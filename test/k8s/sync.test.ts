// `inference-router sync` against a test API server speaking the real list/watch protocol, then the filter itself:
// a pod IP change must reach the WasmPlugin's pluginConfig within the debounce interval, and the next request
// through the .wasm must be steered to the new address.
import { afterEach, describe, expect, it } from "vitest";
import { RouterConfigSchema, type RouterConfig } from "../../src/config/router-config.js";
import { KubeClient } from "../../src/k8s/client.js";
import { SyncController } from "../../src/k8s/sync.js";
import { generate } from "../../src/toolkit/generate.js";
import { generateAmbient } from "../../src/toolkit/ambient.js";
import { routerProxy } from "../filter/helpers.js";
import { endpointSlice, service, TestApiServer } from "./api-server.js";

const NS = "llm";
const DEBOUNCE = 200;

function routerConfig(): RouterConfig {
  return RouterConfigSchema.parse({
    namespace: NS,
    name: "inference-router",
    workload: { selector: { matchLabels: { app: "chat" } } },
    frontend: { host: "llm", port: 8000 },
    wasm: { url: "oci://ghcr.io/example/inference-router:0.1.0" },
    steering: "endpoint",
    pools: [
      { name: "a100", models: ["big"], endpoints: ["10.0.0.1:8000"], service: { host: "vllm-a100", port: 8000 } },
      { name: "l4", models: ["small"], endpoints: ["10.0.1.1:8000"], service: { host: "vllm-l4", port: 8000 } },
    ],
  });
}

const until = async (what: string, pred: () => boolean, ms = 5000): Promise<void> => {
  const end = Date.now() + ms;
  while (!pred()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
};

let cleanup: Array<() => unknown> = [];
afterEach(async () => {
  for (const c of cleanup.reverse()) await c();
  cleanup = [];
});

async function cluster() {
  const api = await new TestApiServer().start();
  cleanup.push(() => api.close());
  const cfg = routerConfig();
  const wasmPlugin = generate(cfg)
    .files.flatMap((f) => f.objects ?? [])
    .find((o) => o.kind === "WasmPlugin")!;
  api.apply(wasmPlugin);
  api.apply(service(NS, "vllm-a100"));
  api.apply(service(NS, "vllm-l4"));
  api.apply(endpointSlice(NS, "vllm-a100", "x7k2p", [{ ip: "10.0.0.2" }]));
  api.apply(endpointSlice(NS, "vllm-l4", "m3q9z", [{ ip: "10.0.1.1" }, { ip: "10.0.1.2", ready: false }]));
  const client = new KubeClient({ server: api.url });
  cleanup.push(() => client.close());
  const logs: string[] = [];
  const sync = (o: Partial<ConstructorParameters<typeof SyncController>[2]> = {}) => {
    const c = new SyncController(client, cfg, {
      source: "endpointslices",
      debounceMs: DEBOUNCE,
      backoffMs: 20,
      log: (l) => logs.push(l),
      ...o,
    });
    cleanup.push(() => c.stop());
    return c;
  };
  const pools = () =>
    Object.fromEntries(
      (api.get("WasmPlugin", NS, "inference-router")!.spec.pluginConfig.pools as Array<{ name: string; endpoints: string[] }>).map((p) => [
        p.name,
        p.endpoints,
      ]),
    );
  return { api, cfg, sync, pools, logs };
}

describe("sync: EndpointSlices → WasmPlugin pluginConfig", () => {
  it("a pod IP change reaches the filter's config within the debounce interval; the next request goes to the new address", async () => {
    const { api, sync, pools } = await cluster();
    const c = sync();
    c.start();
    await until("first sync", () => pools()["a100"]?.[0] === "10.0.0.2:8000");
    expect(pools()).toEqual({ a100: ["10.0.0.2:8000"], l4: ["10.0.1.1:8000"] }); // not-ready 10.0.1.2 left out
    const proxy = await routerProxy(api.get("WasmPlugin", NS, "inference-router")!.spec.pluginConfig);
    const big = { method: "POST", path: "/v2/models/big/infer", headers: { "content-type": "application/json" }, body: "{}" };
    expect((await proxy.request(big)).routerHeaders?.["x-gateway-destination-endpoint"]).toBe("10.0.0.2:8000");

    // The pod is rescheduled: new IP.
    const t0 = Date.now();
    api.apply(endpointSlice(NS, "vllm-a100", "x7k2p", [{ ip: "10.0.0.9" }]));
    await until("the new address in the WasmPlugin", () => pools()["a100"]?.[0] === "10.0.0.9:8000");
    // The timer starts at the first change and is never extended (sync.ts schedule), so the write follows within the
    // debounce; the margin only absorbs a loaded test machine.
    expect(Date.now() - t0).toBeLessThan(DEBOUNCE + 1000);
    proxy.pushConfig(api.get("WasmPlugin", NS, "inference-router")!.spec.pluginConfig); // what istiod pushes
    expect((await proxy.request(big)).routerHeaders?.["x-gateway-destination-endpoint"]).toBe("10.0.0.9:8000");
  });

  it("writes only on change, coalescing a burst into one write", async () => {
    const { api, sync } = await cluster();
    const c = sync();
    c.start();
    await until("first sync", () => c.writes === 1);
    for (let i = 3; i < 10; i++) api.apply(endpointSlice(NS, "vllm-a100", "x7k2p", [{ ip: "10.0.0.2" }, { ip: `10.0.0.${i}` }]));
    await new Promise((r) => setTimeout(r, DEBOUNCE * 2));
    await c.idle();
    expect(c.writes).toBe(2);
    // A change that does not change the ready set (a not-ready endpoint appears) writes nothing.
    api.apply(endpointSlice(NS, "vllm-a100", "x7k2p", [{ ip: "10.0.0.2" }, { ip: "10.0.0.9" }, { ip: "10.0.0.77", ready: false }]));
    await new Promise((r) => setTimeout(r, DEBOUNCE * 2));
    await c.idle();
    expect(c.writes).toBe(2);
  });

  it("never empties a pool: no ready endpoint or a failing list keeps what the config has", async () => {
    const { api, sync, pools, logs } = await cluster();
    const c = sync();
    c.start();
    await until("first sync", () => c.writes === 1);
    api.apply(endpointSlice(NS, "vllm-a100", "x7k2p", [{ ip: "10.0.0.2", ready: false, terminating: true }]));
    await new Promise((r) => setTimeout(r, DEBOUNCE * 2));
    await c.idle();
    expect(pools()["a100"]).toEqual(["10.0.0.2:8000"]);
    expect(logs.some((l) => l.includes("pool a100: no ready endpoints known"))).toBe(true);
    // The API server fails lists for a while and cuts the watches: nothing is written meanwhile.
    api.failLists = 6;
    api.compact();
    api.dropWatches();
    await new Promise((r) => setTimeout(r, 300));
    expect(pools()["a100"]).toEqual(["10.0.0.2:8000"]);
    expect(c.writes).toBe(1);
  });

  it("follows the protocol: bookmarks advance the resourceVersion; a dropped watch resumes; 410 Gone relists", async () => {
    const { api, sync, pools } = await cluster();
    const c = sync();
    c.start();
    await until("first sync", () => c.writes === 1);
    const slices = (c as unknown as { reflectors: Array<{ resourceVersion: string; relists: number; o: { path: string } }> })
      .reflectors[0]!;
    api.apply(service(NS, "unrelated")); // moves the server's resourceVersion past the slices'
    api.bookmark();
    await until("bookmark", () => slices.resourceVersion === api.resourceVersion);
    // Dropped connection: the reflector rewatches from its resourceVersion and gets the change made meanwhile.
    api.dropWatches();
    api.apply(endpointSlice(NS, "vllm-a100", "x7k2p", [{ ip: "10.0.0.3" }]));
    await until("change after a dropped watch", () => pools()["a100"]?.[0] === "10.0.0.3:8000");
    expect(slices.relists).toBe(0);
    // History compacted while disconnected: the rewatch gets 410 Gone and the reflector relists.
    api.dropWatches();
    api.apply(endpointSlice(NS, "vllm-a100", "x7k2p", [{ ip: "10.0.0.4" }]));
    api.compact();
    await until("change after 410", () => pools()["a100"]?.[0] === "10.0.0.4:8000");
    expect(slices.relists).toBeGreaterThanOrEqual(1);
  });

  it("two replicas: updates are compare-and-swap on resourceVersion; each change is written once", async () => {
    const { api, sync, pools } = await cluster();
    const a = sync(),
      b = sync();
    a.start();
    b.start();
    await until("first sync", () => pools()["a100"]?.[0] === "10.0.0.2:8000");
    await new Promise((r) => setTimeout(r, DEBOUNCE * 2));
    await Promise.all([a.idle(), b.idle()]);
    api.apply(endpointSlice(NS, "vllm-l4", "m3q9z", [{ ip: "10.0.1.1" }, { ip: "10.0.1.2" }]));
    await until("l4 change", () => pools()["l4"]?.length === 2);
    await new Promise((r) => setTimeout(r, DEBOUNCE * 2));
    await Promise.all([a.idle(), b.idle()]);
    expect(a.writes + b.writes).toBe(2);
    expect(api.puts.ok).toBe(2);
  });

  it("--once lists once and reports the config it would write, without writing", async () => {
    const { api, sync } = await cluster();
    const before = api.get("WasmPlugin", NS, "inference-router")!.metadata.resourceVersion;
    const r = await sync().once();
    expect(r.changed).toBe(true);
    expect(r.config.pools.map((p) => p.endpoints)).toEqual([["10.0.0.2:8000"], ["10.0.1.1:8000"]]);
    expect(api.get("WasmPlugin", NS, "inference-router")!.metadata.resourceVersion).toBe(before);
    expect(api.calls.filter((x) => x.includes("watch") || x.startsWith("PUT"))).toEqual([]);
  });
});

describe("sync: GIE InferencePool v1 → pods", () => {
  it("uses the pool's selector and target port over ready pods", async () => {
    const { api, cfg } = await cluster();
    api.apply({
      apiVersion: "inference.networking.k8s.io/v1",
      kind: "InferencePool",
      metadata: { name: "a100", namespace: NS },
      spec: {
        selector: { matchLabels: { app: "vllm", gpu: "a100" } },
        targetPorts: [{ number: 8000 }],
        endpointPickerRef: { name: "epp", port: { number: 9002 } },
      },
    });
    const pod = (name: string, ip: string, ready: boolean, labels = { app: "vllm", gpu: "a100" }) => ({
      apiVersion: "v1",
      kind: "Pod",
      metadata: { name, namespace: NS, labels },
      spec: { containers: [{ name: "vllm", image: "vllm/vllm-openai" }] },
      status: { phase: "Running", podIP: ip, podIPs: [{ ip }], conditions: [{ type: "Ready", status: ready ? "True" : "False" }] },
    });
    api.apply(pod("a", "10.0.0.5", true));
    api.apply(pod("b", "10.0.0.6", false));
    api.apply(pod("c", "10.0.0.7", true, { app: "vllm", gpu: "l4" }));
    const client = new KubeClient({ server: api.url });
    cleanup.push(() => client.close());
    const c = new SyncController(client, cfg, { source: "inferencepools", debounceMs: DEBOUNCE });
    const r = await c.once();
    expect(r.config.pools.find((p) => p.name === "a100")!.endpoints).toEqual(["10.0.0.5:8000"]);
    expect(r.kept).toEqual(["l4"]); // no InferencePool named l4: its endpoints stay
  });
});

describe("sync: the TrafficExtension ambient writes (Istio >= 1.30)", () => {
  it("keeps spec.wasm.pluginConfig current", async () => {
    const api = await new TestApiServer().start();
    cleanup.push(() => api.close());
    const cfg = RouterConfigSchema.parse({
      namespace: NS,
      name: "inference-router",
      workload: { targetRefs: [{ group: "gateway.networking.k8s.io", kind: "Gateway", name: "waypoint" }] },
      frontend: { host: "llm", port: 8000 },
      wasm: { url: "oci://ghcr.io/example/inference-router:0.1.0" },
      steering: "pool",
      versions: { istio: "1.30", envoy: "1.38" },
      pools: [{ name: "a100", models: ["big"], service: { host: "vllm-a100", port: 8000 } }],
    });
    const te = generateAmbient(cfg, { waypoint: "waypoint" })
      .files.flatMap((f) => f.objects ?? [])
      .find((o) => o.kind === "TrafficExtension")!;
    api.apply(te);
    api.apply(service(NS, "vllm-a100"));
    api.apply(endpointSlice(NS, "vllm-a100", "aaaaa", [{ ip: "10.0.0.5" }, { ip: "10.0.0.6" }]));
    const client = new KubeClient({ server: api.url });
    cleanup.push(() => client.close());
    const c = new SyncController(client, cfg, { source: "endpointslices", target: "trafficextension", debounceMs: DEBOUNCE });
    cleanup.push(() => c.stop());
    c.start();
    await until("write", () => c.writes === 1);
    const stored = api.get("TrafficExtension", NS, "inference-router")!;
    expect(stored.spec.wasm.pluginConfig.pools[0].endpoints).toEqual(["10.0.0.5:8000", "10.0.0.6:8000"]);
    expect(stored.spec.pluginConfig).toBeUndefined();
    expect(stored.spec.targetRefs).toEqual(te.spec && (te.spec as any).targetRefs);
  });
});
