// Every documented inference call of the supported servers, classified and steered by the compiled filter:
// one test per route (issue 12), through build/inference-router.wasm in our host with body mode on.
import { describe, expect, it } from "vitest";
import type { RequestSpec } from "../../src/host/index.js";
import { routerProxy } from "./helpers.js";

const cfg = {
  body: { enabled: true, maxBytes: 65536, timeoutMs: 200 },
  pools: [
    { name: "llm", models: ["llama-3-8b", "my-deployment", "claude-like"], endpoints: ["10.0.0.1:8000"] },
    { name: "pool", models: ["bge-reranker", "bge-m3"], endpoints: ["10.0.1.1:8000"] },
    { name: "asr", models: ["whisper-large-v3"], endpoints: ["10.0.2.1:8000"] },
    { name: "ts", models: ["resnet-152", "densenet161"], endpoints: ["10.0.3.1:8000"] },
  ],
};
const proxy = () => routerProxy(cfg, { allowOnHeadersStopIteration: true });
const json = (method: string, path: string, body: unknown): RequestSpec => ({
  method,
  path,
  headers: { "content-type": "application/json" },
  body: JSON.stringify(body),
});

/** Steered as expected: protocol, model (header form), class and pool. */
async function expectRoute(
  spec: RequestSpec,
  want: { protocol: string; model?: string; pool?: string; klass?: string; version?: string; label?: string },
) {
  const p = await proxy();
  const r = await p.request(spec);
  expect(r.reachedRouter, `${spec.method} ${spec.path}`).toBe(true);
  const h = r.routerHeaders!;
  expect(h["x-inference-protocol"]).toBe(want.protocol);
  if (want.model !== undefined) expect(h["x-inference-model"]).toBe(want.model);
  if (want.pool !== undefined) expect(h["x-inference-pool"]).toBe(want.pool);
  if (want.klass !== undefined) expect(h["x-inference-class"]).toBe(want.klass);
  if (want.version !== undefined) expect(h["x-inference-model-version"]).toBe(want.version);
  if (want.label !== undefined) expect(h["x-inference-model-label"]).toBe(want.label);
  return r;
}

/** Protobuf helpers for gRPC bodies. */
const enc = new TextEncoder();
function ld(field: number, data: string | number[]): number[] {
  const b = typeof data === "string" ? [...enc.encode(data)] : data;
  return [(field << 3) | 2, b.length, ...b];
}
function frame(msg: number[]): Uint8Array {
  const f = new Uint8Array(5 + msg.length);
  new DataView(f.buffer).setUint32(1, msg.length, false);
  f.set(msg, 5);
  return f;
}

describe("vLLM", () => {
  it("POST /inference/v1/generate (token-in GenerateRequest, optional model and stream)", async () => {
    await expectRoute(
      json("POST", "/inference/v1/generate", {
        token_ids: [1, 2, 3],
        sampling_params: { max_tokens: 8 },
        model: "llama-3-8b",
        stream: true,
      }),
      { protocol: "vllm-generate-tokens", model: "llama-3-8b", pool: "llm", klass: "generate-stream" },
    );
  });
  it("POST /inference/v1/generate without a model is undetermined and routed untouched", async () => {
    const r = await expectRoute(json("POST", "/inference/v1/generate", { token_ids: [1] }), { protocol: "vllm-generate-tokens" });
    expect(r.routerHeaders!["x-inference-pool"]).toBeUndefined();
  });
  for (const path of ["/score", "/v1/score"]) {
    it(`POST ${path}`, async () => {
      await expectRoute(json("POST", path, { model: "bge-reranker", text_1: "a", text_2: ["b"] }), {
        protocol: "vllm-score",
        model: "bge-reranker",
        pool: "pool",
        klass: "embed",
      });
    });
  }
  for (const path of ["/rerank", "/v1/rerank", "/v2/rerank"]) {
    it(`POST ${path}`, async () => {
      await expectRoute(json("POST", path, { model: "bge-reranker", query: "q", documents: ["a", "b"] }), {
        protocol: "vllm-rerank",
        model: "bge-reranker",
        pool: "pool",
        klass: "embed",
      });
    });
  }
  it("POST /pooling and POST /classify", async () => {
    await expectRoute(json("POST", "/pooling", { model: "bge-m3", input: "x" }), {
      protocol: "vllm-pooling",
      model: "bge-m3",
      pool: "pool",
      klass: "embed",
    });
    await expectRoute(json("POST", "/classify", { model: "bge-m3", input: ["x"] }), {
      protocol: "vllm-classify",
      model: "bge-m3",
      pool: "pool",
      klass: "embed",
    });
  });
  it("non-inference vLLM calls stay untouched", async () => {
    const p = await proxy();
    for (const [method, path] of [
      ["POST", "/tokenize"],
      ["POST", "/detokenize"],
      ["GET", "/v1/models"],
      ["GET", "/health"],
      ["POST", "/v1/messages/count_tokens"],
      ["GET", "/score"],
    ]) {
      const r = await p.request(json(method, path, { model: "llama-3-8b" }));
      expect(r.routerHeaders!["x-inference-protocol"], `${method} ${path}`).toBeUndefined();
      expect(r.routerHeaders!["x-inference-pool"]).toBeUndefined();
    }
  });
});

describe("OpenAI audio (multipart/form-data)", () => {
  const B = "xYzZY-boundary";
  const form = (fields: Array<[string, string | Uint8Array, string?]>) => {
    const parts: number[] = [];
    for (const [name, value, filename] of fields) {
      parts.push(
        ...enc.encode(
          `--${B}\r\nContent-Disposition: form-data; name="${name}"${filename ? `; filename="${filename}"\r\nContent-Type: audio/wav` : ""}\r\n\r\n`,
        ),
      );
      parts.push(...(typeof value === "string" ? enc.encode(value) : value), 13, 10);
    }
    parts.push(...enc.encode(`--${B}--\r\n`));
    return Uint8Array.from(parts);
  };
  const audio = new Uint8Array(20_000).map((_, i) => (i * 131) & 0xff);
  for (const path of ["/v1/audio/transcriptions", "/v1/audio/translations", "/openai/v1/audio/transcriptions"]) {
    it(`POST ${path}: model is a form field after the binary file part`, async () => {
      const body = form([
        ["file", audio, "speech.wav"],
        ["model", "whisper-large-v3"],
        ["stream", "true"],
      ]);
      await expectRoute(
        { method: "POST", path, headers: { "content-type": `multipart/form-data; boundary=${B}` }, body },
        {
          protocol: path.endsWith("translations") ? "openai-translations" : "openai-transcriptions",
          model: "whisper-large-v3",
          pool: "asr",
          klass: "generate-stream",
        },
      );
    });
  }
  it("a file part larger than the scan limit: model missed, counted, routed untouched", async () => {
    const p = await routerProxy({ ...cfg, body: { enabled: true, maxBytes: 4096, timeoutMs: 200 } }, { allowOnHeadersStopIteration: true });
    const body = form([
      ["file", audio, "speech.wav"],
      ["model", "whisper-large-v3"],
    ]);
    const r = await p.request({
      method: "POST",
      path: "/v1/audio/transcriptions",
      headers: { "content-type": `multipart/form-data; boundary=${B}` },
      body,
      bodyChunks: [body.slice(0, 5000), body.slice(5000)],
    });
    expect(r.routerHeaders!["x-inference-pool"]).toBeUndefined();
    expect(r.routerBody.length).toBe(body.length);
    expect(p.prometheus()).toMatch(/inference_router_model_after_scan_limit\{\} 1\n/);
  });
});

describe("Anthropic Messages and the /openai/v1 prefix", () => {
  it("POST /v1/messages", async () => {
    await expectRoute(
      json("POST", "/v1/messages", { model: "claude-like", max_tokens: 256, messages: [{ role: "user", content: "hi" }], stream: true }),
      { protocol: "anthropic-messages", model: "claude-like", pool: "llm", klass: "generate-stream" },
    );
  });
  for (const [path, protocol] of [
    ["/openai/v1/chat/completions", "openai-chat"],
    ["/openai/v1/completions", "openai-completions"],
    ["/openai/v1/embeddings", "openai-embeddings"],
    ["/openai/v1/responses", "openai-responses"],
    ["/openai/v1/rerank", "vllm-rerank"],
  ]) {
    it(`POST ${path} (KServe OpenAI routes; Azure OpenAI v1 deployment name in model)`, async () => {
      await expectRoute(json("POST", path, { model: "my-deployment", messages: [], prompt: "x", input: "x" }), {
        protocol,
        model: "my-deployment",
        pool: "llm",
      });
    });
  }
});

describe("TorchServe", () => {
  for (const method of ["POST", "PUT", "GET"]) {
    it(`${method} /predictions/{m}/{v} (TorchServe ignores the method)`, async () => {
      await expectRoute(
        { method, path: "/predictions/resnet-152/2.0", body: "raw-image-bytes" },
        { protocol: "torchserve", model: "resnet-152", version: "2.0", pool: "ts", klass: "predict" },
      );
    });
  }
  it("/explanations/{m} and extra path segments TorchServe passes to the handler", async () => {
    await expectRoute({ method: "POST", path: "/explanations/densenet161" }, { protocol: "torchserve", model: "densenet161", pool: "ts" });
    await expectRoute(
      { method: "POST", path: "/predictions/densenet161/1.0/extra/seg" },
      { protocol: "torchserve", model: "densenet161", version: "1.0", pool: "ts" },
    );
  });
  for (const rpc of ["Predictions", "StreamPredictions"]) {
    it(`gRPC InferenceAPIsService/${rpc}: model_name 1, model_version 2, last value wins`, async () => {
      const msg = [
        ...ld(3, [...ld(1, "data"), ...ld(2, "bytes")]),
        ...ld(1, "decoy"),
        ...ld(2, "9"),
        ...ld(1, "resnet-152"),
        ...ld(2, "3"),
      ];
      await expectRoute(
        {
          method: "POST",
          path: `/org.pytorch.serve.grpc.inference.InferenceAPIsService/${rpc}`,
          headers: { "content-type": "application/grpc" },
          body: frame(msg),
        },
        {
          protocol: "torchserve-grpc",
          model: "resnet-152",
          version: "3",
          pool: "ts",
          klass: rpc === "Predictions" ? "predict" : "generate-stream",
        },
      );
    });
  }
  it("management and ping stay untouched", async () => {
    const p = await proxy();
    for (const [method, path] of [
      ["GET", "/ping"],
      ["GET", "/models"],
      ["POST", "/models"],
      ["DELETE", "/models/resnet-152/1"],
    ]) {
      const r = await p.request({ method, path });
      expect(r.routerHeaders!["x-inference-protocol"], `${method} ${path}`).toBeUndefined();
    }
  });
});

describe("TGI, SGLang and the shared /generate", () => {
  it("TGI POST / (CompatGenerateRequest), streaming from the body", async () => {
    const p = await proxy();
    // CompatGenerateRequest names no model (TGI serves one): classified, streaming read, routed untouched.
    const r = await p.request(json("POST", "/", { inputs: "hi", parameters: { max_new_tokens: 5 }, stream: true }));
    expect(r.routerHeaders!["x-inference-protocol"]).toBe("tgi-generate");
    expect(r.routerHeaders!["x-inference-class"]).toBe("generate-stream");
    expect(r.routerHeaders!["x-inference-pool"]).toBeUndefined();
    // A model key, where a gateway adds one, steers as usual.
    const m = await p.request(json("POST", "/", { inputs: "hi", model: "llama-3-8b" }));
    expect(m.routerHeaders!["x-inference-pool"]).toBe("llm");
    const plain = await p.request(json("POST", "/", { inputs: "hi" }));
    expect(plain.routerHeaders!["x-inference-class"]).toBe("generate");
    const health = await p.request({ method: "GET", path: "/" });
    expect(health.routerHeaders!["x-inference-protocol"]).toBeUndefined();
  });
  it("SGLang PUT /generate", async () => {
    await expectRoute(json("PUT", "/generate", { text: "hi", model: "llama-3-8b", sampling_params: { max_new_tokens: 4 } }), {
      protocol: "sglang-generate",
      model: "llama-3-8b",
      pool: "llm",
    });
  });
  it("POST /generate: TGI by `inputs`, SGLang by `text` / `input_ids`", async () => {
    await expectRoute(json("POST", "/generate", { inputs: "hi", model: "llama-3-8b" }), { protocol: "tgi-generate" });
    await expectRoute(json("POST", "/generate", { text: "hi", model: "llama-3-8b" }), { protocol: "sglang-generate", pool: "llm" });
    await expectRoute(json("POST", "/generate", { input_ids: [1, 2], model: "llama-3-8b" }), { protocol: "sglang-generate", pool: "llm" });
  });
});

describe("versions and labels", () => {
  it("KServe v2 path version and TF Serving label go to their own headers", async () => {
    const p = await routerProxy({ pools: [{ name: "tf", models: ["half_plus_two"] }] });
    const v = await p.request({ method: "POST", path: "/v2/models/half_plus_two/versions/3/infer", body: "{}" });
    expect(v.routerHeaders!["x-inference-model-version"]).toBe("3");
    expect(v.routerHeaders!["x-inference-model-label"]).toBeUndefined();
    const l = await p.request({ method: "POST", path: "/v1/models/half_plus_two/labels/stable:predict", body: "{}" });
    expect(l.routerHeaders!["x-inference-model-label"]).toBe("stable");
    expect(l.routerHeaders!["x-inference-model-version"]).toBeUndefined();
    // A client cannot plant either header.
    const spoof = await p.request({
      method: "GET",
      path: "/health",
      headers: { "x-inference-model-version": "9", "x-inference-model-label": "x" },
    });
    expect(spoof.routerHeaders!["x-inference-model-version"]).toBeUndefined();
    expect(spoof.routerHeaders!["x-inference-model-label"]).toBeUndefined();
  });
});
