// `inference-router demo`: runs the built filter in the project's proxy-wasm host (two worker VMs, as Envoy
// runs one VM per worker thread) with the plugin config generated from examples/router.yaml, sends a mix of
// inference and non-inference requests, and prints what the filter decided for each and the stats it kept.
import { readFileSync } from "node:fs";
import { createProxy, VirtualClock } from "./host/index.js";
import { tagSpecifiers } from "./observability/tags.js";
import { loadRouterConfig } from "./toolkit/load.js";
import { buildPluginConfig } from "./toolkit/generate.js";

export interface DemoOptions {
  config: string;
  wasm: string;
  requests: number;
  out: (s: string) => void;
}

export async function runDemo(o: DemoOptions): Promise<void> {
  const cfg = loadRouterConfig(o.config);
  const pluginConfig = buildPluginConfig(cfg);
  const proxy = await createProxy({
    wasm: readFileSync(o.wasm),
    pluginConfig,
    workers: 2,
    clock: new VirtualClock(),
    statsTags: tagSpecifiers(),
  });
  const models = [...new Set(pluginConfig.pools.flatMap((p) => p.models))];
  o.out(
    `filter ${o.wasm} loaded in 2 worker VMs; pools: ${pluginConfig.pools.map((p) => `${p.name} (weight ${p.weight ?? "learned"})`).join(", ")}\n\n`,
  );
  const open = [];
  const picks = new Map<string, number>();
  for (let i = 0; i < o.requests; i++) {
    const model = models[i % models.length]!;
    // Requests stay open so the in-flight counts build up and the picks spread by capacity.
    const r = await proxy.request({
      method: "POST",
      path: `/v2/models/${model}/infer`,
      headers: { "content-type": "application/json", "x-inference-pool": "spoofed-by-client" },
      body: "{}",
      worker: i % 2,
      keepOpen: true,
    });
    open.push(r);
    const h = r.routerHeaders ?? {};
    const where = r.localReply ? `local reply ${r.localReply.status}` : `pool=${h["x-inference-pool"] ?? "-"}`;
    picks.set(where, (picks.get(where) ?? 0) + 1);
    if (i < 8)
      o.out(
        `POST /v2/models/${model}/infer (worker ${i % 2}) → ${where} protocol=${h["x-inference-protocol"]} priority=${h["x-inference-priority"]}\n`,
      );
  }
  const health = await proxy.request({ method: "GET", path: "/v2/health/ready" });
  o.out(`GET /v2/health/ready → passed untouched (pool header ${health.routerHeaders?.["x-inference-pool"] ?? "absent"})\n\n`);
  o.out(`${o.requests} inference requests in flight, spread: ${[...picks].map(([k, v]) => `${k}: ${v}`).join(", ")}\n`);
  for (const r of open) r.stream.complete();
  o.out(
    `\nfilter stats (Prometheus names, as Envoy exports wasmcustom.*):\n${proxy
      .prometheus()
      .split("\n")
      .filter((l) => l && !l.startsWith("#"))
      .join("\n")}\n`,
  );
  await proxy.close();
}
