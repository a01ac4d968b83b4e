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
  }
}
