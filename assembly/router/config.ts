// The plugin configuration as the filter holds it: the same fields and defaults as src/config/plugin-config.ts
// (the schema of record), parsed from the JSON Envoy hands to on_configure. Parsing is done once per
// configure; nothing here runs per request.

export const STEER_POOL: u8 = 0;
export const STEER_ENDPOINT: u8 = 1;

/** One Prometheus series selection (engine custom). */
export class SeriesConfig {
  name: string = "";
  /** [k0, v0, k1, v1, ...] */
  labels: Array<string> = [];
  /** Whether `labels` was given (an empty object is kept as such). */
  hasLabels: bool = false;
  scale: f64 = 1;
}

export class MetricsConfig {
  cluster: string = "";
  path: string = "/metrics";
  engine: string = "vllm";
  /** "" = derived from the cluster's fqdn. */
  authority: string = "";
  timeoutMs: i32 = 1000;
  /** "" when not configured. */
  modelLabelFilter: string = "";
  hasSeries: bool = false;
  queue: Array<SeriesConfig> = [];
  running: Array<SeriesConfig> = [];
  kvCache: Array<SeriesConfig> = [];
  /** [endpoint0, cluster0, ...]; hasEndpointClusters tells an empty object from an absent one. */
  endpointClusters: Array<string> = [];
  hasEndpointClusters: bool = false;
}

export class DiscoveryConfig {
  enabled: bool = false;
  path: string = "/v1/models";
  intervalMs: i32 = 30000;
}

export class PoolConfig {
  name: string = "";
  models: Array<string> = [];
  modelPrefixes: Array<string> = [];
  weight: f64 = 1;
  gpu: string = "";
  endpoints: Array<string> = [];
  /** "" when none. */
  fallback: string = "";
  maxInFlight: i32 = 64;
  metrics: MetricsConfig | null = null;
  discovery: DiscoveryConfig | null = null;
}

export class ModelConfig {
  name: string = "";
  priority: i32 = 0;
}

export class HeaderNames {
  protocol: string = "x-inference-protocol";
  model: string = "x-inference-model";
  klass: string = "x-inference-class";
  priority: string = "x-inference-priority";
  pool: string = "x-inference-pool";
  endpoint: string = "x-gateway-destination-endpoint";
  version: string = "x-inference-model-version";
  label: string = "x-inference-model-label";
  /** "" when not configured. */
  modelOverride: string = "";
  /** "" when not configured. */
  priorityIn: string = "";
  /** Foreign steering headers removed from every request (FOREIGN_STEERING_HEADERS in plugin-config.ts). */
  stripInbound: Array<string> = [
    "x-gateway-destination-endpoint-subset", "x-envoy-original-dst-host", "target-pod", "routing-strategy",
    "x-ai-eg-model", "x-ai-eg-upstream-host", "x-higress-target-cluster",
  ];
  /** mTLS peers whose modelOverride / priorityIn are honoured: "spiffe://…" or "ns:<namespace>". */
  trustedPeers: Array<string> = [];
}

export class BodyConfig {
  enabled: bool = false;
  maxBytes: i32 = 65536;
  timeoutMs: i32 = 500;
  /** Envoy's per-connection buffer limit; a held body is released before it (see filter.ts). */
  bufferLimitBytes: i32 = 1048576;
}

export class ScoringConfig {
  inFlight: f64 = 0.25;
  queue: f64 = 2;
  kvCache: f64 = 4;
  sampleAbove: i32 = 16;
  staleAfterMs: i32 = 5000;
}

export class SaturationConfig {
  queue: f64 = 8;
  kvCache: f64 = 0.9;
}

export class SheddingConfig {
  belowPriority: i32 = 0;
  retryAfterSeconds: i32 = 1;
}

export class OutlierConfig {
  consecutiveErrors: i32 = 3;
  baseEjectionMs: i32 = 5000;
  maxEjectionMs: i32 = 300000;
  maxEjectionPercent: i32 = 50;
}

export class PollingConfig {
  intervalMs: i32 = 1000;
  probesPerTick: i32 = 8;
  subsetAbove: i32 = 16;
  /** 0 = default (3 × intervalMs, at least 1000). */
  leaseMs: i32 = 0;
}

export class LoadReportsConfig {
  orca: bool = true;
  /** "" when not configured. */
  queueHeader: string = "";
  kvCacheHeader: string = "";
}

export class PrefixAffinityConfig {
  enabled: bool = false;
  blockBytes: i32 = 256;
  blocks: i32 = 4;
  tableSize: i32 = 4096;
  maxLoadFactor: f64 = 3;
}

export class AffinityConfig {
  prefix: PrefixAffinityConfig = new PrefixAffinityConfig();
  lora: bool = true;
}

export class RouterConfig {
  name: string = "inference-router";
  steering: u8 = STEER_POOL;
  headers: HeaderNames = new HeaderNames();
  body: BodyConfig = new BodyConfig();
  pools: Array<PoolConfig> = [];
  models: Array<ModelConfig> = [];
  scoring: ScoringConfig = new ScoringConfig();
  saturation: SaturationConfig = new SaturationConfig();
  shedding: SheddingConfig = new SheddingConfig();
  /** true: a model no pool serves is routed untouched; false: 404. */
  unknownModelPassthrough: bool = false;
  outlier: OutlierConfig = new OutlierConfig();
  polling: PollingConfig = new PollingConfig();
  loadReports: LoadReportsConfig = new LoadReportsConfig();
  affinity: AffinityConfig = new AffinityConfig();
}

/** Result of parsing: either a config or the first problem, named by its JSON path ("pools[1].weight: ..."). */
export class ConfigResult {
  config: RouterConfig | null = null;
  error: string = "";
}
