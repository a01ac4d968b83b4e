// The picking policy, all of it: which upstream gets a request.
//
//  1. Candidates are the members of the pools serving the model. Ejected members are out.
//  2. Each candidate gets a load score:
//        (inFlight·w_inFlight + (queue + sentSinceReport)·w_queue + 1) / capacity  +  kvCache·w_kvCache
//     The "+ 1" is the request being placed: on idle upstreams it makes the faster one (larger capacity) win.
//     inFlight is this proxy's count across all workers, plus one per consecutive error so a failing upstream
//     never looks idle, or the server's fresh reported running count when larger (other clients' requests); queue and kvCache are what the server last reported (load reports or polling), and
//     sentSinceReport keeps the view honest between two reports (a burst does not herd onto the idle-looking one).
//  3. A candidate is saturated when this proxy's in-flight count reaches its maxInFlight, or its fresh report
//     shows a queue of saturation.queue per server (× members in pool mode) or KV cache at saturation.kvCache,
//     or its report is stale. Sends since the report count in the score only, never in saturation. A candidate
//     that never reported is judged on in-flight alone.
//  4. The least score among unsaturated candidates wins; ties are broken at random. Above `sampleAbove`
//     candidates, power-of-two-choices sampling keeps the cost flat.
//  5. If every healthy candidate is saturated only because its report is stale, the pick fails open to local
//     in-flight counts. Otherwise the pools' fallback pools are tried, level by level.
//  5a. Affinity (after the least-loaded unsaturated candidate is known, on that level only):
//     - prefix: the upstream that last served the longest matching prompt prefix (affinity.ts) is preferred
//       when it is an unsaturated member of the level and score <= least score · maxLoadFactor;
//       otherwise the least-loaded wins (an "override") and the prefix table learns the new holder.
//     - LoRA: among the evaluated unsaturated candidates, the least-loaded one whose polled running adapters
//       include the requested adapter is preferred under the same load bound.
//     Scores count the request being placed, so the bound compares loads including it.
//     - first placement of a prefix no upstream holds yet: rendezvous hashing of the prefix's first block over
//       the candidates within the same load bound, so independent sidecars place the same prompt prefix on the
//       same upstream without talking to each other (each sidecar's table only knows its own picks).
//  6. When everything is saturated: requests below the shedding priority are shed (429); the rest go to the
//     least-loaded healthy candidate. No healthy candidate at all: 503.
import { Catalog } from "./catalog";
import { Load, LoadView } from "./loadview";
import { RouterConfig } from "./config";
import { randomBelow } from "./rng";
import { Affinity } from "./affinity";

export const AFFINITY_NONE: i32 = 0;
export const AFFINITY_HIT: i32 = 1;
export const AFFINITY_OVERRIDE: i32 = 2;

export const PICKED: i32 = 0;
export const NO_HEALTHY: i32 = 1;
export const SHED: i32 = 2;

const MAX_ALTERNATES: i32 = 2;
const SAMPLE_ROUNDS: i32 = 3;
const EPS: f64 = 1e-9;

export class PickResult {
  outcome: i32 = PICKED;
  upstream: i32 = -1;
  /** Next-best unsaturated upstreams (endpoint mode lists them after the pick for Envoy's retries). */
  alternates: Array<i32> = [];
  /** The pick came from a fallback pool. */
  viaFallback: bool = false;
  /** Every signal was stale: picked on local in-flight counts only. */
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

export class Picker {
  private load: Load = new Load();
  private level: Array<i32> = [];
  private next: Array<i32> = [];
  private visited: Array<bool> = [];
  private members: Array<i32> = [];
  // Best unsaturated candidates of the current level, best first.
  private bestIdx: StaticArray<i32> = new StaticArray<i32>(MAX_ALTERNATES + 1);
  private bestScore: StaticArray<f64> = new StaticArray<f64>(MAX_ALTERNATES + 1);
  private bestCount: i32 = 0;
  private ties: i32 = 0;
  // Unsaturated candidates of the current level with their scores (for rendezvous placement of a new prefix).
  private candIdx: Array<i32> = [];
  private candScore: Array<f64> = [];

  // Result of evaluate(): one candidate, scored.
  private evHealthy: bool = false;
  private evStale: bool = false;
  private evLocal: f64 = 0;
  private evScore: f64 = 0;
  private evOverLocal: bool = false;
  private evOverReported: bool = false;
  private evOk: bool = false;

  constructor(private catalog: Catalog, private view: LoadView, private cfg: RouterConfig, private affinity: Affinity | null = null) {}

  /**
   * Reads and scores one upstream (the only place the score is computed). evOk: healthy, not stale and not
   * saturated.
   */
  private evaluate(u: i32, nowMs: i64): void {
    const up = this.catalog.upstreams[u];
    this.view.read(up, this.load);
    const l = this.load;
    this.evOk = false;
    this.evHealthy = l.ejectedUntilMs <= nowMs;
    if (!this.evHealthy) return;
    const fresh = l.reportedAtMs > 0 && nowMs - l.reportedAtMs <= <i64>this.cfg.scoring.staleAfterMs;
    this.evStale = l.reportedAtMs > 0 && !fresh;
    const local = <f64>(l.inFlight + l.consecutiveErrors);
    const inFlight = fresh && l.running > local ? l.running : local;
    const reportedQueue = fresh ? l.queue : 0;
    // Sends since the report count in the score (anti-herding), not in saturation: an upstream that merely
    // received requests since its last report (completed ones included) is not full. Held-open requests still
    // saturate it through `local` (maxInFlight).
    const queue = reportedQueue + (fresh ? <f64>l.sentSinceReport : 0);
    const kv = fresh ? l.kvCache : 0;
    const s = this.cfg.scoring;
    this.evLocal = local;
    this.evScore = (inFlight * s.inFlight + queue * s.queue + 1) / up.capacity + kv * s.kvCache;
    this.evOverLocal = local >= up.maxInFlight;
    // saturation.queue is per server: a pool-mode upstream's reported queue is its members' sum.
    this.evOverReported = fresh && (reportedQueue >= this.cfg.saturation.queue * up.members || kv >= this.cfg.saturation.kvCache);
    this.evOk = !this.evStale && !this.evOverLocal && !this.evOverReported;
  }

  private inLevel(u: i32): bool {
    const p = this.catalog.upstreams[u].pool;
    for (let i = 0; i < this.level.length; i++) if (this.level[i] == p) return true;
    return false;
  }

  private withinBound(score: f64, least: f64): bool {
    // Scores already count the request being placed (the "+ 1" of the score), so an idle peer does not break
    // affinity at light load: a holder with one request in flight scores 2 against an idle peer's 1.
    return score <= least * this.cfg.affinity.prefix.maxLoadFactor + EPS;
  }

  /** Moves candidate `u` (score `score`) to the front of the best list, keeping the others as alternates. */
  private promote(u: i32, score: f64): void {
    let at = -1;
    for (let i = 0; i < this.bestCount; i++) if (this.bestIdx[i] == u) { at = i; break; }
    if (at < 0) {
      at = this.bestCount < MAX_ALTERNATES + 1 ? this.bestCount++ : this.bestCount - 1;
    }
    for (let i = at; i > 0; i--) {
      this.bestIdx[i] = this.bestIdx[i - 1];
      this.bestScore[i] = this.bestScore[i - 1];
    }
    this.bestIdx[0] = u;
    this.bestScore[0] = score;
  }

  /**
   * `preferred`: the prefix-affinity holder (-1 when none); `lora`: check LoRA adapters (the affinity module
   * holds the requested adapter).
   */
  pick(pools: Array<i32>, priority: i32, nowMs: i64, out: PickResult, preferred: i32 = -1, lora: bool = false, prefixKey: u32 = 0): void {
    out.reset();
    const nPools = this.catalog.pools.length;
    this.visited.length = nPools;
    for (let i = 0; i < nPools; i++) this.visited[i] = false;
    this.level.length = 0;
    for (let i = 0; i < pools.length; i++) {
      const p = pools[i];
      if (!this.visited[p]) {
        this.visited[p] = true;
        this.level.push(p);
      }
    }

    // Least-loaded healthy candidate whatever its saturation, across levels: the target when all are saturated.
    let anyIdx = -1;
    let anyScore = f64.MAX_VALUE;
    let firstLevel = true;

    while (this.level.length > 0) {
      this.collectMembers();
      this.bestCount = 0;
      this.ties = 0;
      let healthy = 0;
      let staleOnly = 0; // healthy, saturated only by a stale report
      let staleIdx = -1;
      let staleScore = f64.MAX_VALUE;

      let loraIdx = -1;
      let loraScore = f64.MAX_VALUE;
      this.candIdx.length = 0;
      this.candScore.length = 0;
      const aff = this.affinity;
      const n = this.members.length;
      const sampled = n > this.cfg.scoring.sampleAbove;
      const visits = sampled ? 2 * SAMPLE_ROUNDS : n;
      for (let v = 0; v < visits; v++) {
        // Sampling draws two per round and stops after the first round that found an unsaturated one.
        if (sampled && v > 0 && (v & 1) == 0 && this.bestCount > 0) break;
        const u = sampled ? this.members[randomBelow(<u32>n)] : this.members[v];
        const up = this.catalog.upstreams[u];
        this.evaluate(u, nowMs);
        if (!this.evHealthy) continue;
        healthy++;
        const score = this.evScore;
        const localScore = this.evLocal / up.capacity;
        if (score < anyScore - EPS) {
          anyScore = score;
          anyIdx = u;
        }
        if (this.evStale && !this.evOverLocal) {
          staleOnly++;
          if (localScore < staleScore - EPS || (localScore < staleScore + EPS && randomBelow(2) == 0)) {
            staleScore = localScore;
            staleIdx = u;
          }
          continue;
        }
        if (!this.evOk) continue;
        this.offer(u, score);
        if (prefixKey != 0) {
          this.candIdx.push(u);
          this.candScore.push(score);
        }
        if (lora && aff !== null && score < loraScore && aff.loraHolds(up)) {
          loraScore = score;
          loraIdx = u;
        }
      }

      if (this.bestCount > 0) {
        const least = this.bestScore[0];
        let decided = false;
        if (preferred >= 0 && preferred < this.catalog.upstreams.length && this.inLevel(preferred)) {
          this.evaluate(preferred, nowMs);
          if (this.evOk && this.withinBound(this.evScore, least)) {
            out.affinity = AFFINITY_HIT;
            this.promote(preferred, this.evScore);
            decided = true;
          } else {
            out.affinity = AFFINITY_OVERRIDE;
          }
        }
        if (!decided && preferred < 0 && prefixKey != 0) {
          // No holder known here: the candidate the prefix hashes to (highest random weight), within the bound.
          let best = -1;
          let bestW: u32 = 0;
          let bestS = 0.0;
          for (let i = 0; i < this.candIdx.length; i++) {
            const c = this.candIdx[i];
            const sc = this.candScore[i];
            if (!this.withinBound(sc, least)) continue;
            const w = mix32(prefixKey ^ this.catalog.upstreams[c].nameHash);
            if (best < 0 || w > bestW) {
              best = c;
              bestW = w;
              bestS = sc;
            }
          }
          if (best >= 0) {
            this.promote(best, bestS);
            decided = true;
          }
        }
        if (!decided && loraIdx >= 0) {
          if (loraIdx == this.bestIdx[0]) out.loraHit = true;
          else if (this.withinBound(loraScore, least)) {
            this.promote(loraIdx, loraScore);
            out.loraHit = true;
          }
        }
        out.outcome = PICKED;
        out.upstream = this.bestIdx[0];
        out.score = this.bestScore[0];
        for (let i = 1; i < this.bestCount; i++) out.alternates.push(this.bestIdx[i]);
        out.viaFallback = !firstLevel;
        return;
      }
      // Every healthy candidate is saturated. If staleness alone did it, fail open to local in-flight counts.
      if (healthy > 0 && staleOnly == healthy && staleIdx >= 0) {
        out.outcome = PICKED;
        out.upstream = staleIdx;
        out.score = staleScore;
        out.staleFallback = true;
        out.viaFallback = !firstLevel;
        return;
      }
      this.nextLevel();
      firstLevel = false;
    }

    if (anyIdx < 0) {
      out.outcome = NO_HEALTHY;
      return;
    }
    if (priority < this.cfg.shedding.belowPriority) {
      out.outcome = SHED;
      return;
    }
    out.outcome = PICKED;
    out.upstream = anyIdx;
    out.score = anyScore;
    out.saturated = true;
  }

  private collectMembers(): void {
    this.members.length = 0;
    for (let i = 0; i < this.level.length; i++) {
      const m = this.catalog.pools[this.level[i]].members;
      for (let j = 0; j < m.length; j++) this.members.push(m[j]);
    }
  }

  private nextLevel(): void {
    this.next.length = 0;
    for (let i = 0; i < this.level.length; i++) {
      const fb = this.catalog.pools[this.level[i]].fallback;
      if (fb >= 0 && !this.visited[fb]) {
        this.visited[fb] = true;
        this.next.push(fb);
      }
    }
    const t = this.level;
    this.level = this.next;
    this.next = t;
  }

  /** Keeps the best few unsaturated candidates; equal best scores are broken uniformly at random. */
  private offer(u: i32, score: f64): void {
    if (this.bestCount > 0) {
      for (let i = 0; i < this.bestCount; i++) if (this.bestIdx[i] == u) return; // sampled twice
      const b = this.bestScore[0];
      if (score < b + EPS && score > b - EPS) {
        // Reservoir sampling over ties for first place.
        this.ties++;
        if (randomBelow(<u32>(this.ties + 1)) == 0) {
          this.insertAt(0, u, score);
        } else {
          this.insertAt(min(1, this.bestCount), u, score);
        }
        return;
      }
    } else {
      this.ties = 0;
    }
    let pos = this.bestCount;
    while (pos > 0 && score < this.bestScore[pos - 1] - EPS) pos--;
    if (pos == 0 && this.bestCount > 0) this.ties = 0;
    this.insertAt(pos, u, score);
  }

  private insertAt(pos: i32, u: i32, score: f64): void {
    const cap = MAX_ALTERNATES + 1;
    if (pos >= cap) return;
    let last = this.bestCount < cap ? this.bestCount : cap - 1;
    for (let i = last; i > pos; i--) {
      this.bestIdx[i] = this.bestIdx[i - 1];
      this.bestScore[i] = this.bestScore[i - 1];
    }
    this.bestIdx[pos] = u;
    this.bestScore[pos] = score;
    if (this.bestCount < cap) this.bestCount++;
  }
}

/** A 32-bit finaliser (murmur3 fmix): spreads rendezvous weights evenly. */
function mix32(x: u32): u32 {
  x ^= x >> 16;
  x *= 0x85ebca6b;
  x ^= x >> 13;
  x *= 0xc2b2ae35;
  x ^= x >> 16;
  return x;
}
