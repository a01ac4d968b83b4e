// What the filter believes about each upstream, read the way an operator reads it: from the proxy's Prometheus
// export (with the stats tags the toolkit generates), after polls, ORCA load reports and held requests.
import { describe, expect, it } from "vitest";
import type { Proxy } from "../../src/host/index.js";
import { METRICS } from "../../src/observability/metrics.js";
import { tagSpecifiers } from "../../src/observability/tags.js";
import { gauge, oip, parsePrometheus, routerProxy } from "./helpers.js";

const CLUSTER = "outbound|8000||vllm-a.llm.svc.cluster.local";
const EP1 = "10.0.0.1:8000";
const EP2 = "10.0.0.2:8000";
const UPSTREAM_GAUGES = METRICS.filter((m) => m.type === "gauge").map((m) => m.name);

function endpointPool(extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    steering: "endpoint",
    pools: [{ name: "a", models: ["llama-3-8b"], endpoints: [EP1, EP2], metrics: { cluster: CLUSTER } }],
    ...extra,
  };
}

function vllmPage(waiting: number, running: number, kv: number): string {
  return [
    "# TYPE vllm:num_requests_running gauge",
    `vllm:num_requests_running{model_name="llama-3-8b"} ${running}`,
    "# TYPE vllm:num_requests_waiting gauge",
    `vllm:num_requests_waiting{model_name="llama-3-8b"} ${waiting}`,
    "# TYPE vllm:kv_cache_usage_perc gauge",
    `vllm:kv_cache_usage_perc{model_name="llama-3-8b"} ${kv}`,
    "",
  ].join("\n");
}

/** Answers the pending polls: EP1 busy, EP2 idle (or `fail` for a connection failure). */
function answerPolls(p: Proxy, page: (ep: string) => string | "fail"): void {
  for (const c of p.callouts.pending) {
    const r = page(c.headers["x-gateway-destination-endpoint"] ?? "");
    if (r === "fail") c.fail();
    else c.respond({ status: 200, body: r });
  }
}

const ep = (endpoint: string) => ({ pool: "a", endpoint });

describe("per-upstream gauges in /stats/prometheus", () => {
  it("show the polled queue, running, KV use and report age with pool and endpoint labels", async () => {
    const p = await routerProxy(endpointPool(), { clusters: [CLUSTER] });
    p.advance(1000); // first tick: polls go out; nothing reported yet
    expect(gauge(p, "upstream_stale", ep(EP1))).toBe(1);
    expect(gauge(p, "upstream_report_age_ms", ep(EP1))).toBeUndefined();
    answerPolls(p, (e) => (e === EP1 ? vllmPage(6, 30, 0.5) : vllmPage(0, 2, 0.1)));
    p.advance(1000); // next tick publishes what the poll wrote
    expect(gauge(p, "upstream_queue", ep(EP1))).toBe(6);
    expect(gauge(p, "upstream_running", ep(EP1))).toBe(30);
    expect(gauge(p, "upstream_kv_cache_permille", ep(EP1))).toBe(500);
    expect(gauge(p, "upstream_queue", ep(EP2))).toBe(0);
    expect(gauge(p, "upstream_running", ep(EP2))).toBe(2);
    expect(gauge(p, "upstream_kv_cache_permille", ep(EP2))).toBe(100);
    expect(gauge(p, "upstream_report_age_ms", ep(EP1))).toBe(1000);
    expect(gauge(p, "upstream_stale", ep(EP1))).toBe(0);
    expect(gauge(p, "upstream_ejected", ep(EP1))).toBe(0);
    expect(gauge(p, "upstream_capacity_milli", ep(EP1))).toBe(1000);
  });

  it("age and staleness grow when polls stop answering, and an unanswered server shows as ejected", async () => {
    const p = await routerProxy(endpointPool({ scoring: { staleAfterMs: 2500 } }), { clusters: [CLUSTER] });
    p.advance(1000);
    answerPolls(p, () => vllmPage(1, 1, 0.2));
    for (let i = 0; i < 3; i++) {
      p.advance(1000);
      answerPolls(p, (e) => (e === EP1 ? "fail" : vllmPage(1, 1, 0.2)));
    }
    p.advance(1000);
    expect(gauge(p, "upstream_report_age_ms", ep(EP1))).toBe(4000);
    expect(gauge(p, "upstream_stale", ep(EP1))).toBe(1);
    expect(gauge(p, "upstream_ejected", ep(EP1))).toBe(1); // two polls in a row without an answer
    expect(gauge(p, "upstream_stale", ep(EP2))).toBe(0);
    expect(gauge(p, "upstream_ejected", ep(EP2))).toBe(0);
    expect(gauge(p, "ejections", ep(EP1))).toBe(1);
  });

  it("an ORCA load report in a response updates the picked upstream's gauges", async () => {
    const p = await routerProxy({ steering: "endpoint", pools: [{ name: "a", models: ["llama-3-8b"], endpoints: [EP1] }] });
    await p.request(
      oip("llama-3-8b", {
        response: () => ({
          status: 200,
          headers: { "endpoint-load-metrics": "TEXT named_metrics.queue=5, named_metrics.kv_cache_utilization=0.7" },
        }),
      }),
    );
    p.advance(300);
    p.advance(1000);
    expect(gauge(p, "upstream_queue", ep(EP1))).toBe(5);
    expect(gauge(p, "upstream_kv_cache_permille", ep(EP1))).toBe(700);
    expect(gauge(p, "upstream_report_age_ms", ep(EP1))).toBeGreaterThanOrEqual(1000);
    expect(gauge(p, "upstream_stale", ep(EP1))).toBe(0);
    expect(gauge(p, "picks", ep(EP1))).toBe(1);
  });

  it("held requests count as in flight across worker VMs, and go back to 0 when they end", async () => {
    const p = await routerProxy({ steering: "endpoint", pools: [{ name: "a", models: ["llama-3-8b"], endpoints: [EP1] }] }, { workers: 2 });
    const held = [];
    for (let i = 0; i < 3; i++) held.push(await p.request({ ...oip("llama-3-8b"), worker: i % 2, keepOpen: true }));
    p.advance(1000);
    expect(gauge(p, "upstream_in_flight", ep(EP1))).toBe(3);
    for (const h of held) h.stream.complete();
    p.advance(1000);
    expect(gauge(p, "upstream_in_flight", ep(EP1))).toBe(0);
    expect(gauge(p, "picks", ep(EP1))).toBe(3);
  });

  it("pool mode: one series per pool, labelled by pool only, capacity = weight × members", async () => {
    const p = await routerProxy({
      pools: [
        { name: "a100", models: ["m"], weight: 2, endpoints: [EP1, EP2] },
        { name: "l4", models: ["m"], weight: 0.35 },
      ],
    });
    p.advance(1000);
    expect(gauge(p, "upstream_capacity_milli", { pool: "a100" })).toBe(4000);
    expect(gauge(p, "upstream_capacity_milli", { pool: "l4" })).toBe(350);
    expect(gauge(p, "upstream_stale", { pool: "l4" })).toBe(1);
  });

  it("labels survive Istio's own unanchored stats tags, whatever the pool is called", async () => {
    // Two of the tags Istio's bootstrap always carries (tools/packaging/common/envoy_bootstrap.json).
    const istio = [
      { tag_name: "cache", regex: "(cache\\.(.+?)\\.)" },
      { tag_name: "tag", regex: "(tag\\.(.+?);\\.)" },
    ];
    const p = await routerProxy(
      { steering: "endpoint", pools: [{ name: "kv.cache.tag.x", models: ["m"], endpoints: [EP1] }] },
      { statsTags: [...istio, ...tagSpecifiers()] },
    );
    await p.request(oip("m"));
    p.advance(1000);
    expect(gauge(p, "picks", { pool: "kv_cache_tag_x", endpoint: EP1 })).toBe(1);
    expect(gauge(p, "upstream_capacity_milli", { pool: "kv_cache_tag_x", endpoint: EP1 })).toBe(1000);
  });

  it("cardinality is bounded by the catalog: one series per upstream and gauge, whatever the traffic", async () => {
    const p = await routerProxy(endpointPool(), { clusters: [CLUSTER] });
    for (let i = 0; i < 5; i++) {
      p.advance(1000);
      answerPolls(p, (e) => vllmPage(i, i, 0.1 * i));
      await p.request(oip("llama-3-8b"));
      await p.request(oip("no-such-model"));
    }
    const samples = parsePrometheus(p.prometheus()).filter((s) => UPSTREAM_GAUGES.includes(s.name.replace(/^inference_router_/, "")));
    expect(samples.length).toBe(2 * UPSTREAM_GAUGES.length);
    expect(new Set(samples.map((s) => s.labels.endpoint))).toEqual(new Set([EP1, EP2]));
  });

  it("when the plugin ends, its series are zeroed once (capacity 0 marks them as out of the catalog)", async () => {
    const p = await routerProxy(endpointPool(), { clusters: [CLUSTER] });
    p.advance(1000);
    answerPolls(p, () => vllmPage(3, 3, 0.3));
    p.advance(1000);
    expect(gauge(p, "upstream_queue", ep(EP1))).toBe(3);
    await p.close();
    for (const g of UPSTREAM_GAUGES) expect(gauge(p, g, ep(EP1)), g).toBe(0);
  });

  it("every series the filter defines is in the metrics table, with exactly the table's labels", async () => {
    const p = await routerProxy(endpointPool({ scoring: { staleAfterMs: 2500 } }), { clusters: [CLUSTER] });
    p.advance(1000);
    answerPolls(p, (e) => (e === EP1 ? "fail" : vllmPage(1, 1, 0.1)));
    p.advance(1000);
    answerPolls(p, (e) => (e === EP1 ? "fail" : vllmPage(1, 1, 0.1)));
    await p.request(oip("llama-3-8b"));
    await p.request(oip("nope"));
    await p.request({ method: "GET", path: "/health" });
    p.advance(1000);
    const byName = new Map(METRICS.map((m) => [`inference_router_${m.name}`, m]));
    const samples = parsePrometheus(p.prometheus());
    expect(samples.length).toBeGreaterThan(20);
    for (const s of samples) {
      const def = byName.get(s.name);
      expect(def, `${s.name} is not in src/observability/metrics.ts`).toBeDefined();
      expect(Object.keys(s.labels).sort(), s.name).toEqual([...def!.labels].sort());
    }
  });
});
