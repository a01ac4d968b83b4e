// Live load signals through the compiled .wasm: metrics polling from the root context (one poller per proxy,
// elected by a shared-data lease), subset probing at mesh scale, load reports in responses (ORCA, plain
// headers), anti-herding after a poll, prefix-cache and LoRA affinity bounded by load, and model discovery.
import { describe, expect, it } from "vitest";
import type { Proxy } from "../../src/host/index.js";
import { chat, loadKey, oip, readLoad, routerProxy, writeReport } from "./helpers.js";

const CLUSTER = "outbound|8000||vllm-a.llm.svc.cluster.local";
const EP1 = "10.0.0.1:8000";
const EP2 = "10.0.0.2:8000";
const T0 = 1_700_000_000_000;

/** vLLM V1 /metrics of a server hosting two models (plus the histogram noise a real page carries). */
function vllmPage(o: { waiting: number; running: number; kv: number; other?: number; lora?: string }): string {
  return [
    "# HELP vllm:num_requests_running Number of requests in model execution batches.",
    "# TYPE vllm:num_requests_running gauge",
    `vllm:num_requests_running{engine="0",model_name="llama-3-8b"} ${o.running}`,
    `vllm:num_requests_running{engine="0",model_name="other-model"} ${o.other ?? 0}`,
    "# HELP vllm:num_requests_waiting Number of requests waiting to be processed.",
    "# TYPE vllm:num_requests_waiting gauge",
    `vllm:num_requests_waiting{engine="0",model_name="llama-3-8b"} ${o.waiting}`,
    `vllm:num_requests_waiting{engine="0",model_name="other-model"} ${o.other ?? 0}`,
    "# HELP vllm:kv_cache_usage_perc KV-cache usage. 1 means 100 percent usage.",
    "# TYPE vllm:kv_cache_usage_perc gauge",
    `vllm:kv_cache_usage_perc{engine="0",model_name="llama-3-8b"} ${o.kv}`,
    "# HELP vllm:lora_requests_info Running stats on lora requests.",
    "# TYPE vllm:lora_requests_info gauge",
    `vllm:lora_requests_info{max_lora="4",running_lora_adapters="${o.lora ?? ""}",waiting_lora_adapters=""} 1.7e9`,
    "# HELP vllm:time_to_first_token_seconds Histogram of time to first token in seconds.",
    "# TYPE vllm:time_to_first_token_seconds histogram",
    'vllm:time_to_first_token_seconds_bucket{engine="0",le="0.001",model_name="llama-3-8b"} 0.0',
    'vllm:time_to_first_token_seconds_bucket{engine="0",le="+Inf",model_name="llama-3-8b"} 12.0',
    'vllm:time_to_first_token_seconds_count{engine="0",model_name="llama-3-8b"} 12.0',
    'vllm:time_to_first_token_seconds_sum{engine="0",model_name="llama-3-8b"} 0.5',
    "",
  ].join("\n");
}

/** Triton (KServe v2) /metrics: a queue gauge per model. */
function tritonPage(pending: number): string {
  return [
    "# HELP nv_inference_pending_request_count Instantaneous number of pending requests awaiting execution per-model.",
    "# TYPE nv_inference_pending_request_count gauge",
    `nv_inference_pending_request_count{model="resnet50",version="1"} ${pending}`,
    `nv_inference_pending_request_count{model="bert",version="1"} 1`,
    "# HELP nv_inference_exec_count Number of model executions performed (does not include cached requests)",
    "# TYPE nv_inference_exec_count counter",
    'nv_inference_exec_count{model="resnet50",version="1"} 4242',
    "",
  ].join("\n");
}

function endpointPool(extra: Record<string, unknown> = {}, metrics: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    steering: "endpoint",
    pools: [
      {
        name: "a",
        models: ["llama-3-8b"],
        modelPrefixes: ["llama-3-8b:"],
        endpoints: [EP1, EP2],
        metrics: { cluster: CLUSTER, modelLabelFilter: "llama-3-8b", ...metrics },
      },
    ],
    ...extra,
  };
}

function endpointOf(p: Proxy, c: { headers: Record<string, string> }): string {
  return c.headers["x-gateway-destination-endpoint"] ?? "";
}

/** Answers every pending callout with `page(endpoint)`. */
function answerAll(p: Proxy, page: (ep: string) => string | { status: number; body?: string } | "fail"): number {
  const pending = p.callouts.pending;
  for (const c of pending) {
    const r = page(endpointOf(p, c));
    if (r === "fail") c.fail();
    else if (typeof r === "string") c.respond({ status: 200, headers: { "content-type": "text/plain; version=0.0.4" }, body: r });
    else c.respond(r);
  }
  return pending.length;
}

function counter(p: Proxy, name: string): number {
  return Number(p.metrics()[`inference-router.${name}`] ?? 0);
}

async function pickCounts(p: Proxy, n: number, spec = oip("llama-3-8b"), keepOpen = false): Promise<Record<string, number>> {
  const counts: Record<string, number> = {};
  for (let i = 0; i < n; i++) {
    const r = await p.request({ ...spec, keepOpen });
    const ep = (r.routerHeaders!["x-gateway-destination-endpoint"] ?? r.routerHeaders!["x-inference-pool"] ?? "").split(",")[0]!;
    counts[ep] = (counts[ep] ?? 0) + 1;
  }
  return counts;
}

describe("metrics polling", () => {
  it("polls each endpoint through the pool's cluster with the endpoint header, and picks follow the reported load", async () => {
    const p = await routerProxy(endpointPool(), { clusters: [CLUSTER] });
    p.advance(1000);
    const calls = p.callouts.pending;
    expect(calls.length).toBe(2);
    for (const c of calls) {
      expect(c.cluster).toBe(CLUSTER);
      expect(c.request.method).toBe("GET");
      expect(c.request.path).toBe("/metrics");
      expect(c.request.authority).toBe("vllm-a.llm.svc.cluster.local");
      expect(c.request.timeoutMs).toBe(1000);
    }
    expect(calls.map((c) => endpointOf(p, c)).sort()).toEqual([EP1, EP2]);
    answerAll(p, (ep) =>
      ep === EP1 ? vllmPage({ waiting: 6, running: 30, kv: 0.5, other: 50 }) : vllmPage({ waiting: 0, running: 2, kv: 0.1, other: 50 }),
    );
    const r1 = readLoad(p, loadKey("a", EP1))!;
    // Only llama-3-8b's series count (model filter): the other model's 50 waiting are ignored.
    expect(r1.queue).toBe(6);
    expect(r1.running).toBe(30);
    expect(r1.kvCache).toBeCloseTo(0.5);
    expect(r1.reportedAtMs).toBe(T0 + 1000);
    expect(readLoad(p, loadKey("a", EP2))!.queue).toBe(0);
    expect(counter(p, "polls")).toBe(2);
    const counts = await pickCounts(p, 5);
    expect(counts[EP2]).toBe(5);
  });

  it("reads Triton's per-model queue in pool mode by polling the pool's cluster directly", async () => {
    const p = await routerProxy(
      {
        pools: [
          {
            name: "t1",
            models: ["resnet50"],
            metrics: { cluster: "outbound|8000||triton-1.ml.svc.cluster.local", engine: "triton", modelLabelFilter: "resnet50" },
          },
          {
            name: "t2",
            models: ["resnet50"],
            metrics: { cluster: "outbound|8000||triton-2.ml.svc.cluster.local", engine: "triton", modelLabelFilter: "resnet50" },
          },
        ],
      },
      { clusters: ["outbound|8000||triton-1.ml.svc.cluster.local", "outbound|8000||triton-2.ml.svc.cluster.local"] },
    );
    p.advance(1000);
    expect(p.callouts.pending.length).toBe(2);
    expect(p.callouts.pending.every((c) => c.headers["x-gateway-destination-endpoint"] === undefined)).toBe(true);
    for (const c of p.callouts.pending) c.respond({ status: 200, body: tritonPage(c.cluster.includes("triton-1") ? 5 : 0) });
    expect(readLoad(p, loadKey("t1", "t1"))!.queue).toBe(5);
    expect(readLoad(p, loadKey("t2", "t2"))!.queue).toBe(0);
    const counts = await pickCounts(p, 4, oip("resnet50"));
    expect(counts["t2"]).toBe(4);
  });

  it("aggregates members' polls into the pool's record in pool mode", async () => {
    const p = await routerProxy(
      { pools: [{ name: "a", models: ["llama-3-8b"], endpoints: [EP1, EP2], metrics: { cluster: CLUSTER } }] },
      { clusters: [CLUSTER] },
    );
    p.advance(1000);
    answerAll(p, (ep) => vllmPage({ waiting: ep === EP1 ? 3 : 1, running: 4, kv: ep === EP1 ? 0.6 : 0.2 }));
    const r = readLoad(p, loadKey("a", "a"))!;
    expect(r.queue).toBe(4);
    expect(r.running).toBe(8);
    expect(r.kvCache).toBeCloseTo(0.4);
  });

  it("uses one cluster per endpoint when endpointClusters says so (no endpoint header then)", async () => {
    const p = await routerProxy(endpointPool({}, { endpointClusters: { [EP1]: "ep1-metrics" } }), { clusters: [CLUSTER, "ep1-metrics"] });
    p.advance(1000);
    const byCluster = Object.fromEntries(p.callouts.pending.map((c) => [c.cluster, c.headers["x-gateway-destination-endpoint"]]));
    expect(byCluster).toEqual({ "ep1-metrics": undefined, [CLUSTER]: EP2 });
  });

  it("counts failures, timeouts, non-200 and garbage; the signals age into staleness and the pick fails open", async () => {
    const p = await routerProxy(endpointPool({ scoring: { staleAfterMs: 3000 } }), { clusters: [CLUSTER] });
    p.advance(1000);
    answerAll(p, () => vllmPage({ waiting: 0, running: 0, kv: 0 }));
    expect(readLoad(p, loadKey("a", EP1))!.reportedAtMs).toBe(T0 + 1000);
    p.advance(1000);
    answerAll(p, (ep) => (ep === EP1 ? "fail" : { status: 503, body: "unavailable" }));
    p.advance(1000);
    answerAll(p, () => ({ status: 200, body: "<html>\n<body>oops</body>\n</html>\n" }));
    p.advance(1000); // these two time out after 1000 ms (a 504 from the router)
    p.advance(1000);
    expect(counter(p, "poll_failures")).toBeGreaterThanOrEqual(4);
    expect(counter(p, "parse_errors")).toBeGreaterThanOrEqual(2);
    expect(readLoad(p, loadKey("a", EP1))!.reportedAtMs).toBe(T0 + 1000);
    expect(counter(p, "stale_reports")).toBe(2);
    const r = await p.request(oip("llama-3-8b"));
    expect(r.routerHeaders!["x-gateway-destination-endpoint"]).toBeDefined();
    expect(counter(p, "stale_fallbacks")).toBe(1);
  });

  it("an unknown cluster is refused by Envoy: counted as a failure, nothing breaks", async () => {
    const p = await routerProxy(endpointPool(), { clusters: [] });
    p.advance(1000);
    expect(p.callouts.all.length).toBe(0);
    expect(counter(p, "poll_failures")).toBe(2);
    expect((await p.request(oip("llama-3-8b"))).routerHeaders!["x-gateway-destination-endpoint"]).toBeDefined();
  });

  it("a burst after a poll spreads instead of herding onto the idle-looking upstream", async () => {
    const p = await routerProxy(endpointPool(), { clusters: [CLUSTER] });
    p.advance(1000);
    answerAll(p, (ep) => vllmPage({ waiting: ep === EP1 ? 0 : 2, running: 0, kv: 0 }));
    // Requests complete at once (no in-flight left behind): only sentSinceReport keeps the count honest.
    const counts = await pickCounts(p, 20);
    expect(counts[EP1]).toBeGreaterThan(counts[EP2] ?? 0);
    expect(counts[EP2]).toBeGreaterThanOrEqual(7);
    // The next poll resets sends since report.
    p.advance(1000);
    answerAll(p, () => vllmPage({ waiting: 0, running: 0, kv: 0 }));
    expect(readLoad(p, loadKey("a", EP1))!.sentSinceReport).toBe(0);
  });
});

describe("one poller per proxy", () => {
  it("only the lease holder of 3 worker VMs polls, and another takes over when it stops ticking", async () => {
    const p = await routerProxy(endpointPool(), { clusters: [CLUSTER], workers: 3 });
    for (let i = 0; i < 5; i++) {
      p.advance(1000);
      answerAll(p, () => vllmPage({ waiting: 0, running: 0, kv: 0 }));
    }
    const workers = new Set(p.callouts.all.map((c) => c.request.worker));
    expect(workers.size).toBe(1);
    expect(p.callouts.all.length).toBe(10); // 2 targets × 5 intervals, not × 3 workers
    const holder = [...workers][0]!;
    expect(counter(p, "poller_lease_changes")).toBe(1);
    // The holder stops ticking (stuck or dead VM): its lease (3 s) expires and another worker polls.
    p.setTickPeriod(p.workers[holder]!.vm, 0);
    const before = p.callouts.all.length;
    for (let i = 0; i < 5; i++) {
      p.advance(1000);
      answerAll(p, () => vllmPage({ waiting: 0, running: 0, kv: 0 }));
    }
    const after = p.callouts.all.slice(before);
    expect(after.length).toBeGreaterThan(0);
    expect(new Set(after.map((c) => c.request.worker)).size).toBe(1);
    expect(after[0]!.request.worker).not.toBe(holder);
    expect(counter(p, "poller_lease_changes")).toBe(2);
  });

  it("probes a bounded, oldest-first random subset of a 200-endpoint pool per interval", async () => {
    const eps = Array.from({ length: 200 }, (_, i) => `10.1.${i >> 8}.${i & 255}:8000`);
    const p = await routerProxy(
      {
        steering: "endpoint",
        pools: [{ name: "big", models: ["llama-3-8b"], endpoints: eps, metrics: { cluster: CLUSTER } }],
        polling: { probesPerTick: 8, subsetAbove: 16 },
        scoring: { staleAfterMs: 600_000 },
      },
      { clusters: [CLUSTER] },
    );
    const seen = new Set<string>();
    for (let t = 0; t < 50; t++) {
      // Probing follows traffic: 16 requests earn 8 probes (polling.probesPerRequest 0.5).
      for (let i = 0; i < 16; i++) await p.request(oip("llama-3-8b"));
      const before = p.callouts.all.length;
      p.advance(1000);
      const now = p.callouts.all.length - before;
      expect(now).toBeLessThanOrEqual(8);
      expect(now).toBeGreaterThan(0);
      for (const c of p.callouts.pending) seen.add(endpointOf(p, c));
      answerAll(p, () => vllmPage({ waiting: 0, running: 0, kv: 0 }));
    }
    // Ageing spreads the probes: 400 probes over 200 targets reach most of them.
    expect(seen.size).toBeGreaterThan(150);
  });
});

describe("load reports in responses", () => {
  it("reads ORCA endpoint-load-metrics (TEXT and JSON) into the picked upstream's record and leaves the header", async () => {
    const p = await routerProxy(endpointPool());
    const r = await p.request(
      oip("llama-3-8b", {
        response: () => ({
          status: 200,
          headers: { "endpoint-load-metrics": "TEXT cpu_utilization=0.3, named_metrics.queue=5, named_metrics.kv_cache_utilization=0.7" },
        }),
      }),
    );
    const ep = r.routerHeaders!["x-gateway-destination-endpoint"]!.split(",")[0]!;
    expect(r.headers["endpoint-load-metrics"]).toContain("TEXT");
    const rec = readLoad(p, loadKey("a", ep))!;
    expect(rec.queue).toBe(5);
    expect(rec.kvCache).toBeCloseTo(0.7);
    expect(rec.reportedAtMs).toBe(T0);
    expect(counter(p, "orca_reports")).toBe(1);
    // The next request avoids the loaded one.
    const other = ep === EP1 ? EP2 : EP1;
    const r2 = await p.request(
      oip("llama-3-8b", {
        response: () => ({ status: 200, headers: { "endpoint-load-metrics": 'JSON {"named_metrics": {"queue": 1}}' } }),
      }),
    );
    expect(r2.routerHeaders!["x-gateway-destination-endpoint"]!.split(",")[0]).toBe(other);
    expect(readLoad(p, loadKey("a", other))!.queue).toBe(1);
    expect(readLoad(p, loadKey("a", other))!.kvCache).toBe(0);
  });

  it("reads the configured plain queue / KV headers; ignores ORCA when disabled", async () => {
    const p = await routerProxy(endpointPool({ loadReports: { orca: false, queueHeader: "x-queue", kvCacheHeader: "x-kv" } }));
    const r = await p.request(
      oip("llama-3-8b", {
        response: () => ({
          status: 200,
          headers: { "x-queue": "3", "x-kv": "0.25", "endpoint-load-metrics": "TEXT named_metrics.queue=9" },
        }),
      }),
    );
    const ep = r.routerHeaders!["x-gateway-destination-endpoint"]!.split(",")[0]!;
    const rec = readLoad(p, loadKey("a", ep))!;
    expect(rec.queue).toBe(3);
    expect(rec.kvCache).toBeCloseTo(0.25);
  });

  it("a response report older than a poll does not overwrite it (merge by freshness)", async () => {
    const p = await routerProxy(endpointPool(), { clusters: [CLUSTER] });
    writeReport(p, loadKey("a", EP1), { queue: 2, kvCache: 0.2, atMs: T0 + 10_000 });
    writeReport(p, loadKey("a", EP2), { queue: 2, kvCache: 0.2, atMs: T0 + 10_000 });
    await p.request(
      oip("llama-3-8b", { response: () => ({ status: 200, headers: { "endpoint-load-metrics": "TEXT named_metrics.queue=7" } }) }),
    );
    expect(readLoad(p, loadKey("a", EP1))!.queue).toBe(2);
    expect(readLoad(p, loadKey("a", EP2))!.queue).toBe(2);
  });
});

function prefixed(model: string, system: string, user: string): ReturnType<typeof chat> {
  return {
    method: "POST",
    path: "/v1/chat/completions",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({
      model,
      messages: [
        { role: "system", content: system },
        { role: "user", content: user },
      ],
    }),
  } as ReturnType<typeof chat>;
}

describe("prefix-cache affinity", () => {
  const cfg = (extra: Record<string, unknown> = {}) => ({
    steering: "endpoint",
    body: { enabled: true },
    affinity: { prefix: { enabled: true, blockBytes: 64, blocks: 4 } },
    pools: [{ name: "a", models: ["llama-3-8b"], endpoints: [EP1, EP2, "10.0.0.3:8000", "10.0.0.4:8000"] }],
    ...extra,
  });
  const system = "You are a meticulous assistant for the ACME support desk. ".repeat(4);

  it("sends requests sharing a long prefix to the same upstream under light load", async () => {
    const p = await routerProxy(cfg(), { allowOnHeadersStopIteration: true });
    const first = await p.request(prefixed("llama-3-8b", system, "question 0"));
    const holder = first.routerHeaders!["x-gateway-destination-endpoint"]!.split(",")[0]!;
    for (let i = 1; i < 12; i++) {
      const r = await p.request(prefixed("llama-3-8b", system, `question ${i}`));
      expect(r.routerHeaders!["x-gateway-destination-endpoint"]!.split(",")[0]).toBe(holder);
    }
    expect(counter(p, "affinity_hits")).toBe(11);
    // Different prefixes spread as usual (random tie-breaks over idle upstreams).
    const other = await pickCounts(p, 24, prefixed("llama-3-8b", "x", "y"));
    expect(Object.keys(other).length).toBeGreaterThanOrEqual(1);
  });

  it("yields to the least-loaded upstream when the holder is too loaded, and re-learns the holder", async () => {
    const p = await routerProxy(cfg(), { allowOnHeadersStopIteration: true });
    const first = await p.request(prefixed("llama-3-8b", system, "q"));
    const holder = first.routerHeaders!["x-gateway-destination-endpoint"]!.split(",")[0]!;
    // The holder reports a queue of 3 (score 6 > (0 + 1) · 1.5 − 1): the bound sends the request elsewhere.
    writeReport(p, loadKey("a", holder), { queue: 3, kvCache: 0, atMs: T0 });
    const r = await p.request(prefixed("llama-3-8b", system, "q2"));
    const moved = r.routerHeaders!["x-gateway-destination-endpoint"]!.split(",")[0]!;
    expect(moved).not.toBe(holder);
    expect(counter(p, "affinity_overrides")).toBe(1);
    // The table now points at the new upstream: the next one follows it.
    const r2 = await p.request(prefixed("llama-3-8b", system, "q3"));
    expect(r2.routerHeaders!["x-gateway-destination-endpoint"]!.split(",")[0]).toBe(moved);
  });

  it("keeps affinity at moderate in-flight load within maxLoadFactor", async () => {
    // In-flight weight 1 keeps the arithmetic plain: score = in-flight + 1 (the request being placed).
    const p = await routerProxy(
      cfg({ scoring: { inFlight: 1 }, affinity: { prefix: { enabled: true, blockBytes: 64, blocks: 4, maxLoadFactor: 3 } } }),
      { allowOnHeadersStopIteration: true },
    );
    const first = await p.request({ ...prefixed("llama-3-8b", system, "q"), keepOpen: true });
    const holder = first.routerHeaders!["x-gateway-destination-endpoint"]!.split(",")[0]!;
    // One request still in flight on the holder: 1 + 1 <= (0 + 1) · 3, so affinity holds.
    const r = await p.request({ ...prefixed("llama-3-8b", system, "q2"), keepOpen: true });
    expect(r.routerHeaders!["x-gateway-destination-endpoint"]!.split(",")[0]).toBe(holder);
    // With two in flight (3 > 3 is false; 3 <= 3) it still holds; with three (4 > 3) it yields.
    await p.request({ ...prefixed("llama-3-8b", system, "q3"), keepOpen: true });
    const r4 = await p.request({ ...prefixed("llama-3-8b", system, "q4"), keepOpen: true });
    expect(r4.routerHeaders!["x-gateway-destination-endpoint"]!.split(",")[0]).not.toBe(holder);
  });
});

describe("LoRA affinity", () => {
  it("prefers the upstream whose polled running adapters include the requested adapter", async () => {
    const p = await routerProxy(endpointPool({ affinity: { prefix: { maxLoadFactor: 10 } } }), { clusters: [CLUSTER] });
    p.advance(1000);
    answerAll(p, (ep) => vllmPage({ waiting: 0, running: 1, kv: 0.1, lora: ep === EP2 ? "sql-adapter,chat-adapter" : "other" }));
    const counts = await pickCounts(p, 6, oip("llama-3-8b:sql-adapter"));
    expect(counts[EP2]).toBe(6);
    expect(counter(p, "lora_affinity_hits")).toBe(6);
    // The adapter name alone (no base prefix) matches as well.
    expect((await p.request(oip("llama-3-8b:chat-adapter"))).routerHeaders!["x-gateway-destination-endpoint"]!.split(",")[0]).toBe(EP2);
    // Saturated (KV cache full): the adapter holder is skipped.
    writeReport(p, loadKey("a", EP2), { queue: 0, kvCache: 0.95, atMs: T0 + 1000 });
    const r = await p.request(oip("llama-3-8b:sql-adapter"));
    expect(r.routerHeaders!["x-gateway-destination-endpoint"]!.split(",")[0]).toBe(EP1);
  });

  it("bounds LoRA affinity by load: with the default factor a burst spills over once the holder looks loaded", async () => {
    const p = await routerProxy(endpointPool(), { clusters: [CLUSTER] });
    p.advance(1000);
    answerAll(p, (ep) => vllmPage({ waiting: 0, running: 1, kv: 0.1, lora: ep === EP2 ? "sql-adapter" : "" }));
    const first = await p.request(oip("llama-3-8b:sql-adapter"));
    expect(first.routerHeaders!["x-gateway-destination-endpoint"]!.split(",")[0]).toBe(EP2);
    const counts = await pickCounts(p, 10, oip("llama-3-8b:sql-adapter"));
    expect(counts[EP1]).toBeGreaterThan(0);
  });
});

describe("model discovery", () => {
  it("learns extra models from /v1/models (OpenAI) and /v2/repository/index (KServe); configured models stay", async () => {
    const KS = "outbound|8000||triton.ml.svc.cluster.local";
    const p = await routerProxy(
      {
        pools: [
          { name: "a", models: ["llama-3-8b"], metrics: { cluster: CLUSTER }, discovery: { enabled: true } },
          {
            name: "t",
            models: ["resnet50"],
            metrics: { cluster: KS, engine: "triton" },
            discovery: { enabled: true, path: "/v2/repository/index" },
          },
        ],
      },
      { clusters: [CLUSTER, KS], workers: 2 },
    );
    expect((await p.request(oip("qwen-7b"))).status).toBe(404);
    p.advance(1000);
    for (const c of p.callouts.pending) {
      if (c.request.path === "/v1/models") {
        c.respond({
          status: 200,
          body: JSON.stringify({
            object: "list",
            data: [
              { id: "llama-3-8b", object: "model", permission: [{ id: "modelperm-1" }] },
              { id: "qwen-7b", object: "model" },
            ],
          }),
        });
      } else if (c.request.path === "/v2/repository/index") {
        c.respond({
          status: 200,
          body: JSON.stringify([
            { name: "bert", version: "1", state: "READY" },
            { name: "broken", version: "1", state: "UNAVAILABLE" },
          ]),
        });
      } else c.respond({ status: 200, body: "" });
    }
    p.advance(1000); // every worker refreshes its catalog on its tick
    for (const w of [0, 1]) {
      expect((await p.request({ ...oip("qwen-7b"), worker: w })).routerHeaders!["x-inference-pool"]).toBe("a");
      expect((await p.request({ ...oip("bert"), worker: w })).routerHeaders!["x-inference-pool"]).toBe("t");
      expect((await p.request({ ...oip("broken"), worker: w })).status).toBe(404);
      expect((await p.request({ ...oip("modelperm-1"), worker: w })).status).toBe(404);
      expect((await p.request({ ...oip("resnet50"), worker: w })).routerHeaders!["x-inference-pool"]).toBe("t");
    }
  });
});
