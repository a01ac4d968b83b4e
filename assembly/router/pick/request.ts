// What goes into a pick and what comes out: plain data, one reused instance of each per worker VM.

/** A request to place. */
export class PickRequest {
  /** Pools serving the model, primary ones first (catalog.poolsFor). */
  pools: Array<i32> = [];
  priority: i32 = 0;
  nowMs: i64 = 0;
  /** Prefix-affinity holder (upstream index), -1 when none is known. */
  preferred: i32 = -1;
  /** Prefer upstreams whose polled LoRA state runs the requested adapter. */
  lora: bool = false;
  /** Hash of the prompt's first block (rendezvous placement of a new prefix); 0 without prefix affinity. */
  prefixKey: u32 = 0;
}

export const AFFINITY_NONE: i32 = 0;
export const AFFINITY_HIT: i32 = 1;
export const AFFINITY_OVERRIDE: i32 = 2;

export const PICKED: i32 = 0;
export const NO_HEALTHY: i32 = 1;
export const SHED: i32 = 2;

// Decision reasons (docs/observability.md, "Decision trace"); the names are in decision.ts, in this order.
export const REASON_LEAST_LOADED: i32 = 0;
export const REASON_PREFIX_AFFINITY: i32 = 1;
export const REASON_LORA_AFFINITY: i32 = 2;
export const REASON_FALLBACK_POOL: i32 = 3;
export const REASON_STALE_FALLBACK: i32 = 4;
export const REASON_SATURATED: i32 = 5;
export const REASON_SHED: i32 = 6;
export const REASON_NO_HEALTHY: i32 = 7;
/** Decided by the filter before any pick (no pool serves the model; the model could not be read). */
export const REASON_UNKNOWN_MODEL: i32 = 8;
export const REASON_UNDETERMINED: i32 = 9;

/** The decision. */
export class PickResult {
  outcome: i32 = PICKED;
  upstream: i32 = -1;
  /** Next-best unsaturated upstreams (endpoint mode lists them after the pick for Envoy's retries). */
  alternates: Array<i32> = [];
  /** The pick came from a fallback pool. */
  viaFallback: bool = false;
  /** Every candidate of the level was saturated by staleness alone: picked on local in-flight counts only. */
  staleFallback: bool = false;
  /** Picked although saturated (priority at or above the shedding threshold). */
  saturated: bool = false;
  score: f64 = 0;
  /** Prefix affinity: NONE (no holder known among candidates), HIT (holder picked), OVERRIDE (load bound). */
  affinity: i32 = AFFINITY_NONE;
  /** The pick runs the requested LoRA adapter (per the last poll). */
  loraHit: bool = false;
  /** A new prompt prefix was placed by rendezvous hashing (no holder known). */
  placed: bool = false;
  /** Next-best acceptable candidate of the deciding level and its score; -1 when none. */
  runnerUp: i32 = -1;
  runnerUpScore: f64 = 0;
  /** Healthy upstreams scored across the levels tried, and how many of them had a stale report. */
  candidates: i32 = 0;
  stale: i32 = 0;

  /**
   * Why: the first that applies of the conditions that override plain least-load (saturated, stale fallback,
   * fallback pool), then the preferences (prefix, LoRA), else least_loaded.
   */
  reason(): i32 {
    if (this.outcome == SHED) return REASON_SHED;
    if (this.outcome == NO_HEALTHY) return REASON_NO_HEALTHY;
    if (this.saturated) return REASON_SATURATED;
    if (this.staleFallback) return REASON_STALE_FALLBACK;
    if (this.viaFallback) return REASON_FALLBACK_POOL;
    if (this.affinity == AFFINITY_HIT || this.placed) return REASON_PREFIX_AFFINITY;
    if (this.loraHit) return REASON_LORA_AFFINITY;
    return REASON_LEAST_LOADED;
  }

  reset(): void {
    this.affinity = AFFINITY_NONE;
    this.loraHit = false;
    this.outcome = PICKED;
    this.upstream = -1;
    this.alternates.length = 0;
    this.viaFallback = false;
    this.staleFallback = false;
    this.saturated = false;
    this.score = 0;
    this.placed = false;
    this.runnerUp = -1;
    this.runnerUpScore = 0;
    this.candidates = 0;
    this.stale = 0;
  }
}
