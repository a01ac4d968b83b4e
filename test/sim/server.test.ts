import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Simulator } from "../../src/sim/server.js";

let vllm: Simulator;
let triton: Simulator;
const url = (s: Simulator, p: string) => `http://127.0.0.1:${s.port}${p}`;
const post = (s: Simulator, p: string, body: unknown) =>
  fetch(url(s, p), { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });

beforeAll(async () => {
  vllm = new Simulator({ models: ["llama-3.1-8b-instruct", "llama-3.1-8b-instruct:sql-lora"], engine: "vllm", gpu: "h100", orca: true });
  triton = new Simulator({ models: ["resnet"], engine: "triton", gpu: "l4" });
  await vllm.listen(0);
  await triton.listen(0);
});
afterAll(async () => {
  await vllm.close();
  await triton.close();
});

/** Minimal Prometheus text-format check: HELP/TYPE before samples, every sample line well formed. */
function checkExposition(text: string): Map<string, number> {
  const samples = new Map<string, number>();
  const typed = new Set<string>();
  for (const line of text.trimEnd().split("\n")) {
    const meta = /^# (HELP|TYPE) ([a-zA-Z_:][a-zA-Z0-9_:]*) (.+)$/.exec(line);
    if (meta) {
      if (meta[1] === "TYPE") {
        expect(meta[3]).toMatch(/^(gauge|counter|histogram|summary)$/);
        typed.add(meta[2]!);
      }
      continue;
    }
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(?:[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\]|\\.)*",?)*\})? (-?[0-9.e+]+|NaN|\+Inf)$/.exec(line);
    expect(m, `bad sample line: ${line}`).not.toBeNull();
    const family = m![1]!.replace(/_(bucket|sum|count)$/, "");
    expect(typed.has(m![1]!) || typed.has(family), `no TYPE for ${line}`).toBe(true);
    samples.set(`${m![1]}${m![2] ?? ""}`, Number(m![3]));
  }
  return samples;
}

describe("simulator HTTP server", () => {
  it("answers OpenAI chat (with usage, cached tokens on a repeated system prompt and an ORCA header when asked)", async () => {
    const body = {
      model: "llama-3.1-8b-instruct",
      max_tokens: 5,
      messages: [
        { role: "system", content: "You are terse. ".repeat(40) },
        { role: "user", content: "hi" },
      ],
    };
    const r1 = await fetch(url(vllm, "/v1/chat/completions"), {
      method: "POST",
      headers: { "content-type": "application/json", "endpoint-load-metrics-format": "TEXT" },
      body: JSON.stringify(body),
    });
    expect(r1.status).toBe(200);
    // vLLM's format: named metrics as Python floats (vllm/entrypoints/serve/utils/orca_metrics.py).
    expect(r1.headers.get("endpoint-load-metrics")).toMatch(
      /^TEXT named_metrics\.num_requests_waiting=\d+\.\d+, named_metrics\.kv_cache_usage_perc=\d+\.\d+$/,
    );
    const j1 = (await r1.json()) as {
      object: string;
      choices: Array<{ message: { content: string } }>;
      usage: { completion_tokens: number; prompt_tokens_details: { cached_tokens: number } };
    };
    expect(j1.object).toBe("chat.completion");
    expect(j1.usage.completion_tokens).toBe(5);
    expect(j1.choices[0]!.message.content.split(" ")).toHaveLength(5);
    expect(j1.usage.prompt_tokens_details.cached_tokens).toBe(0);
    const j2 = (await (await post(vllm, "/v1/chat/completions", body)).json()) as typeof j1;
    expect(j2.usage.prompt_tokens_details.cached_tokens).toBeGreaterThan(100);
  });

  it("streams SSE chunks ending in [DONE]", async () => {
    const r = await post(vllm, "/v1/chat/completions", {
      model: "llama-3.1-8b-instruct",
      stream: true,
      max_tokens: 6,
      messages: [{ role: "user", content: "hello" }],
    });
    expect(r.headers.get("content-type")).toBe("text/event-stream");
    const text = await r.text();
    const events = text.split("\n\n").filter(Boolean);
    expect(events.every((e) => e.startsWith("data: "))).toBe(true);
    expect(events.at(-1)).toBe("data: [DONE]");
    const chunks = events
      .slice(0, -1)
      .map(
        (e) => JSON.parse(e.slice(6)) as { object: string; choices: Array<{ delta: { content?: string }; finish_reason: string | null }> },
      );
    expect(chunks.every((c) => c.object === "chat.completion.chunk")).toBe(true);
    expect(chunks.filter((c) => c.choices[0]?.delta.content).length).toBe(6);
    expect(chunks.at(-1)!.choices[0]!.finish_reason).toBe("length");
  });

  it("serves completions, embeddings, models and 404s unknown models", async () => {
    const c = (await (await post(vllm, "/v1/completions", { model: "llama-3.1-8b-instruct", prompt: "Once", max_tokens: 3 })).json()) as {
      choices: Array<{ text: string }>;
    };
    expect(c.choices[0]!.text.length).toBeGreaterThan(0);
    const e = (await (await post(vllm, "/v1/embeddings", { model: "llama-3.1-8b-instruct", input: ["a", "b"] })).json()) as {
      data: unknown[];
    };
    expect(e.data).toHaveLength(2);
    const m = (await (await fetch(url(vllm, "/v1/models"))).json()) as { data: Array<{ id: string }> };
    expect(m.data.map((x) => x.id)).toEqual(["llama-3.1-8b-instruct", "llama-3.1-8b-instruct:sql-lora"]);
    expect((await post(vllm, "/v1/chat/completions", { model: "nope", messages: [{ role: "user", content: "x" }] })).status).toBe(404);
  });

  it("speaks KServe v2: health, repository index, infer, generate and generate_stream", async () => {
    expect((await fetch(url(triton, "/v2/health/ready"))).status).toBe(200);
    expect(await (await post(triton, "/v2/repository/index", {})).json()).toEqual([{ name: "resnet", version: "1", state: "READY" }]);
    const inf = (await (
      await post(triton, "/v2/models/resnet/infer", { id: "x1", inputs: [{ name: "in", datatype: "FP32", shape: [1], data: [1] }] })
    ).json()) as { model_name: string; id: string; outputs: unknown[] };
    expect(inf).toMatchObject({ model_name: "resnet", id: "x1" });
    const gen = (await (await post(triton, "/v2/models/resnet/generate", { text_input: "hi", parameters: { max_tokens: 4 } })).json()) as {
      text_output: string;
    };
    expect(gen.text_output.split(" ")).toHaveLength(4);
    const st = await (await post(triton, "/v2/models/resnet/generate_stream", { text_input: "hi", parameters: { max_tokens: 3 } })).text();
    expect(
      st
        .split("\n\n")
        .filter(Boolean)
        .map((l) => JSON.parse(l.replace(/^data: /, "")) as { text_output: string }),
    ).toHaveLength(3);
    expect((await post(triton, "/v2/models/other/infer", {})).status).toBe(404);
  });

  it("exports vLLM metrics in Prometheus format", async () => {
    const text = await (await fetch(url(vllm, "/metrics"))).text();
    const s = checkExposition(text);
    for (const name of ["vllm:num_requests_waiting", "vllm:num_requests_running", "vllm:kv_cache_usage_perc"])
      expect(s.has(`${name}{engine="0",model_name="llama-3.1-8b-instruct"}`), name).toBe(true);
    expect([...s.keys()].some((k) => k.startsWith("vllm:lora_requests_info{max_lora="))).toBe(true);
    expect(s.get('vllm:prefix_cache_hits_total{engine="0",model_name="llama-3.1-8b-instruct"}')).toBeGreaterThan(0);
    expect(s.get('vllm:prefix_cache_queries_total{engine="0",model_name="llama-3.1-8b-instruct"}')).toBeGreaterThan(0);
    expect(s.get('vllm:e2e_request_latency_seconds_count{engine="0",model_name="llama-3.1-8b-instruct"}')).toBeGreaterThanOrEqual(3);
    expect(text).toContain("# TYPE vllm:e2e_request_latency_seconds histogram");
    expect(text).toContain('le="+Inf"');
  });

  it("exports Triton metrics in Prometheus format", async () => {
    const s = checkExposition(await (await fetch(url(triton, "/metrics"))).text());
    expect(s.get('nv_inference_pending_request_count{model="resnet",version="1"}')).toBe(0);
    expect(s.get('nv_inference_request_success{model="resnet",version="1"}')).toBeGreaterThanOrEqual(3);
    expect(s.has('nv_trt_llm_kv_cache_block_metrics{model="resnet",version="1",kv_cache_block_type="fraction"}')).toBe(true);
  });

  it("reports load while busy and degrades through /admin/fault", async () => {
    const sim = new Simulator({ models: ["m"], gpu: "l4", seed: 3 });
    await sim.listen(0);
    try {
      const inflight = Array.from({ length: 6 }, () =>
        post(sim, "/v1/completions", { model: "m", prompt: "x".repeat(400), max_tokens: 40 }).then((r) => r.text()),
      );
      // wait until all six arrived (connections are set up concurrently on a busy machine), then for prefill
      while (sim.requests < 6) await new Promise((r) => setTimeout(r, 5));
      await new Promise((r) => setTimeout(r, 100));
      const s = checkExposition(await (await fetch(url(sim, "/metrics"))).text());
      expect(s.get('vllm:num_requests_running{engine="0",model_name="m"}')).toBe(6);
      expect(s.get('vllm:kv_cache_usage_perc{engine="0",model_name="m"}')).toBeGreaterThan(0);
      await Promise.all(inflight);

      await post(sim, "/admin/fault", { failureRate: 1 });
      expect((await post(sim, "/v1/completions", { model: "m", prompt: "x", max_tokens: 1 })).status).toBe(500);
      await post(sim, "/admin/fault", { failureRate: 0, metricsGarbage: true });
      expect(await (await fetch(url(sim, "/metrics"))).text()).toContain("garbage");
      await post(sim, "/admin/fault", { metricsGarbage: false, metricsDown: true });
      expect((await fetch(url(sim, "/metrics"))).status).toBe(503);
      await post(sim, "/admin/fault", { metricsDown: false, dead: true });
      await expect(post(sim, "/v1/completions", { model: "m", prompt: "x", max_tokens: 1 })).rejects.toThrow();
      await post(sim, "/admin/fault", { dead: false, slowdown: 3 });
      const t0 = performance.now();
      expect((await post(sim, "/v1/completions", { model: "m", prompt: "x", max_tokens: 10 })).status).toBe(200);
      // 10 tokens on an L4 at 3× slowdown: ≥ 10 × 10 ms × 3 / 0.35
      expect(performance.now() - t0).toBeGreaterThan(800);
      const st = (await (await fetch(url(sim, "/admin/state"))).json()) as { faults: { slowdown: number } };
      expect(st.faults.slowdown).toBe(3);
    } finally {
      await sim.close();
    }
  });
});
