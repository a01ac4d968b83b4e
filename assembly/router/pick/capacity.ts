// Learned capacity: for upstreams whose pool sets no `weight`, the relative throughput the picker divides loads by
// is learned from what this proxy sees, with no help from the servers.
//
// The estimator is completions per second per in-flight request: 2xx completions divided by the exposure, the
// integral of this proxy's in-flight count over time (in-flight × ms). By Little's law it is 1 / the mean
// duration of a request, which is what a capacity weight means to the score ((in-flight + queue + 1) / capacity):
// a GPU that finishes each request 5× sooner carries 5× the in-flight requests at the same latency. Counting
// exposure rather than averaging durations matters for a slow upstream: requests still in flight count against
// it as they age (a censored sample), so an L4 whose first requests have not finished yet already looks slow,
// instead of looking like the prior until its first (short, hence flattering) completions come back.
//
// Both sums live in the upstream's shared-data load record (capacityCompletions, capacityExposureMs,
// capacityAtMs: 16 bytes), brought up to date in the compare-and-swap writes that already take and release an
// in-flight slot (loadview.ts), so every worker VM learns from all of this proxy's traffic and learning costs no
// extra shared-data operation. Both sums are forgotten exponentially with capacity.halfLifeMs.
//
// Smoothing (a Gamma prior on the rate): rate = (completions + PRIOR) / (exposure + PRIOR / mean), where mean is
// the geometric mean of the learned rates this picker has read (recomputed once per `upstreams` reads, no
// allocation). With little evidence (a new upstream, or an idle one whose evidence was forgotten) the rate is
// the mean, so an upstream that looked slow once gets tried again once it has been idle a few half-lives.
// Capacities are relative (rate / mean, clamped to [1/MAX_RATIO, MAX_RATIO]) and × members in pool mode.
// Corrupt or hostile records (NaN, negative, infinite sums) read as "nothing learned" and are reset on write.
import { Upstream } from "../catalog";
import { Load } from "../loadview";
import { LoadRecord as R } from "../load-record";

/** Completions the prior (the mean rate) is worth. */
const PRIOR: f64 = 2;
/** Bound of a learned relative capacity either way (an H100 against a T4 is about 12). */
const MAX_RATIO: f64 = 32;
const LN2: f64 = 0.6931471805599453;
/** Sums beyond these are corrupt (a proxy's in-flight count stays far below 10⁶). */
const MAX_COMPLETIONS: f64 = 1e9;
const MAX_EXPOSURE_MS: f64 = 1e15;

/** Share of evidence `ageMs` old that is still remembered. */
@inline function remembered(ageMs: i64, halfLifeMs: i32): f64 {
  return ageMs <= 0 ? 1.0 : Math.exp(-LN2 * <f64>ageMs / <f64>max(1, halfLifeMs));
}

/** Exposure added by `inFlight` requests over the last `ageMs`, forgotten along the way (∫ n·e^(−λt) dt). */
@inline function exposureOver(inFlight: f64, ageMs: i64, halfLifeMs: i32, kept: f64): f64 {
  if (ageMs <= 0 || inFlight <= 0) return 0;
  return inFlight * (1 - kept) * <f64>max(1, halfLifeMs) / LN2;
}

/** A time this far ahead of ours is not another worker's clock skew but garbage (e.g. a record of another layout). */
const MAX_AHEAD_MS: i64 = 60_000;

@inline function sane(completions: f64, exposureMs: f64, atMs: i64, nowMs: i64): bool {
  return completions >= 0 && completions < MAX_COMPLETIONS && exposureMs >= 0 && exposureMs < MAX_EXPOSURE_MS &&
    atMs > 0 && atMs <= nowMs + MAX_AHEAD_MS;
}

/**
 * Brings the learned-capacity sums of the record at `b` up to `nowMs` (`inFlight` requests were in flight since
 * the last update) and counts a completion when `completed`. Called inside the load view's CAS loops.
 */
export function advanceCapacity(b: usize, inFlight: i32, nowMs: i64, completed: bool, halfLifeMs: i32): void {
  const at = R.capacityAtMs(b);
  let c = <f64>R.capacityCompletions(b);
  let e = <f64>R.capacityExposureMs(b);
  let since = at;
  if (!sane(c, e, at, nowMs)) {
    c = 0;
    e = 0;
    since = 0;
  } else if (nowMs > at) {
    const kept = remembered(nowMs - at, halfLifeMs);
    e = e * kept + exposureOver(<f64>inFlight, nowMs - at, halfLifeMs, kept);
    c *= kept;
  }
  if (completed) c += 1;
  R.setCapacityCompletions(b, <f32>c);
  R.setCapacityExposureMs(b, <f32>e);
  // Another worker may have written a later time (clocks of one proxy agree to the ms): never go back.
  R.setCapacityAtMs(b, since > nowMs ? since : nowMs);
}

export class LearnedCapacity {
  /** Last raw learned rate (completions per in-flight ms) read per upstream; 0 = none yet. */
  private rate: StaticArray<f64>;
  /** Geometric mean of the non-zero rates; 0 until one is known. */
  private mean: f64 = 0;
  private reads: i32 = 0;

  constructor(upstreams: i32, private halfLifeMs: i32) {
    this.rate = new StaticArray<f64>(max(1, upstreams));
  }

  /** The capacity the picker uses for `up` given its record `l`: its weight's, or the learned one × members. */
  capacityOf(up: Upstream, l: Load, nowMs: i64): f64 {
    if (!up.learned) return up.capacity;
    let c = l.capacityCompletions;
    let e = l.capacityExposureMs;
    const at = l.capacityAtMs;
    if (!sane(c, e, at, nowMs)) {
      c = 0;
      e = 0;
    } else if (nowMs > at) {
      // Up to now, without writing: the requests in flight since `at` are exposure already (censored samples).
      const kept = remembered(nowMs - at, this.halfLifeMs);
      e = e * kept + exposureOver(<f64>l.inFlight, nowMs - at, this.halfLifeMs, kept);
      c *= kept;
    }
    const i = up.index;
    if (i >= 0 && i < this.rate.length) unchecked((this.rate[i] = c >= 1 && e > 0 ? c / e : 0));
    if (++this.reads >= this.rate.length) this.remean();
    const m = this.mean;
    if (m <= 0) return up.members;
    let rel = (c + PRIOR) / (e * m + PRIOR);
    if (rel < 1 / MAX_RATIO) rel = 1 / MAX_RATIO;
    if (rel > MAX_RATIO) rel = MAX_RATIO;
    return rel * up.members;
  }

  /** The geometric mean of the known rates (amortised: once per `upstreams` reads). */
  private remean(): void {
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
    this.mean = n > 0 ? Math.exp(sum / <f64>n) : 0;
  }
}
