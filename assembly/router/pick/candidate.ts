// One upstream as the picker sees it for one request: its load record, read once from shared data, and the
// filters' verdicts on it (health, staleness, saturation). Plain data; reused, never allocated per request.
import { Upstream } from "../catalog";
import { Load, LoadView } from "../loadview";
import { RouterConfig } from "../config";
import { LearnedCapacity } from "./capacity";

export class Candidate {
  index: i32 = -1;
  /** Ejected (passive outlier detection or unanswered polls) until a later time. */
  healthy: bool = false;
  /** Its server report is recent enough to use (scoring.staleAfterMs). */
  fresh: bool = false;
  /** It reported once, but too long ago. */
  stale: bool = false;
  /** This proxy's in-flight requests to it (all worker VMs) plus its current error run. */
  local: f64 = 0;
  /** In-flight load: `local`, or the server's fresh running count when larger (it sees other clients). */
  inFlight: f64 = 0;
  /** Fresh reported queue, 0 otherwise. */
  reportedQueue: f64 = 0;
  /** Queue as scored: reported queue plus the requests sent since that report (anti-herding). */
  queue: f64 = 0;
  /** Fresh reported KV-cache use 0..1, 0 otherwise. */
  kv: f64 = 0;
  /** Saturated by this proxy's own in-flight count (maxInFlight). */
  overLocal: bool = false;
  /** Saturated by its fresh report (queue per server, KV use). */
  overReported: bool = false;
  /** Relative throughput: pool weight, or the learned capacity where none is set (pick/capacity.ts); × members in pool mode. */
  capacity: f64 = 1;
  score: f64 = 0;

  /** Healthy, fresh (or never reported) and not saturated: a candidate the chooser may take. */
  @inline ok(): bool {
    return this.healthy && !this.stale && !this.overLocal && !this.overReported;
  }
}

/** Reads `up`'s load record into `c` (the picker's only shared-data read) and applies the filters. */
export function readCandidate(c: Candidate, up: Upstream, view: LoadView, scratch: Load, cfg: RouterConfig, learned: LearnedCapacity, nowMs: i64): void {
  view.read(up, scratch);
  const l = scratch;
  c.index = up.index;
  c.capacity = learned.capacityOf(up, l, nowMs);
  c.healthy = l.ejectedUntilMs <= nowMs;
  c.fresh = l.reportedAtMs > 0 && nowMs - l.reportedAtMs <= <i64>cfg.scoring.staleAfterMs;
  c.stale = l.reportedAtMs > 0 && !c.fresh;
  c.local = <f64>(l.inFlight + l.consecutiveErrors);
  c.inFlight = c.fresh && l.running > c.local ? l.running : c.local;
  c.reportedQueue = c.fresh ? l.queue : 0;
  c.queue = c.reportedQueue + (c.fresh ? <f64>l.sentSinceReport : 0);
  c.kv = c.fresh ? l.kvCache : 0;
  saturation(c, up, cfg);
}

/**
 * Saturation means full: this proxy's in-flight count at maxInFlight (× weight, × members in pool mode), or a
 * fresh report with saturation.queue waiting per server (a pool-mode upstream's reported queue is its members'
 * sum) or KV use at saturation.kvCache. Sends since the report are not in it: they weigh in the score only, so an
 * upstream that merely received requests since its last report (completed ones included) is not full.
 */
function saturation(c: Candidate, up: Upstream, cfg: RouterConfig): void {
  c.overLocal = c.local >= up.maxInFlight;
  c.overReported = c.fresh && (c.reportedQueue >= cfg.saturation.queue * up.members || c.kv >= cfg.saturation.kvCache);
}
