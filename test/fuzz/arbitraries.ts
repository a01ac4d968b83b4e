// fast-check arbitraries for fuzzing the router filter through its .wasm: plugin configurations (valid ones with a
// known catalog, schema-shaped ones derived from the zod schema's JSON Schema, and mutations of both), hostile
// HTTP requests (methods, paths with percent-encodings and traversal, header names/values with CR/LF/NUL and
// 10 KB values, floods of spoofed steering/classification headers, JSON and gRPC bodies that are truncated, deeply
// nested, duplicated, invalid UTF-8, framed wrongly, larger than the body cap, split into random chunks) and
// upstream responses (statuses, ORCA `endpoint-load-metrics` headers, Prometheus metrics texts).
//
// Nothing here knows the filter's internals: the generators only use the config schema of record
// (src/config/plugin-config.ts) and the wire formats the README documents.
import fc from "fast-check";
import { PluginConfigSchema, pluginConfigJsonSchema } from "../../src/config/plugin-config.js";
import { CONFIG_KEYS } from "./config-keys.js";

/** A value no generator except the spoofing one ever produces: any header at the router containing it leaked. */
export const SPOOF_MARK = "zzspoofzz";

export const DEFAULT_HEADERS = {
  protocol: "x-inference-protocol",
  model: "x-inference-model",
  class: "x-inference-class",
  priority: "x-inference-priority",
  pool: "x-inference-pool",
  endpoint: "x-gateway-destination-endpoint",
} as const;

// ------------------------------------------------------------------------------------------------ configurations

/** Model names configs serve: ASCII, with `"` `\` `,` `%` and spaces the header encoding must escape, and UTF-8
 *  names with look-alikes (full-width, Cyrillic, decomposed) that must never match them. */
export const MODEL_VOCAB = [
  "llama-3-70b",
  "llama-3-8b",
  "mistral-7b",
  "gpt-oss:20b",
  "meta/llama",
  'm"q\\x',
  "qwen2.5-7b-instruct",
  "bert,base",
  "café-7b",
  "模型",
  "a%2Cb",
  "sp ace",
];
/** Look-alikes of MODEL_VOCAB entries (never configured): requests for them must never reach a pool for the original. */
export const LOOKALIKES = ["cafe\u0301-7b", "сafé-7b", "ｌｌａｍａ-3-8b", "LLAMA-3-8B", "llama-3-8b\u200b", "a,b"];
/** Trusted mTLS peers some configs list, and peers requests come from. */
export const TRUSTED_PEER = "spiffe://cluster.local/ns/gw/sa/gateway";
export const PEERS = [undefined, TRUSTED_PEER, "spiffe://cluster.local/ns/team/sa/x", "spiffe://cluster.local/ns/gw/sa/other"];
export const PREFIX_VOCAB = ["llama-3-8b:", "qwen", "mist", "x"];
const ENDPOINT_VOCAB = [
  "10.0.0.1:8000",
  "10.0.0.2:8000",
  "10.0.1.1:8000",
  "10.0.1.2:8000",
  "192.168.7.9:65535",
  "[fd00::1]:8000",
  "[::1]:1",
  "255.255.255.255:1",
  "0.0.0.0:80",
];
const CUSTOM_HEADER_NAMES = ["x-p", "x-m", "x-c", "x-pr", "x-po", "x-e", "x-route", "x-gpu-pool", "x-envoy-original-dst-host"];

/**
 * Valid plugin configurations with a catalog small enough that requests hit served, unserved, saturated and
 * ejected upstreams often: 1-4 pools, 1-3 endpoints each, low maxInFlight, short ejections.
 */
export function catalogConfigArb(): fc.Arbitrary<Record<string, unknown>> {
  const pool = fc.record(
    {
      models: fc.subarray(MODEL_VOCAB, { minLength: 0, maxLength: 4 }),
      modelPrefixes: fc.subarray(PREFIX_VOCAB, { minLength: 0, maxLength: 2 }),
      weight: fc.constantFrom(0.01, 0.5, 1, 2, 1000),
      gpu: fc.constantFrom("", "A100", "L4", "H100"),
      endpoints: fc.subarray(ENDPOINT_VOCAB, { minLength: 1, maxLength: 3 }),
      maxInFlight: fc.constantFrom(1, 2, 3, 64),
      fallbackTo: fc.option(fc.nat(3), { nil: undefined }),
    },
    { requiredKeys: ["models", "modelPrefixes", "endpoints", "weight", "maxInFlight"] },
  );
  const headers = fc.oneof(
    { weight: 3, arbitrary: fc.constant(undefined) },
    {
      weight: 1,
      arbitrary: fc.shuffledSubarray(CUSTOM_HEADER_NAMES, { minLength: 6, maxLength: 6 }).map((n) => ({
        protocol: n[0],
        model: n[1],
        class: n[2],
        priority: n[3],
        pool: n[4],
        endpoint: n[5],
      })),
    },
  );
  // Built once: building it compiles every schema pattern into a string arbitrary (about 90 ms, once per
  // sample when it was built inside the chain).
  const extrasArb = schemaExtrasArb();
  return fc
    .record({
      name: fc.constantFrom("inference-router", "r2", "a.b_c-d"),
      steering: fc.constantFrom("pool", "endpoint"),
      headers,
      modelOverride: fc.option(fc.constantFrom("x-model", "x-inference-model-override"), { nil: undefined }),
      priorityIn: fc.option(fc.constantFrom("x-priority", "x-inference-priority-in"), { nil: undefined }),
      body: fc.record({
        enabled: fc.boolean(),
        maxBytes: fc.constantFrom(256, 1024, 4096, 65536),
        timeoutMs: fc.constantFrom(10, 50, 200, 500),
        bufferLimitBytes: fc.constantFrom(16_384, 32_768, 1_048_576),
      }),
      trustedPeers: fc.constantFrom([] as string[], [TRUSTED_PEER], ["ns:team"], [TRUSTED_PEER, "ns:team"]),
      stripInbound: fc.option(fc.constantFrom(["x-my-router"], [] as string[]), { freq: 4, nil: undefined }),
      pools: fc.array(pool, { minLength: 1, maxLength: 4 }),
      models: fc.array(fc.record({ name: fc.constantFrom(...MODEL_VOCAB), priority: fc.integer({ min: -100, max: 100 }) }), {
        maxLength: 3,
      }),
      shedding: fc.record({ belowPriority: fc.integer({ min: -101, max: 101 }), retryAfterSeconds: fc.constantFrom(1, 3, 3600) }),
      unknownModel: fc.constantFrom("reject", "passthrough"),
      outlier: fc.record({
        consecutiveErrors: fc.constantFrom(1, 2, 3),
        baseEjectionMs: fc.constantFrom(100, 1000),
        maxEjectionMs: fc.constantFrom(1000, 8000),
        maxEjectionPercent: fc.constantFrom(0, 50, 100),
      }),
      scoring: fc.record({ sampleAbove: fc.constantFrom(2, 16), staleAfterMs: fc.constantFrom(100, 5000) }),
    })
    .chain((r) => fc.tuple(fc.constant(r), extrasArb))
    .map(([r, extras]) => {
      const cfg: Record<string, unknown> = {
        name: r.name,
        steering: r.steering,
        body: r.body,
        unknownModel: r.unknownModel,
        outlier: r.outlier,
        shedding: r.shedding,
        scoring: r.scoring,
        models: dedupeBy(r.models, (m) => m.name),
      };
      const h: Record<string, string> = { ...(r.headers ?? DEFAULT_HEADERS) };
      if (r.modelOverride) h.modelOverride = r.modelOverride;
      if (r.priorityIn) h.priorityIn = r.priorityIn;
      if (r.modelOverride || r.priorityIn) (h as Record<string, unknown>).trustedPeers = r.trustedPeers;
      if (r.stripInbound) (h as Record<string, unknown>).stripInbound = r.stripInbound;
      if (r.headers || r.modelOverride || r.priorityIn || r.stripInbound) cfg.headers = h;
      // An endpoint belongs to one pool (the schema rejects one listed twice): later pools give up the ones
      // taken, and take a free one when none is left. Generating valid catalogs directly keeps the filter below
      // from discarding most of them (it used to cost about a minute of generation per 300 cases).
      const taken = new Set<string>();
      const own = r.pools.map((p) => {
        let mine = p.endpoints.filter((e) => !taken.has(e));
        if (mine.length === 0) mine = ENDPOINT_VOCAB.filter((e) => !taken.has(e)).slice(0, 1);
        for (const e of mine) taken.add(e);
        return mine.length > 0 ? mine : p.endpoints;
      });
      cfg.pools = r.pools.map((p, i) => {
        const o: Record<string, unknown> = {
          name: `p${i}`,
          models: p.models,
          modelPrefixes: p.modelPrefixes,
          weight: p.weight,
          endpoints: own[i],
          maxInFlight: p.maxInFlight,
        };
        if (p.models.length === 0 && p.modelPrefixes.length === 0) o.models = [MODEL_VOCAB[i % MODEL_VOCAB.length]];
        if (p.gpu !== undefined) o.gpu = p.gpu;
        if (p.fallbackTo !== undefined && p.fallbackTo < r.pools.length && p.fallbackTo !== i) o.fallback = `p${p.fallbackTo}`;
        return o;
      });
      // Fields the schema has and this generator does not know (added after it was written: metrics polling,
      // load reports, affinity, ...): merged when the result stays valid, so new features get fuzzed too.
      const withExtras = mergeExtras(cfg, extras);
      if (withExtras && PluginConfigSchema.safeParse(withExtras).success) return withExtras;
      return cfg;
    })
    .filter((c) => PluginConfigSchema.safeParse(c).success);
}

// Keys catalogConfigArb sets by hand; every other key of the schema (generated list: config-keys.ts) is fuzzed from
// the schema's JSON Schema. A key renamed or removed in the schema fails here at import, not silently.
const KNOWN_TOP = known("", ["name", "steering", "headers", "body", "pools", "models", "scoring", "shedding", "unknownModel", "outlier"]);
const KNOWN_POOL = known("pools[]", ["name", "models", "modelPrefixes", "weight", "gpu", "endpoints", "fallback", "maxInFlight"]);

function known(path: string, keys: string[]): Set<string> {
  const all = CONFIG_KEYS[path] ?? [];
  for (const k of keys) if (!all.includes(k)) throw new Error(`fuzz: ${path || "(root)"}.${k} is not a key of the plugin-config schema`);
  return new Set(keys);
}

interface Extras {
  top: Record<string, unknown>;
  pools: Array<Record<string, unknown>>;
  use: boolean;
}

function schemaExtrasArb(): fc.Arbitrary<Extras> {
  const js = pluginConfigJsonSchema() as JsonSchema;
  const pick = (props: Record<string, JsonSchema>, known: Set<string>) => {
    const rec: Record<string, fc.Arbitrary<unknown>> = {};
    for (const [k, v] of Object.entries(props ?? {})) if (!known.has(k)) rec[k] = fromJsonSchema(v, js, 1);
    return fc.record(rec, { requiredKeys: [] });
  };
  const poolItems = (js.properties?.pools?.items ?? {}) as JsonSchema;
  return fc.record({
    top: pick(js.properties ?? {}, KNOWN_TOP),
    pools: fc.array(pick(poolItems.properties ?? {}, KNOWN_POOL), { minLength: 4, maxLength: 4 }),
    use: fc.boolean(),
  });
}

function mergeExtras(cfg: Record<string, unknown>, e: Extras): Record<string, unknown> | undefined {
  if (!e.use) return undefined;
  const out: Record<string, unknown> = { ...cfg, ...e.top };
  // Prefix affinity needs body mode: keep the two consistent so the extras survive validation more often.
  const aff = out.affinity as { prefix?: { enabled?: boolean } } | undefined;
  if (aff?.prefix?.enabled && !(out.body as { enabled: boolean }).enabled) aff.prefix.enabled = false;
  out.pools = (cfg.pools as Array<Record<string, unknown>>).map((p, i) => ({ ...p, ...e.pools[i % e.pools.length] }));
  return out;
}

function dedupeBy<T>(xs: T[], key: (x: T) => string): T[] {
  const seen = new Set<string>();
  return xs.filter((x) => (seen.has(key(x)) ? false : (seen.add(key(x)), true)));
}

type JsonSchema = Record<string, any>;

/**
 * Values shaped by a JSON Schema (the one zod exports for the plugin config), so fields added to the schema
 * later are generated too. Arrays are kept short; strings follow the schema's patterns; numbers stay in range
 * most of the time. The oracle (zod) decides validity, so cross-field rules need not hold.
 */
export function fromJsonSchema(schema: JsonSchema, root: JsonSchema = schema, depth = 0): fc.Arbitrary<unknown> {
  if (schema.$ref) {
    const name = String(schema.$ref).replace(/^#\/(\$defs|definitions)\//, "");
    return fromJsonSchema((root.$defs ?? root.definitions ?? {})[name] ?? {}, root, depth);
  }
  if (schema.anyOf || schema.oneOf)
    return fc.oneof(...(schema.anyOf ?? schema.oneOf).map((s: JsonSchema) => fromJsonSchema(s, root, depth)));
  if (schema.enum) return fc.constantFrom(...schema.enum);
  if (schema.const !== undefined) return fc.constant(schema.const);
  switch (schema.type) {
    case "object": {
      const props: Record<string, fc.Arbitrary<unknown>> = {};
      for (const [k, s] of Object.entries(schema.properties ?? {})) props[k] = fromJsonSchema(s as JsonSchema, root, depth + 1);
      return fc.record(props, { requiredKeys: schema.required ?? [] });
    }
    case "array": {
      const min = schema.minItems ?? 0;
      const max = Math.max(min, Math.min(schema.maxItems ?? 4, depth === 0 ? 3 : 4));
      return fc.array(fromJsonSchema(schema.items ?? {}, root, depth + 1), { minLength: min, maxLength: max });
    }
    case "string":
      if (schema.pattern) return fc.stringMatching(new RegExp(schema.pattern));
      return fc.string({ maxLength: 16 });
    case "integer": {
      const lo = schema.minimum ?? (schema.exclusiveMinimum !== undefined ? schema.exclusiveMinimum + 1 : -1000);
      const hi = schema.maximum ?? (schema.exclusiveMaximum !== undefined ? schema.exclusiveMaximum - 1 : 1000);
      return fc.oneof(fc.constantFrom(lo, hi), fc.integer({ min: Math.ceil(lo), max: Math.floor(hi) }));
    }
    case "number": {
      const lo = schema.minimum ?? -1000;
      const hi = schema.maximum ?? 1000;
      return fc.oneof(fc.constantFrom(lo, hi), fc.double({ min: lo, max: hi, noNaN: true, noDefaultInfinity: true }));
    }
    case "boolean":
      return fc.boolean();
    default:
      return fc.jsonValue({ maxDepth: 2 });
  }
}

let schemaArbCache: fc.Arbitrary<unknown> | undefined;
/** Plugin configs shaped by the schema of record (many valid, many failing a cross-field rule). */
export function schemaConfigArb(): fc.Arbitrary<unknown> {
  return (schemaArbCache ??= fromJsonSchema(pluginConfigJsonSchema() as JsonSchema));
}

/** A small deterministic PRNG for mutations (seeded by fast-check, so cases replay from the run's seed). */
export class Rng {
  private s: number;
  constructor(seed: number) {
    this.s = seed >>> 0 || 0x9e3779b9;
  }
  next(): number {
    let t = (this.s = (this.s + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  /** Integer in [lo, hi]. */
  nextInt(lo: number, hi: number): number {
    return lo + Math.floor(this.next() * (hi - lo + 1));
  }
  pick<T>(xs: readonly T[]): T {
    return xs[this.nextInt(0, xs.length - 1)]!;
  }
}

/** Hostile JSON values to plant anywhere in a config. */
const WEIRD_JSON: unknown[] = [
  null,
  true,
  false,
  0,
  -0,
  1,
  -1,
  0.0099,
  0.01,
  1000,
  1000.0001,
  1e21,
  -1e21,
  2 ** 31,
  -(2 ** 31) - 1,
  2 ** 53 + 1,
  0.5,
  255,
  256,
  1048576,
  1048577,
  59999.5,
  1e-7,
  "",
  " ",
  "a b",
  "x".repeat(129),
  "\u0000",
  "\ud800",
  "\u00e9",
  "-a",
  "A",
  "1",
  "true",
  "pool",
  "endpoint",
  "reject",
  "10.0.0.1:8000",
  "10.0.0.1:0",
  "[::1]:65536",
  "256.0.0.1:80",
  "01.2.3.4:5",
  "x-Upper",
  [],
  {},
  [[]],
  { a: 1 },
  ["m"],
  [{ name: "a", models: ["m"] }],
  { enabled: true },
  "\r\n",
  "p0",
];

function sampleWeird(r: Rng): unknown {
  if (r.next() < 0.8) return structuredClone(r.pick(WEIRD_JSON));
  let s = "";
  for (let i = r.nextInt(0, 12); i > 0; i--) s += String.fromCharCode(r.nextInt(0, 0xffff));
  return s;
}

/** One structural mutation of a JSON value (the mutation lands on a random node). */
function mutateValue(v: unknown, r: Rng): unknown {
  const kind = r.nextInt(0, 9);
  if (v !== null && typeof v === "object") {
    const isArr = Array.isArray(v);
    const keys: Array<string | number> = isArr ? (v as unknown[]).map((_, i) => i) : Object.keys(v as object);
    const copy: any = isArr ? [...(v as unknown[])] : { ...(v as object) };
    if (keys.length > 0 && kind < 6) {
      // Descend most of the time so deep fields get mutated too.
      const k = r.pick(keys);
      copy[k] = mutateValue(copy[k], r);
      return copy;
    }
    if (kind === 6 && keys.length) {
      const k = r.pick(keys);
      if (isArr) copy.splice(k as number, 1);
      else delete copy[k];
      return copy;
    }
    if (kind === 7) {
      if (isArr) copy.push(copy.length ? structuredClone(r.pick(copy)) : sampleWeird(r));
      else copy[r.pick(["zz", "Name", "pools ", "__proto__x", "metricz", ""])] = sampleWeird(r);
      return copy;
    }
    if (kind === 8 && isArr) return Array.from({ length: r.nextInt(60, 300) }, () => copy[0] ?? 1);
  }
  if (typeof v === "number" && kind < 5) return r.pick([v + 1e-9, v - 1e-9, v * 10, -v, Math.round(v) + 0.5, String(v)]);
  if (typeof v === "string" && kind < 5) return r.pick([v + " ", v.toUpperCase(), v + "\u0000", "-" + v, v.repeat(70), "", v + "\u00e9"]);
  return sampleWeird(r);
}

/** A config mutated structurally 1-3 times. */
function mutatedConfigArb(base: fc.Arbitrary<unknown>): fc.Arbitrary<unknown> {
  return fc.tuple(base, fc.integer({ min: 1, max: 3 }), fc.integer()).map(([v, n, seed]) => {
    const r = new Rng(seed);
    let out = v;
    for (let i = 0; i < n; i++) out = mutateValue(out, r);
    return out;
  });
}

/** Text-level damage that structural mutation cannot express. */
function textMutation(text: string, r: Rng): string | Uint8Array {
  const at = r.nextInt(0, text.length);
  switch (r.nextInt(0, 11)) {
    case 0:
      return text.slice(0, at); // truncated
    case 1:
      return text.slice(0, at) + String.fromCharCode(r.nextInt(0, 127)) + text.slice(at);
    case 2:
      return text.replace(/^\{/, '{"pools":7,'); // duplicate key, the later one wins (JSON.parse semantics)
    case 3:
      return text.replace(/\}$/, ',"steering":"pool","steering":"endpoint"}');
    case 4: {
      const d = r.nextInt(1, 12000);
      return `{"x":${"[".repeat(d)}${"]".repeat(d)},` + text.slice(1);
    }
    case 5: {
      const d = r.nextInt(1, 12000);
      return text.replace(/\}$/, `,"pools":${"[".repeat(d)}${"]".repeat(d)}}`);
    }
    case 6: {
      const b = new TextEncoder().encode(text);
      const o = new Uint8Array(b.length + 1);
      o.set(b.subarray(0, at));
      o[at] = [0xff, 0xc3, 0xed, 0x80][r.nextInt(0, 3)]!;
      o.set(b.subarray(at), at + 1);
      return o;
    }
    case 7:
      return "\ufeff" + text;
    case 8:
      return " \n\t" + text + " \r\n";
    case 9:
      return text.replace(/"([a-z]+)":/, '"\\u00$1":');
    case 10:
      return text.replace(/:(\d+)/, ":$1e0");
    default:
      return text.replace(/"/g, "'");
  }
}

export interface ConfigCase {
  /** What the filter receives as its plugin configuration. */
  text: string | Uint8Array;
  origin: "catalog" | "schema" | "mutated" | "text" | "garbage";
}

/** Configurations: valid, schema-shaped, mutated structurally, damaged as text, or garbage. */
export function configCaseArb(): fc.Arbitrary<ConfigCase> {
  const catalog = catalogConfigArb();
  const schema = schemaConfigArb();
  return fc.oneof(
    { weight: 2, arbitrary: catalog.map((c) => ({ text: JSON.stringify(c), origin: "catalog" as const })) },
    { weight: 3, arbitrary: schema.map((c) => ({ text: JSON.stringify(c), origin: "schema" as const })) },
    {
      weight: 4,
      arbitrary: mutatedConfigArb(fc.oneof(catalog, schema)).map((c) => ({ text: JSON.stringify(c) ?? "", origin: "mutated" as const })),
    },
    {
      weight: 2,
      arbitrary: fc
        .tuple(fc.oneof(catalog, schema), fc.integer())
        .map(([c, s]) => ({ text: textMutation(JSON.stringify(c), new Rng(s)), origin: "text" as const })),
    },
    {
      weight: 1,
      arbitrary: fc
        .oneof(fc.string({ unit: "binary", maxLength: 64 }), fc.uint8Array({ maxLength: 64 }), fc.json({ maxDepth: 3 }))
        .map((t) => ({ text: t, origin: "garbage" as const })),
    },
  );
}

// ------------------------------------------------------------------------------------------------ requests

const enc = new TextEncoder();

export const INFERENCE_PATHS = [
  "/v1/chat/completions",
  "/v1/completions",
  "/v1/embeddings",
  "/v1/responses",
  "/generate",
  "/generate_stream",
  "/v2/models/{m}/infer",
  "/v2/models/{m}/versions/{v}/infer",
  "/v2/models/{m}/generate",
  "/v2/models/{m}/generate_stream",
  "/v1/models/{m}:predict",
  "/v1/models/{m}:explain",
  "/v1/models/{m}:classify",
  "/v1/models/{m}/versions/{v}:regress",
  "/v1/models/{m}/labels/{v}:predict",
  "/predictions/{m}",
  "/predictions/{m}/{v}",
  "/inference.GRPCInferenceService/ModelInfer",
  "/inference.GRPCInferenceService/ModelStreamInfer",
  "/tensorflow.serving.PredictionService/Predict",
  "/tensorflow.serving.PredictionService/Classify",
  // issue 12
  "/inference/v1/generate",
  "/score",
  "/v1/score",
  "/rerank",
  "/v1/rerank",
  "/v2/rerank",
  "/pooling",
  "/classify",
  "/v1/audio/transcriptions",
  "/v1/audio/translations",
  "/v1/messages",
  "/openai/v1/chat/completions",
  "/openai/v1/completions",
  "/openai/v1/embeddings",
  "/openai/v1/audio/transcriptions",
  "/",
  "/predictions/{m}/{v}/extra/seg",
  "/explanations/{m}",
  "/org.pytorch.serve.grpc.inference.InferenceAPIsService/Predictions",
  "/org.pytorch.serve.grpc.inference.InferenceAPIsService/StreamPredictions",
];
/** Paths that are never inference, whatever the method. */
export const NON_INFERENCE_PATHS = [
  "/v2/health/live",
  "/v2/health/ready",
  "/metrics",
  "/v1/models",
  "/healthz",
  "/v2",
  "/tokenize",
  "/v1/messages/count_tokens",
  "/openai/v1/models",
  "/ping",
];
/** Methods that never make inference, except on TorchServe's /predictions and /explanations (any method) and SGLang's PUT /generate. */
export const NON_POST_METHODS = ["GET", "PUT", "DELETE", "HEAD", "OPTIONS", "PATCH", "CONNECT", "TRACE"];

const modelSlot: fc.Arbitrary<string> = fc.oneof(
  { weight: 6, arbitrary: fc.constantFrom(...MODEL_VOCAB, ...LOOKALIKES, "llama-3-8b:sql-adapter", "qwen-72b", "nope", "gpt-9") },
  { weight: 2, arbitrary: fc.constantFrom(...MODEL_VOCAB).map(encodeURIComponent) },
  {
    weight: 3,
    arbitrary: fc.constantFrom(
      "..",
      "%2e%2e",
      "%2E%2E",
      "a%2F..%2Fb",
      "%2Fabs",
      "..%2f..%2fetc%2fpasswd",
      ".",
      "%2e",
      "a/../b",
      "%00",
      "m%00x",
      "%zz",
      "m%",
      "%e9",
      "%c3%a9",
      "%ff%fe",
      "%0d%0ax-inference-pool:%20evil",
      "%22%5c%2c",
      "+",
      "%20",
      "",
      "meta%2Fllama",
      "llama-3-8b%3Aadapter",
      "x".repeat(300),
      "%41".repeat(200),
      "\u00e9",
      "\ud83d\ude00",
    ),
  },
  { weight: 2, arbitrary: fc.string({ unit: "binary", maxLength: 40 }) },
  { weight: 1, arbitrary: fc.string({ unit: "grapheme-ascii", maxLength: 200 }) },
);

const pathArb: fc.Arbitrary<string> = fc.oneof(
  {
    weight: 8,
    arbitrary: fc
      .tuple(
        fc.constantFrom(...INFERENCE_PATHS),
        modelSlot,
        fc.constantFrom("1", "2", "latest", "%2e%2e", ""),
        fc.constantFrom("", "", "?x=1", "#f", "?model=evil", "/", "//"),
      )
      .map(([t, m, v, suffix]) => t.replace("{m}", m).replace("{v}", v) + suffix),
  },
  { weight: 2, arbitrary: fc.constantFrom(...NON_INFERENCE_PATHS) },
  {
    weight: 1,
    arbitrary: fc.constantFrom(
      "",
      "*",
      "v1/chat/completions",
      "http://evil/v1/chat/completions",
      "/V1/CHAT/COMPLETIONS",
      "/v1//chat/completions",
      "/v1/chat/completions/",
      "/a/b/c/d/e/f/g/h/i/j",
      "/v1/chat/%2e%2e/completions",
      "/%2e%2e/v1/chat/completions",
    ),
  },
  { weight: 1, arbitrary: fc.string({ unit: "binary", maxLength: 80 }).map((s) => "/" + s) },
);

const methodArb = fc.oneof(
  { weight: 10, arbitrary: fc.constant("POST") },
  { weight: 3, arbitrary: fc.constantFrom(...NON_POST_METHODS) },
  { weight: 1, arbitrary: fc.constantFrom("post", "Post", "POST ", "P\u0000ST", "", "GET\r\nX: y", "X".repeat(300)) },
);

const contentTypeArb = fc.option(
  fc.constantFrom(
    "application/json",
    "application/grpc",
    "application/grpc+proto",
    "APPLICATION/GRPC",
    "application/grpc-web",
    "text/plain",
    "application/json; charset=utf-8",
    "",
    "\u0000",
    "multipart/form-data; boundary=x",
    "multipart/form-data; boundary=fuzzB0undary",
    'multipart/form-data; boundary="fuzzB0undary"',
  ),
  { nil: undefined },
);

/** Header values: ordinary, control characters (CR/LF/NUL), non-ASCII, quotes/commas, or 10 KB. */
const hostileValue: fc.Arbitrary<string> = fc.oneof(
  { weight: 4, arbitrary: fc.string({ unit: "grapheme-ascii", maxLength: 40 }) },
  {
    weight: 2,
    arbitrary: fc.constantFrom(
      "\r\n",
      "a\r\nx-inference-pool: evil",
      "\u0000",
      "x\u0000y",
      "\n\n",
      "\t",
      " ",
      "",
      "\u00ff",
      "\ud800",
      '"',
      "\\",
      ",",
      "a,b",
      "10.0.0.1:8000,169.254.169.254:80",
    ),
  },
  {
    weight: 1,
    arbitrary: fc.constantFrom(10_240, 10_000, 65_536).chain((n) => fc.constantFrom("a", "\r", ",", "é").map((c) => c.repeat(n))),
  },
  { weight: 1, arbitrary: fc.string({ unit: "binary", maxLength: 64 }) },
);

const headerNameArb: fc.Arbitrary<string> = fc.oneof(
  { weight: 4, arbitrary: fc.stringMatching(/^x-[a-z0-9-]{1,20}$/) },
  {
    weight: 1,
    arbitrary: fc.constantFrom(
      "X-Inference-Pool",
      "X-INFERENCE-MODEL",
      "x-inference-pool ",
      "x-inference-pool\u0000",
      "x-inference-pool\r\n",
      "",
      ":path",
      ":authority",
      "content-length",
      "transfer-encoding",
      "host",
      "x".repeat(10_240),
    ),
  },
  { weight: 1, arbitrary: fc.string({ unit: "binary", maxLength: 20 }) },
);

export interface SpoofPlan {
  /** Names to spoof: the configured owned names are added by the engine (it knows the config). */
  copies: number;
  values: string[];
  /** Also spoof the default names when the config renamed them. */
  defaults: boolean;
}

/** Values a client would try: catalog names (choosing an upstream), the metadata address, marked strings. */
const spoofValue: fc.Arbitrary<string> = fc.oneof(
  fc.constantFrom(
    "p0",
    "p1",
    "10.0.0.1:8000",
    "10.0.1.1:8000",
    "169.254.169.254:80",
    "10.0.0.1:8000,10.0.0.2:8000",
    "100",
    "-100",
    "openai-chat",
    "generate",
    "llama-3-70b",
  ),
  fc.constantFrom(SPOOF_MARK, `${SPOOF_MARK}\r\nx-inference-pool: p0`, `${SPOOF_MARK},10.0.0.1:8000`, SPOOF_MARK.repeat(1000)),
  fc.string({ maxLength: 10 }).map((s) => SPOOF_MARK + s),
);

const spoofArb: fc.Arbitrary<SpoofPlan | undefined> = fc.option(
  fc.record({
    copies: fc.oneof({ weight: 4, arbitrary: fc.integer({ min: 1, max: 3 }) }, { weight: 1, arbitrary: fc.integer({ min: 4, max: 64 }) }),
    values: fc.array(spoofValue, { minLength: 1, maxLength: 4 }),
    defaults: fc.boolean(),
  }),
  { freq: 2, nil: undefined },
);

// ---- bodies

function pbString(field: number, b: Uint8Array): number[] {
  return [(field << 3) | 2, ...varint(b.length), ...b];
}
function varint(n: number): number[] {
  const out: number[] = [];
  while (n > 0x7f) {
    out.push((n & 0x7f) | 0x80);
    n = Math.floor(n / 128);
  }
  out.push(n);
  return out;
}
function frame(msg: Uint8Array | number[], lengthDelta = 0, compressed = 0): Uint8Array {
  const m = Uint8Array.from(msg);
  const f = new Uint8Array(5 + m.length);
  f[0] = compressed;
  new DataView(f.buffer).setUint32(1, Math.max(0, m.length + lengthDelta) >>> 0, false);
  f.set(m, 5);
  return f;
}

const modelBytes: fc.Arbitrary<Uint8Array> = fc.oneof(
  modelSlot.map((s) => enc.encode(s)),
  fc.uint8Array({ maxLength: 40 }),
  fc.constantFrom(Uint8Array.of(0xff, 0xfe), Uint8Array.of(0x6d, 0xc3), Uint8Array.of(0xed, 0xa0, 0x80), Uint8Array.of(0x6d, 0x00, 0x78)),
);

/** Triton ModelInferRequest / TF Serving PredictRequest frames, correct and broken. */
const grpcBody: fc.Arbitrary<Uint8Array> = fc
  .record({
    kind: fc.constantFrom("infer", "tf"),
    model: modelBytes,
    version: fc.constantFrom("", "1", "2"),
    idFirst: fc.boolean(),
    repeatModel: fc.boolean(),
    lengthDelta: fc.oneof(
      { weight: 4, arbitrary: fc.constant(0) },
      { weight: 1, arbitrary: fc.integer({ min: -8, max: 8 }) },
      { weight: 1, arbitrary: fc.constantFrom(0x7fffffff, -0x7fffffff, 1 << 24) },
    ),
    compressed: fc.oneof({ weight: 6, arbitrary: fc.constant(0) }, { weight: 1, arbitrary: fc.constantFrom(1, 2, 255) }),
    truncate: fc.option(fc.nat(40), { freq: 4, nil: undefined }),
    junk: fc.option(fc.uint8Array({ minLength: 1, maxLength: 24 }), { freq: 5, nil: undefined }),
    badVarint: fc.boolean(),
  })
  .map((g) => {
    let msg: number[] = [];
    if (g.idFirst) msg.push(...pbString(3, enc.encode("req-1")));
    if (g.badVarint) msg.push(0x0a, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01);
    if (g.kind === "infer") {
      msg.push(...pbString(1, g.model));
      if (g.version) msg.push(...pbString(2, enc.encode(g.version)));
      if (g.repeatModel) msg.push(...pbString(1, enc.encode("llama-3-70b")));
    } else {
      const spec = [...pbString(1, g.model)];
      if (g.version) spec.push(0x12, 2, 0x08, Number(g.version)); // version: Int64Value { value }
      msg.push(...pbString(1, Uint8Array.from(spec)));
    }
    if (g.junk) msg = g.idFirst ? [...g.junk, ...msg] : [...msg, ...g.junk];
    let f = frame(msg, g.lengthDelta, g.compressed);
    if (g.truncate !== undefined) f = f.subarray(0, Math.min(f.length, g.truncate));
    return f;
  });

const jsonKeyOrder = fc.constantFrom("model-first", "model-last", "no-model", "dup-model", "model-nested", "dup-model-escaped");

/** OpenAI / vLLM / TGI / SGLang JSON bodies: well-formed, truncated, duplicated keys, deep, escaped, invalid UTF-8. */
const jsonBody: fc.Arbitrary<Uint8Array> = fc
  .record({
    order: jsonKeyOrder,
    model: fc.oneof(fc.constantFrom(...MODEL_VOCAB, "nope", "llama-3-8b:sql"), modelSlot),
    stream: fc.constantFrom(undefined, true, false, "true", 1, null),
    extra: fc.constantFrom("none", "messages", "prompt", "inputs", "sampling_params", "text"),
    padBefore: fc.oneof({ weight: 5, arbitrary: fc.constant(0) }, { weight: 1, arbitrary: fc.constantFrom(100, 300, 1100, 5000, 70_000) }),
    depth: fc.oneof({ weight: 8, arbitrary: fc.constant(0) }, { weight: 1, arbitrary: fc.constantFrom(64, 1000, 10_000, 12_000) }),
    damage: fc.oneof(
      { weight: 8, arbitrary: fc.constant("none") },
      {
        weight: 4,
        arbitrary: fc.constantFrom(
          "truncate",
          "badutf8",
          "escape",
          "nul",
          "bom",
          "garbage-tail",
          "unterminated",
          "lone-surrogate",
          "second-document",
          "trailing-ws",
        ),
      },
    ),
    cut: fc.nat(),
  })
  .map((b) => {
    const parts: string[] = [];
    const m = JSON.stringify(b.model);
    if (b.padBefore) parts.push(`"messages":[{"role":"user","content":${JSON.stringify("x".repeat(b.padBefore) + '"model": "decoy"')}}]`);
    if (b.depth)
      parts.push(
        `"deep":${"[".repeat(b.depth)}${"]".repeat(b.depth)}`,
        `"deeper":${'{"a":'.repeat(Math.min(b.depth, 5000))}1${"}".repeat(Math.min(b.depth, 5000))}`,
      );
    if (b.order === "model-first" || b.order === "dup-model") parts.unshift(`"model":${m}`);
    if (b.order === "model-last") parts.push(`"model":${m}`);
    if (b.order === "dup-model") parts.push(`"model":"llama-3-70b"`);
    if (b.order === "dup-model-escaped") parts.push(`"model":"llama-3-70b"`, `"mod\\u0065l":${m}`);
    if (b.order === "model-nested") parts.push(`"x":{"model":${m}}`);
    if (b.stream !== undefined) parts.push(`"stream":${JSON.stringify(b.stream)}`);
    if (b.extra === "messages") parts.push(`"messages":[{"role":"user","content":"hi"}]`);
    else if (b.extra !== "none") parts.push(`${JSON.stringify(b.extra)}:"hello"`);
    let text = `{${parts.join(",")}}`;
    switch (b.damage) {
      case "truncate":
        text = text.slice(0, b.cut % (text.length + 1));
        break;
      case "escape":
        text = text.replace(/"model"/, '"mo\\u0064el"').replace(/:"/, ':"\\"\\\\\\u0000');
        break;
      case "nul":
        text = text.replace(/,/, "\u0000,");
        break;
      case "bom":
        text = "\ufeff" + text;
        break;
      case "garbage-tail":
        text += "}}]]\u0000";
        break;
      case "second-document":
        text += '{"model":"llama-3-70b"}';
        break;
      case "trailing-ws":
        text += " \r\n\t";
        break;
      case "unterminated":
        text = text.replace(/"([^"]*)"$/, '"$1');
        text = text.slice(0, -1) + '"unterminated';
        break;
      case "lone-surrogate":
        text = text.replace(/"model":"/, '"model":"\\ud800');
        break;
    }
    let bytes = enc.encode(text);
    if (b.damage === "badutf8") {
      const at = b.cut % (bytes.length + 1);
      const o = new Uint8Array(bytes.length + 2);
      o.set(bytes.subarray(0, at));
      o[at] = 0xc3;
      o[at + 1] = 0x28;
      o.set(bytes.subarray(at), at + 2);
      bytes = o;
    }
    return bytes;
  });

/** multipart/form-data for the audio routes (boundary MP_BOUNDARY): file first, then model, or damaged. */
export const MP_BOUNDARY = "fuzzB0undary";
const multipartBody: fc.Arbitrary<Uint8Array> = fc
  .record({
    model: fc.oneof(fc.constantFrom(...MODEL_VOCAB, ...LOOKALIKES, "nope"), modelSlot),
    fileBytes: fc.constantFrom(0, 10, 3000, 70_000),
    dupModel: fc.boolean(),
    nameStar: fc.boolean(),
    cut: fc.option(fc.nat(), { freq: 4, nil: undefined }),
  })
  .map((b) => {
    const part = (name: string, value: Uint8Array | string, file = false) => [
      ...enc.encode(
        `--${MP_BOUNDARY}\r\nContent-Disposition: form-data; ${name}${file ? '; filename="a.wav"\r\nContent-Type: audio/wav' : ""}\r\n\r\n`,
      ),
      ...(typeof value === "string" ? enc.encode(value) : value),
      13,
      10,
    ];
    const out: number[] = [...part('name="file"', new Uint8Array(b.fileBytes).fill(0x2d), true)];
    if (b.nameStar) out.push(...part("name*=utf-8''model", "llama-3-70b"));
    out.push(...part('name="model"', b.model));
    if (b.dupModel) out.push(...part('name="model"', "llama-3-70b"));
    out.push(...enc.encode(`--${MP_BOUNDARY}--\r\n`));
    const bytes = Uint8Array.from(out);
    return b.cut === undefined ? bytes : bytes.subarray(0, b.cut % (bytes.length + 1));
  });

const bodyArb: fc.Arbitrary<Uint8Array | undefined> = fc.oneof(
  { weight: 2, arbitrary: fc.constant(undefined) },
  { weight: 8, arbitrary: jsonBody },
  { weight: 2, arbitrary: multipartBody },
  { weight: 3, arbitrary: grpcBody },
  { weight: 1, arbitrary: fc.uint8Array({ maxLength: 300 }) },
  { weight: 1, arbitrary: fc.constantFrom(0, 1, 255, 256, 4096, 65_536, 70_000).map((n) => new Uint8Array(n).fill(0x7b)) },
);

/** Cut points (fractions of the body) for chunked delivery; empty = one chunk. */
const splitsArb = fc.oneof(
  { weight: 3, arbitrary: fc.constant([] as number[]) },
  { weight: 2, arbitrary: fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { minLength: 1, maxLength: 6 }) },
  { weight: 1, arbitrary: fc.constant([-1]) }, // byte by byte for small bodies
);

export interface RequestCase {
  method: string;
  path: string;
  authority: string;
  contentType: string | undefined;
  contentLength: string | undefined;
  headers: Array<[string, string]>;
  spoof: SpoofPlan | undefined;
  /** Value for the config's modelOverride header (if it has one). */
  modelOverride: string | undefined;
  /** Value for the config's priorityIn header (if it has one). */
  priorityIn: string | undefined;
  body: Uint8Array | undefined;
  splits: number[];
  /** The client never ends the request (stalled upload); the filter must still let it through in time. */
  noEos: boolean;
  trailers: Array<[string, string]> | undefined;
  /** Empty chunks between body chunks (Envoy delivers 0-byte data frames). */
  emptyChunks: boolean;
  /** The downstream mTLS peer (URI SAN), undefined for plain text. */
  peer: string | undefined;
  /** Foreign steering headers the client sets (other routing systems'). */
  foreign: boolean;
}

export const requestArb: fc.Arbitrary<RequestCase> = fc.record({
  method: methodArb,
  path: pathArb,
  authority: fc.constantFrom("gpu.example", "", "a".repeat(300), "evil\r\nx"),
  contentType: contentTypeArb,
  contentLength: fc.option(fc.constantFrom("0", "12", "-1", "99999999999999999999", "abc", "1e3", " 5", "65536"), {
    freq: 3,
    nil: undefined,
  }),
  headers: fc.array(fc.tuple(headerNameArb, hostileValue), { maxLength: 6 }),
  spoof: spoofArb,
  modelOverride: fc.option(fc.oneof(fc.constantFrom(...MODEL_VOCAB, "nope"), modelSlot, hostileValue), { nil: undefined }),
  priorityIn: fc.option(
    fc.oneof(
      fc.integer({ min: -120, max: 120 }).map(String),
      fc.constantFrom("+5", "-0", "007", "1e2", "5 ", "", "0x10", "-", "1000", "99999999999"),
    ),
    { nil: undefined },
  ),
  body: bodyArb,
  splits: splitsArb.map((x) => [...x]),
  noEos: fc.oneof({ weight: 12, arbitrary: fc.constant(false) }, { weight: 1, arbitrary: fc.constant(true) }),
  trailers: fc.option(fc.array(fc.tuple(headerNameArb, hostileValue), { maxLength: 2 }), { freq: 8, nil: undefined }),
  emptyChunks: fc.boolean(),
  peer: fc.constantFrom(...PEERS),
  foreign: fc.boolean(),
});

// ---- responses

/** ORCA endpoint-load-metrics header values (TEXT, JSON, BIN forms), valid and broken. */
export const orcaValueArb: fc.Arbitrary<string> = fc.oneof(
  fc
    .record({
      cpu: fc.double({ min: -1, max: 2, noNaN: true }),
      kv: fc.double({ min: -1, max: 2, noNaN: true }),
      q: fc.integer({ min: -5, max: 10_000 }),
      form: fc.constantFrom("TEXT", "JSON", "text", "BIN", "", "TEXT "),
    })
    .map(({ cpu, kv, q, form }) =>
      form === "JSON"
        ? `JSON {"cpu_utilization":${cpu},"named_metrics":{"kv_cache_utilization":${kv},"num_requests_waiting":${q}}}`
        : form === "BIN"
          ? `BIN ${Buffer.from(Uint8Array.of(0x09, ...new Uint8Array(new Float64Array([cpu]).buffer))).toString("base64")}`
          : `${form} cpu_utilization=${cpu},named_metrics.kv_cache_utilization=${kv},named_metrics.num_requests_waiting=${q},rps_fractional=1.5`,
    ),
  fc.constantFrom(
    "",
    "TEXT",
    "TEXT ",
    "TEXT =",
    "TEXT a=b=c",
    "TEXT named_metrics.kv_cache_utilization=NaN",
    "TEXT named_metrics.kv_cache_utilization=1e309",
    "TEXT named_metrics.kv_cache_utilization=-Infinity",
    "JSON {",
    "JSON " + "[".repeat(5000),
    "BIN !!!!",
    "TEXT " + "a=1,".repeat(3000),
    "TEXT named_metrics.num_requests_waiting=99999999999999999999",
    "TEXT cpu_utilization=0.5\r\nx: y",
    "\u0000",
  ),
  hostileValue,
);

/** Prometheus metrics texts as vLLM / SGLang / TGI / Triton export them, valid and broken. */
export const metricsTextArb: fc.Arbitrary<string> = fc.oneof(
  fc
    .record({
      waiting: fc.oneof(fc.integer({ min: 0, max: 1000 }).map(String), fc.constantFrom("NaN", "+Inf", "-1", "1e400", "0x10", "")),
      running: fc.integer({ min: 0, max: 500 }),
      kv: fc.oneof(fc.double({ min: 0, max: 1, noNaN: true }).map(String), fc.constantFrom("NaN", "2", "-0.5", "1e-400")),
      model: fc.constantFrom(...MODEL_VOCAB),
      labels: fc.boolean(),
      dup: fc.boolean(),
    })
    .map((m) => {
      const l = m.labels ? `{model_name=${JSON.stringify(m.model)},engine="0"}` : "";
      const lines = [
        "# HELP vllm:num_requests_waiting Number of requests waiting.",
        "# TYPE vllm:num_requests_waiting gauge",
        `vllm:num_requests_waiting${l} ${m.waiting}`,
        `vllm:num_requests_running${l} ${m.running}`,
        `vllm:gpu_cache_usage_perc${l} ${m.kv}`,
        `vllm:kv_cache_usage_perc${l} ${m.kv}`,
        `sglang:num_queue_reqs${l} ${m.waiting}`,
        `sglang:token_usage${l} ${m.kv}`,
        `tgi_queue_size ${m.waiting}`,
        `nv_inference_pending_request_count{model="${m.model}",version="1"} ${m.waiting}`,
      ];
      if (m.dup) lines.push(...lines);
      return lines.join("\n") + "\n";
    }),
  fc.constantFrom(
    "",
    "\n",
    "#",
    "vllm:num_requests_waiting",
    "vllm:num_requests_waiting{",
    'vllm:num_requests_waiting{model_name="x" 3',
    "vllm:num_requests_waiting " + "9".repeat(400),
    'vllm:gpu_cache_usage_perc{a="' + "\\".repeat(2000) + '"} 1',
    "\u0000\u0000",
    "vllm:num_requests_waiting 1 1700000000000 extra\r\n",
    "x".repeat(200_000),
  ),
  fc.string({ unit: "binary", maxLength: 200 }),
);

export interface ResponsePlan {
  kind: "response" | "reset" | "none";
  status: string;
  headers: Array<[string, string]>;
  body: Uint8Array | undefined;
  trailers: boolean;
}

export const responseArb: fc.Arbitrary<ResponsePlan> = fc.record({
  kind: fc.oneof(
    { weight: 10, arbitrary: fc.constant("response" as const) },
    { weight: 1, arbitrary: fc.constantFrom("reset" as const, "none" as const) },
  ),
  status: fc.oneof(
    { weight: 6, arbitrary: fc.constantFrom("200", "200", "200", "500", "502", "503", "504", "429", "404") },
    { weight: 1, arbitrary: fc.constantFrom("5", "5000", "abc", "", "599", "099", "5xx", "-500", " 503") },
  ),
  headers: fc.array(
    fc.oneof(
      { weight: 3, arbitrary: orcaValueArb.map((v) => ["endpoint-load-metrics", v] as [string, string]) },
      {
        weight: 1,
        arbitrary: fc
          .constantFrom("endpoint-load-metrics-bin", "Endpoint-Load-Metrics", "x-inference-pool", "grpc-status")
          .chain((n) => hostileValue.map((v) => [n, v] as [string, string])),
      },
      { weight: 1, arbitrary: fc.tuple(headerNameArb, hostileValue) },
    ),
    { maxLength: 4 },
  ),
  body: fc.option(
    fc.oneof(
      metricsTextArb.map((s) => enc.encode(s)),
      fc.uint8Array({ maxLength: 100 }),
    ),
    { freq: 3, nil: undefined },
  ),
  trailers: fc.boolean(),
});

export interface CalloutPlan {
  kind: "metrics" | "fail" | "status" | "timeout";
  status: number;
  body: string;
  headers: Array<[string, string]>;
}

/** How a pending HTTP callout (metrics poll) is answered. */
export const calloutArb: fc.Arbitrary<CalloutPlan> = fc.record({
  kind: fc.constantFrom("metrics", "metrics", "metrics", "fail", "status", "timeout"),
  status: fc.constantFrom(200, 200, 500, 404, 204, 301),
  body: metricsTextArb,
  headers: fc.array(
    fc.oneof(
      orcaValueArb.map((v) => ["endpoint-load-metrics", v] as [string, string]),
      fc.tuple(headerNameArb, hostileValue),
    ),
    { maxLength: 2 },
  ),
});
