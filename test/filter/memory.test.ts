// The filter's VM memory stays flat: linear memory never shrinks in Envoy, so any per-request growth would
// end in an out-of-memory trap on a busy sidecar.
import { describe, expect, it } from "vitest";
import { HeaderMap } from "../../src/host/index.js";
import { routerProxy, twoPools } from "./helpers.js";

// `npm test` runs short versions; `npm run soak` runs the long ones (INFERENCE_ROUTER_SOAK=1).
const LONG = process.env.INFERENCE_ROUTER_SOAK === "1";
const PLAIN = LONG ? 100_000 : 20_000;
const SIGNALS = LONG ? 50_000 : 10_000;
const k = (n: number) => `${n / 1000}k`;

describe("memory", () => {
  it(`keeps the filter VM's memory flat over ${k(PLAIN)} requests`, { timeout: 120_000 }, async () => {
    const p = await routerProxy(twoPools({ steering: "endpoint" }));
    const reqHeaders = {
      ":method": "POST",
      ":path": "/v2/models/llama-3-70b/infer",
      ":authority": "gpu.example",
      "content-type": "application/json",
      "x-gateway-destination-endpoint": "1.2.3.4:5",
    };
    const run = (n: number) => {
      for (let i = 0; i < n; i++) {
        const s = p.newStream();
        s.sendRequestHeaders(new HeaderMap(reqHeaders), true);
        s.sendResponseHeaders(new HeaderMap({ ":status": i % 50 === 0 ? "503" : "200" }), true);
        s.complete();
        if (i % 1000 === 0) p.advance(10);
      }
    };
    run(10_000); // warm up: heap and GC reach their working size
    const before = p.workers[0]!.memoryPages();
    run(PLAIN);
    const after = p.workers[0]!.memoryPages();
    expect(p.workers[0]!.failed).toBe(false);
    expect(after).toBe(before);
  });
});

describe("memory with load signals", () => {
  it(`stays flat with polling, ORCA reports, LoRA and prefix affinity on (${k(SIGNALS)} requests)`, { timeout: 120_000 }, async () => {
    const CLUSTER = "outbound|8000||vllm.llm.svc.cluster.local";
    const p = await routerProxy(
      {
        steering: "endpoint",
        body: { enabled: true },
        affinity: { prefix: { enabled: true, blockBytes: 64 } },
        pools: [
          { name: "a", models: ["m"], modelPrefixes: ["m:"], endpoints: ["10.0.0.1:80", "10.0.0.2:80"], metrics: { cluster: CLUSTER } },
        ],
      },
      { clusters: [CLUSTER], allowOnHeadersStopIteration: true },
    );
    const page =
      'vllm:num_requests_waiting{model_name="m"} 1\nvllm:num_requests_running{model_name="m"} 2\nvllm:kv_cache_usage_perc{model_name="m"} 0.3\n' +
      'vllm:lora_requests_info{max_lora="2",running_lora_adapters="a1",waiting_lora_adapters=""} 1\n';
    const run = (n: number) => {
      for (let i = 0; i < n; i++) {
        const s = p.newStream();
        s.sendRequestHeaders(
          new HeaderMap({ ":method": "POST", ":path": "/v1/chat/completions", ":authority": "x", "content-type": "application/json" }),
          false,
        );
        s.sendRequestBody(
          `{"model":"m${i % 3 === 0 ? ":a1" : ""}","messages":[{"role":"system","content":"prefix ${i % 7} ${"x".repeat(100)}"},{"role":"user","content":"q${i}"}]}`,
          true,
        );
        s.sendResponseHeaders(new HeaderMap({ ":status": "200", "endpoint-load-metrics": `TEXT named_metrics.queue=${i % 4}` }), true);
        s.complete();
        if (i % 200 === 0) {
          p.advance(1000);
          for (const c of p.callouts.pending) c.respond({ status: 200, body: page });
        }
      }
    };
    run(10_000);
    const before = p.workers[0]!.memoryPages();
    run(SIGNALS);
    expect(p.workers[0]!.failed).toBe(false);
    expect(p.workers[0]!.memoryPages()).toBe(before);
  });
});

describe("memory with the decision trace on", () => {
  it(`stays flat with the decision header and info log line on every request (${k(SIGNALS)} requests)`, { timeout: 120_000 }, async () => {
    const p = await routerProxy(twoPools({ steering: "endpoint", decisionTrace: { header: true, log: true } }));
    const reqHeaders = {
      ":method": "POST",
      ":path": "/v2/models/llama-3-70b/infer",
      ":authority": "gpu.example",
      "content-type": "application/json",
      "x-request-id": "0123456789abcdef",
    };
    const run = (n: number) => {
      for (let i = 0; i < n; i++) {
        const s = p.newStream();
        s.sendRequestHeaders(new HeaderMap(reqHeaders), true);
        s.sendResponseHeaders(new HeaderMap({ ":status": "200", "x-inference-router-decision": "forged" }), true);
        s.complete();
        if (i % 1000 === 0) {
          p.advance(10);
          p.logs.clear();
        }
      }
    };
    run(5_000);
    const before = p.workers[0]!.memoryPages();
    run(SIGNALS);
    expect(p.workers[0]!.failed).toBe(false);
    expect(p.workers[0]!.memoryPages()).toBe(before);
    expect(p.logs.messages().at(-1)).toMatch(/^inference-router decision v=1 reason=least_loaded .* request_id=0123456789abcdef$/);
  });
});
