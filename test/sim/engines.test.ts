// Each simulated engine answers its own routes, with its real server's shapes and errors, and only those.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ENGINE_ROUTES } from "../../src/sim/routes.js";
import { Simulator, type Engine } from "../../src/sim/server.js";
import { SIMULATOR_ENGINES as ENGINES } from "../../src/config/engines.js";

const M = "m1";
const sims = new Map<Engine, Simulator>();

beforeAll(async () => {
  for (const engine of ENGINES) {
    const s = new Simulator({ name: `sim-${engine}`, engine, models: [M], gpu: "h100", defaultMaxTokens: 3, streamIntervalMs: 5 });
    await s.listen(0);
    sims.set(engine, s);
  }
});
afterAll(async () => {
  for (const s of sims.values()) await s.close();
});

const sim = (e: Engine) => sims.get(e)!;
function call(e: Engine, method: string, path: string, body?: unknown, headers: Record<string, string> = {}) {
  return fetch(`http://${sim(e).address}${path}`, {
    method,
    headers: { "content-type": "application/json", ...headers },
    ...(body !== undefined ? { body: typeof body === "string" ? body : JSON.stringify(body) } : {}),
  });
}

/** A valid request body for each route shape. */
function sampleBody(path: string): unknown {
  if (path === "/inference/v1/generate") return { model: M, token_ids: [1, 2, 3], sampling_params: { max_tokens: 2 } };
  if (path.includes("chat/completions")) return { model: M, max_tokens: 2, messages: [{ role: "user", content: "hi" }] };
  if (path.endsWith("/completions")) return { model: M, prompt: "hi", max_tokens: 2 };
  if (path.endsWith("/embeddings")) return { model: M, input: "hi" };
  if (path === "/v1/responses") return { model: M, input: "hi", max_output_tokens: 2 };
  if (path === "/v1/messages") return { model: M, max_tokens: 2, messages: [{ role: "user", content: "hi" }] };
  if (path.endsWith("rerank")) return { model: M, query: "gpu", documents: ["a gpu", "a cat"] };
  if (path.endsWith("score")) return { model: M, text_1: "gpu", text_2: ["gpu fast", "cat"] };
  if (path === "/generate" || path === "/generate_stream" || path === "/")
    return { inputs: "hi", prompt: "hi", text: "hi", parameters: { max_new_tokens: 2 }, sampling_params: { max_new_tokens: 2 } };
  if (path.endsWith("/infer")) return { inputs: [{ name: "input-0", datatype: "FP32", shape: [1, 1], data: [1] }] };
  if (path.includes("/generate")) return { text_input: "hi", max_tokens: 2 };
  if (path.endsWith(":classify") || path.endsWith(":regress")) return { examples: [{ x: 1 }] };
  if (path.includes(":")) return { instances: [[1, 2]] };
  if (path.startsWith("/predictions") || path.startsWith("/explanations")) return { data: "hi" };
  return {};
}

describe("every engine answers its documented routes", () => {
  for (const engine of ENGINES) {
    it(engine, async () => {
      for (const [method, tpl] of ENGINE_ROUTES[engine]) {
        const path = tpl.replace("{m}", M);
        const r = await call(engine, method, path, method === "GET" ? undefined : sampleBody(path));
        expect(r.status, `${engine} ${method} ${path}: ${await r.clone().text()}`).toBe(200);
        expect(r.headers.get("x-simulator")).toBe(`sim-${engine}`);
        await r.arrayBuffer();
      }
    });
  }
});

describe("engines do not answer each other's routes", () => {
  it("404s outside an engine's API", async () => {
    expect((await call("tgi", "POST", "/v1/responses", sampleBody("/v1/responses"))).status).toBe(404);
    expect((await call("triton", "POST", "/v1/chat/completions", sampleBody("/v1/chat/completions"))).status).toBe(404);
    expect((await call("torchserve", "POST", "/v2/models/m1/infer", sampleBody("/infer"))).status).toBe(404);
    expect((await call("tfserving", "POST", "/v1/models/m1:explain", { instances: [1] })).status).toBe(404);
    expect((await call("kserve", "POST", "/v1/models/m1:classify", { examples: [1] })).status).toBe(404);
    expect((await call("sglang", "POST", "/v1/messages", sampleBody("/v1/messages"))).status).toBe(404);
  });
});

describe("shapes and errors of the real servers", () => {
  it("vLLM: OpenAI error body for an unknown model; Anthropic Messages; legacy /generate; rerank order", async () => {
    const e = await call("vllm", "POST", "/v1/chat/completions", { model: "nope", messages: [{ role: "user", content: "x" }] });
    expect(e.status).toBe(404);
    expect(((await e.json()) as { error: { type: string; code: number } }).error).toMatchObject({ type: "NotFoundError", code: 404 });
    const m = (await (await call("vllm", "POST", "/v1/messages", sampleBody("/v1/messages"))).json()) as {
      type: string;
      content: Array<{ type: string; text: string }>;
      stop_reason: string;
    };
    expect(m.type).toBe("message");
    expect(m.content[0]!.text.split(" ")).toHaveLength(2);
    expect(m.stop_reason).toBe("max_tokens");
    const bad = await call("vllm", "POST", "/v1/messages", { model: M, messages: [{ role: "user", content: "x" }] });
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { type: string; error: { type: string } }).error.type).toBe("invalid_request_error");
    const g = (await (await call("vllm", "POST", "/generate", { prompt: "Hi", max_tokens: 2 })).json()) as { text: string[] };
    expect(g.text[0]!.startsWith("Hi")).toBe(true);
    const tok = (await (
      await call("vllm", "POST", "/inference/v1/generate", { token_ids: [5, 6], sampling_params: { max_tokens: 3 }, request_id: "r1" })
    ).json()) as { request_id: string; choices: Array<{ token_ids: number[] }> };
    expect(tok.request_id).toBe("r1");
    expect(tok.choices[0]!.token_ids).toHaveLength(3);
    const rr = (await (
      await call("vllm", "POST", "/rerank", { model: M, query: "fast gpu", documents: ["a cat", "fast gpu here"] })
    ).json()) as { results: Array<{ index: number }> };
    expect(rr.results.map((x) => x.index)).toEqual([1, 0]);
  });

  it("TGI: generate_stream events end with the full text; POST / answers an array; 422 without inputs", async () => {
    const text = await (await call("tgi", "POST", "/generate_stream", { inputs: "hi", parameters: { max_new_tokens: 3 } })).text();
    const events = text
      .split("\n\n")
      .filter(Boolean)
      .map((e) => JSON.parse(e.replace(/^data:/, "")) as { token: { text: string }; generated_text: string | null });
    expect(events.at(-1)!.generated_text!.split(" ")).toHaveLength(3);
    expect(Array.isArray(await (await call("tgi", "POST", "/", { inputs: "hi" })).json())).toBe(true);
    const bad = await call("tgi", "POST", "/generate", { parameters: {} });
    expect(bad.status).toBe(422);
    expect(((await bad.json()) as { error_type: string }).error_type).toBe("validation");
  });

  it("SGLang: /generate meta_info; streaming ends with [DONE]", async () => {
    const j = (await (await call("sglang", "POST", "/generate", { text: "hi", sampling_params: { max_new_tokens: 2 } })).json()) as {
      text: string;
      meta_info: { completion_tokens: number; finish_reason: { type: string } };
    };
    expect(j.meta_info.completion_tokens).toBe(2);
    expect(j.meta_info.finish_reason.type).toBe("length");
    const s = await (
      await call("sglang", "POST", "/generate", { text: "hi", stream: true, sampling_params: { max_new_tokens: 2 } })
    ).text();
    expect(s.trimEnd().endsWith("data: [DONE]")).toBe(true);
  });

  it("KServe v2, v1, TF Serving and TorchServe errors", async () => {
    const v2 = await call("triton", "POST", "/v2/models/nope/infer", sampleBody("/infer"));
    expect(v2.status).toBe(404);
    expect(((await v2.json()) as { error: string }).error).toContain("nope");
    const v1 = await call("kserve", "POST", "/v1/models/nope:predict", { instances: [1] });
    expect(v1.status).toBe(404);
    expect(((await v1.json()) as { error: string }).error).toBe("Model with name nope does not exist.");
    const tf = await call("tfserving", "POST", "/v1/models/m1/versions/7:predict", { instances: [1] });
    expect(tf.status).toBe(404);
    expect(((await tf.json()) as { error: string }).error).toBe("Servable not found for request: Specific(m1, 7)");
    const tfMissing = await call("tfserving", "POST", "/v1/models/m1:predict", { foo: 1 });
    expect(tfMissing.status).toBe(400);
    const ts = await call("torchserve", "POST", "/predictions/nope", "raw");
    expect(ts.status).toBe(404);
    expect(await ts.json()).toEqual({ code: 404, type: "ModelNotFoundException", message: "Model not found: nope" });
    const p = (await (await call("tfserving", "POST", "/v1/models/m1:predict", { instances: [[1], [2]] })).json()) as {
      predictions: unknown[];
    };
    expect(p.predictions).toHaveLength(2);
  });
});

describe("ORCA load reports only when asked, as vLLM", () => {
  const chat = { model: M, max_tokens: 2, messages: [{ role: "user", content: "hi" }] };
  it("no request header, an unknown format, a stream or an error: no report", async () => {
    expect((await call("vllm", "POST", "/v1/chat/completions", chat)).headers.get("endpoint-load-metrics")).toBeNull();
    expect(
      (await call("vllm", "POST", "/v1/chat/completions", chat, { "endpoint-load-metrics-format": "BINARY" })).headers.get(
        "endpoint-load-metrics",
      ),
    ).toBeNull();
    const st = await call("vllm", "POST", "/v1/chat/completions", { ...chat, stream: true }, { "endpoint-load-metrics-format": "TEXT" });
    expect(st.headers.get("endpoint-load-metrics")).toBeNull();
    await st.text();
    expect(
      (
        await call("vllm", "POST", "/v1/chat/completions", { ...chat, model: "nope" }, { "endpoint-load-metrics-format": "TEXT" })
      ).headers.get("endpoint-load-metrics"),
    ).toBeNull();
    expect(
      (await call("vllm", "POST", "/v1/embeddings", { model: M, input: "x" }, { "endpoint-load-metrics-format": "TEXT" })).headers.get(
        "endpoint-load-metrics",
      ),
    ).toBeNull();
  });

  it("TEXT and JSON (any case) on chat and completions", async () => {
    const t = (
      await call("vllm", "POST", "/v1/completions", { model: M, prompt: "x", max_tokens: 1 }, { "endpoint-load-metrics-format": "text" })
    ).headers.get("endpoint-load-metrics");
    expect(t).toMatch(/^TEXT named_metrics\.num_requests_waiting=\d+\.\d+, named_metrics\.kv_cache_usage_perc=\d+(\.\d+)?$/);
    const j = (await call("vllm", "POST", "/v1/chat/completions", chat, { "endpoint-load-metrics-format": "JSON" })).headers.get(
      "endpoint-load-metrics",
    )!;
    expect(j.startsWith("JSON ")).toBe(true);
    expect(Object.keys((JSON.parse(j.slice(5)) as { named_metrics: Record<string, number> }).named_metrics)).toEqual([
      "num_requests_waiting",
      "kv_cache_usage_perc",
    ]);
  });

  it("only engines whose real server speaks ORCA report (src/config/engines.ts): not SGLang, not TGI", async () => {
    for (const e of ["sglang", "tgi"] as const) {
      const r = await call(e, "POST", "/v1/chat/completions", chat, { "endpoint-load-metrics-format": "TEXT" });
      expect(r.status).toBe(200);
      expect(r.headers.get("endpoint-load-metrics")).toBeNull();
      await r.text();
    }
  });

  it("a server started with orca: false never reports", async () => {
    const s = new Simulator({ engine: "vllm", models: [M], orca: false });
    await s.listen(0);
    try {
      const r = await fetch(`http://${s.address}/v1/chat/completions`, {
        method: "POST",
        headers: { "endpoint-load-metrics-format": "TEXT" },
        body: JSON.stringify(chat),
      });
      expect(r.headers.get("endpoint-load-metrics")).toBeNull();
    } finally {
      await s.close();
    }
  });
});
