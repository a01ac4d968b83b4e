// Tests for assembly/router/classify.ts (+ scan.ts), run through the compiled Wasm harness
// test/units/classify.ts → build/units/classify.wasm.
import { describe, it, expect, beforeAll } from "vitest";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { dirname, join } from "node:path";
import { instantiate, type Imports } from "@assemblyscript/loader";

const root = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
const wasmPath = join(root, "build", "units", "classify.wasm");

interface Result {
  inference: boolean;
  protocol: string;
  model: string;
  version: string;
  label: string;
  streaming: boolean;
  maxTokens: number;
  contentLength: number;
  needsBody: boolean;
  grpc: boolean;
  flags: number;
  class: string;
  cost: number;
}

const FLAG_MODEL_REJECTED = 1,
  FLAG_DUPLICATE_MODEL = 2,
  FLAG_BODY_TRUNCATED = 4,
  FLAG_BODY_TOO_DEEP = 8,
  FLAG_BODY_MALFORMED = 16,
  FLAG_BODY_COMPRESSED = 32,
  FLAG_BODY_SCANNED = 64,
  FLAG_BODY_TRAILING = 128;

// eslint-disable-next-line @typescript-eslint/no-explicit-any
let ex: any;

beforeAll(async () => {
  // Built by the global setup (test/setup/build.ts).
  const mod = await instantiate(readFileSync(wasmPath), { env: { proxy_log: () => 0 } } as Imports);
  ex = mod.exports;
  if (typeof ex._start === "function") ex._start();
}, 60_000);

type Body = Uint8Array | string | null;
const enc = new TextEncoder();
const bytes = (b: Uint8Array | string): Uint8Array => (typeof b === "string" ? enc.encode(b) : b);

function withArgs<T>(strs: string[], body: Uint8Array | null, f: (ptrs: number[], bodyPtr: number) => T): T {
  const ptrs = strs.map((s) => ex.__pin(ex.__newString(s)) as number);
  let bp = 0;
  if (body) bp = ex.__pin(ex.__newArrayBuffer(body.buffer.slice(body.byteOffset, body.byteOffset + body.byteLength)));
  try {
    return f(ptrs, bp);
  } finally {
    for (const p of ptrs) ex.__unpin(p);
    if (bp) ex.__unpin(bp);
  }
}

function classify(method: string, path: string, opts: { ct?: string; cl?: string; body?: Body; complete?: boolean } = {}): Result {
  const body = opts.body == null ? null : bytes(opts.body);
  return withArgs([method, path, opts.ct ?? "application/json", opts.cl ?? ""], body, (p, bp) =>
    JSON.parse(ex.__getString(ex.classify(p[0], p[1], p[2], p[3], bp, opts.complete === false ? 0 : 1))),
  );
}
const post = (path: string, body?: Body, more: { ct?: string; cl?: string; complete?: boolean } = {}) =>
  classify("POST", path, { ...more, body });

function classifyPrefix(path: string, body: Body, prefixLen: number, complete: boolean, ct = "application/json"): Result {
  return withArgs(["POST", path, ct, ""], bytes(body!), (p, bp) =>
    JSON.parse(ex.__getString(ex.classifyPrefix(p[0], p[1], p[2], p[3], bp, prefixLen, complete ? 1 : 0))),
  );
}

function classifyGrowing(path: string, body: Body, firstLen: number, ct = "application/json"): Result {
  return withArgs(["POST", path, ct, ""], bytes(body!), (p, bp) =>
    JSON.parse(ex.__getString(ex.classifyGrowing(p[0], p[1], p[2], p[3], bp, firstLen))),
  );
}

// ---- tiny protobuf / gRPC writer (test side) ----
function varint(v: bigint | number): number[] {
  let x = BigInt.asUintN(64, BigInt(v));
  const out: number[] = [];
  do {
    let b = Number(x & 0x7fn);
    x >>= 7n;
    if (x) b |= 0x80;
    out.push(b);
  } while (x);
  return out;
}
const tag = (field: number, wire: number) => varint((field << 3) | wire);
const ld = (field: number, data: number[] | Uint8Array | string) => {
  const d = typeof data === "string" ? [...enc.encode(data)] : [...data];
  return [...tag(field, 2), ...varint(d.length), ...d];
};
const vi = (field: number, v: number | bigint) => [...tag(field, 0), ...varint(v)];
const f32 = (field: number) => [...tag(field, 5), 1, 2, 3, 4];
const f64 = (field: number) => [...tag(field, 1), 1, 2, 3, 4, 5, 6, 7, 8];
function frame(msg: number[], flag = 0, declared?: number): Uint8Array {
  const n = declared ?? msg.length;
  return new Uint8Array([flag, (n >>> 24) & 255, (n >>> 16) & 255, (n >>> 8) & 255, n & 255, ...msg]);
}
const GRPC = "application/grpc";
const MI = "/inference.GRPCInferenceService/ModelInfer";
const TFP = "/tensorflow.serving.PredictionService/Predict";

// A realistic ModelInferRequest with other fields before model_name.
function inferRequest(model: string, version?: string, before = true): number[] {
  const tensor = [...ld(1, "INPUT0"), ...ld(2, "FP32"), ...vi(3, 1), ...vi(3, 16)];
  const param = [...ld(1, "sequence_id"), ...ld(2, [...vi(3, 42)])]; // map entry: key, InferParameter{int64_param=3}
  const others = [...ld(3, "req-1"), ...ld(4, param), ...ld(5, tensor), ...ld(6, [...ld(1, "OUTPUT0")])];
  const raw = ld(7, new Uint8Array(300).fill(7));
  const mv = [...ld(1, model), ...(version !== undefined ? ld(2, version) : [])];
  return before ? [...others, ...mv, ...raw] : [...mv, ...others, ...raw];
}

describe("OpenAI-compatible endpoints", () => {
  it("classifies the four endpoints from headers and needs the body for the model", () => {
    for (const [path, proto, cls] of [
      ["/v1/chat/completions", "openai-chat", "generate"],
      ["/v1/completions", "openai-completions", "generate"],
      ["/v1/embeddings", "openai-embeddings", "embed"],
      ["/v1/responses", "openai-responses", "generate"],
    ]) {
      const r = post(path, null, { cl: "100" });
      expect(r).toMatchObject({
        inference: true,
        protocol: proto,
        model: "",
        needsBody: true,
        contentLength: 100,
        class: cls,
        grpc: false,
      });
    }
  });

  it("reads model, stream and max tokens from the body", () => {
    const chat = post(
      "/v1/chat/completions",
      JSON.stringify({ model: "meta-llama/Llama-3.1-8B", messages: [{ role: "user", content: "hi" }], stream: true, max_tokens: 77 }),
    );
    expect(chat).toMatchObject({
      protocol: "openai-chat",
      model: "meta-llama/Llama-3.1-8B",
      streaming: true,
      maxTokens: 77,
      class: "generate-stream",
    });
    expect(chat.flags & FLAG_BODY_SCANNED).toBeTruthy();
    // max_completion_tokens beats the deprecated max_tokens for chat, wherever they stand.
    expect(post("/v1/chat/completions", '{"max_tokens":5,"model":"m","max_completion_tokens":9}').maxTokens).toBe(9);
    expect(post("/v1/completions", '{"prompt":"x","max_tokens":12,"model":"gpt2","stream":false}')).toMatchObject({
      model: "gpt2",
      maxTokens: 12,
      streaming: false,
      class: "generate",
    });
    expect(post("/v1/responses", '{"model":"o","input":"x","max_output_tokens":300,"max_tokens":1}')).toMatchObject({
      model: "o",
      maxTokens: 300,
    });
    // embeddings never stream
    expect(post("/v1/embeddings", '{"model":"bge","input":["a"],"stream":true}')).toMatchObject({
      model: "bge",
      streaming: false,
      class: "embed",
      maxTokens: -1,
    });
  });

  it("strips the query, is exact and case-sensitive, POST only", () => {
    expect(post("/v1/chat/completions?api-version=2024&x=/v2/models/a/infer").protocol).toBe("openai-chat");
    expect(post("/v1/chat/completions#frag").protocol).toBe("openai-chat");
    for (const p of [
      "/v1/chat/completions/",
      "/V1/chat/completions",
      "//v1/chat/completions",
      "/v1/chat//completions",
      "/openai/v2/chat/completions",
      "/openai/chat/completions",
      "v1/chat/completions",
      "",
    ]) {
      expect(post(p).inference, p).toBe(false);
    }
    for (const m of ["GET", "PUT", "post", "HEAD", "OPTIONS", ""]) expect(classify(m, "/v1/chat/completions").inference, m).toBe(false);
  });

  it("finds a top-level model after a 50 KB messages array full of decoys", () => {
    const messages = [];
    for (let i = 0; i < 400; i++) {
      messages.push({
        role: "user",
        content: `say "model": "decoy-${i}" \\ {"model":"x"} ` + "z".repeat(60),
        model: "nested-decoy",
        extra: { model: "deeper", arr: [[{ model: "d" }]] },
      });
    }
    const body = '{"messages":' + JSON.stringify(messages) + ',"stream":true,"model":"the-real-one","max_tokens":64}';
    expect(body.length).toBeGreaterThan(50_000);
    expect(post("/v1/chat/completions", body)).toMatchObject({
      model: "the-real-one",
      streaming: true,
      maxTokens: 64,
      flags: FLAG_BODY_SCANNED,
    });
    // With no top-level model at all, decoys are never taken.
    const noModel = '{"messages":' + JSON.stringify(messages) + "}";
    expect(post("/v1/chat/completions", noModel).model).toBe("");
    // Keys and values that only contain "model" do not count.
    expect(post("/v1/chat/completions", '{"models":"a","Model":"b","x":"model","model ":"c"}').model).toBe("");
  });

  it("decodes escapes in the model and in keys, and skips escaped strings", () => {
    expect(post("/v1/completions", '{"model":"\\u0041b\\/c\\u00e9\\ud83d\\ude00"}').model).toBe("Ab/cé😀");
    expect(post("/v1/completions", '{"mod\\u0065l":"k"}').model).toBe("k");
    expect(post("/v1/completions", '{"p":"a\\"b\\\\","q":"\\\\\\"model\\":\\"x","model":"y"}').model).toBe("y");
    expect(post("/v1/completions", '{"model":"raw-é-ü"}').model).toBe("raw-é-ü");
    // Invalid escapes / lone surrogates / control characters refuse the name.
    for (const bad of ['"a\\x"', '"\\ud83d"', '"\\udc00x"', '"a\\u12"', '"a\\nb"', '"tab\tin"', '""']) {
      const r = post("/v1/completions", `{"model":${bad}}`);
      expect(r.model, bad).toBe("");
    }
    expect(post("/v1/completions", '{"model":"a\\nb"}').flags & FLAG_MODEL_REJECTED).toBeTruthy();
    // Non-string model values are ignored.
    expect(post("/v1/completions", '{"model":null}').model).toBe("");
    expect(post("/v1/completions", '{"model":{"name":"x"},"y":1}').model).toBe("");
    // 256 bytes ok, 257 refused (never truncated).
    expect(post("/v1/completions", `{"model":"${"a".repeat(256)}"}`).model).toBe("a".repeat(256));
    expect(post("/v1/completions", `{"model":"${"a".repeat(257)}"}`).model).toBe("");
  });

  it("takes the LAST of duplicate keys, as Python's json and Go's encoding/json do, and flags a duplicate model", () => {
    const r = post("/v1/chat/completions", '{"model":"first","messages":[],"model":"second"}');
    expect(r.model).toBe("second");
    expect(r.flags & FLAG_DUPLICATE_MODEL).toBeTruthy();
    // A later non-string or invalid model erases the earlier one: the server sees that value, not ours.
    expect(post("/v1/chat/completions", '{"model":"first","model":null}').model).toBe("");
    expect(post("/v1/chat/completions", '{"model":"first","model":"a\\u0000b"}').model).toBe("");
    expect(post("/v1/chat/completions", '{"model":"first","mod\\u0065l":"escaped-key"}').model).toBe("escaped-key");
    // stream / max_tokens follow the same rule.
    expect(post("/v1/chat/completions", '{"model":"m","stream":true,"stream":false}').streaming).toBe(false);
    expect(post("/v1/completions", '{"model":"m","max_tokens":5,"max_tokens":7}').maxTokens).toBe(7);
  });

  it("never routes on a body that is not exactly one JSON document", () => {
    for (const b of [
      '{"model":"x"}{"model":"y"}',
      '{"model":"x"} {"model":"y"}',
      '{"model":"x"}trailing',
      '{"model":"x"}]',
      '{"model":"x"}\n,',
    ]) {
      const r = post("/v1/chat/completions", b);
      expect(r.model, b).toBe("");
      expect(r.flags & FLAG_BODY_TRAILING, b).toBeTruthy();
    }
    // Trailing whitespace is fine.
    expect(post("/v1/chat/completions", '{"model":"x"} \r\n\t ').model).toBe("x");
    // Seen in a prefix too: bytes after the object are already there.
    expect(post("/v1/chat/completions", '{"model":"x"}{"model":"y"', { complete: false }).model).toBe("");
  });

  it("handles invalid UTF-8 without trapping", () => {
    const body = new Uint8Array([...enc.encode('{"model":"ab'), 0xff, 0xfe, ...enc.encode('"}')]);
    const r = post("/v1/completions", body);
    expect(r.model).toBe("");
    expect(r.flags & FLAG_MODEL_REJECTED).toBeTruthy();
    const overlong = new Uint8Array([...enc.encode('{"model":"a'), 0xc0, 0xaf, ...enc.encode('"}')]);
    expect(post("/v1/completions", overlong).model).toBe("");
    const elsewhere = new Uint8Array([...enc.encode('{"x":"'), 0xff, 0x80, ...enc.encode('","model":"ok"}')]);
    expect(post("/v1/completions", elsewhere).model).toBe("ok");
  });

  it("parses token counts strictly", () => {
    const mt = (v: string) => post("/v1/completions", `{"model":"m","max_tokens":${v}}`).maxTokens;
    expect(mt("0")).toBe(0);
    expect(mt("2048")).toBe(2048);
    expect(mt("99999999999999999999")).toBe(2147483647);
    for (const v of ["1.5", "-3", '"100"', "1e3", "null", "true", "[1]", "{}"]) expect(mt(v), v).toBe(-1);
    expect(post("/v1/completions", '{"stream":"true"}').streaming).toBe(false);
    expect(post("/v1/completions", '{"stream":1}').streaming).toBe(false);
    expect(post("/v1/completions", ' \n\t{ "stream" :\ttrue }').streaming).toBe(true);
  });
});

describe("truncated, deep and garbage JSON", () => {
  const big =
    '{"messages":[' + '{"role":"user","content":"xxxxxxxxxxxxxxxxxxxx"},'.repeat(200) + '{}],"model":"late","max_tokens":42,"stream":true}';

  it("reports what a prefix holds and never reads past len", () => {
    const cut = big.indexOf('"model"');
    const r1 = classifyPrefix("/v1/chat/completions", big, cut + 5, false);
    expect(r1.model).toBe("");
    expect(r1.flags & FLAG_BODY_TRUNCATED).toBeTruthy();
    // Cut inside the model string: nothing taken even though the bytes after len complete it.
    const inModel = big.indexOf('"late"') + 3;
    expect(classifyPrefix("/v1/chat/completions", big, inModel, false).model).toBe("");
    // Cut inside a number: "max_tokens":4|2 — not taken from a prefix, taken when the body is complete.
    const inNum = big.indexOf("42") + 1;
    const r2 = classifyPrefix("/v1/chat/completions", big, inNum, false);
    expect(r2).toMatchObject({ model: "late", maxTokens: -1 });
    expect(classifyPrefix("/v1/chat/completions", big, inNum, true).maxTokens).toBe(4);
    // Every prefix gives exactly what classifying a copy of just those bytes gives.
    for (let n = 0; n <= big.length; n += 97) {
      const a = classifyPrefix("/v1/chat/completions", big, n, false);
      const b = post("/v1/chat/completions", big.slice(0, n), { complete: false });
      expect(a, `prefix ${n}`).toEqual(b);
    }
    expect(post("/v1/chat/completions", big)).toMatchObject({ model: "late", maxTokens: 42, streaming: true, flags: FLAG_BODY_SCANNED });
  });

  it("is repeatable: a prefix then the full body gives the full-body answer", () => {
    const full = post("/v1/chat/completions", big);
    for (const n of [0, 10, 500, big.length - 3]) expect(classifyGrowing("/v1/chat/completions", big, n)).toEqual(full);
    // Flags from an earlier call do not leak into a later one.
    const dup = '{"model":"a\\nb","model":"c"}';
    expect(classifyGrowing("/v1/completions", dup, 3).flags).toBe(post("/v1/completions", dup).flags);
    expect(classifyGrowing("/v1/completions", '{"model":"ok"}', 13).flags).toBe(FLAG_BODY_SCANNED);
    const sg = '{"text":"hi","sampling_params":{"max_new_tokens":8},"stream":true}';
    expect(classifyGrowing("/generate", sg, 5)).toEqual(post("/generate", sg));
  });

  it("gives up beyond 64 levels of nesting, without recursion", () => {
    const deep = '{"a":' + "[".repeat(10_000) + "]".repeat(10_000) + ',"model":"after"}';
    const r = post("/v1/chat/completions", deep);
    expect(r.model).toBe("");
    expect(r.flags & FLAG_BODY_TOO_DEEP).toBeTruthy();
    const objDeep = '{"a":' + '{"b":'.repeat(10_000) + "1" + "}".repeat(10_000) + ',"model":"after"}';
    expect(post("/v1/chat/completions", objDeep).model).toBe("");
    // Findings before the deep part are kept.
    expect(post("/v1/chat/completions", '{"model":"before","a":' + "[".repeat(10_000)).model).toBe("before");
    // Exactly at the bound (top object = depth 1, 63 nested arrays = depth 64) is fine; one more is not.
    const at = (n: number) => post("/v1/chat/completions", '{"a":' + "[".repeat(n) + "]".repeat(n) + ',"model":"m"}');
    expect(at(63).model).toBe("m");
    expect(at(64).model).toBe("");
  });

  it("survives garbage and non-object bodies", () => {
    for (const b of [
      "",
      "   ",
      "[]",
      '["model","x"]',
      '"model"',
      "null",
      "model",
      "}}}}",
      "{{{{",
      '{"model"',
      '{"model":',
      '{"model":"x',
      "\u0000\u0001",
      '{"a":"\\',
      '{"model":"x"}trailing{"model":"y"}',
      '{,,,::"model":"z"}',
    ]) {
      expect(() => post("/v1/chat/completions", b), JSON.stringify(b)).not.toThrow();
    }
    expect(post("/v1/chat/completions", "[]").flags & FLAG_BODY_MALFORMED).toBeTruthy();
    expect(post("/v1/chat/completions", '{"model":"x').flags & FLAG_BODY_MALFORMED).toBeTruthy();
    expect(post("/v1/chat/completions", '{"model":"x', { complete: false }).flags & FLAG_BODY_TRUNCATED).toBeTruthy();
    expect(post("/generate", '{"inputs":"x","parameters":{"max_new_tokens":[5],"n":{"max_new_tokens":6}}}').maxTokens).toBe(-1);
    expect(post("/v1/chat/completions", '["model","x"]').model).toBe("");
    expect(post("/v1/chat/completions", '{"model":"x"}trailing{"model":"y"}').model).toBe("");
    expect(post("/v1/chat/completions", '\uFEFF{"model":"bom"}').model).toBe("bom");
    const bin = new Uint8Array(4096);
    for (let i = 0; i < bin.length; i++) bin[i] = (i * 131 + 7) & 255;
    expect(post("/v1/chat/completions", bin).model).toBe("");
  });
});

describe("/generate family (TGI, SGLang, vLLM legacy)", () => {
  it("headers alone: tgi-generate / tgi-generate-stream and needs the body", () => {
    expect(post("/generate")).toMatchObject({ protocol: "tgi-generate", needsBody: true, streaming: false, class: "generate" });
    expect(post("/generate_stream")).toMatchObject({
      protocol: "tgi-generate-stream",
      needsBody: true,
      streaming: true,
      class: "generate-stream",
    });
  });

  it("body keys pick the server", () => {
    expect(post("/generate", '{"inputs":"hi","parameters":{"max_new_tokens":20,"max_tokens":3}}')).toMatchObject({
      protocol: "tgi-generate",
      maxTokens: 20,
      model: "",
    });
    expect(post("/generate", '{"text":"hi","sampling_params":{"max_new_tokens":16,"temperature":0},"stream":true}')).toMatchObject({
      protocol: "sglang-generate",
      maxTokens: 16,
      streaming: true,
    });
    expect(post("/generate", '{"input_ids":[1,2,3],"sampling_params":{}}')).toMatchObject({ protocol: "sglang-generate", maxTokens: -1 });
    expect(post("/generate", '{"prompt":"hi","max_tokens":9,"stream":true}')).toMatchObject({
      protocol: "vllm-generate",
      maxTokens: 9,
      streaming: true,
    });
    // SGLang keys win over "inputs"/"prompt"; unknown shapes stay tgi-generate.
    expect(post("/generate", '{"prompt":"a","text":"b"}').protocol).toBe("sglang-generate");
    expect(post("/generate", '{"foo":1}').protocol).toBe("tgi-generate");
    // A top-level "model" is honoured when present.
    expect(post("/generate", '{"inputs":"x","model":"tgi-m"}').model).toBe("tgi-m");
    // max_new_tokens only counts inside parameters (TGI) / sampling_params (SGLang), one level down.
    expect(post("/generate", '{"inputs":"x","max_new_tokens":5,"parameters":{"deep":{"max_new_tokens":6}}}').maxTokens).toBe(-1);
    // stream:false never turns off a streaming endpoint.
    expect(post("/generate_stream", '{"inputs":"x","stream":false,"parameters":{"max_new_tokens":4}}')).toMatchObject({
      streaming: true,
      maxTokens: 4,
      protocol: "tgi-generate-stream",
    });
  });
});

describe("KServe v1 / TF Serving REST", () => {
  it("predict and explain are kserve-v1; classify/regress are tfserving", () => {
    expect(post("/v1/models/resnet:predict")).toMatchObject({
      inference: true,
      protocol: "kserve-v1",
      model: "resnet",
      version: "",
      needsBody: false,
      class: "predict",
    });
    expect(post("/v1/models/resnet:explain").protocol).toBe("kserve-v1");
    expect(post("/v1/models/m:classify")).toMatchObject({ protocol: "tfserving-classify", model: "m" });
    expect(post("/v1/models/m:regress")).toMatchObject({ protocol: "tfserving-regress", model: "m" });
    expect(post("/v1/models/llama3:8b:predict").model).toBe("llama3:8b");
    expect(post("/v1/models/a%3Ab:predict").model).toBe("a:b");
  });

  it("versions and labels", () => {
    expect(post("/v1/models/half_plus_two/versions/123:predict")).toMatchObject({
      protocol: "tfserving-predict",
      model: "half_plus_two",
      version: "123",
    });
    // A label is a name ("stable"), not a version: it goes to its own field (x-inference-model-label).
    expect(post("/v1/models/m/labels/stable:classify")).toMatchObject({
      protocol: "tfserving-classify",
      model: "m",
      version: "",
      label: "stable",
    });
    expect(post("/v1/models/m/versions/2:regress")).toMatchObject({ protocol: "tfserving-regress", version: "2" });
    expect(post("/v1/models/m/versions/2:explain").inference).toBe(false);
    expect(post("/v1/models/m/other/2:predict").inference).toBe(false);
  });

  it("status, metadata and lists are not inference", () => {
    for (const [m, p] of [
      ["GET", "/v1/models"],
      ["POST", "/v1/models"],
      ["GET", "/v1/models/m"],
      ["POST", "/v1/models/m"],
      ["GET", "/v1/models/m/metadata"],
      ["POST", "/v1/models/m/metadata"],
      ["GET", "/v1/models/m/versions/1"],
      ["GET", "/v1/models/m:predict"],
      ["POST", "/v1/models/m:frobnicate"],
      ["POST", "/v1/models/m/versions/1/metadata"],
    ]) {
      expect(classify(m, p).inference, `${m} ${p}`).toBe(false);
    }
  });
});

describe("Open Inference Protocol v2 REST", () => {
  it("infer / generate / generate_stream with and without versions", () => {
    expect(post("/v2/models/bert/infer")).toMatchObject({
      protocol: "oip-infer",
      model: "bert",
      version: "",
      needsBody: false,
      class: "predict",
    });
    expect(post("/v2/models/bert/versions/7/infer")).toMatchObject({ protocol: "oip-infer", model: "bert", version: "7" });
    expect(post("/v2/models/ensemble/generate")).toMatchObject({ protocol: "oip-generate", streaming: false, class: "generate" });
    expect(post("/v2/models/ensemble/versions/1/generate_stream")).toMatchObject({
      protocol: "oip-generate-stream",
      streaming: true,
      version: "1",
      class: "generate-stream",
    });
  });

  it("reads max_tokens from an OIP generate body if offered", () => {
    expect(post("/v2/models/e/generate", '{"text_input":"x","max_tokens":20}').maxTokens).toBe(20);
    expect(post("/v2/models/e/generate", '{"text_input":"x","parameters":{"max_tokens":7,"stream":false}}').maxTokens).toBe(7);
    expect(post("/v2/models/e/generate", '{"model":"body-model"}').model).toBe("e"); // the path names the model
  });

  it("health, metadata, readiness and repository are not inference", () => {
    for (const [m, p] of [
      ["GET", "/v2"],
      ["GET", "/v2/health/live"],
      ["GET", "/v2/health/ready"],
      ["GET", "/v2/models/m"],
      ["GET", "/v2/models/m/ready"],
      ["GET", "/v2/models/m/versions/1"],
      ["GET", "/v2/models/m/versions/1/ready"],
      ["POST", "/v2/repository/index"],
      ["GET", "/v2/models/m/infer"],
      ["POST", "/v2/models/m/versions/1/ready"],
      ["POST", "/v2/models/m/load"],
      ["POST", "/v2/models/m/stats"],
      ["POST", "/v2/models/infer"],
    ]) {
      expect(classify(m, p).inference, `${m} ${p}`).toBe(false);
    }
  });
});

describe("path-borne names", () => {
  const m = (p: string) => post(`/v2/models/${p}/infer`);
  it("percent-decodes and validates", () => {
    expect(m("meta-llama%2FLlama-3").model).toBe("meta-llama/Llama-3");
    expect(m("a%20b").model).toBe("a b");
    expect(m("caf%C3%A9").model).toBe("café");
    expect(m("café").model).toBe("café");
    expect(m("a+b").model).toBe("a+b");
    expect(m("100%zz").model).toBe("100%zz"); // invalid escape kept literally
    expect(m("x%").model).toBe("x%");
    expect(m("x%4").model).toBe("x%4");
    expect(m("%41%42").model).toBe("AB");
  });

  it("refuses traversal, empty pieces, control bytes, invalid UTF-8 and over-long names, but stays inference", () => {
    for (const bad of [
      "..",
      ".",
      "%2E%2E",
      "%2e",
      "a%2F..%2Fb",
      "%2Fabs",
      "a%2F",
      "a%2F%2Fb",
      "a%0Ab",
      "a%00",
      "a%7F",
      "%FF",
      "%C3",
      "%C0%AF",
      "x".repeat(257),
    ]) {
      const r = m(bad);
      expect(r, bad).toMatchObject({ inference: true, protocol: "oip-infer", model: "" });
      expect(r.flags & FLAG_MODEL_REJECTED, bad).toBeTruthy();
    }
    expect(m("x".repeat(256)).model).toBe("x".repeat(256));
    expect(m("%41".repeat(256)).model).toBe("A".repeat(256));
    expect(m("..a").model).toBe("..a");
    expect(post("/v2/models//infer")).toMatchObject({ inference: true, model: "" });
    expect(post("/v2/models/m/versions/%2E%2E/infer")).toMatchObject({ model: "m", version: "" });
    expect(post("/v2/models/m/versions/" + "9".repeat(65) + "/infer").version).toBe("");
    // Dot segments elsewhere change the shape: not inference.
    expect(post("/v2/models/m/../infer").inference).toBe(false);
  });
});

describe("gRPC", () => {
  it("ModelInfer: model_name and model_version after other fields", () => {
    const r = post(MI, frame(inferRequest("resnet50", "3")), { ct: GRPC });
    expect(r).toMatchObject({
      inference: true,
      protocol: "kserve-v2-grpc",
      model: "resnet50",
      version: "3",
      grpc: true,
      needsBody: true,
      streaming: false,
      class: "predict",
    });
    expect(post(MI, frame(inferRequest("m", undefined, false)), { ct: "application/grpc+proto" })).toMatchObject({
      model: "m",
      version: "",
    });
    // Headers only.
    expect(post(MI, null, { ct: GRPC })).toMatchObject({ protocol: "kserve-v2-grpc", model: "", needsBody: true });
  });

  it("ModelStreamInfer streams", () => {
    const r = post("/inference.GRPCInferenceService/ModelStreamInfer", frame(inferRequest("llm")), { ct: GRPC });
    expect(r).toMatchObject({ streaming: true, model: "llm", class: "generate-stream" });
  });

  it("skips every wire type, including groups", () => {
    const group = [...tag(9, 3), ...vi(1, 5), ...ld(1, "not-me"), ...tag(10, 3), ...tag(10, 4), ...tag(9, 4)];
    const msg = [...vi(99, 123456789012n), ...f32(20), ...f64(21), ...ld(1, "real"), ...group, ...vi(100000, 1)];
    expect(post(MI, frame(msg), { ct: GRPC }).model).toBe("real");
    // Last model_name wins (protobuf semantics).
    expect(post(MI, frame([...ld(1, "a"), ...ld(1, "b")]), { ct: GRPC }).model).toBe("b");
  });

  it("compressed, bad lengths and bad encodings give no model", () => {
    const good = inferRequest("m");
    const cases: [Uint8Array, number][] = [
      [frame(good, 1), FLAG_BODY_COMPRESSED],
      [frame(good, 2), FLAG_BODY_MALFORMED],
      [frame(good, 0, good.length + 1), FLAG_BODY_MALFORMED],
      [frame(good, 0, 0xffffffff), FLAG_BODY_MALFORMED],
      [frame(good, 0, 10), FLAG_BODY_MALFORMED], // message cut inside a field
      [frame([...vi(1, 5)]), FLAG_BODY_MALFORMED], // field 1 with the wrong wire type
      [frame([...tag(3, 6), ...ld(1, "m")]), FLAG_BODY_MALFORMED], // wire type 6
      [frame([...tag(0, 2), 0, ...ld(1, "m")]), FLAG_BODY_MALFORMED], // field 0
      [frame([...ld(1, "m"), ...tag(5, 4)]), FLAG_BODY_MALFORMED], // stray end-group
      [frame([...ld(1, "m"), 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01]), FLAG_BODY_MALFORMED], // 11-byte varint
      [new Uint8Array([0, 0, 0]), FLAG_BODY_MALFORMED],
      [new Uint8Array([]), FLAG_BODY_MALFORMED],
    ];
    for (const [b, flag] of cases) {
      const r = post(MI, b, { ct: GRPC });
      expect(r.model, String([...b.slice(0, 12)])).toBe("");
      expect(r.flags & flag, String([...b.slice(0, 12)])).toBeTruthy();
    }
    const bad = post(MI, frame(ld(1, new Uint8Array([0x61, 0xff]))), { ct: GRPC });
    expect(bad.model).toBe("");
    expect(bad.flags & FLAG_MODEL_REJECTED).toBeTruthy();
    // Empty model_name is "unset", not a rejection.
    expect(post(MI, frame(ld(1, ""))).flags & FLAG_MODEL_REJECTED).toBeFalsy();
  });

  it("reads a model from a prefix whose frame length runs past it", () => {
    const body = frame([...ld(1, "early"), ...ld(2, "1"), ...ld(7, new Uint8Array(100_000))]);
    const r = classifyPrefix(MI, body, 64, false, GRPC);
    expect(r).toMatchObject({ model: "early", version: "1" });
    expect(r.flags & FLAG_BODY_TRUNCATED).toBeTruthy();
    // Cut inside model_name: nothing.
    expect(classifyPrefix(MI, body, 9, false, GRPC).model).toBe("");
    // Same prefix claimed complete: the frame length does not fit → nothing.
    expect(classifyPrefix(MI, body, 64, true, GRPC).model).toBe("");
    for (let n = 0; n < 40; n++)
      expect(classifyPrefix(MI, body, n, false, GRPC), `n=${n}`).toEqual(post(MI, body.slice(0, n), { ct: GRPC, complete: false }));
  });

  it("TF Serving PredictionService: ModelSpec name, version, version_label", () => {
    const spec = [...ld(1, "half_plus_two"), ...ld(3, "serving_default"), ...ld(2, vi(1, 42))];
    const inputs = ld(2, [...ld(1, "x"), ...ld(2, [...vi(1, 1)])]);
    expect(post(TFP, frame([...inputs, ...ld(1, spec)]), { ct: GRPC })).toMatchObject({
      protocol: "tfserving-predict",
      model: "half_plus_two",
      version: "42",
      grpc: true,
      class: "predict",
    });
    expect(
      post("/tensorflow.serving.PredictionService/Classify", frame(ld(1, [...ld(1, "c"), ...ld(4, "canary")])), { ct: GRPC }),
    ).toMatchObject({ protocol: "tfserving-classify", model: "c", label: "canary" });
    expect(post("/tensorflow.serving.PredictionService/Regress", frame(ld(1, [...ld(1, "r")])), { ct: GRPC })).toMatchObject({
      protocol: "tfserving-regress",
      model: "r",
      version: "",
    });
    expect(post(TFP, frame(ld(1, [...ld(1, "n"), ...ld(2, vi(1, -5))])), { ct: GRPC }).version).toBe("-5");
    expect(post(TFP, frame(ld(1, [...ld(1, "n"), ...ld(2, [])])), { ct: GRPC }).version).toBe("0");
    expect(post(TFP, frame(ld(1, [...ld(1, "n"), ...ld(2, vi(1, 9n)), ...ld(4, "lbl")])), { ct: GRPC })).toMatchObject({
      version: "",
      label: "lbl",
    });
    // version / version_label are a oneof: the last one read wins.
    expect(post(TFP, frame(ld(1, [...ld(1, "n"), ...ld(4, "lbl"), ...ld(2, vi(1, 9n))])), { ct: GRPC })).toMatchObject({
      version: "9",
      label: "",
    });
    // Two model_spec fields merge.
    expect(post(TFP, frame([...ld(1, ld(1, "a")), ...ld(1, ld(2, vi(1, 3)))]), { ct: GRPC })).toMatchObject({ model: "a", version: "3" });
    // A ModelSpec cut by the prefix is read as far as it goes.
    const body = frame([...ld(1, [...ld(1, "cut-spec"), ...ld(3, "s".repeat(200))]), ...ld(2, new Uint8Array(1000))]);
    expect(classifyPrefix(TFP, body, 40, false, GRPC).model).toBe("cut-spec");
    // Malformed spec → nothing.
    expect(post(TFP, frame(ld(1, [...vi(1, 3)])), { ct: GRPC }).model).toBe("");
  });

  it("needs a gRPC content type, and other methods are not inference", () => {
    expect(post(MI, frame(inferRequest("m")), { ct: "application/json" }).inference).toBe(false);
    expect(post(MI, null, { ct: "application/grpcx" }).inference).toBe(false);
    expect(post(MI, null, { ct: "Application/GRPC;charset=utf-8" }).inference).toBe(true);
    for (const meth of [
      "ServerLive",
      "ServerReady",
      "ModelReady",
      "ServerMetadata",
      "ModelMetadata",
      "ModelConfig",
      "ModelStatistics",
      "RepositoryIndex",
      "RepositoryModelLoad",
      "RepositoryModelUnload",
      "SystemSharedMemoryStatus",
      "TraceSetting",
      "LogSettings",
    ]) {
      expect(post(`/inference.GRPCInferenceService/${meth}`, null, { ct: GRPC }).inference, meth).toBe(false);
    }
    expect(post("/tensorflow.serving.PredictionService/GetModelMetadata", null, { ct: GRPC }).inference).toBe(false);
    expect(post("/tensorflow.serving.PredictionService/MultiInference", null, { ct: GRPC }).inference).toBe(false);
    expect(post("/grpc.health.v1.Health/Check", null, { ct: GRPC }).inference).toBe(false);
  });
});

describe("TorchServe", () => {
  it("predictions and explanations, with versions", () => {
    expect(post("/predictions/densenet161")).toMatchObject({
      protocol: "torchserve",
      model: "densenet161",
      version: "",
      needsBody: false,
      class: "predict",
    });
    expect(post("/predictions/densenet161/2.0")).toMatchObject({ model: "densenet161", version: "2.0" });
    expect(post("/explanations/mnist")).toMatchObject({ protocol: "torchserve", model: "mnist" });
    // Extra segments go to the handler as url_path (TorchServe InferenceRequestHandler.handlePredictions).
    expect(post("/predictions/a/b/c/d")).toMatchObject({ protocol: "torchserve", model: "a", version: "b" });
    expect(post("/predictions/m/")).toMatchObject({ model: "m", version: "" });
    expect(post("/predictions").inference).toBe(false);
  });
  it("any method: TorchServe ignores it (curl -T sends PUT)", () => {
    for (const m of ["GET", "PUT", "PATCH", "DELETE"])
      expect(classify(m, "/predictions/m/1"), m).toMatchObject({ protocol: "torchserve", model: "m", version: "1" });
  });
  it("management and ping are not inference", () => {
    for (const [m, p] of [
      ["GET", "/ping"],
      ["POST", "/ping"],
      ["GET", "/models"],
      ["POST", "/models"],
      ["GET", "/models/m"],
      ["PUT", "/models/m"],
      ["DELETE", "/models/m/1"],
    ]) {
      expect(classify(m, p).inference, `${m} ${p}`).toBe(false);
    }
  });
});

describe("health, metrics and others", () => {
  it("are not inference with any method", () => {
    for (const p of [
      "/health",
      "/healthz",
      "/ready",
      "/metrics",
      "/ping",
      "/v1/models",
      "/version",
      "/info",
      "/get_model_info",
      "/stats",
      "/tokenize",
      "*",
      "/v1",
      "/v2/health/live",
      "/detokenize",
      "/v1/messages/count_tokens",
      "/v1/audio/speech",
      "/openai/v1/models",
      "/inference/v1/abort",
    ]) {
      for (const m of ["GET", "POST"]) {
        const r = classify(m, p, { body: '{"model":"x"}' });
        expect(r, `${m} ${p}`).toMatchObject({
          inference: false,
          protocol: "unknown",
          model: "",
          needsBody: false,
          class: "predict",
          cost: 0,
        });
      }
    }
  });
});

describe("content length, class and cost", () => {
  it("parses Content-Length", () => {
    const cl = (v: string) => post("/v1/completions", null, { cl: v }).contentLength;
    expect(cl("123")).toBe(123);
    expect(cl(" 42\t")).toBe(42);
    expect(cl("0")).toBe(0);
    for (const v of ["", "abc", "-1", "1e3", "12 3", "99999999999999999999", "0x10"]) expect(cl(v), v).toBe(-1);
    expect(classify("GET", "/health", { cl: "5" }).contentLength).toBe(5);
  });

  it("estimatedCost follows the documented formula", () => {
    expect(post("/v1/completions", '{"max_tokens":100}', { cl: "400" }).cost).toBe(1 + 100 + 400);
    expect(post("/v1/completions", "{}", { cl: "400" }).cost).toBe(1 + 100 + 4 * 256);
    expect(post("/v1/completions", "{}").cost).toBe(1 + 256 + 4 * 256);
    expect(post("/v1/embeddings", "{}", { cl: "4000" }).cost).toBe(1 + 1000);
    expect(post("/v2/models/m/infer", null, { cl: "6400" }).cost).toBe(1 + 100);
    expect(post("/v1/completions", '{"max_tokens":99999999999}', { cl: "1000000000000000" }).cost).toBe(1 + 2 ** 40 / 4 + 4 * 2 ** 24);
  });

  it("protocol names are stable", () => {
    const names = [
      "unknown",
      "openai-chat",
      "openai-completions",
      "openai-embeddings",
      "openai-responses",
      "vllm-generate",
      "kserve-v1",
      "oip-infer",
      "oip-generate",
      "oip-generate-stream",
      "kserve-v2-grpc",
      "tfserving-predict",
      "tfserving-classify",
      "tfserving-regress",
      "torchserve",
      "tgi-generate",
      "tgi-generate-stream",
      "sglang-generate",
    ];
    names.forEach((n, i) => expect(ex.__getString(ex.protocolNameOf(i))).toBe(n));
    expect(ex.__getString(ex.protocolNameOf(99))).toBe("unknown");
  });
});

describe("randomized: never traps", () => {
  // mulberry32: small seeded PRNG so failures replay.
  function rng(seed: number) {
    return () => {
      seed = (seed + 0x6d2b79f5) | 0;
      let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
      t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
      return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    };
  }
  const paths = [
    "/v1/chat/completions",
    "/v1/completions",
    "/v1/embeddings",
    "/v1/responses",
    "/generate",
    "/generate_stream",
    "/v1/models/m:predict",
    "/v1/models/m/versions/1:classify",
    "/v2/models/m/infer",
    "/v2/models/m/versions/2/generate_stream",
    MI,
    "/inference.GRPCInferenceService/ModelStreamInfer",
    TFP,
    "/predictions/m/1",
    "/health",
  ];
  const frags = [
    "v1",
    "v2",
    "models",
    "versions",
    "labels",
    "%",
    "%2",
    "%2F",
    "%C3%A9",
    "%FF",
    "..",
    ".",
    "",
    ":predict",
    ":",
    "é",
    "😀",
    "\ud800",
    "?",
    "#",
    "infer",
    "generate",
    "x".repeat(300),
  ];
  const seeds = [
    '{"model":"abc","messages":[{"role":"user","content":"hi \\"q\\" \\u0041"}],"stream":true,"max_tokens":5}',
    '{"text":"t","sampling_params":{"max_new_tokens":3}}',
    '{"inputs":"x","parameters":{"max_new_tokens":2}}',
  ];

  it("random paths, methods, content types and bodies (3000 cases)", () => {
    const r = rng(0xc1a55);
    const pick = <T>(a: T[]) => a[Math.floor(r() * a.length)];
    for (let i = 0; i < 3000; i++) {
      let path: string;
      const k = r();
      if (k < 0.4) path = pick(paths);
      else if (k < 0.8) {
        path = "";
        const n = Math.floor(r() * 8);
        for (let j = 0; j < n; j++) path += "/" + pick(frags);
      } else {
        path = "";
        const n = Math.floor(r() * 40);
        for (let j = 0; j < n; j++) path += String.fromCharCode(Math.floor(r() * (r() < 0.9 ? 128 : 0x10000)));
      }
      const method = r() < 0.8 ? "POST" : pick(["GET", "PUT", ""]);
      const ct = pick(["application/json", GRPC, "application/grpc+proto", "", "text/plain"]);
      let body: Uint8Array | null = null;
      const b = r();
      if (b < 0.3) {
        body = new Uint8Array(Math.floor(r() * 300));
        for (let j = 0; j < body.length; j++) body[j] = Math.floor(r() * 256);
      } else if (b < 0.6) {
        const src = enc.encode(pick(seeds));
        body = src.slice(0, Math.floor(r() * (src.length + 1)));
        for (let j = 0; j < 3; j++) if (body.length && r() < 0.5) body[Math.floor(r() * body.length)] = Math.floor(r() * 256);
      } else if (b < 0.9) {
        const src = frame(inferRequest("m" + i, String(i)));
        body = src.slice(0, Math.floor(r() * (src.length + 1)));
        for (let j = 0; j < 4; j++) if (body.length && r() < 0.5) body[Math.floor(r() * body.length)] = Math.floor(r() * 256);
      } else if (b < 0.95) {
        body = enc.encode(pick(["{", "["]).repeat(Math.floor(r() * 200)) + '"model":"z"');
      }
      const res = classify(method, path, { ct, cl: String(Math.floor(r() * 1e6)), body, complete: r() < 0.5 });
      if (!res.inference) expect(res).toMatchObject({ protocol: "unknown", model: "", version: "", cost: 0 });
      else expect(res.cost).toBeGreaterThanOrEqual(1);
      expect(res.model.length).toBeLessThanOrEqual(256);
    }
  });

  it("random byte prefixes through classifyPrefix for JSON and gRPC (2000 cases)", () => {
    const r = rng(42);
    for (let i = 0; i < 2000; i++) {
      const body = new Uint8Array(1 + Math.floor(r() * 200));
      for (let j = 0; j < body.length; j++)
        body[j] = r() < 0.5 ? Math.floor(r() * 256) : '{}[]":,\\0123456789truefalsmodel '.charCodeAt(Math.floor(r() * 33));
      if (r() < 0.3) body[0] = 0;
      const grpc = r() < 0.5;
      const path = grpc ? (r() < 0.5 ? MI : TFP) : pick2(r);
      const n = Math.floor(r() * (body.length + 1));
      const res = classifyPrefix(path, body, n, r() < 0.5, grpc ? GRPC : "application/json");
      expect(res.inference).toBe(true);
    }
    function pick2(rr: () => number) {
      return ["/v1/chat/completions", "/generate", "/v2/models/e/generate"][Math.floor(rr() * 3)];
    }
  });
});

describe("routes added for issue 12", () => {
  it("vLLM token-in generate, score, rerank, pooling, classify", () => {
    expect(
      post("/inference/v1/generate", '{"token_ids":[1,2],"sampling_params":{"max_tokens":9},"model":"m","stream":true}'),
    ).toMatchObject({ protocol: "vllm-generate-tokens", model: "m", streaming: true, maxTokens: 9, class: "generate-stream" });
    expect(post("/inference/v1/generate", '{"token_ids":[1]}')).toMatchObject({
      protocol: "vllm-generate-tokens",
      model: "",
      needsBody: true,
    });
    for (const [p, proto] of [
      ["/score", "vllm-score"],
      ["/v1/score", "vllm-score"],
      ["/rerank", "vllm-rerank"],
      ["/v1/rerank", "vllm-rerank"],
      ["/v2/rerank", "vllm-rerank"],
      ["/pooling", "vllm-pooling"],
      ["/classify", "vllm-classify"],
      ["/openai/v1/rerank", "vllm-rerank"],
    ]) {
      expect(post(p, '{"model":"bge-reranker","query":"q","documents":["a"],"stream":true}'), p).toMatchObject({
        protocol: proto,
        model: "bge-reranker",
        class: "embed",
        streaming: false,
      });
    }
    expect(classify("GET", "/score").inference).toBe(false);
  });

  it("Anthropic Messages and every OpenAI route under /openai/v1", () => {
    expect(post("/v1/messages", '{"model":"claude-like","max_tokens":100,"messages":[],"stream":true}')).toMatchObject({
      protocol: "anthropic-messages",
      model: "claude-like",
      maxTokens: 100,
      streaming: true,
      class: "generate-stream",
    });
    for (const [p, proto] of [
      ["/openai/v1/chat/completions", "openai-chat"],
      ["/openai/v1/completions", "openai-completions"],
      ["/openai/v1/embeddings", "openai-embeddings"],
      ["/openai/v1/responses", "openai-responses"],
    ]) {
      expect(post(p, '{"model":"my-deployment"}'), p).toMatchObject({ protocol: proto, model: "my-deployment" });
    }
    // KServe v1 path-model routes do not move under the prefix.
    expect(post("/openai/v1/models/m:predict").inference).toBe(false);
  });

  it("TGI POST / streams from the body; SGLang PUT /generate; POST /generate by body keys", () => {
    expect(post("/", '{"inputs":"hi","parameters":{"max_new_tokens":20},"stream":true}')).toMatchObject({
      protocol: "tgi-generate",
      streaming: true,
      class: "generate-stream",
      maxTokens: 20,
    });
    expect(post("/", '{"inputs":"hi"}')).toMatchObject({ protocol: "tgi-generate", streaming: false });
    // POST / keeps TGI even with SGLang-looking keys: only /generate is shared.
    expect(post("/", '{"text":"hi","inputs":"x"}').protocol).toBe("tgi-generate");
    expect(classify("GET", "/").inference).toBe(false);
    expect(classify("PUT", "/generate", { body: '{"text":"hi","sampling_params":{"max_new_tokens":7}}' })).toMatchObject({
      protocol: "sglang-generate",
      maxTokens: 7,
    });
    expect(post("/generate", '{"text":"hi"}').protocol).toBe("sglang-generate");
    expect(post("/generate", '{"input_ids":[1]}').protocol).toBe("sglang-generate");
    expect(post("/generate", '{"inputs":"hi"}').protocol).toBe("tgi-generate");
  });

  it("TorchServe gRPC Predictions / StreamPredictions: model_name 1, model_version 2, last wins", () => {
    const TS = "/org.pytorch.serve.grpc.inference.InferenceAPIsService/Predictions";
    const msg = [...ld(3, [...ld(1, "data"), ...ld(2, "xyz")]), ...ld(1, "resnet"), ...ld(2, "1.0")];
    expect(post(TS, frame(msg), { ct: GRPC })).toMatchObject({
      protocol: "torchserve-grpc",
      model: "resnet",
      version: "1.0",
      grpc: true,
      class: "predict",
    });
    expect(post(TS, frame([...ld(1, "a"), ...ld(1, "b")]), { ct: GRPC }).model).toBe("b");
    expect(
      post("/org.pytorch.serve.grpc.inference.InferenceAPIsService/StreamPredictions", frame(ld(1, "llm")), { ct: GRPC }),
    ).toMatchObject({ protocol: "torchserve-grpc", model: "llm", streaming: true, class: "generate-stream" });
    expect(post("/org.pytorch.serve.grpc.inference.InferenceAPIsService/Ping", null, { ct: GRPC }).inference).toBe(false);
  });
});

describe("multipart/form-data (OpenAI audio)", () => {
  const B = "----b0undary";
  const CT = `multipart/form-data; boundary=${B}`;
  const part = (name: string, value: string | Uint8Array, filename?: string) => {
    const head = `--${B}\r\nContent-Disposition: form-data; name="${name}"${filename ? `; filename="${filename}"` : ""}\r\n${filename ? "Content-Type: audio/wav\r\n" : ""}\r\n`;
    return [...enc.encode(head), ...(typeof value === "string" ? enc.encode(value) : value), ...enc.encode("\r\n")];
  };
  const body = (...parts: number[][]) => Uint8Array.from([...parts.flat(), ...enc.encode(`--${B}--\r\n`)]);
  const audio = new Uint8Array(3000).map((_, i) => (i * 37) & 0xff);

  it("reads model after a binary file part, and stream", () => {
    const b = body(part("file", audio, "a.wav"), part("model", "whisper-large-v3"), part("stream", "true"));
    expect(post("/v1/audio/transcriptions", b, { ct: CT })).toMatchObject({
      protocol: "openai-transcriptions",
      model: "whisper-large-v3",
      streaming: true,
      class: "generate-stream",
    });
    expect(post("/openai/v1/audio/translations", b, { ct: `multipart/form-data; boundary="${B}"` })).toMatchObject({
      protocol: "openai-translations",
      model: "whisper-large-v3",
    });
  });
  it("last model field wins; name* and escaped names are refused; UTF-8 names kept", () => {
    expect(post("/v1/audio/transcriptions", body(part("model", "a"), part("model", "b")), { ct: CT }).model).toBe("b");
    const star = Uint8Array.from([
      ...enc.encode(`--${B}\r\nContent-Disposition: form-data; name*=utf-8''model\r\n\r\nx\r\n`),
      ...part("model", "a"),
      ...enc.encode(`--${B}--`),
    ]);
    expect(post("/v1/audio/transcriptions", star, { ct: CT })).toMatchObject({ model: "" });
    expect(post("/v1/audio/transcriptions", body(part("model", "wisper-é-模型")), { ct: CT }).model).toBe("wisper-é-模型");
    expect(post("/v1/audio/transcriptions", body(part("modelx", "a")), { ct: CT }).model).toBe("");
  });
  it("a model cut by the prefix or a body without its closing delimiter is never used", () => {
    const b = body(part("file", audio, "a.wav"), part("model", "whisper"));
    expect(classifyPrefix("/v1/audio/transcriptions", b, 1000, false, CT).model).toBe("");
    for (let n = b.length - 40; n < b.length; n++) classifyPrefix("/v1/audio/transcriptions", b, n, false, CT);
    expect(post("/v1/audio/transcriptions", b.slice(0, b.length - 10), { ct: CT }).model).toBe("");
    expect(post("/v1/audio/transcriptions", b, { ct: "multipart/form-data" }).model).toBe("");
    expect(post("/v1/audio/transcriptions", b, { ct: "application/json" }).model).toBe("");
  });
});
