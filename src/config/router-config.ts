// The router configuration: the one file an operator writes. The toolkit turns it into the Istio resources,
// the Envoy fragments, the filter's pluginConfig and a local docker-compose test bed.
// Every field has a description: they become the JSON Schema editors use (`inference-router schema`).
import { z } from "zod";
import { ROUTER_ENGINES } from "./engines.js";
import { isModelName, labelValue, PluginConfigSchema } from "./plugin-config.js";

const dns1123Label = z
  .string()
  .regex(/^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/, "must be a DNS-1123 label: lower-case letters, digits and '-', at most 63 characters");

const ident = z
  .string()
  .regex(
    /^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/,
    "must be 1-63 characters of letters, digits, '.', '_' or '-', starting with a letter or digit",
  );

// Same rule as the plugin config (UTF-8, exact; see plugin-config.ts).
const modelName = z.string().refine((s) => isModelName(s), "must be 1-256 bytes of UTF-8 without control characters");

const hostName = z
  .string()
  .regex(
    /^(?=.{1,253}$)[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/,
    "must be a lower-case DNS name such as vllm-a100 or vllm-a100.llm.svc.cluster.local",
  );

const port = z.number().int().min(1).max(65535);

/** host or host:port as clients write it in :authority (lower case). */
const authority = z
  .string()
  .regex(
    /^(?=.{1,259}$)[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*(:([1-9]\d{0,3}|[1-5]\d{4}|6[0-4]\d{3}|65[0-4]\d{2}|655[0-2]\d|6553[0-5]))?$/,
    "must be a lower-case host name, optionally with :port, such as llm.example.com or llm.example.com:443",
  );

/** The API group istiod accepts for each targetRef kind (pkg/config/validation/validation.go allowedTargetRefs). */
export const TARGET_REF_GROUPS = { Gateway: "gateway.networking.k8s.io", Service: "", ServiceEntry: "networking.istio.io" } as const;

const endpoint = z.string().regex(/^(\d{1,3}(\.\d{1,3}){3}|\[[0-9A-Fa-f:.]+\]):\d{1,5}$/, "must be ip:port (IPv4) or [ip]:port (IPv6)");

const labels = z.record(
  z.string().regex(/^([a-z0-9.-]{1,253}\/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$/, "must be a Kubernetes label key"),
  z.string().regex(/^(([A-Za-z0-9][-A-Za-z0-9_.]{0,61})?[A-Za-z0-9])?$/, "must be a Kubernetes label value"),
);

const version = z.string().regex(/^\d+\.\d+(\.\d+)?$/, "must be a version like 1.28 or 1.36.2");

export const MetricsSourceSchema = z
  .object({
    cluster: z
      .string()
      .min(1)
      .optional()
      .describe(
        "An Envoy cluster that already exists in the proxy (e.g. `outbound|9090||x.ns.svc.cluster.local`). Wins over service/port.",
      ),
    service: hostName
      .optional()
      .describe("Host serving the metrics. A short name is qualified with the router namespace. Defaults to the pool's service."),
    port: port.optional().describe("Port of the metrics endpoint. Defaults to the pool's service port."),
    path: z
      .string()
      .regex(/^\/[\x21-\x7e]*$/, "must be an absolute path such as /metrics")
      .default("/metrics"),
    engine: z
      .enum(ROUTER_ENGINES)
      .default("vllm")
      .describe("Metric-name preset of the model server (src/config/engines.ts: vLLM, SGLang, TensorRT-LLM, Triton, TGI)."),
    external: z
      .boolean()
      .default(false)
      .describe("The host is outside the mesh registry: generate a ServiceEntry so the proxy gets a cluster for it."),
    timeoutMs: z.number().int().min(10).max(60_000).optional().describe("Timeout of one metrics call (default 1000)."),
    modelLabelFilter: labelValue.optional().describe("Multi-model servers: use only series of this model."),
  })
  .strict();

export const PoolServiceSchema = z
  .object({
    host: hostName.describe("Kubernetes service of this pool's members (short name or FQDN)."),
    port: port.describe("Service port the model servers listen on."),
  })
  .strict();

export const RouterPoolSchema = z
  .object({
    name: dns1123Label.describe("Pool name: value of the pool header, DestinationRule subset name and `pool` label value."),
    models: z.array(modelName).default([]).describe("Exact model names this pool serves."),
    modelPrefixes: z.array(modelName).default([]).describe("Model name prefixes served (families, LoRA adapters)."),
    weight: z
      .number()
      .min(0.01)
      .max(1000)
      .optional()
      .describe("Relative throughput of one member of this pool; unset: the filter learns it (`capacity`)."),
    gpu: z
      .string()
      .regex(/^[A-Za-z0-9._-]{0,32}$/)
      .default("")
      .describe("GPU type label (a100, l4, ...), for stats and docs."),
    endpoints: z.array(endpoint).default([]).describe("Members as ip:port. Required in endpoint steering mode."),
    service: PoolServiceSchema.optional().describe(
      "Per-pool Kubernetes service. Without it, pool mode uses DestinationRule subsets of `frontend`.",
    ),
    fallback: dns1123Label.optional().describe("Pool used when every member of this pool is ejected or saturated."),
    maxInFlight: z.number().int().min(1).max(1_000_000).optional().describe("In-flight requests per member at which it is saturated."),
    metrics: MetricsSourceSchema.optional().describe("Where the filter reads this pool's load signals."),
    orca: z
      .boolean()
      .optional()
      .describe("Ask this pool's servers for ORCA load reports in responses (the filter's `pools[].orca`; default from the engine)."),
  })
  .strict();

export const RouterConfigSchema = z
  .object({
    apiVersion: z.literal("inference-router/v1alpha1").default("inference-router/v1alpha1"),
    name: dns1123Label.default("inference-router").describe("Base name of every generated resource."),
    namespace: dns1123Label.describe("Namespace of the generated resources (and of the router's workloads)."),
    workload: z
      .object({
        selector: z
          .object({ matchLabels: labels.refine((m) => Object.keys(m).length > 0, "needs at least one label") })
          .strict()
          .optional()
          .describe("Proxies that run the filter, by pod labels."),
        targetRefs: z
          .array(
            z
              .object({
                group: z
                  .string()
                  .optional()
                  .describe('API group; defaults to the kind\'s own (gateway.networking.k8s.io, networking.istio.io, "" for Service).'),
                kind: z.enum(["Gateway", "Service", "ServiceEntry"]),
                name: dns1123Label,
              })
              .strict(),
          )
          .min(1)
          .max(16)
          .optional()
          .describe(
            "Proxies that run the filter, by reference: kind Gateway for a Gateway API gateway; Service/ServiceEntry attach to waypoints only.",
          ),
        context: z
          .enum(["SIDECAR_OUTBOUND", "GATEWAY"])
          .default("SIDECAR_OUTBOUND")
          .describe("Where the filter runs: in client sidecars (outbound) or in a gateway."),
      })
      .strict()
      .superRefine((w, ctx) => {
        if ((w.selector === undefined) === (w.targetRefs === undefined))
          ctx.addIssue({ code: "custom", message: "set exactly one of workload.selector or workload.targetRefs" });
        (w.targetRefs ?? []).forEach((r, i) => {
          const want = TARGET_REF_GROUPS[r.kind];
          if (r.group !== undefined && r.group !== want)
            ctx.addIssue({
              code: "custom",
              path: ["targetRefs", i, "group"],
              message: `kind ${r.kind} is in group "${want}" (istiod rejects any other); fix: use "${want}" or leave group out`,
            });
        });
      }),
    frontend: z
      .object({
        host: hostName.describe("The service clients call for inference (short name or FQDN)."),
        port: port.describe("Its port."),
        gateways: z
          .array(z.string().min(1))
          .optional()
          .describe("Gateways (`<ns>/<name>`) whose routes the generated VirtualService joins; omit for sidecars (mesh)."),
        authorities: z
          .array(authority)
          .max(32)
          .default([])
          .describe(
            "Other host[:port] names clients send in :authority for this service (e.g. a gateway's public host); the filter acts only on requests to the service's names and these.",
          ),
        headless: z
          .boolean()
          .default(false)
          .describe(
            "The Service is headless (clusterIP: None): Istio gives it an ORIGINAL_DST cluster, which endpoint steering cannot patch.",
          ),
      })
      .strict()
      .describe("The inference service clients address; its routes and cluster are what the router steers."),
    wasm: z
      .object({
        url: z
          .string()
          .regex(/^(oci|https|file):\/\/\S+$/, "must start with oci://, https:// or file://")
          .describe("Where proxies fetch the filter module."),
        sha256: z
          .string()
          .regex(/^[0-9a-f]{64}$/, "must be 64 lower-case hex characters")
          .optional()
          .describe("sha256 of the module. `generate --wasm FILE` computes it from the built module instead."),
        imagePullPolicy: z.enum(["UNSPECIFIED_POLICY", "IfNotPresent", "Always"]).default("IfNotPresent"),
        imagePullSecret: dns1123Label.optional(),
      })
      .strict(),
    pluginName: ident.default("inference-router").describe("Envoy root_id; also the filter's shared-data/stat prefix."),
    phase: z.enum(["UNSPECIFIED_PHASE", "AUTHN", "AUTHZ", "STATS"]).default("UNSPECIFIED_PHASE"),
    priority: z.number().int().min(-1000).max(1000).optional().describe("Order within the phase (higher first)."),
    failStrategy: z
      .enum(["FAIL_CLOSE", "FAIL_OPEN", "FAIL_RELOAD"])
      .default("FAIL_OPEN")
      .describe(
        "What proxies do when the module fails, including when it cannot be fetched: FAIL_OPEN skips the filter (Istio's agent installs an allow-all RBAC filter in its place); FAIL_CLOSE/FAIL_RELOAD deny every request through it (a deny-all RBAC filter).",
      ),
    delivery: z
      .enum(["WasmPlugin", "TrafficExtension"])
      .default("WasmPlugin")
      .describe(
        "Istio resource delivering the module when body mode is off: WasmPlugin, or TrafficExtension (Istio >= 1.30, WasmPlugin's successor). Body mode always uses the ECDS EnvoyFilter.",
      ),
    steering: z
      .enum(["pool", "endpoint"])
      .default("pool")
      .describe(
        "pool: the filter sets x-inference-pool and routes pick the pool; endpoint: the filter sets ip:port and override_host picks it.",
      ),
    body: z
      .object({
        enabled: z.boolean().default(false).describe("Read the model from the request body (needs Envoy >= 1.35)."),
        maxBytes: z.number().int().min(256).max(1_048_576).default(65_536),
        timeoutMs: z.number().int().min(10).max(60_000).default(500),
      })
      .strict()
      .default({ enabled: false, maxBytes: 65_536, timeoutMs: 500 }),
    modelHeader: z
      .string()
      .regex(/^[a-z0-9-]{1,64}$/, "must be a lower-case HTTP header name")
      .optional()
      .describe(
        "Trusted request header naming the model (the header-only path for OpenAI-style requests where body mode is unavailable, Istio < 1.28). Only set it when clients you trust send it.",
      ),
    pools: z.array(RouterPoolSchema).min(1).max(64),
    priorities: z
      .record(modelName, z.number().int().min(-100).max(100))
      .default({})
      .describe("Default request priority per model (-100..100); lower is shed first."),
    unknownModel: z.enum(["reject", "passthrough"]).default("reject"),
    shedding: z
      .object({
        belowPriority: z.number().int().min(-101).max(101).default(0),
        retryAfterSeconds: z.number().int().min(1).max(3600).default(1),
      })
      .strict()
      .optional(),
    outlier: z
      .object({
        consecutiveErrors: z.number().int().min(1).max(1000).default(3),
        baseEjectionMs: z.number().int().min(100).max(3_600_000).default(5000),
        maxEjectionMs: z.number().int().min(100).max(3_600_000).default(300_000),
        maxEjectionPercent: z.number().int().min(0).max(100).default(50),
      })
      .strict()
      .optional(),
    hardening: z
      .object({
        allowedPrincipals: z
          .array(
            z
              .string()
              .regex(/^[^\s/]+\/ns\/[a-z0-9-]+\/sa\/[a-z0-9.-]+$/, "must be a SPIFFE-style principal <trust-domain>/ns/<ns>/sa/<sa>"),
          )
          .default([]),
        allowedServiceAccounts: z
          .array(z.object({ namespace: dns1123Label, name: z.string().regex(/^[a-z0-9.-]{1,253}$/) }).strict())
          .default([]),
        trustDomain: z.string().min(1).default("cluster.local"),
        gpuWorkloads: z
          .object({ matchLabels: labels })
          .strict()
          .optional()
          .describe("Labels of the GPU model-server pods the policies protect. Without it the policies cover the namespace."),
        peerAuthenticationStrict: z.boolean().default(false).describe("Emit a STRICT PeerAuthentication for the GPU workloads."),
      })
      .strict()
      .optional(),
    routing: z
      .object({
        poolLabel: z
          .string()
          .regex(/^([a-z0-9.-]{1,253}\/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$/)
          .default("inference.pool"),
        endpointHeader: z
          .string()
          .regex(/^[a-z0-9-]{1,64}$/)
          .optional()
          .describe(
            "Header the filter writes in endpoint steering (the filter's `headers.endpoint`); default x-gateway-destination-endpoint.",
          ),
        destinationHeader: z
          .string()
          .regex(/^[a-z0-9-]{1,64}$/)
          .optional()
          .describe("Deprecated name of endpointHeader."),
        poolHeader: z
          .string()
          .regex(/^[a-z0-9-]{1,64}$/)
          .default("x-inference-pool"),
      })
      .strict()
      .refine((r) => r.endpointHeader === undefined || r.destinationHeader === undefined, {
        message: "set endpointHeader only (destinationHeader is its deprecated name)",
      })
      .transform(({ poolLabel, endpointHeader, destinationHeader, poolHeader }) => ({
        poolLabel,
        endpointHeader: endpointHeader ?? destinationHeader ?? "x-gateway-destination-endpoint",
        poolHeader,
      }))
      .default({ poolLabel: "inference.pool", endpointHeader: "x-gateway-destination-endpoint", poolHeader: "x-inference-pool" }),
    scoring: PluginConfigSchema.shape.scoring
      .optional()
      .describe("Score weights, power-of-two sampling, staleness of reports (the filter's `scoring`)."),
    saturation: PluginConfigSchema.shape.saturation.optional().describe("When an upstream counts as full (the filter's `saturation`)."),
    capacity: PluginConfigSchema.shape.capacity
      .optional()
      .describe("Learned capacity of pools without `weight` (the filter's `capacity`)."),
    polling: PluginConfigSchema.shape.polling.optional().describe("Metrics polling: interval, subset probing, poller lease."),
    loadReports: PluginConfigSchema.shape.loadReports.optional().describe("Load reports read from responses (ORCA, plain headers)."),
    affinity: PluginConfigSchema.shape.affinity.optional().describe("Prefix-cache (body mode) and LoRA affinity, bounded by load."),
    decisionTrace: PluginConfigSchema.shape.decisionTrace
      .optional()
      .describe(
        "Decision trace: a response header and/or an info log line saying which upstream was picked and why (docs/observability.md).",
      ),
    versions: z
      .object({
        istio: version.default("1.28").describe("Oldest Istio the output must work with."),
        envoy: version.default("1.36").describe("Oldest Envoy the output must work with (Istio 1.28 ships Envoy 1.36)."),
      })
      .strict()
      .default({ istio: "1.28", envoy: "1.36" }),
  })
  .strict()
  .superRefine((cfg, ctx) => {
    const names = new Set<string>();
    cfg.pools.forEach((p, i) => {
      if (names.has(p.name)) ctx.addIssue({ code: "custom", path: ["pools", i, "name"], message: `duplicate pool name "${p.name}"` });
      names.add(p.name);
      if (p.models.length === 0 && p.modelPrefixes.length === 0)
        ctx.addIssue({ code: "custom", path: ["pools", i, "models"], message: "a pool must serve at least one model or model prefix" });
      if (cfg.steering === "endpoint" && p.endpoints.length === 0)
        ctx.addIssue({ code: "custom", path: ["pools", i, "endpoints"], message: "endpoint steering needs the ip:port of every member" });
    });
    cfg.pools.forEach((p, i) => {
      if (p.fallback !== undefined && (!names.has(p.fallback) || p.fallback === p.name))
        ctx.addIssue({
          code: "custom",
          path: ["pools", i, "fallback"],
          message: `must name another pool (have: ${[...names].join(", ")})`,
        });
    });
    for (const m of Object.keys(cfg.priorities)) {
      const served = cfg.pools.some((p) => p.models.includes(m) || p.modelPrefixes.some((x) => m.startsWith(x)));
      if (!served) ctx.addIssue({ code: "custom", path: ["priorities", m], message: `no pool serves model "${m}"` });
    }
    if (cfg.outlier && cfg.outlier.maxEjectionMs < cfg.outlier.baseEjectionMs)
      ctx.addIssue({ code: "custom", path: ["outlier", "maxEjectionMs"], message: "must be >= baseEjectionMs" });
    const h = cfg.hardening;
    if (h && h.allowedPrincipals.length + h.allowedServiceAccounts.length === 0 && !h.peerAuthenticationStrict)
      ctx.addIssue({
        code: "custom",
        path: ["hardening"],
        message: "name allowed clients or enable peerAuthenticationStrict (or drop the section)",
      });
    if (cfg.steering === "endpoint" && cfg.frontend.headless)
      ctx.addIssue({
        code: "custom",
        path: ["frontend", "headless"],
        message:
          "endpoint steering cannot run on a headless Service: Istio builds its cluster as ORIGINAL_DST (lb_policy CLUSTER_PROVIDED), which an override_host policy cannot replace; fix: give the Service a cluster IP or use steering: pool",
      });
  });

export type RouterConfig = z.infer<typeof RouterConfigSchema>;
export type RouterConfigInput = z.input<typeof RouterConfigSchema>;
export type RouterPool = RouterConfig["pools"][number];

/** JSON Schema (draft 2020-12) of the router config, for editors. */
export function routerConfigJsonSchema(): Record<string, unknown> {
  const schema = z.toJSONSchema(RouterConfigSchema, { io: "input", unrepresentable: "any" }) as Record<string, unknown>;
  return {
    ...schema,
    title: "inference-router router configuration",
  };
}
