// Parity of the filter's config parser (assembly/router/config-parse.ts, through the harness test/units/config.ts)
// with the schema of record (src/config/plugin-config.ts): same verdicts, same parsed values, and the wasm's
// first error names a path zod also reports. Plus hostile inputs (nothing may trap) and a seeded mutation loop.
import { describe, it, expect, beforeAll } from "vitest";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { dirname, join } from "node:path";
import { instantiate, type Imports } from "@assemblyscript/loader";
import { PluginConfigSchema } from "../../src/config/plugin-config.js";

const root = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
const wasmPath = join(root, "build", "units", "config.wasm");

interface Harness {
  parse(ptr: number): number;
  check(ptr: number, maxDepth: number): number;
  _start(): void;
  __newString(s: string): number;
  __getString(p: number): string;
  __pin(p: number): number;
  __unpin(p: number): void;
  __collect(): void;
}

let wasm: Harness;
const aborts: string[] = [];

beforeAll(async () => {
  // Built by the global setup (test/setup/build.ts).
  let memory: WebAssembly.Memory | undefined;
  const { exports } = await instantiate(readFileSync(wasmPath), {
    env: {
      proxy_log: (_level: number, ptr: number, len: number) => {
        if (memory) aborts.push(Buffer.from(new Uint8Array(memory.buffer, ptr, len)).toString("latin1"));
        return 0;
      },
    },
  } as Imports);
  memory = (exports as unknown as { memory: WebAssembly.Memory }).memory;
  wasm = exports as unknown as Harness;
  wasm._start();
}, 60_000);

let calls = 0;
function callString(fn: (p: number) => number, s: string): string {
  const p = wasm.__pin(wasm.__newString(s));
  try {
    return wasm.__getString(fn(p));
  } finally {
    wasm.__unpin(p);
    if (++calls % 256 === 0) wasm.__collect();
  }
}

const wasmParse = (s: string) => callString((p) => wasm.parse(p), s);
const wasmCheck = (s: string, depth = 32) => callString((p) => wasm.check(p, depth), s);

/** A key as the wasm shows it in a path (printable ASCII, at most 64 units, "" when empty). */
function displayKey(k: string): string {
  if (k === "") return '""';
  let out = "";
  for (let i = 0; i < Math.min(k.length, 64); i++) {
    const c = k.charCodeAt(i);
    out += c >= 0x20 && c <= 0x7e ? k[i] : "?";
  }
  return out + (k.length > 64 ? "..." : "");
}

function fmtPath(path: readonly PropertyKey[]): string {
  let s = "";
  for (const p of path) s += typeof p === "number" ? `[${p}]` : s ? `.${String(p)}` : String(p);
  return s;
}

type Verdict = { json: boolean; ok: boolean; data?: unknown; paths: string[] };

function zodVerdict(text: string): Verdict {
  let input: unknown;
  try {
    input = JSON.parse(text);
  } catch {
    return { json: false, ok: false, paths: [] };
  }
  const r = PluginConfigSchema.safeParse(input);
  if (r.success) return { json: true, ok: true, data: r.data, paths: [] };
  const paths: string[] = [];
  for (const iss of r.error.issues) {
    const base = fmtPath(iss.path);
    if (iss.code === "unrecognized_keys") {
      for (const k of iss.keys) paths.push(base ? `${base}.${displayKey(k)}` : displayKey(k));
    } else paths.push(base || "(root)");
  }
  return { json: true, ok: false, paths };
}

/** Asserts parity of the wasm with zod on one text; returns the wasm's answer. */
function expectParity(text: string, label = text.slice(0, 120)): string {
  const out = wasmParse(text);
  const z = zodVerdict(text);
  const isErr = out.startsWith("error: ");
  expect(isErr, `${label}\nwasm: ${out.slice(0, 300)}\nzod: ${JSON.stringify(z).slice(0, 500)}`).toBe(!z.ok);
  if (z.ok) {
    // Through JSON text on both sides: numbers compare as numbers (-0 and 0 alike; i32 fields cannot hold -0).
    expect(JSON.parse(out), label).toEqual(JSON.parse(JSON.stringify(z.data)));
  } else if (z.json) {
    const msg = out.slice("error: ".length);
    const hit = z.paths.some((p) => msg.startsWith(`${p}: `));
    expect(hit, `${label}\nwasm: ${msg.slice(0, 300)}\nzod paths: ${z.paths.join(" | ")}`).toBe(true);
  } else if (text.length === 0) {
    expect(out).toBe("error: configuration is empty: pools is required");
  } else {
    expect(out, label).toMatch(/^error: \(root\): invalid JSON at offset \d+: /);
  }
  return out;
}

const MIN = { pools: [{ name: "a", models: ["m"] }] };
const FULL = {
  name: "router-1",
  steering: "endpoint",
  headers: {
    protocol: "x-p",
    model: "x-m",
    class: "x-c",
    priority: "x-pr",
    pool: "x-po",
    endpoint: "x-e",
    modelOverride: "x-model-override",
    priorityIn: "x-priority-in",
  },
  body: { enabled: true, maxBytes: 1024, timeoutMs: 250 },
  pools: [
    {
      name: "h100",
      models: ["llama-3-70b", "gpt-oss:20b"],
      modelPrefixes: ["llama-3-8b:"],
      weight: 2.5,
      gpu: "H100",
      endpoints: ["10.0.0.1:8000", "[fd00::1]:8000", "255.255.255.255:65535"],
      fallback: "l4",
      maxInFlight: 128,
      metrics: {
        cluster: "outbound|8000||vllm-a.llm.svc.cluster.local",
        path: "/metrics",
        engine: "vllm",
        authority: "vllm-a:8000",
        timeoutMs: 500,
        modelLabelFilter: "llama-3-70b",
        endpointClusters: { "10.0.0.1:8000": "ep-1" },
      },
      discovery: { enabled: true, path: "/v1/models", intervalMs: 10000 },
    },
    {
      name: "l4",
      modelPrefixes: ["mistral"],
      weight: 0.01,
      endpoints: ["0.0.0.0:1"],
      maxInFlight: 1_000_000,
      metrics: {
        cluster: "metrics-l4",
        engine: "custom",
        series: { queue: [{ name: "my_queue", labels: { kind: "waiting" }, scale: 1 }], kvCache: [{ name: "kv_pct", scale: 0.01 }] },
      },
    },
  ],
  models: [{ name: "llama-3-70b", priority: 10 }, { name: 'm"q\\x' }],
  scoring: { inFlight: 0, queue: 100, kvCache: 0.5, sampleAbove: 2, staleAfterMs: 600000 },
  saturation: { queue: 1_000_000, kvCache: 1 },
  shedding: { belowPriority: -101, retryAfterSeconds: 3600 },
  unknownModel: "passthrough",
  outlier: { consecutiveErrors: 1000, baseEjectionMs: 100, maxEjectionMs: 100, maxEjectionPercent: 0 },
  polling: { intervalMs: 250, probesPerTick: 4, subsetAbove: 8, leaseMs: 1000 },
  loadReports: { orca: false, queueHeader: "x-queue", kvCacheHeader: "x-kv" },
  affinity: { prefix: { enabled: true, blockBytes: 128, blocks: 8, tableSize: 1024, maxLoadFactor: 2 }, lora: false },
};

type J = Record<string, unknown>;
const clone = <T>(v: T): T => structuredClone(v);
/** MIN with `patch` applied to the root. */
const root_ = (patch: J) => JSON.stringify({ ...MIN, ...patch });
/** MIN with `patch` applied to pools[0]. */
const pool = (patch: J) => JSON.stringify({ pools: [{ ...MIN.pools[0], ...patch }] });
const section = (name: string, value: unknown) => root_({ [name]: value });

const corpus: [string, string][] = [
  ["minimal", JSON.stringify(MIN)],
  // Issue 12: UTF-8 model names (bytes, not chars; no controls; no lone surrogates), new header fields, body limit.
  ...(
    [
      ["utf8 name", "café-模型-😀"],
      ["256 bytes", "é".repeat(128)],
      ["257 bytes", "é".repeat(128) + "a"],
      ["space inside", "a b"],
      ["C1 control", "a\u0085"],
      ["DEL", "a\u007f"],
      ["NUL", "a\u0000"],
      ["lone surrogate", "\ud800x"],
      ["pair", "\ud83d\ude00"],
      ["reversed pair", "\ude00\ud83d"],
    ] as [string, string][]
  ).map(([l, n]) => [`model name: ${l}`, `{"pools":[{"name":"a","models":["${n}"]}]}`] as [string, string]),
  ["headers.stripInbound", root_({ headers: { stripInbound: ["x-a", "target-pod"] } })],
  ["headers.stripInbound empty", root_({ headers: { stripInbound: [] } })],
  ["headers.stripInbound bad", root_({ headers: { stripInbound: ["X-Upper"] } })],
  ["headers.trustedPeers", root_({ headers: { trustedPeers: ["spiffe://cluster.local/ns/a/sa/b", "ns:team-a"] } })],
  ["headers.trustedPeers bad ns", root_({ headers: { trustedPeers: ["ns:-bad"] } })],
  ["headers.trustedPeers bad uri", root_({ headers: { trustedPeers: ["http://x"] } })],
  ["headers.version/label", root_({ headers: { version: "x-v", label: "x-l" } })],
  ["headers.version duplicate", root_({ headers: { version: "x-inference-model" } })],
  ["body.bufferLimitBytes", root_({ body: { enabled: true, bufferLimitBytes: 32768 } })],
  ["body.bufferLimitBytes low", root_({ body: { bufferLimitBytes: 1000 } })],
  ["body.bufferLimitBytes high", root_({ body: { bufferLimitBytes: 67108865 } })],
  ["full", JSON.stringify(FULL)],
  ["empty text", ""],
  ["empty object", "{}"],
  ["null", "null"],
  ["array root", "[]"],
  ["string root", '"x"'],
  ["number root", "1"],
  ["pools empty", root_({ pools: [] })],
  ["pools not array", root_({ pools: {} })],
  ["pools 65", root_({ pools: Array.from({ length: 65 }, (_, i) => ({ name: `p${i}`, models: ["m"] })) })],
  ["pools 64", root_({ pools: Array.from({ length: 64 }, (_, i) => ({ name: `p${i}`, models: ["m"] })) })],
  ["pools 65 of garbage", root_({ pools: Array.from({ length: 65 }, () => 7) })],
  ["pool not object", root_({ pools: ["a"] })],
  ["pool name missing", JSON.stringify({ pools: [{ models: ["m"] }] })],
  ["pool name bad start", pool({ name: "-a" })],
  ["pool name 63", pool({ name: "a".repeat(63) })],
  ["pool name 64", pool({ name: "a".repeat(64) })],
  ["pool name number", pool({ name: 1 })],
  ["pool name with space", pool({ name: "a b" })],
  ["models 256", pool({ models: Array.from({ length: 256 }, (_, i) => `m${i}`) })],
  ["models 257", pool({ models: Array.from({ length: 257 }, (_, i) => `m${i}`) })],
  ["model name 128", pool({ models: ["x".repeat(128)] })],
  ["model name 129", pool({ models: ["x".repeat(129)] })],
  ["model name space", pool({ models: ["a b"] })],
  ["model name empty", pool({ models: [""] })],
  ["model name non-ascii", pool({ models: ["mo\u00e9"] })],
  ["model name U+FFFD", pool({ models: ["m\ufffd"] })],
  ["model name lone surrogate", '{"pools":[{"name":"a","models":["\\ud800"]}]}'],
  ["models null", pool({ models: null })],
  ["prefixes only", pool({ models: [], modelPrefixes: ["x:"] })],
  ["prefixes 65", pool({ modelPrefixes: Array.from({ length: 65 }, () => "p") })],
  ["weight 0.01", pool({ weight: 0.01 })],
  ["weight 0.0099", pool({ weight: 0.0099 })],
  ["weight 1000", pool({ weight: 1000 })],
  ["weight 1000.0001", pool({ weight: 1000.0001 })],
  ["weight string", pool({ weight: "1" })],
  ["weight 1e999", '{"pools":[{"name":"a","models":["m"],"weight":1e999}]}'],
  ["weight -1e999", '{"pools":[{"name":"a","models":["m"],"weight":-1e999}]}'],
  ["weight 1e-999", '{"pools":[{"name":"a","models":["m"],"weight":1e-999}]}'],
  ["weight 100e-4", '{"pools":[{"name":"a","models":["m"],"weight":100e-4}]}'],
  ["weight long digits", `{"pools":[{"name":"a","models":["m"],"weight":0.${"0".repeat(1000)}1}]}`],
  ["weight 0.01 long", '{"pools":[{"name":"a","models":["m"],"weight":0.010000000000000000000000001}]}'],
  ["weight 0.00999999999999999999", '{"pools":[{"name":"a","models":["m"],"weight":0.00999999999999999999}]}'],
  ["gpu 32", pool({ gpu: "G".repeat(32) })],
  ["gpu 33", pool({ gpu: "G".repeat(33) })],
  ["gpu bad char", pool({ gpu: "H100/80" })],
  ["gpu empty", pool({ gpu: "" })],
  ["endpoint ok", pool({ endpoints: ["1.2.3.4:80", "[::1]:1"] })],
  ["endpoint octet 256", pool({ endpoints: ["1.2.3.256:80"] })],
  ["endpoint leading zero", pool({ endpoints: ["01.2.3.4:80"] })],
  ["endpoint port 0", pool({ endpoints: ["1.2.3.4:0"] })],
  ["endpoint port 65536", pool({ endpoints: ["1.2.3.4:65536"] })],
  ["endpoint port 065", pool({ endpoints: ["1.2.3.4:065"] })],
  ["endpoint no port", pool({ endpoints: ["1.2.3.4"] })],
  ["endpoint 3 octets", pool({ endpoints: ["1.2.3:80"] })],
  ["endpoint v6 short", pool({ endpoints: ["[:]:80"] })],
  ["endpoint v6 46", pool({ endpoints: [`[${"a".repeat(46)}]:80`] })],
  ["endpoint v6 45", pool({ endpoints: [`[${"a".repeat(45)}]:80`] })],
  ["endpoint v6 bad char", pool({ endpoints: ["[fe80::1%eth0]:80"] })],
  ["endpoint hostname", pool({ endpoints: ["host:80"] })],
  ["endpoints 1025", pool({ endpoints: Array.from({ length: 1025 }, () => "1.1.1.1:1") })],
  ["endpoint twice in a pool", pool({ endpoints: ["1.1.1.1:1", "1.1.1.1:1"] })],
  ["hosts ok", pool({ hosts: ["llm", "llm:8000", "llm.llm.svc.cluster.local:65535", "a-b.c-d", "x:1"] })],
  ["hosts upper case", pool({ hosts: ["LLM"] })],
  ["hosts port 0", pool({ hosts: ["llm:0"] })],
  ["hosts port 65536", pool({ hosts: ["llm:65536"] })],
  ["hosts port leading zero", pool({ hosts: ["llm:080"] })],
  ["hosts empty port", pool({ hosts: ["llm:"] })],
  ["hosts only port", pool({ hosts: [":80"] })],
  ["hosts label starts with dash", pool({ hosts: ["-llm"] })],
  ["hosts label ends with dash", pool({ hosts: ["llm-.x"] })],
  ["hosts empty label", pool({ hosts: ["llm..x"] })],
  ["hosts trailing dot", pool({ hosts: ["llm."] })],
  ["hosts two colons", pool({ hosts: ["llm:1:2"] })],
  ["hosts ipv6", pool({ hosts: ["[::1]:80"] })],
  ["hosts empty", pool({ hosts: [""] })],
  ["hosts 259", pool({ hosts: [`${"a".repeat(254)}:8000`] })],
  ["hosts 260", pool({ hosts: [`${"a".repeat(255)}:8000`] })],
  ["hosts 64", pool({ hosts: Array.from({ length: 64 }, (_, i) => `h${i}`) })],
  ["hosts 65", pool({ hosts: Array.from({ length: 65 }, (_, i) => `h${i}`) })],
  ["hosts not array", pool({ hosts: "llm" })],
  [
    "endpoint in two pools",
    root_({
      pools: [
        { name: "a", models: ["m"], endpoints: ["1.1.1.1:1"] },
        { name: "b", models: ["m"], endpoints: ["2.2.2.2:2", "1.1.1.1:1"] },
      ],
    }),
  ],
  ["fallback unknown", pool({ fallback: "x" })],
  ["fallback self", pool({ fallback: "a" })],
  ["fallback bad", pool({ fallback: "" })],
  ["fallback null", pool({ fallback: null })],
  ["maxInFlight 0", pool({ maxInFlight: 0 })],
  ["maxInFlight 1.5", pool({ maxInFlight: 1.5 })],
  ["maxInFlight 1.0", '{"pools":[{"name":"a","models":["m"],"maxInFlight":1.0}]}'],
  ["maxInFlight 1e2", '{"pools":[{"name":"a","models":["m"],"maxInFlight":1e2}]}'],
  ["maxInFlight 1e20", '{"pools":[{"name":"a","models":["m"],"maxInFlight":1e20}]}'],
  ["maxInFlight 1000001", pool({ maxInFlight: 1_000_001 })],
  ["pool unknown key", pool({ weigth: 1 })],
  [
    "duplicate pools",
    root_({
      pools: [
        { name: "a", models: ["m"] },
        { name: "a", models: ["m"] },
      ],
    }),
  ],
  ["pool serves nothing", root_({ pools: [{ name: "a" }] })],
  ["endpoint steering no endpoints", root_({ steering: "endpoint" })],
  ["endpoint steering ok", root_({ steering: "endpoint", pools: [{ name: "a", models: ["m"], endpoints: ["1.1.1.1:1"] }] })],
  ["steering bad", root_({ steering: "Pool" })],
  ["steering number", root_({ steering: 1 })],
  ["name bad", root_({ name: "_x" })],
  ["name null", root_({ name: null })],
  ["root unknown key", root_({ foo: 1 })],
  ["root empty key", '{"":1,"pools":[{"name":"a","models":["m"]}]}'],
  ["root unknown long key", root_({ ["k\n".repeat(100)]: 1 })],
  ["headers empty", section("headers", {})],
  ["headers partial", section("headers", { pool: "x-my-pool" })],
  ["headers upper", section("headers", { pool: "X-Pool" })],
  ["headers 65", section("headers", { pool: "h".repeat(65) })],
  ["headers token chars", section("headers", { pool: "a!#$%&'*+.^_`|~-9" })],
  ["headers colon", section("headers", { pool: "x:y" })],
  ["headers not distinct", section("headers", { pool: "x-inference-model" })],
  ["headers override same as written", section("headers", { modelOverride: "x-inference-model" })],
  ["headers unknown klass", section("headers", { klass: "x" })],
  ["headers priorityIn bad", section("headers", { priorityIn: "" })],
  ["headers array", section("headers", [])],
  ["body enabled string", section("body", { enabled: "true" })],
  ["body maxBytes 255", section("body", { maxBytes: 255 })],
  ["body maxBytes 1048576", section("body", { maxBytes: 1048576 })],
  ["body timeoutMs 60001", section("body", { timeoutMs: 60001 })],
  ["body unknown", section("body", { max: 1 })],
  ["models entry ok", section("models", [{ name: "x", priority: -100 }])],
  ["models priority 101", section("models", [{ name: "x", priority: 101 }])],
  ["models priority 1.5", section("models", [{ name: "x", priority: 1.5 }])],
  ["models name missing", section("models", [{ priority: 1 }])],
  [
    "models 1025",
    section(
      "models",
      Array.from({ length: 1025 }, () => ({ name: "x" })),
    ),
  ],
  ["models entry unknown key", section("models", [{ name: "x", prio: 1 }])],
  ["scoring bounds", section("scoring", { inFlight: 100.5 })],
  ["scoring negative", section("scoring", { queue: -0.001 })],
  ["scoring sampleAbove 1", section("scoring", { sampleAbove: 1 })],
  ["scoring staleAfterMs 99", section("scoring", { staleAfterMs: 99 })],
  ["saturation kvCache 1.01", section("saturation", { kvCache: 1.01 })],
  ["saturation queue -0", '{"pools":[{"name":"a","models":["m"]}],"saturation":{"queue":-0}}'],
  ["shedding -102", section("shedding", { belowPriority: -102 })],
  ["shedding retry 0", section("shedding", { retryAfterSeconds: 0 })],
  ["unknownModel bad", root_({ unknownModel: "drop" })],
  ["outlier max < base", section("outlier", { baseEjectionMs: 6000, maxEjectionMs: 5999 })],
  ["outlier percent 101", section("outlier", { maxEjectionPercent: 101 })],
  ["outlier unknown", section("outlier", { x: 1 })],
  ["many problems", JSON.stringify({ steering: "x", foo: 1, pools: [{ name: "a", weight: 0 }, { name: "a" }] })],
  ["refine plus base", JSON.stringify({ pools: [{ name: "a", models: ["m"], weight: 0 }, { name: "a" }] })],
  ["duplicate key last wins", '{"pools":5,"pools":[{"name":"a","models":["m"]}]}'],
  ["duplicate key last loses", '{"pools":[{"name":"a","models":["m"]}],"pools":5}'],
  ["escaped key", '{"p\\u006fols":[{"n\\u0061me":"a","models":["m"]}]}'],
  ["escaped values", '{"pools":[{"name":"\\u0061","models":["\\u006d\\/x","\\"q\\\\"],"gpu":"\\u0048100"}]}'],
  ["escaped control in value", '{"pools":[{"name":"a","models":["m\\n"]}]}'],
  ["upper-case exponent", '{"pools":[{"name":"a","models":["m"],"weight":2E0,"maxInFlight":1E+1}]}'],
  ["__proto__ key", '{"__proto__":{},"pools":[{"name":"a","models":["m"]}]}'],
  ["whitespace around", ' \t\r\n{"pools":[{"name":"a","models":["m"]}]}\n '],
  // Invalid JSON.
  ["trailing comma", '{"pools":[{"name":"a","models":["m"],}]}'],
  ["trailing garbage", '{"pools":[{"name":"a","models":["m"]}]}x'],
  ["two values", "{} {}"],
  ["single quotes", "{'pools':[]}"],
  ["comment", '{"pools":[] /* c */}'],
  ["NaN", '{"pools":[{"name":"a","models":["m"],"weight":NaN}]}'],
  ["Infinity", '{"pools":[{"name":"a","models":["m"],"weight":Infinity}]}'],
  ["hex number", '{"pools":[{"name":"a","models":["m"],"weight":0x10}]}'],
  ["leading zero", '{"pools":[{"name":"a","models":["m"],"weight":01}]}'],
  ["plus sign", '{"pools":[{"name":"a","models":["m"],"weight":+1}]}'],
  ["dot number", '{"pools":[{"name":"a","models":["m"],"weight":.5}]}'],
  ["raw control char", '{"pools":[{"name":"a\u0001","models":["m"]}]}'],
  ["bad escape", '{"pools":[{"name":"a\\x","models":["m"]}]}'],
  ["short \\u", '{"pools":[{"name":"\\u12","models":["m"]}]}'],
  ["unterminated", '{"pools":[{"name":"a'],
  ["BOM", '\ufeff{"pools":[{"name":"a","models":["m"]}]}'],
  ["whitespace only", "  "],
  ["true literal typo", '{"body":{"enabled":tru}}'],
  // Hostile.
  ["deep 10k arrays", `{"pools":${"[".repeat(10_000)}${"]".repeat(10_000)}}`],
  ["deep 10k objects", `{"pools":[{"name":"a","models":["m"],"gpu":${'{"a":'.repeat(10_000)}1${"}".repeat(10_000)}}]}`],
  ["deep 10k under models", `{"pools":[{"name":"a","models":[${"[".repeat(10_000)}${"]".repeat(10_000)}]}]}`],
  ["deep unbalanced", "[".repeat(100_000)],
  ["huge name", pool({ name: "a".repeat(1_000_000) })],
  ["huge unknown key", root_({ ["k".repeat(100_000)]: 1 })],
  ["huge number", `{"pools":[{"name":"a","models":["m"],"maxInFlight":1${"0".repeat(100_000)}}]}`],
  ["huge exponent", '{"pools":[{"name":"a","models":["m"],"weight":1e99999999999999999999}]}'],
  ["huge array of numbers", root_({ pools: Array.from({ length: 100_000 }, () => 0) })],
  // Load signals, polling, affinity.
  ["metrics minimal", pool({ metrics: { cluster: "outbound|8000||v.ns.svc.cluster.local" } })],
  ["metrics cluster missing", pool({ metrics: { path: "/metrics" } })],
  ["metrics cluster space", pool({ metrics: { cluster: "a b" } })],
  ["metrics cluster 256", pool({ metrics: { cluster: "c".repeat(256) } })],
  ["metrics path relative", pool({ metrics: { cluster: "c", path: "metrics" } })],
  ["metrics engine bad", pool({ metrics: { cluster: "c", engine: "VLLM" } })],
  [
    "metrics engine each",
    root_({
      pools: ["vllm", "sglang", "trtllm", "triton-trtllm", "triton", "tgi"].map((e, i) => ({
        name: `p${i}`,
        models: ["m"],
        metrics: { cluster: "c", engine: e },
      })),
    }),
  ],
  ["metrics timeout 9", pool({ metrics: { cluster: "c", timeoutMs: 9 } })],
  ["metrics unknown key", pool({ metrics: { cluster: "c", interval: 1 } })],
  ["metrics not object", pool({ metrics: "c" })],
  [
    "metrics modelLabelFilter spaces, quotes, backslashes, newline",
    pool({ metrics: { cluster: "c", modelLabelFilter: 'my "big" model\\v2\nété' } }),
  ],
  ["metrics modelLabelFilter 256 astral", pool({ metrics: { cluster: "c", modelLabelFilter: "\u{1F600}".repeat(256) } })],
  ["metrics modelLabelFilter 257", pool({ metrics: { cluster: "c", modelLabelFilter: "m".repeat(257) } })],
  ["metrics modelLabelFilter empty", pool({ metrics: { cluster: "c", modelLabelFilter: "" } })],
  ["metrics modelLabelFilter lone surrogate", pool({ metrics: { cluster: "c", modelLabelFilter: "a\ud800" } })],
  ["metrics custom without series", pool({ metrics: { cluster: "c", engine: "custom" } })],
  ["metrics custom empty series", pool({ metrics: { cluster: "c", engine: "custom", series: {} } })],
  ["metrics series without custom", pool({ metrics: { cluster: "c", series: { queue: [{ name: "q" }] } } })],
  ["metrics series bad name", pool({ metrics: { cluster: "c", engine: "custom", series: { queue: [{ name: "1q" }] } } })],
  ["metrics series name missing", pool({ metrics: { cluster: "c", engine: "custom", series: { queue: [{ scale: 2 }] } } })],
  [
    "metrics series 9",
    pool({ metrics: { cluster: "c", engine: "custom", series: { running: Array.from({ length: 9 }, () => ({ name: "r" })) } } }),
  ],
  [
    "metrics series labels ok",
    pool({ metrics: { cluster: "c", engine: "custom", series: { kvCache: [{ name: "k", labels: { a: "x y", _b: "" } }] } } }),
  ],
  ["metrics series labels empty", pool({ metrics: { cluster: "c", engine: "custom", series: { kvCache: [{ name: "k", labels: {} }] } } })],
  [
    "metrics series label key bad",
    pool({ metrics: { cluster: "c", engine: "custom", series: { kvCache: [{ name: "k", labels: { "a-b": "x" } }] } } }),
  ],
  [
    "metrics series label value quote",
    pool({ metrics: { cluster: "c", engine: "custom", series: { kvCache: [{ name: "k", labels: { a: 'x"' } }] } } }),
  ],
  [
    "metrics series label value number",
    pool({ metrics: { cluster: "c", engine: "custom", series: { kvCache: [{ name: "k", labels: { a: 1 } }] } } }),
  ],
  ["metrics series labels array", pool({ metrics: { cluster: "c", engine: "custom", series: { kvCache: [{ name: "k", labels: [] }] } } })],
  ["metrics series scale 1e10", pool({ metrics: { cluster: "c", engine: "custom", series: { kvCache: [{ name: "k", scale: 1e10 }] } } })],
  ["metrics series unknown set", pool({ metrics: { cluster: "c", engine: "custom", series: { waiting: [] } } })],
  ["endpointClusters ok", pool({ endpoints: ["1.2.3.4:80"], metrics: { cluster: "c", endpointClusters: { "1.2.3.4:80": "ep" } } })],
  ["endpointClusters empty", pool({ metrics: { cluster: "c", endpointClusters: {} } })],
  ["endpointClusters bad key", pool({ endpoints: ["1.2.3.4:80"], metrics: { cluster: "c", endpointClusters: { "host:80": "ep" } } })],
  ["endpointClusters bad value", pool({ endpoints: ["1.2.3.4:80"], metrics: { cluster: "c", endpointClusters: { "1.2.3.4:80": "" } } })],
  ["endpointClusters not member", pool({ endpoints: ["1.2.3.4:80"], metrics: { cluster: "c", endpointClusters: { "1.2.3.5:80": "ep" } } })],
  [
    "endpointClusters duplicate key",
    '{"pools":[{"name":"a","models":["m"],"endpoints":["1.2.3.4:80"],"metrics":{"cluster":"c","endpointClusters":{"1.2.3.4:80":"","1.2.3.4:80":"ok"}}}]}',
  ],
  ["discovery ok", pool({ metrics: { cluster: "c" }, discovery: { enabled: true, path: "/v2/repository/index" } })],
  ["discovery without metrics", pool({ discovery: { enabled: true } })],
  ["discovery disabled without metrics", pool({ discovery: {} })],
  ["discovery interval 999", pool({ metrics: { cluster: "c" }, discovery: { intervalMs: 999 } })],
  ["polling ok", section("polling", { intervalMs: 50, probesPerTick: 1, subsetAbove: 1, leaseMs: 100 })],
  ["polling interval 49", section("polling", { intervalMs: 49 })],
  ["polling lease <= interval", section("polling", { intervalMs: 1000, leaseMs: 1000 })],
  ["polling lease default ok", section("polling", { intervalMs: 60000 })],
  ["polling probes 0", section("polling", { probesPerTick: 0 })],
  ["polling unknown", section("polling", { every: 1 })],
  ["loadReports ok", section("loadReports", { orca: false, queueHeader: "x-q" })],
  ["loadReports header bad", section("loadReports", { kvCacheHeader: "X-KV" })],
  ["affinity prefix needs body", section("affinity", { prefix: { enabled: true } })],
  ["affinity prefix with body", root_({ body: { enabled: true }, affinity: { prefix: { enabled: true } } })],
  ["affinity blockBytes 15", section("affinity", { prefix: { blockBytes: 15 } })],
  ["affinity blocks 65", section("affinity", { prefix: { blocks: 65 } })],
  ["affinity tableSize 63", section("affinity", { prefix: { tableSize: 63 } })],
  ["affinity factor 0.9", section("affinity", { prefix: { maxLoadFactor: 0.9 } })],
  ["affinity lora string", section("affinity", { lora: "yes" })],
  ["affinity unknown", section("affinity", { session: true })],
  [
    "wrong types everywhere",
    JSON.stringify({
      name: 1,
      steering: [],
      headers: 1,
      body: "x",
      pools: {},
      models: 1,
      scoring: [],
      saturation: null,
      shedding: true,
      unknownModel: {},
      outlier: 1,
    }),
  ],
];

describe("config-parse parity with src/config/plugin-config.ts", () => {
  it("has defaults equal to zod's (minimal config)", () => {
    expect(JSON.parse(wasmParse(JSON.stringify(MIN)))).toEqual(PluginConfigSchema.parse(MIN));
  });

  it("reports errors in the documented form", () => {
    expect(wasmParse(pool({ weight: 0 }))).toBe("error: pools[0].weight: must be >= 0.01");
    expect(wasmParse(section("headers", { pool: "X" }))).toMatch(/^error: headers\.pool: must be a lower-case HTTP header name/);
    expect(wasmParse(pool({ fallback: "x" }))).toBe('error: pools[0].fallback: unknown pool "x"');
    expect(wasmParse(root_({ steering: "x" }))).toBe("error: steering: must be one of pool, endpoint");
    expect(wasmParse(root_({ foo: 1 }))).toBe("error: foo: unknown field");
    expect(wasmParse("")).toBe("error: configuration is empty: pools is required");
    expect(wasmParse("[")).toMatch(/^error: \(root\): invalid JSON at offset 1: /);
  });

  for (const [label, text] of corpus) {
    it(`corpus: ${label}`, () => {
      expectParity(text, label);
    });
  }

  it("rejects nesting beyond CONFIG_MAX_DEPTH (65536) as invalid JSON, where zod reports a wrong type", () => {
    const text = `{"pools":${"[".repeat(70_000)}${"]".repeat(70_000)}}`;
    expect(wasmParse(text)).toBe("error: (root): invalid JSON at offset 65544: nesting deeper than 65536");
    expect(zodVerdict(text).ok).toBe(false);
  });

  it("never aborted", () => {
    expect(aborts).toEqual([]);
  });
});

describe("json-check", () => {
  it("accepts RFC 8259 texts and rejects the rest with an offset", () => {
    for (const ok of ['{"a":[1,-0.5e+3,true,false,null,"\\u00e9\\n"]}', "[]", "{}", " 1 ", '""', "[[],{}]", '{"a":{"b":[{}]}}']) {
      expect(wasmCheck(ok), ok).toBe("");
    }
    for (const [bad, at] of [
      ["", 0],
      ["[1,]", 3],
      ['{"a" 1}', 5],
      ["[1 2]", 3],
      ["01", 1],
      ["1.", 0],
      ["-", 0],
      ['"\\u00g0"', 1],
      ['{"a":1}}', 7],
      ["nul", 0],
      ['["\u001f"]', 2],
    ] as const) {
      expect(wasmCheck(bad), bad).toMatch(new RegExp(`^offset ${at}: `));
    }
  });

  it("bounds nesting", () => {
    expect(wasmCheck("[".repeat(32) + "]".repeat(32), 32)).toBe("");
    expect(wasmCheck("[".repeat(33) + "]".repeat(33), 32)).toBe("offset 32: nesting deeper than 32");
    expect(wasmCheck("[".repeat(1_000_000), 32)).toBe("offset 32: nesting deeper than 32");
  });
});

// Deterministic PRNG (mulberry32).
function rng(seed: number) {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = seed;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const ALPHABET = '{}[]",:.-+eE0123456789 \\/unlrtfsabcxyzAZ_\u00e9\ufffd\u0000\n';
const VALUES = [
  '"a"',
  '"m"',
  '"pool"',
  '"endpoint"',
  '"passthrough"',
  "0",
  "1",
  "-1",
  "0.01",
  "0.009",
  "1000",
  "1e999",
  "64",
  "101",
  "-101",
  "true",
  "false",
  "null",
  "[]",
  "{}",
  '["m"]',
  '[{"name":"b","models":["m"]}]',
  '"1.2.3.4:80"',
  '"[::1]:1"',
  '"x-inference-pool"',
  '"a"',
];

function mutate(text: string, r: () => number): string {
  const pick = <T>(a: ArrayLike<T>) => a[Math.floor(r() * a.length)];
  const at = Math.floor(r() * (text.length + 1));
  switch (Math.floor(r() * 6)) {
    case 0: // flip a char
      return text.slice(0, at) + pick(ALPHABET) + text.slice(at + 1);
    case 1: // insert a char
      return text.slice(0, at) + pick(ALPHABET) + text.slice(at);
    case 2: // delete a run
      return text.slice(0, at) + text.slice(at + 1 + Math.floor(r() * 3));
    case 3: {
      // replace a value (after a ':' or '[' or ',') with another
      const seps = [...text.matchAll(/[:\[,]/g)].map((m) => m.index!);
      if (!seps.length) return text;
      const s = pick(seps) + 1;
      const m = /^\s*("(?:[^"\\]|\\.)*"|-?[0-9][0-9.eE+-]*|true|false|null)/.exec(text.slice(s));
      if (!m) return text;
      return text.slice(0, s) + pick(VALUES) + text.slice(s + m[0].length);
    }
    case 4: {
      // swap two scalar values
      const re = /"(?:[^"\\]|\\.)*"|-?[0-9][0-9.eE+-]*|true|false|null/g;
      const ms = [...text.matchAll(re)];
      if (ms.length < 2) return text;
      let [a, b] = [pick(ms), pick(ms)];
      if (a.index! > b.index!) [a, b] = [b, a];
      if (a.index! + a[0].length > b.index!) return text;
      return text.slice(0, a.index!) + b[0] + text.slice(a.index! + a[0].length, b.index!) + a[0] + text.slice(b.index! + b[0].length);
    }
    default: {
      // structural edit on the parsed value: delete or duplicate a member
      try {
        const v = JSON.parse(text);
        const walk = (o: unknown, depth: number): void => {
          if (!o || typeof o !== "object") return;
          const keys = Object.keys(o);
          if (!keys.length) return;
          const k = pick(keys);
          const rec = o as Record<string, unknown>;
          if (r() < 0.4 || depth > 3) {
            if (Array.isArray(o) && r() < 0.5) o.push(clone(o[Number(k)]));
            else if (Array.isArray(o)) o.splice(Number(k), 1);
            else delete rec[k];
          } else walk(rec[k], depth + 1);
        };
        walk(v, 0);
        return JSON.stringify(v);
      } catch {
        return text;
      }
    }
  }
}

describe("config-parse numbers", () => {
  it("reads JSON numbers to the same doubles as JSON.parse", () => {
    const r = rng(7);
    const digits = (n: number) => Array.from({ length: n }, () => Math.floor(r() * 10)).join("");
    for (let n = 0; n < 3000; n++) {
      const int = r() < 0.2 ? "0" : String(1 + Math.floor(r() * 9)) + digits(Math.floor(r() * (r() < 0.1 ? 30 : 8)));
      const frac = r() < 0.7 ? "." + digits(1 + Math.floor(r() * (r() < 0.2 ? 30 : 8))) : "";
      const exp = r() < 0.3 ? "e" + (r() < 0.5 ? "-" : "") + String(Math.floor(r() * 12)) : "";
      const lit = int + frac + exp;
      // saturation.queue takes any double in [0, 1e6], scoring.kvCache in [0, 100].
      expectParity(`{"pools":[{"name":"a","models":["m"]}],"saturation":{"queue":${lit}},"scoring":{"kvCache":${lit}}}`, lit);
    }
  });
});

describe("config-parse under random mutation", () => {
  // CONFIG_FUZZ=<n> and CONFIG_FUZZ_SEED=<s> run a longer or different loop by hand.
  const count = Number(process.env.CONFIG_FUZZ ?? 4000);
  const seed = Number(process.env.CONFIG_FUZZ_SEED ?? 0x5eed);
  it(`never traps and keeps parity with zod on ${count} mutated configs`, () => {
    const seeds = [
      JSON.stringify(MIN),
      JSON.stringify(FULL),
      JSON.stringify(FULL, null, 1),
      root_({
        steering: "endpoint",
        pools: [
          { name: "a", models: ["m"], endpoints: ["1.1.1.1:1"], fallback: "b" },
          { name: "b", modelPrefixes: ["x"], endpoints: ["[::1]:9"] },
        ],
      }),
    ];
    const r = rng(seed);
    let accepted = 0;
    for (let n = 0; n < count; n++) {
      let text = seeds[n % seeds.length];
      const k = 1 + Math.floor(r() * 3);
      for (let j = 0; j < k; j++) text = mutate(text, r);
      const out = expectParity(text, `mutation #${n}: ${text.slice(0, 400)}`);
      if (!out.startsWith("error: ")) accepted++;
    }
    // The loop must exercise both verdicts.
    expect(accepted).toBeGreaterThan(count / 20);
    expect(aborts).toEqual([]);
  }, 600_000);
});
