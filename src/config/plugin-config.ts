// The filter's plugin configuration: the JSON Envoy hands to proxy_on_configure (a WasmPlugin's `pluginConfig`,
// or the StringValue `configuration` of an Envoy wasm PluginConfig). This schema is the single definition:
// the toolkit generates configs that pass it, the README documents it, and assembly/router/config.ts enforces the
// same rules inside the filter (tests feed the same documents to both and expect the same verdicts).
import { z } from "zod";
import { METRICS_ENGINES } from "./engines.js";

/** An RFC 7230 token, lower case: what Envoy accepts as a header name we write. */
const headerName = z.string().regex(/^[a-z0-9!#$%&'*+.^_`|~-]{1,64}$/, "must be a lower-case HTTP header name of 1-64 token characters");

/** Names that end up in stats, headers and shared-data keys: short and plain. */
const ident = z
  .string()
  .regex(
    /^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/,
    "must be 1-63 characters of letters, digits, '.', '_' or '-', starting with a letter or digit",
  );

/**
 * Model names as clients send them (OpenAI ids, KServe names, LoRA adapter ids such as `base:adapter`, and any
 * UTF-8 name a server accepts, e.g. `café-7b` or `模型`): 1-256 bytes of UTF-8 without control characters
 * (C0, DEL, C1). Matched exactly, byte for byte: no normalisation, so a look-alike
 * (homoglyph, full-width form) is a different name. The filter enforces the same rule (config-parse.ts).
 */
export const MODEL_NAME_MAX_BYTES = 256;
const MODEL_NAME_RULE = "must be 1-256 bytes of UTF-8 without control characters";
const modelName = z
  .string()
  // The pattern (code points, no control characters, no lone surrogates) names the filter's checker; the byte
  // bound is the refine. Both carry the same message, as the filter reports one.
  .regex(/^[^\x00-\x1f\x7f-\x9f\ud800-\udfff]{1,256}$/u, MODEL_NAME_RULE)
  .refine((s) => isModelName(s), MODEL_NAME_RULE);

/** The rule behind `modelName` (exported for the toolkit and tests). */
export function isModelName(s: string): boolean {
  if (s.length === 0) return false;
  if (Buffer.byteLength(s, "utf8") > MODEL_NAME_MAX_BYTES) return false;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x20 || (c >= 0x7f && c <= 0x9f)) return false;
    if (c >= 0xd800 && c <= 0xdfff) {
      // a lone surrogate has no UTF-8 form
      const hi = c <= 0xdbff,
        next = s.charCodeAt(i + 1);
      if (!hi || !(next >= 0xdc00 && next <= 0xdfff)) return false;
      i++;
    }
  }
  return true;
}

/**
 * Request headers that other routing systems read to choose an upstream or a route. A client that sets one
 * could steer through our sidecar into a mesh that also runs that system, so the filter removes them from
 * every request (configurable: `headers.stripInbound`). Who reads each (checked in their sources, Dec 2026):
 *  - x-gateway-destination-endpoint-subset: Gateway API Inference Extension / llm-d endpoint picker — the
 *    subset of endpoints the EPP must pick from (docs/proposals/004-endpoint-picker-protocol; carried as
 *    `envoy.lb.subset_hint` metadata, which some data planes fill from a header of that name).
 *  - x-envoy-original-dst-host: Envoy's ORIGINAL_DST cluster with use_http_header sends the request to the
 *    ip:port in this header.
 *  - target-pod, routing-strategy: AIBrix gateway plugin (HeaderTargetPod, HeaderRoutingStrategy: the client may
 *    pick the routing algorithm; target-pod is the pod address its Envoy routes to).
 *  - x-ai-eg-model: Envoy AI Gateway — AIGatewayRoute rules match on it (the gateway sets it from the body).
 *  - x-ai-eg-upstream-host: named by issue 12 for Envoy AI Gateway; not found in the sources we could read,
 *    stripped as a precaution.
 *  - x-higress-target-cluster: Higress cluster_header routing (ai-load-balancer / model-router plugins write
 *    it and Envoy routes to the named cluster).
 */
export const FOREIGN_STEERING_HEADERS = [
  "x-gateway-destination-endpoint-subset",
  "x-envoy-original-dst-host",
  "target-pod",
  "routing-strategy",
  "x-ai-eg-model",
  "x-ai-eg-upstream-host",
  "x-higress-target-cluster",
] as const;

/** Largest listener buffer limit the toolkit sets or the filter accepts (64 MiB). */
export const BUFFER_LIMIT_MAX = 67_108_864;

/** An mTLS peer identity: a SPIFFE principal (exact) or `ns:<kubernetes namespace>` (any principal `…/ns/<ns>/sa/…`). */
const trustedPeer = z
  .string()
  .regex(
    /^(?:spiffe:\/\/[\x21-\x7e]{1,240}|ns:[a-z0-9](?:[-a-z0-9]{0,61}[a-z0-9])?)$/,
    "must be spiffe://<trust-domain>/<path> or ns:<namespace>",
  );

/** A Prometheus label value as a server may emit it (spaces, quotes, backslashes, newlines, any script): the
 *  unescaped text; the filter compares it with the exposition's escaped form. Lone surrogates have no UTF-8 form. */
export const labelValue = z.string().regex(/^[^\ud800-\udfff]{1,256}$/u, "must be 1-256 characters of text (no lone surrogates)");

/** `ip:port` for IPv4, `[ip]:port` for IPv6: the form Envoy's override_host and ORIGINAL_DST accept. */
const endpoint = z
  .string()
  .regex(
    /^(?:(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(?:\.(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}|\[[0-9A-Fa-f:.]{2,45}\]):(?:[1-9]\d{0,3}|[1-5]\d{4}|6[0-4]\d{3}|65[0-4]\d{2}|655[0-2]\d|6553[0-5])$/,
    "must be ip:port (IPv4) or [ip]:port (IPv6)",
  );

/** Envoy cluster names (Istio's `outbound|<port>|<subset>|<fqdn>`), authorities: visible ASCII, no spaces. */
const clusterName = z.string().regex(/^[\x21-\x7e]{1,255}$/, "must be 1-255 visible ASCII characters (no spaces)");

/** Prometheus series selection for engine `custom`. */
export const SeriesSchema = z
  .object({
    name: z
      .string()
      .regex(/^[A-Za-z_:][A-Za-z0-9_:]{0,199}$/, "must be a Prometheus metric name")
      .describe("Metric name."),
    labels: z
      .record(
        z.string().regex(/^[A-Za-z_][A-Za-z0-9_]{0,63}$/, "must be a Prometheus label name"),
        z.string().regex(/^[\x20\x21\x23-\x5b\x5d-\x7e]{0,256}$/, "must be 0-256 printable ASCII characters without '\"' or '\\'"),
      )
      .optional()
      .describe("Labels a sample must carry (exact values)."),
    scale: z.number().min(-1e9).max(1e9).default(1).describe("Multiplier applied to the value (e.g. 0.01 for a percentage)."),
  })
  .strict();

export const MetricsSchema = z
  .object({
    cluster: clusterName.describe("Envoy cluster the filter's metrics calls go to, e.g. `outbound|8000||vllm-a.llm.svc.cluster.local`."),
    path: z
      .string()
      .regex(/^\/[\x21-\x7e]{0,254}$/, "must be an absolute path such as /metrics")
      .default("/metrics")
      .describe("Path polled."),
    engine: z.enum(METRICS_ENGINES).default("vllm").describe("Metric-name preset of the model server; `custom` takes `series`."),
    authority: clusterName.optional().describe("`:authority` of the calls; default: the fqdn (and port) in the cluster name."),
    timeoutMs: z.number().int().min(10).max(60_000).default(1000).describe("Timeout of one metrics call."),
    modelLabelFilter: labelValue
      .optional()
      .describe("Use only series whose model label has this value (multi-model servers); any label value, unescaped."),
    series: z
      .object({
        queue: z.array(SeriesSchema).max(8).default([]).describe("Series holding the number of waiting requests."),
        running: z.array(SeriesSchema).max(8).default([]).describe("Series holding the number of running requests."),
        kvCache: z.array(SeriesSchema).max(8).default([]).describe("Series holding KV-cache use, 0..1."),
      })
      .strict()
      .optional()
      .describe("engine custom: which series hold the queue, running and KV-cache signals (first present wins)."),
    endpointClusters: z
      .record(endpoint, clusterName)
      .optional()
      .describe("ip:port → cluster, for setups with one cluster per endpoint (else calls carry the endpoint header)."),
  })
  .strict();

export const DiscoverySchema = z
  .object({
    enabled: z.boolean().default(false).describe("Learn extra models (they add to `models`, which stay the floor)."),
    path: z
      .string()
      .regex(/^\/[\x21-\x7e]{0,254}$/, "must be an absolute path such as /v1/models")
      .default("/v1/models")
      .describe("OpenAI `/v1/models` or KServe v2 `/v2/repository/index`."),
    intervalMs: z.number().int().min(1000).max(3_600_000).default(30_000).describe("Period of discovery calls."),
  })
  .strict();

export const PoolSchema = z
  .object({
    name: ident.describe("Pool name: the value of the pool steering header and the `pool` label of stats."),
    models: z.array(modelName).max(256).default([]).describe("Exact model names this pool serves."),
    modelPrefixes: z
      .array(modelName)
      .max(64)
      .default([])
      .describe("Model name prefixes served (families, LoRA adapters such as `llama-3-8b:`)."),
    weight: z
      .number()
      .min(0.01)
      .max(1000)
      .optional()
      .describe(
        "Capacity weight: relative throughput of one member of this pool. Unset: learned from the members' observed request durations (`capacity`).",
      ),
    gpu: z
      .string()
      .regex(/^[A-Za-z0-9._-]{0,32}$/)
      .default("")
      .describe("GPU type label, for stats and logs only."),
    endpoints: z.array(endpoint).max(1024).default([]).describe("Members as ip:port; required in endpoint steering mode."),
    hosts: z
      .array(
        z
          .string()
          .min(1)
          .max(259)
          .regex(
            /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*(:([1-9]\d{0,3}|[1-5]\d{4}|6[0-4]\d{3}|65[0-4]\d{2}|655[0-2]\d|6553[0-5]))?$/,
            "must be a lower-case host name, optionally with :port",
          ),
      )
      .max(64)
      .default([])
      .describe(
        "The :authority values (host or host:port) of the services this pool serves. When any pool lists hosts, requests to other authorities pass unsteered (only the owned headers are removed); with none, every request is handled.",
      ),
    fallback: ident.optional().describe("Pool to use when every member of this pool is ejected or saturated."),
    maxInFlight: z
      .number()
      .int()
      .min(1)
      .max(1_000_000)
      .default(64)
      .describe("In-flight requests per member (scaled by weight) at which a member counts as saturated."),
    metrics: MetricsSchema.optional().describe("Poll this pool's model servers for load (Prometheus text)."),
    orca: z
      .boolean()
      .optional()
      .describe(
        "Ask this pool's servers for an ORCA load report on every request steered to them (`endpoint-load-metrics-format: JSON`, replacing any client value; read when `loadReports.orca`). Default: whether the pool's engine (`metrics.engine`, vllm without metrics) answers it: vllm and triton-trtllm yes, others no.",
      ),
    discovery: DiscoverySchema.optional().describe("Learn extra models per pool from /v1/models or /v2/repository/index."),
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
    name: ident.default("inference-router").describe("Prefix of this plugin's shared-data keys and stats; keep it unique per proxy."),
    steering: z.enum(["pool", "endpoint"]).default("pool").describe("pool: set the pool header; endpoint: set ip:port[,fallback...]."),
    headers: z
      .object({
        protocol: headerName.default("x-inference-protocol").describe("Written: the protocol classified."),
        model: headerName.default("x-inference-model").describe("Written: the model name."),
        class: headerName.default("x-inference-class").describe("Written: the request class."),
        priority: headerName.default("x-inference-priority").describe("Written: the request's priority."),
        pool: headerName.default("x-inference-pool").describe("Written in pool steering: the pool picked."),
        endpoint: headerName
          .default("x-gateway-destination-endpoint")
          .describe("Written in endpoint steering: ip:port[,fallback...] picked (Gateway API Inference Extension convention)."),
        version: headerName.default("x-inference-model-version").describe("Written: the model version (path segment or protobuf field)."),
        label: headerName.default("x-inference-model-label").describe("Written: the TF Serving version label (`/labels/{l}`)."),
        modelOverride: headerName.optional().describe("Read the model from this request header, only from `trustedPeers`."),
        priorityIn: headerName
          .optional()
          .describe("Read the client's priority from this header (integer -100..100), only from `trustedPeers`."),
        stripInbound: z
          .array(headerName)
          .max(32)
          .default([...FOREIGN_STEERING_HEADERS])
          .describe("Request headers other routing systems steer on; removed from every request."),
        trustedPeers: z
          .array(trustedPeer)
          .max(64)
          .default([])
          .describe("mTLS peers whose modelOverride / priorityIn headers are honoured: `spiffe://…` principals or `ns:<namespace>`."),
      })
      .strict()
      .default({
        protocol: "x-inference-protocol",
        model: "x-inference-model",
        class: "x-inference-class",
        priority: "x-inference-priority",
        pool: "x-inference-pool",
        endpoint: "x-gateway-destination-endpoint",
        version: "x-inference-model-version",
        label: "x-inference-model-label",
        stripInbound: [...FOREIGN_STEERING_HEADERS],
        trustedPeers: [],
      }),
    body: z
      .object({
        enabled: z
          .boolean()
          .default(false)
          .describe("Read the first bytes of the body to classify (Envoy >= 1.35 with allow_on_headers_stop_iteration)."),
        maxBytes: z.number().int().min(256).max(1_048_576).default(65_536).describe("Bytes of body inspected at most."),
        timeoutMs: z.number().int().min(10).max(60_000).default(500).describe("Longest a request is held for its body."),
        bufferLimitBytes: z
          .number()
          .int()
          .min(16_384)
          .max(BUFFER_LIMIT_MAX)
          .default(1_048_576)
          .describe("Envoy's per-connection buffer limit on this listener; the filter stops holding a body before it (no 413)."),
      })
      .strict()
      .default({ enabled: false, maxBytes: 65_536, timeoutMs: 500, bufferLimitBytes: 1_048_576 }),
    pools: z.array(PoolSchema).min(1).max(64).describe("The pools of model servers (one per GPU type or model set)."),
    models: z.array(ModelSchema).max(1024).default([]).describe("Per-model settings."),
    scoring: z
      .object({
        inFlight: z.number().min(0).max(100).default(0.25).describe("Weight of in-flight requests (per unit of capacity)."),
        queue: z.number().min(0).max(100).default(2).describe("Weight of the server-reported queue."),
        kvCache: z.number().min(0).max(100).default(4).describe("Weight of KV-cache utilisation (0..1)."),
        sampleAbove: z.number().int().min(2).max(1024).default(16).describe("Pools larger than this are sampled by power of two choices."),
        staleAfterMs: z.number().int().min(100).max(600_000).default(5000).describe("Server-reported signals older than this are stale."),
      })
      .strict()
      .default({ inFlight: 0.25, queue: 2, kvCache: 4, sampleAbove: 16, staleAfterMs: 5000 }),
    capacity: z
      .object({
        learn: z
          .boolean()
          .default(true)
          .describe(
            "Learn each upstream's capacity (completions per second per in-flight request) where its pool sets no `weight`; off: such pools count as weight 1.",
          ),
        halfLifeMs: z
          .number()
          .int()
          .min(1000)
          .max(3_600_000)
          .default(10_000)
          .describe(
            "Memory of learned capacity: evidence this old weighs half, so an idle upstream drifts back to the mean and is tried again.",
          ),
      })
      .strict()
      .default({ learn: true, halfLifeMs: 10_000 }),
    saturation: z
      .object({
        queue: z.number().min(0).max(1_000_000).default(8).describe("Reported queue depth at which a member is saturated."),
        kvCache: z.number().min(0).max(1).default(0.9).describe("KV-cache utilisation at which a member is saturated."),
      })
      .strict()
      .default({ queue: 8, kvCache: 0.9 }),
    shedding: z
      .object({
        belowPriority: z
          .number()
          .int()
          .min(-101)
          .max(101)
          .default(0)
          .describe("When all are saturated, requests with priority below this get 429."),
        retryAfterSeconds: z.number().int().min(1).max(3600).default(1).describe("`Retry-After` of a 429."),
      })
      .strict()
      .default({ belowPriority: 0, retryAfterSeconds: 1 }),
    unknownModel: z
      .enum(["reject", "passthrough"])
      .default("reject")
      .describe("No pool serves the model: 404 (reject) or route untouched."),
    outlier: z
      .object({
        consecutiveErrors: z.number().int().min(1).max(1000).default(3).describe("Error run (5xx, resets) that ejects an upstream."),
        baseEjectionMs: z.number().int().min(100).max(3_600_000).default(5000).describe("First ejection; doubles on each repeat."),
        maxEjectionMs: z.number().int().min(100).max(3_600_000).default(300_000).describe("Longest ejection."),
        maxEjectionPercent: z
          .number()
          .int()
          .min(0)
          .max(100)
          .default(50)
          .describe("Share of a pool that may be ejected at once (at least one member; 0 disables ejection)."),
      })
      .strict()
      .default({ consecutiveErrors: 3, baseEjectionMs: 5000, maxEjectionMs: 300_000, maxEjectionPercent: 50 }),
    polling: z
      .object({
        intervalMs: z.number().int().min(50).max(600_000).default(1000).describe("Period of metrics polls."),
        probesPerTick: z.number().int().min(1).max(1024).default(8).describe("Targets probed per poll above subsetAbove."),
        subsetAbove: z
          .number()
          .int()
          .min(1)
          .max(65_536)
          .default(16)
          .describe("Above this many targets a poll probes a random, oldest-first subset."),
        probesPerRequest: z
          .number()
          .min(0)
          .max(64)
          .default(0.5)
          .describe(
            "Above subsetAbove: probes each worker earns per request it steers (at most probesPerTick per poll), so probing follows traffic, not the number of proxies.",
          ),
        leaseMs: z.number().int().min(100).max(600_000).optional().describe("Poller lease; default 3 × intervalMs (at least 1000)."),
      })
      .strict()
      .default({ intervalMs: 1000, probesPerTick: 8, subsetAbove: 16, probesPerRequest: 0.5 }),
    loadReports: z
      .object({
        orca: z.boolean().default(true).describe("Read ORCA `endpoint-load-metrics` response headers."),
        queueHeader: headerName.optional().describe("Response header carrying the server's queue depth."),
        kvCacheHeader: headerName.optional().describe("Response header carrying KV-cache use (0..1)."),
      })
      .strict()
      .default({ orca: true }),
    affinity: z
      .object({
        prefix: z
          .object({
            enabled: z.boolean().default(false).describe("Prefix-cache affinity (needs body.enabled)."),
            blockBytes: z.number().int().min(16).max(65_536).default(256).describe("Prompt bytes per hashed block."),
            blocks: z.number().int().min(1).max(64).default(4).describe("Blocks hashed at most."),
            tableSize: z
              .number()
              .int()
              .min(64)
              .max(1_048_576)
              .default(4096)
              .describe("Entries of the shared prefix table (fixed memory: 16 bytes each)."),
            maxLoadFactor: z
              .number()
              .min(1)
              .max(100)
              .default(2.5)
              .describe("Affinity holds while score ≤ least score × factor (also bounds LoRA affinity)."),
          })
          .strict()
          .default({ enabled: false, blockBytes: 256, blocks: 4, tableSize: 4096, maxLoadFactor: 2.5 }),
        lora: z.boolean().default(true).describe("Prefer upstreams whose polled LoRA state runs the requested adapter."),
      })
      .strict()
      .default({ prefix: { enabled: false, blockBytes: 256, blocks: 4, tableSize: 4096, maxLoadFactor: 2.5 }, lora: true }),
    decisionTrace: z
      .object({
        header: z
          .boolean()
          .default(false)
          .describe("Add the decision (reason, upstream, score, runner-up) as a response header; reveals upstream addresses to clients."),
        headerName: headerName.default("x-inference-router-decision").describe("Name of the decision response header."),
        log: z.boolean().default(false).describe("Log one decision line per request at info level (otherwise only at debug level)."),
      })
      .strict()
      .default({ header: false, headerName: "x-inference-router-decision", log: false }),
  })
  .strict()
  .superRefine((cfg, ctx) => {
    const names = new Set<string>();
    const endpoints = new Set<string>();
    cfg.pools.forEach((p, i) => {
      if (names.has(p.name)) ctx.addIssue({ code: "custom", path: ["pools", i, "name"], message: `duplicate pool name "${p.name}"` });
      names.add(p.name);
      if (cfg.steering === "endpoint" && p.endpoints.length === 0)
        ctx.addIssue({
          code: "custom",
          path: ["pools", i, "endpoints"],
          message: "endpoint steering needs at least one endpoint per pool",
        });
      if (p.models.length === 0 && p.modelPrefixes.length === 0)
        ctx.addIssue({ code: "custom", path: ["pools", i, "models"], message: "a pool must serve at least one model or model prefix" });
      // One load record per endpoint: an endpoint listed twice would split its in-flight count in two.
      p.endpoints.forEach((e, j) => {
        if (endpoints.has(e))
          ctx.addIssue({ code: "custom", path: ["pools", i, "endpoints", j], message: `endpoint "${e}" is listed more than once` });
        endpoints.add(e);
      });
    });
    cfg.pools.forEach((p, i) => {
      if (p.fallback !== undefined && !names.has(p.fallback))
        ctx.addIssue({ code: "custom", path: ["pools", i, "fallback"], message: `unknown pool "${p.fallback}"` });
      if (p.fallback === p.name)
        ctx.addIssue({ code: "custom", path: ["pools", i, "fallback"], message: "a pool cannot fall back to itself" });
    });
    const h = cfg.headers;
    const written = [h.protocol, h.model, h.class, h.priority, h.pool, h.endpoint, h.version, h.label];
    if (new Set(written).size !== written.length)
      ctx.addIssue({ code: "custom", path: ["headers"], message: "header names must be distinct" });
    if (cfg.outlier.maxEjectionMs < cfg.outlier.baseEjectionMs)
      ctx.addIssue({ code: "custom", path: ["outlier", "maxEjectionMs"], message: "must be >= baseEjectionMs" });
    cfg.pools.forEach((p, i) => {
      const m = p.metrics;
      if (m && m.engine === "custom" && (!m.series || m.series.queue.length + m.series.running.length + m.series.kvCache.length === 0))
        ctx.addIssue({ code: "custom", path: ["pools", i, "metrics", "series"], message: "engine custom needs at least one series" });
      if (m && m.engine !== "custom" && m.series)
        ctx.addIssue({ code: "custom", path: ["pools", i, "metrics", "series"], message: "series is only for engine custom" });
      if (m && m.endpointClusters)
        for (const ep of Object.keys(m.endpointClusters))
          if (!p.endpoints.includes(ep))
            ctx.addIssue({
              code: "custom",
              path: ["pools", i, "metrics", "endpointClusters"],
              message: `${ep} is not an endpoint of this pool`,
            });
      if (p.discovery?.enabled && !m)
        ctx.addIssue({ code: "custom", path: ["pools", i, "discovery"], message: "discovery needs metrics (its cluster)" });
    });
    if (cfg.polling.leaseMs !== undefined && cfg.polling.leaseMs <= cfg.polling.intervalMs)
      ctx.addIssue({ code: "custom", path: ["polling", "leaseMs"], message: "must be > intervalMs" });
    if (cfg.affinity.prefix.enabled && !cfg.body.enabled)
      ctx.addIssue({ code: "custom", path: ["affinity", "prefix", "enabled"], message: "needs body.enabled" });
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
