// The filter's plugin configuration: the JSON Envoy hands to proxy_on_configure (a WasmPlugin's `pluginConfig`,
// or the StringValue `configuration` of an Envoy wasm PluginConfig). This schema is the single definition:
// the toolkit generates configs that pass it, the README documents it, and assembly/router/config.ts enforces the
// same rules inside the filter (tests feed the same documents to both and expect the same verdicts).
import { z } from "zod";

/** An RFC 7230 token, lower case: what Envoy accepts as a header name we write. */
const headerName = z
  .string()
  .regex(/^[a-z0-9!#$%&'*+.^_`|~-]{1,64}$/, "must be a lower-case HTTP header name of 1-64 token characters");

/** Names that end up in stats, headers and shared-data keys: short and plain. */
const ident = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/, "must be 1-63 characters of letters, digits, '.', '_' or '-', starting with a letter or digit");

/** Model names as clients send them (OpenAI ids, KServe names, LoRA adapter ids such as `base:adapter`). */
const modelName = z
  .string()
  .regex(/^[\x21-\x7e]{1,128}$/, "must be 1-128 visible ASCII characters (no spaces)");

/** `ip:port` for IPv4, `[ip]:port` for IPv6: the form Envoy's override_host and ORIGINAL_DST accept. */
const endpoint = z
  .string()
  .regex(
    /^(?:(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(?:\.(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}|\[[0-9A-Fa-f:.]{2,45}\]):(?:[1-9]\d{0,3}|[1-5]\d{4}|6[0-4]\d{3}|65[0-4]\d{2}|655[0-2]\d|6553[0-5])$/,
    "must be ip:port (IPv4) or [ip]:port (IPv6)",
  );

export const PoolSchema = z
  .object({
    name: ident.describe("Pool name: the value of the pool steering header and the `pool` label of stats."),
    models: z.array(modelName).max(256).default([]).describe("Exact model names this pool serves."),
    modelPrefixes: z
      .array(modelName)
      .max(64)
      .default([])
      .describe("Model name prefixes served (families, LoRA adapters such as `llama-3-8b:`)."),
    weight: z.number().min(0.01).max(1000).default(1).describe("Capacity weight: relative throughput of one member of this pool."),
    gpu: z.string().regex(/^[A-Za-z0-9._-]{0,32}$/).default("").describe("GPU type label, for stats and logs only."),
    endpoints: z.array(endpoint).max(1024).default([]).describe("Members as ip:port; required in endpoint steering mode."),
    fallback: ident.optional().describe("Pool to use when every member of this pool is ejected or saturated."),
    maxInFlight: z
      .number()
      .int()
      .min(1)
      .max(1_000_000)
      .default(64)
      .describe("In-flight requests per member (scaled by weight) at which a member counts as saturated."),
  })
  .strict();

export const ModelSchema = z
  .object({
    name: modelName.describe("Model name (exact)."),
    priority: z.number().int().min(-100).max(100).default(0).describe("Default priority of requests for this model."),
  })
  .strict();

export const PluginConfigSchema = z
  .object({
    name: ident
      .default("inference-router")
      .describe("Prefix of this plugin's shared-data keys and stats; keep it unique per proxy."),
    steering: z.enum(["pool", "endpoint"]).default("pool").describe("pool: set the pool header; endpoint: set ip:port[,fallback...]."),
    headers: z
      .object({
        protocol: headerName.default("x-inference-protocol"),
        model: headerName.default("x-inference-model"),
        class: headerName.default("x-inference-class"),
        priority: headerName.default("x-inference-priority"),
        pool: headerName.default("x-inference-pool"),
        endpoint: headerName.default("x-gateway-destination-endpoint"),
        modelOverride: headerName.optional().describe("Read the model from this request header when present."),
        priorityIn: headerName.optional().describe("Read the client's priority from this header (integer -100..100)."),
      })
      .strict()
      .default({
        protocol: "x-inference-protocol",
        model: "x-inference-model",
        class: "x-inference-class",
        priority: "x-inference-priority",
        pool: "x-inference-pool",
        endpoint: "x-gateway-destination-endpoint",
      }),
    body: z
      .object({
        enabled: z.boolean().default(false).describe("Read the first bytes of the body to classify (Envoy >= 1.35 with allow_on_headers_stop_iteration)."),
        maxBytes: z.number().int().min(256).max(1_048_576).default(65_536).describe("Bytes of body inspected at most."),
        timeoutMs: z.number().int().min(10).max(60_000).default(500).describe("Longest a request is held for its body."),
      })
      .strict()
      .default({ enabled: false, maxBytes: 65_536, timeoutMs: 500 }),
    pools: z.array(PoolSchema).min(1).max(64),
    models: z.array(ModelSchema).max(1024).default([]),
    scoring: z
      .object({
        inFlight: z.number().min(0).max(100).default(1).describe("Weight of in-flight requests (per unit of capacity)."),
        queue: z.number().min(0).max(100).default(2).describe("Weight of the server-reported queue."),
        kvCache: z.number().min(0).max(100).default(4).describe("Weight of KV-cache utilisation (0..1)."),
        sampleAbove: z.number().int().min(2).max(1024).default(16).describe("Pools larger than this are sampled by power of two choices."),
        staleAfterMs: z.number().int().min(100).max(600_000).default(5000).describe("Server-reported signals older than this are stale."),
      })
      .strict()
      .default({ inFlight: 1, queue: 2, kvCache: 4, sampleAbove: 16, staleAfterMs: 5000 }),
    saturation: z
      .object({
        queue: z.number().min(0).max(1_000_000).default(8).describe("Reported queue depth at which a member is saturated."),
        kvCache: z.number().min(0).max(1).default(0.9).describe("KV-cache utilisation at which a member is saturated."),
      })
      .strict()
      .default({ queue: 8, kvCache: 0.9 }),
    shedding: z
      .object({
        belowPriority: z.number().int().min(-101).max(101).default(0).describe("When all are saturated, requests with priority below this get 429."),
        retryAfterSeconds: z.number().int().min(1).max(3600).default(1),
      })
      .strict()
      .default({ belowPriority: 0, retryAfterSeconds: 1 }),
    unknownModel: z.enum(["reject", "passthrough"]).default("reject").describe("No pool serves the model: 404 (reject) or route untouched."),
    outlier: z
      .object({
        consecutiveErrors: z.number().int().min(1).max(1000).default(3),
        baseEjectionMs: z.number().int().min(100).max(3_600_000).default(5000),
        maxEjectionMs: z.number().int().min(100).max(3_600_000).default(300_000),
        maxEjectionPercent: z.number().int().min(0).max(100).default(50),
      })
      .strict()
      .default({ consecutiveErrors: 3, baseEjectionMs: 5000, maxEjectionMs: 300_000, maxEjectionPercent: 50 }),
  })
  .strict()
  .superRefine((cfg, ctx) => {
    const names = new Set<string>();
    cfg.pools.forEach((p, i) => {
      if (names.has(p.name)) ctx.addIssue({ code: "custom", path: ["pools", i, "name"], message: `duplicate pool name "${p.name}"` });
      names.add(p.name);
      if (cfg.steering === "endpoint" && p.endpoints.length === 0)
        ctx.addIssue({ code: "custom", path: ["pools", i, "endpoints"], message: "endpoint steering needs at least one endpoint per pool" });
      if (p.models.length === 0 && p.modelPrefixes.length === 0)
        ctx.addIssue({ code: "custom", path: ["pools", i, "models"], message: "a pool must serve at least one model or model prefix" });
    });
    cfg.pools.forEach((p, i) => {
      if (p.fallback !== undefined && !names.has(p.fallback))
        ctx.addIssue({ code: "custom", path: ["pools", i, "fallback"], message: `unknown pool "${p.fallback}"` });
      if (p.fallback === p.name) ctx.addIssue({ code: "custom", path: ["pools", i, "fallback"], message: "a pool cannot fall back to itself" });
    });
    const h = cfg.headers;
    const written = [h.protocol, h.model, h.class, h.priority, h.pool, h.endpoint];
    if (new Set(written).size !== written.length)
      ctx.addIssue({ code: "custom", path: ["headers"], message: "header names must be distinct" });
    if (cfg.outlier.maxEjectionMs < cfg.outlier.baseEjectionMs)
      ctx.addIssue({ code: "custom", path: ["outlier", "maxEjectionMs"], message: "must be >= baseEjectionMs" });
  });

export type PluginConfig = z.infer<typeof PluginConfigSchema>;
export type PluginConfigInput = z.input<typeof PluginConfigSchema>;

/** Parses and fills defaults; throws a ZodError listing every problem with its path. */
export function parsePluginConfig(input: unknown): PluginConfig {
  return PluginConfigSchema.parse(input);
}

/** JSON Schema for editors and for documentation. */
export function pluginConfigJsonSchema(): unknown {
  return z.toJSONSchema(PluginConfigSchema, { io: "input" });
}
