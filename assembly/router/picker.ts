// The picking policy, all of it: which upstream gets a request. A PickRequest goes in, a PickResult comes out
// (pick/request.ts); per level of pools: candidates are read once each (pick/candidate.ts: the only shared-data
// read, with the health, staleness and saturation filters), scored by the registered scorers
// (pick/registry.ts), offered to the chooser (pick/chooser.ts: least score, random ties, runners-up), then the
// bounded preferences, the fallback levels and shedding below.
//
//  1. Candidates are the members of the pools serving the model. Ejected members are out.
//  2. Each candidate gets a load score (the in-flight, queue and KV-cache scorers plus the request being placed):
//        (inFlight·w_inFlight + (queue + sentSinceReport)·w_queue + 1) / capacity  +  kvCache·w_kvCache
//     The "+ 1" is the request being placed: on idle upstreams it makes the faster one (larger capacity) win.
//     capacity is the pool's weight, or where none is set the learned one (pick/capacity.ts: completions per
//     second per in-flight request, relative to the mean), × members in pool mode.
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
import { mix32 } from "./hash";
import { Affinity } from "./affinity";
import { Candidate, readCandidate } from "./pick/candidate";
import { LearnedCapacity } from "./pick/capacity";
import { Chooser, EPS } from "./pick/chooser";
import { Scorer } from "./pick/scorer";
import { score, scorers } from "./pick/registry";
import { AFFINITY_HIT, AFFINITY_OVERRIDE, NO_HEALTHY, PICKED, PickRequest, PickResult, SHED } from "./pick/request";

export { AFFINITY_NONE, AFFINITY_HIT, AFFINITY_OVERRIDE, PICKED, NO_HEALTHY, SHED, PickRequest, PickResult } from "./pick/request";

const SAMPLE_ROUNDS: i32 = 3;

export class Picker {
  private load: Load = new Load();
  private cand: Candidate = new Candidate();
  private pref: Candidate = new Candidate();
  private scorers: Array<Scorer>;
  private chooser: Chooser = new Chooser();
  private level: Array<i32> = [];
  private next: Array<i32> = [];
  private visited: Array<bool> = [];
  private members: Array<i32> = [];
  // Acceptable candidates of the current level with their scores (for rendezvous placement of a new prefix).
  private candIdx: Array<i32> = [];
  private candScore: Array<f64> = [];
  private learned: LearnedCapacity;

  constructor(private catalog: Catalog, private view: LoadView, private cfg: RouterConfig, private affinity: Affinity | null = null) {
    this.scorers = scorers(cfg.scoring);
    this.learned = new LearnedCapacity(catalog.upstreams.length, cfg.capacity.halfLifeMs);
  }

  /** The capacity the score divides `u`'s load by, given its record `l` (its weight's, or the learned one). */
  capacityOf(u: i32, l: Load, nowMs: i64): f64 {
    return this.learned.capacityOf(this.catalog.upstreams[u], l, nowMs);
  }

  /** Reads, filters and scores upstream `u` into `c`. */
  private evaluate(u: i32, c: Candidate, nowMs: i64): void {
    readCandidate(c, this.catalog.upstreams[u], this.view, this.load, this.cfg, this.learned, nowMs);
    c.score = c.healthy ? score(c, this.scorers) : 0;
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

  pick(req: PickRequest, out: PickResult): void {
    out.reset();
    const nPools = this.catalog.pools.length;
    this.visited.length = nPools;
    for (let i = 0; i < nPools; i++) this.visited[i] = false;
    this.level.length = 0;
    for (let i = 0; i < req.pools.length; i++) {
      const p = req.pools[i];
      if (!this.visited[p]) {
        this.visited[p] = true;
        this.level.push(p);
      }
    }
    const nowMs = req.nowMs;
    const best = this.chooser;
    const c = this.cand;

    // Least-loaded healthy candidate whatever its saturation, across levels: the target when all are saturated.
    let anyIdx = -1;
    let anyScore = f64.MAX_VALUE;
    let firstLevel = true;

    while (this.level.length > 0) {
      this.collectMembers();
      best.reset();
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
      // Above sampleAbove candidates, power of two choices: the cost stays flat as pools grow.
      const sampled = n > this.cfg.scoring.sampleAbove;
      const visits = sampled ? 2 * SAMPLE_ROUNDS : n;
      for (let v = 0; v < visits; v++) {
        // Sampling draws two per round and stops after the first round that found an acceptable one.
        if (sampled && v > 0 && (v & 1) == 0 && best.count > 0) break;
        const u = sampled ? this.members[randomBelow(<u32>n)] : this.members[v];
        this.evaluate(u, c, nowMs);
        if (!c.healthy) continue;
        healthy++;
        out.candidates++;
        if (c.stale) out.stale++;
        const sc = c.score;
        const localScore = c.local / c.capacity;
        if (sc < anyScore - EPS) {
          anyScore = sc;
          anyIdx = u;
        }
        if (c.stale && !c.overLocal) {
          staleOnly++;
          if (localScore < staleScore - EPS || (localScore < staleScore + EPS && randomBelow(2) == 0)) {
            staleScore = localScore;
            staleIdx = u;
          }
          continue;
        }
        if (!c.ok()) continue;
        best.offer(u, sc);
        if (req.prefixKey != 0) {
          this.candIdx.push(u);
          this.candScore.push(sc);
        }
        if (req.lora && aff !== null && sc < loraScore && aff.loraHolds(this.catalog.upstreams[u])) {
          loraScore = sc;
          loraIdx = u;
        }
      }

      if (best.count > 0) {
        this.prefer(req, out, loraIdx, loraScore);
        out.outcome = PICKED;
        out.upstream = best.idx[0];
        out.score = best.score[0];
        for (let i = 1; i < best.count; i++) out.alternates.push(best.idx[i]);
        if (best.count > 1) {
          out.runnerUp = best.idx[1];
          out.runnerUpScore = best.score[1];
        }
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
    if (req.priority < this.cfg.shedding.belowPriority) {
      out.outcome = SHED;
      return;
    }
    out.outcome = PICKED;
    out.upstream = anyIdx;
    out.score = anyScore;
    out.saturated = true;
  }

  /**
   * Bounded preferences, on the level that has acceptable candidates: the prefix holder, else rendezvous
   * placement of a new prefix, else a LoRA holder — each only within maxLoadFactor of the least score.
   */
  private prefer(req: PickRequest, out: PickResult, loraIdx: i32, loraScore: f64): void {
    const best = this.chooser;
    const least = best.score[0];
    const preferred = req.preferred;
    if (preferred >= 0 && preferred < this.catalog.upstreams.length && this.inLevel(preferred)) {
      const p = this.pref;
      this.evaluate(preferred, p, req.nowMs);
      if (p.ok() && this.withinBound(p.score, least)) {
        out.affinity = AFFINITY_HIT;
        best.promote(preferred, p.score);
        return;
      }
      out.affinity = AFFINITY_OVERRIDE;
    }
    if (preferred < 0 && req.prefixKey != 0) {
      // No holder known here: the candidate the prefix hashes to (highest random weight), within the bound.
      let pick = -1;
      let pickW: u32 = 0;
      let pickS = 0.0;
      for (let i = 0; i < this.candIdx.length; i++) {
        const u = this.candIdx[i];
        const sc = this.candScore[i];
        if (!this.withinBound(sc, least)) continue;
        const w = mix32(req.prefixKey ^ this.catalog.upstreams[u].nameHash);
        if (pick < 0 || w > pickW) {
          pick = u;
          pickW = w;
          pickS = sc;
        }
      }
      if (pick >= 0) {
        best.promote(pick, pickS);
        out.placed = true;
        return;
      }
    }
    if (loraIdx >= 0) {
      if (loraIdx == best.idx[0]) out.loraHit = true;
      else if (this.withinBound(loraScore, least)) {
        best.promote(loraIdx, loraScore);
        out.loraHit = true;
      }
    }
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
}
