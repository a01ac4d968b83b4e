// Tests for assembly/router/signals/{presets,prometheus,orca}.ts, run through the compiled Wasm harness
// test/units/signals.ts → build/units/signals.wasm.
import { describe, it, expect, beforeAll } from "vitest";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { dirname, join } from "node:path";
import { instantiate, type Imports } from "@assemblyscript/loader";

const root = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
const wasmPath = join(root, "build", "units", "signals.wasm");
const fixture = (name: string) => readFileSync(join(root, "test", "units", "fixtures", "metrics", name));

const VLLM = 0,
  SGLANG = 1,
  TRTLLM = 2,
  TRITON_TRTLLM = 3,
  TRITON = 4,
  TGI = 5,
  CUSTOM = 6;
const QUEUE = 0,
  RUNNING = 1,
  KV = 2,
  LORA = 3;

interface Sig {
  ok: boolean;
  queue: number;
  running: number;
  kvCache: number;
  loraRunning: string;
  loraWaiting: string;
  loraMax: number;
  loraAt: number;
  samples: number;
  matched: number;
  parseErrors: number;
}
interface Orca {
  ok: boolean;
  present: boolean;
  cpu: number;
  mem: number;
  app: number;
  rps: number;
  eps: number;
  queue: number;
  running: number;
  kvCache: number;
  errors: number;
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
let ex: any;

beforeAll(async () => {
  // Built by the global setup (test/setup/build.ts).
  const mod = await instantiate(readFileSync(wasmPath), { env: { proxy_log: () => 0 } } as Imports);
  ex = mod.exports;
  if (typeof ex._start === "function") ex._start();
}, 60_000);

const enc = new TextEncoder();
const toBytes = (b: Uint8Array | string): Uint8Array => (typeof b === "string" ? enc.encode(b) : b);

function withStrings<T>(strs: string[], f: (p: number[]) => T): T {
  const ptrs = strs.map((s) => ex.__pin(ex.__newString(s)) as number);
  try {
    return f(ptrs);
  } finally {
    for (const p of ptrs) ex.__unpin(p);
  }
}
function withBuffer<T>(b: Uint8Array, f: (p: number) => T): T {
  const p = ex.__pin(ex.__newArrayBuffer(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength)));
  try {
    return f(p);
  } finally {
    ex.__unpin(p);
  }
}

function preset(
  engine: number,
  model = "",
): {
  queue: { name: string; labels: string[] }[];
  running: { name: string; labels: string[] }[];
  kvCache: { name: string; labels: string[] }[];
  loraInfo: { name: string } | null;
  modelLabel: string;
  model: string;
} {
  return withStrings([model], (p) => JSON.parse(ex.__getString(ex.usePreset(engine, p[0]))));
}
function custom(modelLabel: string, model: string, series: [number, string, string[]?, number?][]): void {
  withStrings([modelLabel, model], (p) => ex.useCustom(p[0], p[1]));
  for (const [kind, name, labels, scale] of series) {
    withStrings([name, (labels ?? []).join("\n")], (p) => ex.addSeries(kind, p[0], p[1], scale ?? 1));
  }
}
const parse = (input: Uint8Array | string): Sig => withBuffer(toBytes(input), (p) => JSON.parse(ex.__getString(ex.parse(p))));
const parsePrefix = (input: Uint8Array, len: number): Sig => withBuffer(input, (p) => JSON.parse(ex.__getString(ex.parsePrefix(p, len))));
const orca = (v: string): Orca => withStrings([v], (p) => JSON.parse(ex.__getString(ex.orca(p[0]))));
const engineId = (name: string): number => withStrings([name], (p) => ex.engineId(p[0]));

describe("presets", () => {
  it("maps engine names", () => {
    expect(["vllm", "sglang", "trtllm", "triton-trtllm", "triton", "tgi", "custom"].map(engineId)).toEqual([0, 1, 2, 3, 4, 5, 6]);
    expect(["", "VLLM", "vllm ", "nim", "triton_trtllm"].map(engineId)).toEqual([-1, -1, -1, -1, -1]);
  });

  it("uses the servers' real metric names", () => {
    const v = preset(VLLM, "m");
    expect(v.queue.map((s) => s.name)).toEqual(["vllm:num_requests_waiting"]);
    expect(v.running.map((s) => s.name)).toEqual(["vllm:num_requests_running"]);
    expect(v.kvCache.map((s) => s.name)).toEqual(["vllm:kv_cache_usage_perc", "vllm:gpu_cache_usage_perc"]);
    expect(v.loraInfo?.name).toBe("vllm:lora_requests_info");
    expect([v.modelLabel, v.model]).toEqual(["model_name", "m"]);
    const s = preset(SGLANG);
    expect([s.queue[0].name, s.running[0].name, s.kvCache[0].name, s.modelLabel]).toEqual([
      "sglang:num_queue_reqs",
      "sglang:num_running_reqs",
      "sglang:token_usage",
      "model_name",
    ]);
    const t = preset(TRTLLM);
    expect([t.queue[0].name, t.running[0].name, t.kvCache[0].name]).toEqual([
      "trtllm_num_requests_waiting",
      "trtllm_num_requests_running",
      "trtllm_kv_cache_utilization",
    ]);
    const tt = preset(TRITON_TRTLLM);
    expect(tt.queue).toEqual([
      { name: "nv_trt_llm_request_metrics", labels: ["request_type", "waiting"], scale: 1 },
      { name: "nv_inference_pending_request_count", labels: [], scale: 1 },
    ]);
    expect(tt.running).toEqual([{ name: "nv_trt_llm_request_metrics", labels: ["request_type", "scheduled"], scale: 1 }]);
    expect(tt.kvCache).toEqual([{ name: "nv_trt_llm_kv_cache_block_metrics", labels: ["kv_cache_block_type", "fraction"], scale: 1 }]);
    expect(tt.modelLabel).toBe("model");
    const tr = preset(TRITON);
    expect([tr.queue[0].name, tr.running.length, tr.kvCache.length, tr.modelLabel]).toEqual([
      "nv_inference_pending_request_count",
      0,
      0,
      "model",
    ]);
    const g = preset(TGI);
    expect([g.queue[0].name, g.running[0].name, g.kvCache.length]).toEqual(["tgi_queue_size", "tgi_batch_current_size", 0]);
    const c = preset(CUSTOM);
    expect([c.queue.length, c.running.length, c.kvCache.length, c.loraInfo]).toEqual([0, 0, 0, null]);
  });
});

describe("engine fixtures", () => {
  it("vLLM V1, several models and engines: sums all, or filters one model", () => {
    const text = fixture("vllm-v1-multimodel.prom");
    preset(VLLM);
    let r = parse(text);
    expect(r.ok).toBe(true);
    expect(r.parseErrors).toBe(0);
    expect(r.queue).toBe(8);
    expect(r.running).toBe(10);
    expect(r.kvCache).toBe(0.81); // fractions: the fullest engine, not a sum
    expect(r.samples).toBe(21);
    preset(VLLM, "meta-llama/Llama-3.1-8B-Instruct");
    r = parse(text);
    expect([r.queue, r.running, r.kvCache]).toEqual([1, 5, 0.42]);
    preset(VLLM, "Qwen/Qwen2.5-7B-Instruct");
    r = parse(text);
    expect([r.queue, r.running, r.kvCache]).toEqual([7, 5, 0.81]);
    preset(VLLM, "not-served");
    r = parse(text);
    expect([r.queue, r.running, r.kvCache]).toEqual([-1, -1, -1]);
  });

  it("vLLM lora_requests_info: the sample with the latest timestamp wins, in any order", () => {
    preset(VLLM, "Qwen/Qwen2.5-7B-Instruct"); // the LoRA series is never model-filtered
    const r = parse(fixture("vllm-v1-multimodel.prom"));
    expect(r.loraRunning).toBe("sql-lora,chat-lora");
    expect(r.loraWaiting).toBe("summarize-lora");
    expect(r.loraMax).toBe(4);
    expect(r.loraAt).toBe(1735200012.5);
    const lines = [
      'vllm:lora_requests_info{max_lora="8",running_lora_adapters="b",waiting_lora_adapters="c"} 30',
      'vllm:lora_requests_info{max_lora="8",running_lora_adapters="a",waiting_lora_adapters=""} 10',
      'vllm:lora_requests_info{waiting_lora_adapters="z",running_lora_adapters="",max_lora="x"} 20',
    ];
    for (const order of [
      [0, 1, 2],
      [1, 2, 0],
      [2, 0, 1],
      [1, 0, 2],
    ]) {
      const o = parse(order.map((i) => lines[i]).join("\n") + "\n");
      expect([o.loraRunning, o.loraWaiting, o.loraMax, o.loraAt]).toEqual(["b", "c", 8, 30]);
    }
    const z = parse(lines[2] + "\n");
    expect([z.loraRunning, z.loraWaiting, z.loraMax]).toEqual(["", "z", -1]);
    expect(parse("vllm:lora_requests_info 5\n").loraAt).toBe(5); // no labels: present, empty lists
    expect(parse("vllm:num_requests_running 1\n").loraAt).toBe(-1);
  });

  it("vLLM V0: falls back to gpu_cache_usage_perc", () => {
    preset(VLLM, "mistralai/Mistral-7B-Instruct-v0.3");
    const r = parse(fixture("vllm-v0.prom"));
    expect([r.ok, r.queue, r.running, r.kvCache, r.parseErrors, r.loraAt]).toEqual([true, 2, 4, 0.6523, 0, -1]);
    // Both names present: the V1 name (first candidate) wins.
    preset(VLLM);
    const b = parse("vllm:gpu_cache_usage_perc 0.9\nvllm:kv_cache_usage_perc 0.1\n");
    expect(b.kvCache).toBe(0.1);
  });

  it("SGLang", () => {
    preset(SGLANG, "deepseek-ai/DeepSeek-R1-Distill-Qwen-7B");
    const r = parse(fixture("sglang.prom"));
    expect([r.ok, r.queue, r.running, r.kvCache, r.parseErrors]).toEqual([true, 6, 28, 0.28, 0]);
  });

  it("trtllm-serve", () => {
    preset(TRTLLM);
    const r = parse(fixture("trtllm-serve.prom"));
    expect([r.ok, r.queue, r.running, r.kvCache, r.parseErrors]).toEqual([true, 3, 9, 0.5125, 0]);
  });

  it("Triton + TensorRT-LLM: label matchers pick request_type / kv_cache_block_type", () => {
    preset(TRITON_TRTLLM);
    const r = parse(fixture("triton-trtllm.prom"));
    expect([r.ok, r.queue, r.running, r.kvCache, r.parseErrors]).toEqual([true, 4, 6, 0.290431, 0]);
    preset(TRITON_TRTLLM, "tensorrt_llm");
    expect(parse(fixture("triton-trtllm.prom")).queue).toBe(4);
    preset(TRITON_TRTLLM, "ensemble"); // the TRT-LLM series are labelled with the backend model: Triton's own gauge
    expect(parse(fixture("triton-trtllm.prom")).queue).toBe(0);
  });

  it("Triton + TensorRT-LLM pipeline: every model has a queue signal, whichever the filter names", () => {
    const page = fixture("triton-trtllm-pipeline.prom");
    const want: Record<string, [number, number, number]> = {
      ensemble: [3, -1, -1],
      preprocessing: [1, -1, -1],
      postprocessing: [2, -1, -1],
      tensorrt_llm_bls: [5, -1, -1],
      tensorrt_llm: [4, 6, 0.29],
    };
    for (const [m, [q, r, kv]] of Object.entries(want)) {
      preset(TRITON_TRTLLM, m);
      const s = parse(page);
      expect([m, s.queue, s.running, s.kvCache, s.parseErrors]).toEqual([m, q, r, kv, 0]);
    }
    preset(TRITON_TRTLLM, "no-such-model");
    expect(parse(page).queue).toBe(-1);
    preset(TRITON_TRTLLM); // no filter: the engine's series
    expect(parse(page).queue).toBe(4);
  });

  it("Triton multi-model: pending requests per model, no running/kv gauge", () => {
    preset(TRITON);
    let r = parse(fixture("triton-multimodel.prom"));
    expect([r.ok, r.queue, r.running, r.kvCache, r.parseErrors]).toEqual([true, 8, -1, -1, 0]);
    preset(TRITON, "bert_base");
    r = parse(fixture("triton-multimodel.prom"));
    expect(r.queue).toBe(5);
  });

  it("TGI (unlabelled gauges next to histograms and a *_count counter)", () => {
    preset(TGI);
    const r = parse(fixture("tgi.prom"));
    expect([r.ok, r.queue, r.running, r.kvCache, r.parseErrors]).toEqual([true, 4, 12, -1, 0]);
  });
});

describe("exposition format", () => {
  it("escaped label values, and values containing } , = #", () => {
    custom("model_name", 'a "quoted" \\ model\nx', [[QUEUE, "q"]]);
    const text = [
      'q{model_name="a \\"quoted\\" \\\\ model\\nx"} 3',
      'q{model_name="a \\"quoted\\" \\\\ model"} 100',
      'q{model_name="other"} 200',
    ].join("\n");
    expect(parse(text).queue).toBe(3);
    custom("m", "x}y,z=w#v", [[QUEUE, "q"]]);
    const r = parse('q{m="x}y,z=w#v",other="}{,=#\\\\"} 7\nq{m="x}y,z=w#"} 1\n');
    expect([r.queue, r.parseErrors, r.samples]).toEqual([7, 0, 2]);
    custom("m", "π模型🚀", [[QUEUE, "q"]]);
    expect(parse('q{m="π模型🚀"} 2\nq{m="π模型"} 9\n').queue).toBe(2);
  });

  it("sums by default, filters per model, and counts server-wide samples without the model label", () => {
    custom("model", "", [[QUEUE, "q"]]);
    const text = 'q{model="a"} 1\nq{model="b"} 2\nq 4\n';
    expect(parse(text).queue).toBe(7);
    withStrings(["a"], (p) => ex.setModel(p[0]));
    expect(parse(text).queue).toBe(5);
    custom("", "a", [[QUEUE, "q"]]); // no model label: nothing to filter on
    expect(parse(text).queue).toBe(7);
  });

  it("custom series with several label matchers, candidates in order, and scale", () => {
    custom("", "", [
      [QUEUE, "app_queue", ["pool", "gpu", "kind", "llm"]],
      [RUNNING, "missing_metric"],
      [RUNNING, "app_active", ["state", "run"]],
      [KV, "app_kv_percent", [], 0.01],
      [LORA, "my_lora", ["svc", "x"]],
    ]);
    const text = [
      'app_queue{kind="llm",pool="gpu",zone="a"} 2',
      'app_queue{pool="gpu"} 50',
      'app_queue{kind="llm",pool="cpu"} 60',
      'app_queue{kind="llm",pool="gpu",zone="b"} 3',
      'app_active{state="run"} 4',
      'app_active{state="idle"} 40',
      "app_kv_percent 55",
      'my_lora{svc="x",running_lora_adapters="r1",max_lora="2"} 5',
      'my_lora{svc="y",running_lora_adapters="r2",max_lora="3"} 6',
    ].join("\n");
    const r = parse(text);
    expect([r.queue, r.running, r.kvCache, r.loraRunning, r.loraMax]).toEqual([5, 4, 0.55, "r1", 2]);
    // A series with more than 8 matchers is ignored, not matched loosely.
    custom("", "", [[QUEUE, "q", Array.from({ length: 18 }, (_, i) => (i % 2 ? "v" : `k${i}`))]]);
    expect(parse("q 1\n").queue).toBe(-1);
  });

  it("exact names: histogram/summary parts never match the gauge", () => {
    custom("", "", [
      [QUEUE, "req"],
      [RUNNING, "req_sum"],
    ]);
    const text = [
      "# TYPE req_hist histogram",
      'req_bucket{le="1"} 100',
      'req_bucket{le="+Inf"} 200',
      "req_count 200",
      "req_created 1.7e9",
      "# TYPE req_latency summary",
      'req_latency{quantile="0.5"} 0.2',
      "req_latency_sum 9",
      "reqx 10",
      "re 11",
      "req 3",
      "req_sum 42",
    ].join("\n");
    const r = parse(text);
    expect([r.queue, r.running, r.parseErrors]).toEqual([3, 42, 0]);
  });

  it("NaN and ±Inf samples are skipped, never summed", () => {
    custom("", "", [
      [QUEUE, "q"],
      [RUNNING, "r"],
      [KV, "k"],
    ]);
    const r = parse('q{a="1"} NaN\nq{a="2"} 2\nq{a="3"} +Inf\nq{a="4"} -Inf\nq{a="5"} inf\nq{a="6"} nan\nr Inf\nk 0.5\nk Infinity\n');
    expect([r.queue, r.running, r.kvCache, r.parseErrors, r.samples]).toEqual([2, -1, 0.5, 0, 9]);
  });

  it("number forms, timestamps, exemplars, CRLF, blanks, # EOF", () => {
    custom("", "", [
      [QUEUE, "q"],
      [RUNNING, "r"],
      [KV, "k"],
    ]);
    const num = (s: string) => parse(`q ${s}\n`);
    expect(num("1e3").queue).toBe(1000);
    expect(num("+2.5E-1").queue).toBe(0.25);
    expect(num(".5").queue).toBe(0.5);
    expect(num("7.").queue).toBe(7);
    expect(num("0.1").queue).toBe(0.1);
    expect(num("123456789012345678901234").queue).toBeCloseTo(1.2345678901234568e23, -9);
    expect(num("1e-400").queue).toBe(0);
    expect(num("-3").queue).toBe(0); // negative totals are clamped
    for (const bad of ["1e", "e3", "1.2.3", "0x10", "1_000", "--1", "", "1e+", "Infinit", "NaNa"]) {
      const r = num(bad);
      expect([bad, r.queue, r.parseErrors]).toEqual([bad, -1, 1]);
    }
    const text = [
      "# HELP q queue\r",
      "# TYPE q gauge\r",
      "\r",
      "   \t",
      'q{a="1"} 1 1712345678000\r',
      'q{a="2"}\t2\t1712345678.5 # {trace_id="abc"} 1.0 1712345678.1\r',
      'q{a="3",} 3 # exemplar-ish comment',
      "  r{} 4",
      "r   5   ",
      'k{a="1"} 0.5 12 junk',
      "q 9 notatimestamp",
      "# EOF",
      "q 1000",
      "garbage after EOF",
    ].join("\n");
    const r = parse(text);
    expect([r.queue, r.running, r.kvCache, r.parseErrors, r.samples]).toEqual([6, 9, -1, 2, 5]);
    expect(parse("q 4").queue).toBe(4); // no final newline
    expect(parse("# EOF\nq 4\n").queue).toBe(-1);
    expect(parse("# EOFX\nq 4\n").queue).toBe(4);
  });

  it("quoted metric names (Prometheus 3 syntax) and quoted label names", () => {
    custom("", "", [
      [QUEUE, "my.queue"],
      [RUNNING, "r", ["label.with.dots", "v"]],
    ]);
    const r = parse('{"my.queue", zone="a"} 3\n{"my.queue"} 4\nr{"label.with.dots"="v"} 5\n{zone="a"} 9\n');
    expect([r.queue, r.running, r.parseErrors]).toEqual([7, 5, 1]);
  });

  it("malformed lines are counted and skipped; good lines around them still count", () => {
    custom("", "", [[QUEUE, "q"]]);
    const bad = [
      'q{a="unterminated} 5',
      'q{a="x" b="y"} 5',
      "q{a=x} 5",
      'q{="x"} 5',
      'q{a="x"',
      'q{a="x\\',
      "q5",
      "q",
      'q{a="x"} ',
      "9q 1",
      "q.x 1",
      "q 1 2 3",
      "\u00e9 1",
    ];
    const r = parse(["q 1", ...bad, "q 2", ""].join("\n"));
    expect([r.ok, r.queue, r.parseErrors, r.samples]).toEqual([true, 3, bad.length, 2]);
  });

  it("unusable input returns false; empty and comment-only input returns true", () => {
    preset(VLLM);
    expect(parse("").ok).toBe(true);
    expect(parse("# HELP x y\n# TYPE x gauge\n").ok).toBe(true);
    expect(parse("<html><body>502 Bad Gateway</body></html>\n").ok).toBe(false);
    expect(parse(new Uint8Array([0x1f, 0x8b, 0x08, 0, 0, 0, 0, 0, 0, 3, 0xff, 0xfe])).ok).toBe(false); // gzip
    expect(parse('{"error": "not found"}').ok).toBe(false);
  });

  it("huge lines and huge LoRA values stay bounded", () => {
    preset(VLLM);
    const big = "x".repeat(200_000);
    const text =
      `vllm:num_requests_waiting{junk="${big}"} 3\nvllm:lora_requests_info{running_lora_adapters="${big}"} 9\n` +
      `vllm:lora_requests_info{running_lora_adapters="small"} 8\n${big}\nvllm:num_requests_running 1\n`;
    const r = parse(text);
    expect([r.queue, r.running, r.loraRunning, r.loraAt, r.parseErrors]).toEqual([3, 1, "small", 8, 1]);
  });
});

describe("robustness", () => {
  it("every prefix of a fixture: no trap, and never reads past the given length", () => {
    preset(VLLM, "meta-llama/Llama-3.1-8B-Instruct");
    const full = new Uint8Array(
      Buffer.concat([fixture("vllm-v1-multimodel.prom"), Buffer.from('q{a="esc\\"aped\\\\",b="}"} 1 # {x="y"} 2\r\n# EOF\n')]),
    );
    withBuffer(full, (p) => {
      for (let len = 0; len <= full.length; len++) {
        const viaPrefix = ex.__getString(ex.parsePrefix(p, len));
        const exact = withBuffer(full.subarray(0, len), (q) => ex.__getString(ex.parse(q)));
        if (viaPrefix !== exact) throw new Error(`prefix ${len}: ${viaPrefix} != ${exact}`);
        JSON.parse(viaPrefix); // finite numbers only
      }
    });
  });

  it("steady-state polling does not grow memory (LoRA strings are reused)", () => {
    preset(VLLM);
    const fx = new Uint8Array(fixture("vllm-v1-multimodel.prom"));
    withBuffer(fx, (p) => {
      for (let i = 0; i < 200; i++) ex.parseQuick(p, 0, fx.length);
      const before = ex.memory.buffer.byteLength;
      for (let i = 0; i < 5000; i++) ex.parseQuick(p, 0, fx.length);
      expect(ex.memory.buffer.byteLength).toBe(before);
    });
  });

  it("seeded random and mutated inputs never trap and give finite results", () => {
    let seed = 0x9e3779b9;
    const rnd = () => {
      seed = (seed + 0x6d2b79f5) | 0;
      let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
      t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
      return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    };
    const bases = ["vllm-v1-multimodel.prom", "triton-trtllm.prom", "tgi.prom"].map((f) => new Uint8Array(fixture(f)));
    const special = enc.encode('{}",=\\#\n\r \t"e+-.0123456789NaInf');
    const cap = 4096;
    const p = ex.__pin(ex.__newArrayBuffer(new ArrayBuffer(cap)));
    try {
      for (const engine of [VLLM, TRITON_TRTLLM]) {
        preset(engine, engine === VLLM ? "Qwen/Qwen2.5-7B-Instruct" : "");
        for (let iter = 0; iter < 1500; iter++) {
          let data: Uint8Array;
          const mode = iter % 3;
          if (mode === 0) {
            data = new Uint8Array(Math.floor(rnd() * 600));
            for (let i = 0; i < data.length; i++) data[i] = Math.floor(rnd() * 256);
          } else {
            const b = bases[Math.floor(rnd() * bases.length)];
            const start = Math.floor(rnd() * b.length);
            data = b.slice(start, Math.min(b.length, start + Math.floor(rnd() * cap)));
            const flips = 1 + Math.floor(rnd() * 12);
            for (let k = 0; k < flips && data.length; k++) {
              data[Math.floor(rnd() * data.length)] = mode === 1 ? Math.floor(rnd() * 256) : special[Math.floor(rnd() * special.length)];
            }
          }
          new Uint8Array(ex.memory.buffer, p, cap).set(data);
          const r = ex.parseQuick(p, 0, data.length);
          if (r < 0) throw new Error(`non-finite result for input ${Buffer.from(data).toString("base64")}`);
        }
      }
    } finally {
      ex.__unpin(p);
    }
  });
});

/** Base64 of a serialized xds.data.orca.v3.OrcaLoadReport (field numbers from orca_load_report.proto). */
function orcaBin(o: {
  cpu?: number;
  mem?: number;
  rps?: number;
  rpsFractional?: number;
  eps?: number;
  app?: number;
  named?: Record<string, number>;
  requestCost?: Record<string, number>;
}): string {
  const parts: Buffer[] = [];
  const varint = (v: number) => {
    const b: number[] = [];
    do {
      let c = v & 0x7f;
      v = Math.floor(v / 128);
      if (v) c |= 0x80;
      b.push(c);
    } while (v);
    return Buffer.from(b);
  };
  const dbl = (f: number, v: number) => {
    const b = Buffer.alloc(9);
    b[0] = (f << 3) | 1;
    b.writeDoubleLE(v, 1);
    return b;
  };
  const map = (f: number, m: Record<string, number>) => {
    for (const [k, v] of Object.entries(m)) {
      const key = Buffer.from(k, "utf8");
      const entry = Buffer.concat([Buffer.from([0x0a]), varint(key.length), key, dbl(2, v)]);
      parts.push(Buffer.from([(f << 3) | 2]), varint(entry.length), entry);
    }
  };
  if (o.cpu !== undefined) parts.push(dbl(1, o.cpu));
  if (o.mem !== undefined) parts.push(dbl(2, o.mem));
  if (o.rps !== undefined) parts.push(Buffer.from([3 << 3]), varint(o.rps));
  if (o.requestCost) map(4, o.requestCost);
  if (o.rpsFractional !== undefined) parts.push(dbl(6, o.rpsFractional));
  if (o.eps !== undefined) parts.push(dbl(7, o.eps));
  if (o.named) map(8, o.named);
  if (o.app !== undefined) parts.push(dbl(9, o.app));
  return Buffer.concat(parts).toString("base64");
}

describe("ORCA endpoint-load-metrics", () => {
  it("TEXT form", () => {
    const r = orca(
      "TEXT cpu_utilization=0.3, mem_utilization=0.8, rps_fractional=10, named_metrics.queue=3, named_metrics.kv_cache_utilization=0.4",
    );
    expect(r).toMatchObject({ ok: true, present: true, cpu: 0.3, mem: 0.8, rps: 10, queue: 3, kvCache: 0.4, errors: 0, app: -1, eps: -1 });
    const v = orca(
      "  TEXT application_utilization=0.5,eps=2,named_metrics.num_requests_waiting=7,named_metrics.kv_cache_usage_perc=0.25,named_metrics.num_requests_running=4  ",
    );
    expect(v).toMatchObject({ present: true, app: 0.5, eps: 2, queue: 7, kvCache: 0.25, running: 4 });
    const w = orca(
      "TEXT request_cost.queue_depth=2, utilization.kv_cache_usage=0.9, named_metrics.vllm:num_requests_waiting=5, qps=3, named_metrics.other=1",
    );
    expect(w).toMatchObject({ present: true, queue: 5, kvCache: 0.9, rps: 3 });
  });

  it("TEXT form with Envoy's `name:value` pairs (source/common/orca/orca_parser.cc)", () => {
    const r = orca(
      "TEXT cpu_utilization:0.3, mem_utilization:0.8, rps_fractional:10, named_metrics.queue:3, named_metrics.kv_cache_utilization:0.4",
    );
    expect(r).toMatchObject({ ok: true, present: true, cpu: 0.3, mem: 0.8, rps: 10, queue: 3, kvCache: 0.4, errors: 0 });
    // Blanks around name and value are skipped, as Envoy's SkipWhitespace split does; `:` and `=` pairs may mix.
    const v = orca(
      "TEXT  application_utilization : 0.5 ,eps:2,named_metrics.num_requests_waiting= 7, named_metrics.kv_cache_usage_perc :0.25",
    );
    expect(v).toMatchObject({ present: true, app: 0.5, eps: 2, queue: 7, kvCache: 0.25, errors: 0 });
    // With `=` in the pair, an engine prefix's `:` stays in the name; without, the first `:` splits (Envoy), so
    // `named_metrics.vllm:num_requests_waiting:5` has the value "num_requests_waiting:5": malformed, counted.
    expect(orca("TEXT named_metrics.vllm:num_requests_waiting=5")).toMatchObject({ present: true, queue: 5 });
    expect(orca("TEXT named_metrics.vllm:num_requests_waiting:5, eps:1")).toMatchObject({ present: true, queue: -1, eps: 1, errors: 1 });
    expect(orca("TEXT cpu_utilization:, :3, mem_utilization: x")).toMatchObject({ present: false, errors: 3 });
  });

  it("TEXT form: malformed pairs are skipped and counted", () => {
    const r = orca("TEXT cpu_utilization=abc, mem_utilization, =3, named_metrics.queue=-1, rps_fractional=NaN, , eps = 4 ");
    expect(r).toMatchObject({ present: true, cpu: -1, mem: -1, queue: -1, rps: -1, eps: 4, errors: 5 });
    expect(orca("TEXT ").present).toBe(false);
    expect(orca("TEXT cpu_utilization=1e999").present).toBe(false);
    expect(orca("TEXTcpu_utilization=0.3").present).toBe(false);
    expect(orca("text cpu_utilization=0.3").present).toBe(false);
    expect(orca("cpu_utilization=0.3").present).toBe(false);
    expect(orca("").present).toBe(false);
  });

  it("JSON form", () => {
    const r = orca(
      'JSON {"cpu_utilization": 0.3, "mem_utilization": 0.5, "rps_fractional": 12.5, "named_metrics": {"queue": 3, "kv_cache_utilization": 0.4}}',
    );
    expect(r).toMatchObject({ ok: true, present: true, cpu: 0.3, mem: 0.5, rps: 12.5, queue: 3, kvCache: 0.4, errors: 0 });
    const s = orca(
      'JSON {"application_utilization":"0.7","request_cost":{"num_requests_waiting":"2"},"utilization":{"kv_cache_usage_perc":0.1},' +
        '"extra":{"deep":[1,{"x":[2,3]},"s"]},"flag":true,"nothing":null,"eps":1e1,"named_metrics":{"nested":{"queue":99},"running":6}}',
    );
    expect(s).toMatchObject({ present: true, app: 0.7, queue: 2, kvCache: 0.1, eps: 10, running: 6, errors: 0 });
    const e = orca('JSON {"named_\\u006detrics": {"que\\u0075e": 8}, "cpu_\\u0075tilization": 0.2}');
    expect(e).toMatchObject({ present: true, queue: 8, cpu: 0.2 });
    expect(orca("JSON {}").present).toBe(false);
  });

  it("JSON form with protobuf's JSON names (lowerCamelCase), as Envoy's parser accepts", () => {
    const r = orca(
      'JSON {"cpuUtilization": 0.3, "memUtilization": 0.5, "applicationUtilization": 0.6, "rpsFractional": 12.5, "eps": 1, ' +
        '"namedMetrics": {"queue": 3, "kv_cache_utilization": 0.4}, "requestCost": {"running": 2}}',
    );
    expect(r).toMatchObject({
      present: true,
      cpu: 0.3,
      mem: 0.5,
      app: 0.6,
      rps: 12.5,
      eps: 1,
      queue: 3,
      running: 2,
      kvCache: 0.4,
      errors: 0,
    });
    expect(orca('JSON {"namedMetrics": {"num_requests_waiting": "7"}}')).toMatchObject({ present: true, queue: 7 });
    // Names are exact: neither other casings nor a camelCase map key are read as a field.
    expect(orca('JSON {"NamedMetrics": {"queue": 3}, "CPUUtilization": 0.4}')).toMatchObject({ queue: -1, cpu: -1 });
  });

  it("JSON form: malformed input keeps what was read and never traps", () => {
    const t = orca('JSON {"cpu_utilization": 0.3, "mem_utilization": ');
    expect(t).toMatchObject({ present: true, cpu: 0.3, mem: -1 });
    expect(t.errors).toBeGreaterThan(0);
    for (const bad of [
      "JSON ",
      "JSON [1,2]",
      'JSON {"a"}',
      'JSON {"a":}',
      'JSON {"a":1,,}',
      'JSON {"cpu_utilization":-1}',
      'JSON {"cpu_utilization":"NaN"}',
      'JSON {"cpu_utilization":"Infinity"}',
      'JSON {"a":"\\',
      'JSON {"a":"\\u12"}',
      'JSON {"cpu_utilization": 1.2.3}',
      'JSON {"x":' + "[".repeat(5000),
      'JSON {"named_metrics": [1]}',
    ]) {
      const r = orca(bad);
      expect([bad, r.cpu, r.queue]).toEqual([bad, -1, -1]);
    }
  });

  it("BIN form: base64 of the serialized OrcaLoadReport, as Envoy decodes it", () => {
    // cpu_utilization (1) = 0.5, mem_utilization (2) = 0.5
    expect(orca("BIN CQAAAAAAAOA/EQAAAAAAAOA/")).toMatchObject({ present: true, cpu: 0.5, mem: 0.5, errors: 0 });
    const r = orca(
      `BIN ${orcaBin({ cpu: 0.3, rpsFractional: 12.5, eps: 1, app: 0.6, rps: 9, named: { num_requests_waiting: 4, kv_cache_usage_perc: 0.25, other: 7 }, requestCost: { running: 2 } })}`,
    );
    expect(r).toMatchObject({ present: true, cpu: 0.3, rps: 12.5, eps: 1, app: 0.6, queue: 4, kvCache: 0.25, running: 2, errors: 0 });
    // Unpadded base64, deprecated integer rps alone, an unknown field of every wire type skipped.
    const unknown = "YAE"; /* field 12 varint 1 */
    expect(orca(`BIN ${orcaBin({ rps: 9 }).replace(/=+$/, "")}`)).toMatchObject({ present: true, rps: 9 });
    expect(
      orca(`BIN ${Buffer.concat([Buffer.from(unknown, "base64"), Buffer.from(orcaBin({ eps: 3 }), "base64")]).toString("base64")}`),
    ).toMatchObject({ present: true, eps: 3 });
  });

  it("BIN form: malformed input keeps what was read and never traps", () => {
    for (const bad of [
      "BIN ",
      "BIN !!!!",
      "BIN A",
      "BIN CQAAAA",
      "BIN Cw==",
      "BIN " + "A".repeat(5000),
      "BIN QgP/////",
      `BIN ${orcaBin({ cpu: -1 })}`,
      `BIN ${orcaBin({ named: { queue: NaN } })}`,
    ]) {
      const r = orca(bad);
      expect([bad, r.present, r.cpu, r.queue]).toEqual([bad, false, -1, -1]);
    }
    // Truncated after a good field: the good field counts, the error is counted.
    const good = Buffer.from(orcaBin({ eps: 2, named: { queue: 5 } }), "base64");
    const cut = orca(`BIN ${good.subarray(0, good.length - 3).toString("base64")}`);
    expect(cut).toMatchObject({ present: true, eps: 2, queue: -1 });
    expect(cut.errors).toBeGreaterThan(0);
  });

  it("random header values never trap", () => {
    let seed = 12345;
    const rnd = () => {
      seed = (Math.imul(seed, 1103515245) + 12345) & 0x7fffffff;
      return seed / 0x80000000;
    };
    const alphabet = 'TEXT JSON {}[]":,=.-+eE0123456789 named_metrics.queue cpu_utilization \\u CQAAAAAAAOA/EQ+/==';
    for (let i = 0; i < 1500; i++) {
      const pre = ["TEXT ", "JSON ", "BIN "][i % 3]!;
      let s = pre;
      const n = Math.floor(rnd() * 80);
      for (let k = 0; k < n; k++)
        s += rnd() < 0.9 ? alphabet[Math.floor(rnd() * alphabet.length)] : String.fromCharCode(Math.floor(rnd() * 0x10000));
      const r = orca(s);
      expect(typeof r.present).toBe("boolean");
    }
  });
});
