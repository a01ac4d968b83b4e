// The plugin configuration as the filter holds it: the same fields and defaults as src/config/plugin-config.ts
// (the schema of record), parsed from the JSON Envoy hands to on_configure. Parsing is done once per
// configure; nothing here runs per request.

export const STEER_POOL: u8 = 0;
export const STEER_ENDPOINT: u8 = 1;

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
  /** "" when not configured. */
  modelOverride: string = "";
  /** "" when not configured. */
  priorityIn: string = "";
}

export class BodyConfig {
  enabled: bool = false;
  maxBytes: i32 = 65536;
  timeoutMs: i32 = 500;
}

export class ScoringConfig {
  inFlight: f64 = 1;
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
}

/** Result of parsing: either a config or the first problem, named by its JSON path ("pools[1].weight: ..."). */
export class ConfigResult {
  config: RouterConfig | null = null;
  error: string = "";
}
