// Learned capacity: for upstreams whose pool sets no `weight`, the relative throughput the picker divides loads by
// is learned from what this proxy sees, with no help from the servers.
//
// The estimator is the service rate of one in-flight request: 1 / (mean duration of completed requests). By
// Little's law it is also completions per second per in-flight request, which is what a capacity weight means
// to the score ((in-flight + queue + 1) / capacity): a GPU that finishes each request 5× sooner can carry 5× the
// in-flight requests at the same latency. The duration is the whole exchange (pick to end of stream, 2xx only),
// measured by the filter's own clock, so it holds for streamed and unary responses alike and no server report
// can inflate it. Each upstream's moving mean lives in its shared-data load record (serviceMs, serviceWeight,
// serviceAtMs: 16 bytes), folded in by whichever worker VM finishes the request, in the same compare-and-swap
// write that releases its in-flight slot (loadview.ts `release`), so every worker and the picker read one figure
// and learning costs no extra shared-data operation.
//
// Noise and idleness: a new duration weighs 1/samples (1/n while fewer than `samples` are in), and the weight of
// what was learned decays while the upstream completes nothing, hyperbolically: halfway back to the prior after
// `halfLifeMs`. The prior is the mean (relative capacity 1), so an upstream that looked slow once and was left
// idle is tried again. The prior also counts as PRIOR_SAMPLES samples, so a first few durations cannot swing it.
// Capacities are relative: each rate is divided by the geometric mean of the learned rates this picker has
// seen (recomputed every `upstreams` reads, no per-request allocation), then clamped to [1/MAX_RATIO, MAX_RATIO].
// Hostile or corrupt records (NaN, negative, infinite) read as "nothing learned".
import { Upstream } from "../catalog";
import { Load } from "../loadview";
import { CapacityConfig } from "../config";

/** Samples the prior (relative capacity 1) is worth when blending a young estimate. */
const PRIOR_SAMPLES: f64 = 4;
/** Bound of a learned relative capacity either way (an H100 against a T4 is about 12). */
const MAX_RATIO: f64 = 32;

export class LearnedCapacity {
  /** Last learned service rate (1/ms) read per upstream; 0 = none. */
  private rate: StaticArray<f64>;
  /** Geometric mean of the non-zero rates; 0 until one is known. */
  private norm: f64 = 0;
  private reads: i32 = 0;

  constructor(upstreams: i32, private cfg: CapacityConfig) {
    this.rate = new StaticArray<f64>(max(1, upstreams));
  }

  /** The capacity the picker uses for `up` given its record `l`: its weight's, or the learned one × members. */
  capacityOf(up: Upstream, l: Load, nowMs: i64): f64 {
    if (!up.learned) return up.capacity;
    const c = confidence(l, nowMs, this.cfg.halfLifeMs);
    const r = c > 0 ? 1 / l.serviceMs : 0;
    const i = up.index;
    if (i >= 0 && i < this.rate.length) unchecked((this.rate[i] = r));
    if (++this.reads >= this.rate.length) this.renorm();
    if (c <= 0 || this.norm <= 0) return up.members;
    // Linear blend toward the prior: rel = 1 + c·(rate/mean − 1), bounded.
    let rel = 1 + c * (r / this.norm - 1);
    if (rel < 1 / MAX_RATIO) rel = 1 / MAX_RATIO;
    if (rel > MAX_RATIO) rel = MAX_RATIO;
    return rel * up.members;
  }

  /** The geometric mean of the known rates (amortised: once per `upstreams` reads). */
  private renorm(): void {
    this.reads = 0;
    let sum = 0.0;
    let n = 0;
    for (let i = 0; i < this.rate.length; i++) {
      const r = unchecked(this.rate[i]);
      if (r > 0) {
        sum += Math.log(r);
        n++;
      }
    }
    this.norm = n > 0 ? Math.exp(sum / <f64>n) : 0;
  }
}

/** Weight 0..1 of the learned duration against the prior: samples behind it, decayed by idle time. */
export function confidence(l: Load, nowMs: i64, halfLifeMs: i32): f64 {
  const ms = l.serviceMs;
  const w = l.serviceWeight;
  if (!(ms >= 1 && ms < 1e9) || !(w > 0 && w < 1e6) || l.serviceAtMs <= 0) return 0;
  const n = w * idleDecay(nowMs - l.serviceAtMs, halfLifeMs);
  return n / (n + PRIOR_SAMPLES);
}

/** 1 / (1 + idle / halfLife): 1 when just sampled, ½ after halfLifeMs, → 0 (hyperbolic, no pow per read). */
export function idleDecay(idleMs: i64, halfLifeMs: i32): f64 {
  if (idleMs <= 0) return 1;
  return 1 / (1 + <f64>idleMs / <f64>max(1, halfLifeMs));
}

/** The record's moving mean after one more completed request of `sampleMs` (mean, weight; see loadview.release). */
export function foldSample(meanMs: f64, weight: f64, atMs: i64, sampleMs: f64, nowMs: i64, cfg: CapacityConfig): void {
  let m = meanMs;
  let w = weight;
  if (!(m >= 1 && m < 1e9) || !(w > 0 && w < 1e6) || atMs <= 0) {
    m = 0;
    w = 0;
  } else {
    w *= idleDecay(nowMs - atMs, cfg.halfLifeMs);
  }
  const x = sampleMs < 1 ? 1.0 : sampleMs > 1e8 ? 1e8 : sampleMs;
  w += 1;
  if (w > <f64>cfg.samples) w = <f64>cfg.samples;
  m += (x - m) / w;
  folded.meanMs = m;
  folded.weight = w;
}

/** foldSample's result (one static instance: no allocation on the response path). */
export class Folded {
  meanMs: f64 = 0;
  weight: f64 = 0;
}
export const folded = new Folded();
