// Signal gaps closed (issue 11, item 4), through the compiled .wasm: every model of a Triton + TensorRT-LLM
// server has a queue signal whichever model the label filter names; ORCA JSON in protobuf's JSON form
// (lowerCamelCase names, as Envoy's own parser accepts); a model label filter with spaces, quotes and
// backslashes matches the escaped label value on the page.
import { describe, expect, it } from "vitest";
import type { Proxy } from "../../src/host/index.js";
import { loadKey, oip, readLoad, routerProxy } from "./helpers.js";

const CLUSTER = "outbound|8000||triton.llm.svc.cluster.local";
const EP1 = "10.0.0.1:8000";
const EP2 = "10.0.0.2:8000";

/** Triton with the TRT-LLM backend and the usual pipeline: ensemble → preprocessing → tensorrt_llm →
 *  postprocessing, plus tensorrt_llm_bls. Only tensorrt_llm carries the nv_trt_llm_* series. */
function tritonTrtllmPage(pending: Record<string, number>, waiting: number, scheduled: number, kv: number): string {
  const models = ["ensemble", "preprocessing", "postprocessing", "tensorrt_llm", "tensorrt_llm_bls"];
  return [
    "# HELP nv_inference_pending_request_count Instantaneous number of pending requests awaiting execution per-model.",
    "# TYPE nv_inference_pending_request_count gauge",
    ...models.map((m) => `nv_inference_pending_request_count{model="${m}",version="1"} ${pending[m] ?? 0}`),
    "# HELP nv_trt_llm_request_metrics TRT LLM request metrics",
    "# TYPE nv_trt_llm_request_metrics gauge",
    `nv_trt_llm_request_metrics{model="tensorrt_llm",request_type="scheduled",version="1"} ${scheduled}`,
    `nv_trt_llm_request_metrics{model="tensorrt_llm",request_type="waiting",version="1"} ${waiting}`,
    "# HELP nv_trt_llm_kv_cache_block_metrics TRT LLM KV cache block metrics",
    "# TYPE nv_trt_llm_kv_cache_block_metrics gauge",
    `nv_trt_llm_kv_cache_block_metrics{kv_cache_block_type="fraction",model="tensorrt_llm",version="1"} ${kv}`,
    "",
  ].join("\n");
}

function pool(model: string, labelFilter: string, engine: string): Record<string, unknown> {
  return {
    steering: "endpoint",
    pools: [{ name: "a", models: [model], endpoints: [EP1, EP2], metrics: { cluster: CLUSTER, engine, modelLabelFilter: labelFilter } }],
  };
}

function answer(p: Proxy, page: (ep: string) => string): void {
  for (const c of p.callouts.pending) c.respond({ status: 200, body: page(c.headers["x-gateway-destination-endpoint"] ?? "") });
}

async function firstPick(p: Proxy, model: string): Promise<string> {
  const r = await p.request(oip(model));
  return (r.routerHeaders!["x-gateway-destination-endpoint"] ?? "").split(",")[0]!;
}

describe("Triton with the TensorRT-LLM backend", () => {
  for (const [model, q1, q2] of [
    ["ensemble", 7, 0],
    ["preprocessing", 0, 3],
    ["postprocessing", 5, 1],
    ["tensorrt_llm_bls", 2, 9],
  ] as const) {
    it(`${model}: the label filter finds Triton's pending count (the TRT-LLM series belong to tensorrt_llm)`, async () => {
      const p = await routerProxy(pool(model, model, "triton-trtllm"), { clusters: [CLUSTER] });
      p.advance(1000);
      // The engine's own series say the opposite, so a pick following them would go the wrong way.
      answer(p, (ep) => tritonTrtllmPage({ [model]: ep === EP1 ? q1 : q2 }, ep === EP1 ? 0 : 50, 4, 0.2));
      expect(readLoad(p, loadKey("a", EP1))!.queue).toBe(q1);
      expect(readLoad(p, loadKey("a", EP2))!.queue).toBe(q2);
      expect(await firstPick(p, model)).toBe(q1 < q2 ? EP1 : EP2);
    });
  }

  it("tensorrt_llm: reads the TRT-LLM series (waiting, scheduled, KV fraction)", async () => {
    const p = await routerProxy(pool("tensorrt_llm", "tensorrt_llm", "triton-trtllm"), { clusters: [CLUSTER] });
    p.advance(1000);
    answer(p, (ep) => tritonTrtllmPage({ tensorrt_llm: 99 }, ep === EP1 ? 6 : 1, ep === EP1 ? 12 : 3, ep === EP1 ? 0.5 : 0.1));
    const r1 = readLoad(p, loadKey("a", EP1))!;
    expect([r1.queue, r1.running]).toEqual([6, 12]);
    expect(r1.kvCache).toBeCloseTo(0.5);
    expect(readLoad(p, loadKey("a", EP2))!.queue).toBe(1);
    expect(await firstPick(p, "tensorrt_llm")).toBe(EP2);
  });
});

describe("model label filter with any label value", () => {
  it('matches `my "big" model\\v2` against the page\'s escaped form and ignores the other models', async () => {
    const name = 'my "big" model\\v2';
    const escaped = 'my \\"big\\" model\\\\v2';
    const page = (q: number) =>
      [
        "# TYPE vllm:num_requests_waiting gauge",
        `vllm:num_requests_waiting{model_name="${escaped}"} ${q}`,
        'vllm:num_requests_waiting{model_name="my big model"} 100',
        `vllm:num_requests_waiting{model_name="${escaped} "} 100`,
        "",
      ].join("\n");
    const p = await routerProxy(pool("big", name, "vllm"), { clusters: [CLUSTER] });
    p.advance(1000);
    answer(p, (ep) => page(ep === EP1 ? 4 : 1));
    expect(readLoad(p, loadKey("a", EP1))!.queue).toBe(4);
    expect(readLoad(p, loadKey("a", EP2))!.queue).toBe(1);
    expect(await firstPick(p, "big")).toBe(EP2);
  });
});

describe("ORCA JSON in protobuf's JSON form", () => {
  it("reads namedMetrics and camelCase fields into the picked upstream's record", async () => {
    const p = await routerProxy({ steering: "endpoint", pools: [{ name: "a", models: ["m"], endpoints: [EP1, EP2] }] });
    const r = await p.request(
      oip("m", {
        response: () => ({
          status: 200,
          headers: {
            "endpoint-load-metrics":
              'JSON {"cpuUtilization": 0.3, "rpsFractional": 4, "namedMetrics": {"queue": 6, "kv_cache_utilization": 0.75}}',
          },
        }),
      }),
    );
    const ep = r.routerHeaders!["x-gateway-destination-endpoint"]!.split(",")[0]!;
    const rec = readLoad(p, loadKey("a", ep))!;
    expect(rec.queue).toBe(6);
    expect(rec.kvCache).toBeCloseTo(0.75);
    expect(await firstPick(p, "m")).toBe(ep === EP1 ? EP2 : EP1);
  });
});
