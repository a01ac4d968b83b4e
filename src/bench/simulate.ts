// The discrete-event loop: arrivals, server-model events, filter ticks (SimClock timers), metrics-poll responses
// and faults, processed in virtual-time order. Same workload, one policy per run.
import type { ModelEvent, ModelFactory, ServerModel } from "./model.js";
import { ClairvoyantGreedy, EnvoyLb, EPP_DEFAULTS, EppPicker, RandomPolicy, RETRY, servingMap, type Policy } from "./policies.js";
import { quantile } from "./rng.js";
import type { Arrival, Scenario, ServerDef } from "./scenarios.js";
import { POLICY_ORDER, requestMix } from "./scenarios.js";
import { rng } from "./rng.js";
import { SimClock, START_MS } from "./sim-clock.js";
import { WasmRouter } from "./wasm-router.js";

export interface Percentiles {
  p50: number;
  p90: number;
  p99: number;
}

export interface RunResult {
  policy: string;
  requests: number;
  completed: number;
  /** Failed (5xx, reset, unfinished at the end) and shed (429 or other local replies) requests of the window. */
  failed: number;
  rejected: number;
  /** (failed + rejected) / requests. */
  failedShare: number;
  /** Retries made (Istio's default policy). */
  retries: number;
  ttftMs: Percentiles;
  e2eMs: Percentiles;
  throughputRps: number;
  goodputRps: number;
  /** max / mean of requests routed per server (per unit of speed). */
  loadMaxOverMean: number;
  /** max / mean of time-averaged outstanding requests per server (per unit of speed). */
  outstandingMaxOverMean: number;
  prefixHitRate: number | null;
  /** Per pool (scenarios with several pools): share of completed requests and their TTFT p99. */
  byPool?: Record<string, { share: number; ttftP99: number }>;
  /** Only for inference-router. */
  filter?: {
    unsteered: number;
    localReplies: Record<string, number>;
    pollingConfigured: boolean;
    polled: boolean;
    affinity: boolean;
    metricsRequestsPerServerPerSec: { mean: number; max: number };
    metricsPageBytes: number;
    loadReportsPerServerPerSec: number;
  };
  /** Sorted TTFT / E2E samples (kept in memory for charts, not written to JSON). */
  samples?: { ttft: number[]; e2e: number[]; failed: number };
}

export interface Slo {
  ttftMs: number;
  e2eMs: number;
}

/** Completed-request rate of one server of this kind fully loaded with this scenario's request mix, and an unloaded TTFT. */
export function calibrate(
  s: Scenario,
  factory: ModelFactory,
  def: ServerDef,
  model: string,
  seed: number,
): { capacityRps: number; unloadedTtftMs: number; unloadedE2eMs: number } {
  const r = rng(seed ^ 0xca1);
  const m = factory.create({ id: "calib", gpu: def.gpu, speed: def.speed, models: [model] });
  const n = 1500;
  const reqs = Array.from({ length: n }, (_, i) => requestMix(s, r, i, model));
  // Keep the server saturated: a backlog of requests, refilled as they complete.
  let t = 0,
    next = 0,
    done = 0;
  const doneAt: number[] = [];
  for (; next < 300; next++) m.submit(reqs[next]!, t);
  while (done < n) {
    const e = m.nextEventMs();
    if (!Number.isFinite(e)) break;
    t = e;
    for (const ev of m.advanceTo(t))
      if (ev.kind === "completion") {
        done++;
        doneAt.push(t);
        if (next < n) m.submit(reqs[next++]!, t);
      }
  }
  // Steady state: the middle half of completions.
  const a = doneAt[Math.floor(n * 0.25)]!,
    b = doneAt[Math.floor(n * 0.75)]!;
  const capacityRps = (n * 0.5) / ((b - a) / 1000);
  // Unloaded: median-sized requests alone.
  const ttfts: number[] = [],
    e2es: number[] = [];
  for (let i = 0; i < 50; i++) {
    const u = factory.create({ id: "calib-u", gpu: def.gpu, speed: def.speed, models: [model] });
    const q = requestMix(s, r, i, model);
    u.submit(q, 0);
    let ft = 0,
      ct = 0;
    while (Number.isFinite(u.nextEventMs()))
      for (const ev of u.advanceTo(u.nextEventMs())) {
        if (ev.kind === "first-token") ft = ev.atMs;
        if (ev.kind === "completion") ct = ev.atMs;
      }
    ttfts.push(ft);
    e2es.push(ct);
  }
  ttfts.sort((x, y) => x - y);
  e2es.sort((x, y) => x - y);
  return { capacityRps, unloadedTtftMs: quantile(ttfts, 0.5), unloadedE2eMs: quantile(e2es, 0.5) };
}

interface Rec {
  a: Arrival;
  server: number;
  ttft: number;
  e2e: number;
  ok: boolean;
  finished: boolean;
  rejected: boolean;
  tried: number[];
  fallbacks: number[];
}

/** Policy names: the filter (exact weights, and without weights where the scenario has them), the central
 *  EPP-style peer, Envoy's weighted LBs with Istio's default retries (and the outlier-detection variant), and the
 *  clairvoyant greedy reference. */
export const POLICIES = POLICY_ORDER;
export const NO_WEIGHTS = "inference-router-no-weights";

export interface RunOptions {
  eppDelayMs?: number;
}

/** Percentile over every request of the window, failed and shed ones counted as infinitely late: NaN (JSON
 *  null) when the percentile falls on a failed/shed request. */
function pctAll(okSorted: number[], failed: number, q: number): number {
  const n = okSorted.length + failed;
  if (n === 0) return NaN;
  const i = Math.min(n - 1, Math.max(0, Math.ceil(q * n) - 1));
  return i < okSorted.length ? okSorted[i]! : Infinity;
}

export async function runOne(
  s: Scenario,
  arrivals: Arrival[],
  policyName: string,
  factory: ModelFactory,
  wasm: Uint8Array,
  seed: number,
  slo: Slo,
  o: RunOptions = {},
): Promise<RunResult> {
  const clock = new SimClock(START_MS);
  const servers: ServerModel[] = s.servers.map((d, i) => factory.create({ id: `s${i}`, gpu: d.gpu, speed: d.speed, models: d.models }));
  const serving = servingMap(s.servers.map((d) => d.models));
  // Every policy gets the same per-server weights the filter's pools carry (the pool weight of the server's pool).
  const weights = s.servers.map((d) => s.pools.find((p) => p.name === d.pool)?.weight ?? 1);
  let wasmRouter: WasmRouter | undefined;
  let policy: Policy;
  switch (policyName) {
    case "inference-router":
      policy = wasmRouter = await WasmRouter.create(wasm, s, servers, clock, serving, seed);
      break;
    case NO_WEIGHTS:
      policy = wasmRouter = await WasmRouter.create(wasm, s, servers, clock, serving, seed, { noWeights: true });
      break;
    case "clairvoyant-greedy":
      policy = new ClairvoyantGreedy(serving, servers);
      break;
    case "epp":
      policy = new EppPicker(serving, servers, seed, {
        ...EPP_DEFAULTS,
        ...(o.eppDelayMs !== undefined ? { extProcDelayMs: o.eppDelayMs } : {}),
      });
      break;
    case "round-robin":
      policy = new EnvoyLb(policyName, "round-robin", serving, s.sidecars, weights, seed);
      break;
    case "least-request":
      policy = new EnvoyLb(policyName, "least-request", serving, s.sidecars, weights, seed);
      break;
    case "least-request+outlier":
      policy = new EnvoyLb(policyName, "least-request", serving, s.sidecars, weights, seed, true);
      break;
    case "random":
      policy = new RandomPolicy(serving, seed);
      break;
    default:
      throw new Error(`unknown policy ${policyName}`);
  }
  const retryR = rng(seed ^ 0x7e7);
  const recs: Rec[] = arrivals.map((a) => ({
    a,
    server: -1,
    ttft: NaN,
    e2e: NaN,
    ok: false,
    finished: false,
    rejected: false,
    tried: [],
    fallbacks: [],
  }));
  const M = servers.length;
  const routed = new Float64Array(M);
  const outstanding = new Float64Array(M);
  const area = new Float64Array(M);
  const lastT = new Float64Array(M);
  let retries = 0;
  const rel = (t: number) => t - START_MS;
  const track = (i: number, t: number, d: number) => {
    area[i]! += outstanding[i]! * (t - lastT[i]!);
    lastT[i] = t;
    outstanding[i]! += d;
  };
  // Requests waiting to leave the proxy: the EPP's ext_proc delay, retry back-off.
  let deferred: Array<{ at: number; rec: Rec; server: number }> = [];

  const finish = (rec: Rec, ok: boolean, t: number) => {
    if (rec.finished) return;
    rec.finished = true;
    rec.ok = ok;
    if (ok) rec.e2e = rel(t) - rec.a.atMs;
    track(rec.server, rel(t), -1);
    policy.attemptDone(rec.a, rec.server, ok, t);
    policy.done(rec.a, rec.server, ok, t);
  };
  /** Sends an attempt (t relative). A dead server refuses the connection: retried per Istio's default policy. */
  const dispatch = (rec: Rec, server: number, t: number) => {
    rec.server = server;
    rec.tried.push(server);
    routed[server]! += 1;
    const m = servers[server]!;
    if (!m.dead) {
      track(server, t, +1);
      if (m.nextEventMs() <= t) handle(m.advanceTo(t).map((e) => ({ ...e, atMs: e.atMs + START_MS })));
      m.submit(rec.a, t);
      return;
    }
    const k = rec.tried.length; // attempts so far
    if (k > RETRY.numRetries) {
      track(server, t, +1);
      finish(rec, false, t + START_MS);
      return;
    }
    policy.attemptDone(rec.a, server, false, t + START_MS);
    retries++;
    const next = rec.fallbacks.shift() ?? policy.retryPick(rec.a, rec.tried, t + START_MS);
    const backoff = retryR() * ((1 << k) - 1) * RETRY.baseIntervalMs;
    deferred.push({ at: t + backoff, rec, server: next });
  };
  const handle = (evs: ModelEvent[]) => {
    for (const ev of evs) {
      const rec = recs[ev.id]!;
      if (ev.kind === "first-token") rec.ttft = rel(ev.atMs) - rec.a.atMs;
      else finish(rec, ev.kind === "completion", ev.atMs);
    }
  };
  const advanceServer = (i: number) => {
    const m = servers[i]!;
    if (m.nextEventMs() <= rel(clock.nowMs())) handle(m.advanceTo(rel(clock.nowMs())).map((e) => ({ ...e, atMs: e.atMs + START_MS })));
  };

  const fault = s.fault ? { at: s.durationMs * s.fault.atFrac, done: false } : undefined;
  let ai = 0;
  const hardEnd = s.durationMs * 4;
  for (;;) {
    const tA = ai < arrivals.length ? arrivals[ai]!.atMs : Infinity;
    let tM = Infinity;
    for (const m of servers) {
      const e = m.nextEventMs();
      if (e < tM) tM = e;
    }
    let tD = Infinity;
    for (const d of deferred) if (d.at < tD) tD = d.at;
    const tT = wasmRouter ? rel(clock.nextDue()) : Infinity;
    const tP = wasmRouter ? rel(wasmRouter.nextPollResponseMs()) : Infinity;
    const tF = fault && !fault.done ? fault.at : Infinity;
    const tWork = Math.min(tA, tM, tF, tD);
    if (tWork === Infinity || tWork > hardEnd) break; // nothing left but ticks and polls
    const t = Math.min(tWork, tT, tP);
    // Model events first (they happened at their own times ≤ t).
    if (tM <= t)
      for (let i = 0; i < M; i++)
        if (servers[i]!.nextEventMs() <= t) handle(servers[i]!.advanceTo(t).map((e) => ({ ...e, atMs: e.atMs + START_MS })));
    if (wasmRouter) {
      if (tT <= t) {
        clock.runUntil(t + START_MS);
        wasmRouter.collectAll(t + START_MS);
      }
      clock.set(t + START_MS);
      if (tP <= t) wasmRouter.deliverPolls(t + START_MS, advanceServer);
    } else clock.set(t + START_MS);
    if (fault && !fault.done && tF <= t) {
      fault.done = true;
      const m = servers[s.fault!.server]!;
      if (s.fault!.kind === "die") handle(m.kill(t).map((e) => ({ ...e, atMs: e.atMs + START_MS })));
      else m.setSpeedFactor(s.fault!.factor, t);
    }
    if (tD <= t) {
      const due = deferred.filter((d) => d.at <= t);
      deferred = deferred.filter((d) => d.at > t);
      for (const d of due) dispatch(d.rec, d.server, t);
    }
    while (ai < arrivals.length && arrivals[ai]!.atMs <= t) {
      const a = arrivals[ai++]!;
      const rec = recs[a.id]!;
      const r = policy.route(a, t + START_MS);
      if (r.server < 0) {
        rec.rejected = true;
        rec.finished = true;
        continue;
      }
      rec.fallbacks = r.fallbacks ? [...r.fallbacks] : [];
      if (r.delayMs) deferred.push({ at: t + r.delayMs, rec, server: r.server });
      else dispatch(rec, r.server, t);
    }
  }
  const endT = rel(clock.nowMs());
  for (let i = 0; i < M; i++) track(i, endT, 0);

  // Measurement window: arrivals after a 10% warm-up. Failed, shed and unfinished requests stay in every
  // statistic: latency percentiles count them as infinitely late, goodput counts only completions within the SLO.
  const warm = s.durationMs * 0.1;
  const win = recs.filter((r) => r.a.atMs >= warm);
  const ok = win.filter((r) => r.finished && r.ok);
  const bad = win.length - ok.length;
  const ttft = ok.map((r) => r.ttft).sort((x, y) => x - y);
  const e2e = ok.map((r) => r.e2e).sort((x, y) => x - y);
  const pct = (v: number[]): Percentiles => ({
    p50: round(pctAll(v, bad, 0.5)),
    p90: round(pctAll(v, bad, 0.9)),
    p99: round(pctAll(v, bad, 0.99)),
  });
  const windowS = (s.durationMs - warm) / 1000;
  const speeds = s.servers.map((d) => d.speed);
  const ratio = (v: Float64Array) => {
    const n = Array.from(v, (x, i) => x / speeds[i]!);
    const mean = n.reduce((a, b) => a + b, 0) / n.length;
    return mean > 0 ? round(Math.max(...n) / mean, 3) : 0;
  };
  let hits = 0,
    queries = 0;
  for (const m of servers) {
    const st = m.stats(endT);
    hits += st.prefixHits;
    queries += st.prefixQueries;
  }
  const rejected = win.filter((r) => r.rejected).length;
  const res: RunResult = {
    policy: policyName,
    requests: win.length,
    completed: ok.length,
    failed: bad - rejected,
    rejected,
    failedShare: round(bad / Math.max(1, win.length), 4),
    retries,
    ttftMs: pct(ttft),
    e2eMs: pct(e2e),
    throughputRps: round(ok.length / windowS, 2),
    goodputRps: round(ok.filter((r) => r.ttft <= slo.ttftMs && r.e2e <= slo.e2eMs).length / windowS, 2),
    loadMaxOverMean: ratio(routed),
    outstandingMaxOverMean: ratio(area),
    prefixHitRate: s.prefix && queries > 0 ? round(hits / queries, 3) : null,
    samples: { ttft, e2e, failed: bad },
  };
  const pools = [...new Set(s.servers.map((d) => d.pool))];
  if (pools.length > 1) {
    res.byPool = {};
    for (const p of pools) {
      const mine = ok.filter((r) => s.servers[r.server]!.pool === p);
      res.byPool[p] = {
        share: round(mine.length / Math.max(1, ok.length), 3),
        ttftP99: round(
          quantile(
            mine.map((r) => r.ttft).sort((x, y) => x - y),
            0.99,
          ),
        ),
      };
    }
  }
  if (wasmRouter) {
    const st = wasmRouter.stats;
    const perSec = st.metricsRequests.map((n) => n / (endT / 1000));
    res.filter = {
      unsteered: st.unsteered,
      localReplies: st.localReplies,
      pollingConfigured: st.features.polling,
      polled: st.metricsRequests.some((n) => n > 0),
      affinity: st.features.affinity,
      metricsRequestsPerServerPerSec: {
        mean: round(perSec.reduce((a, b) => a + b, 0) / perSec.length, 3),
        max: round(Math.max(...perSec), 3),
      },
      metricsPageBytes: st.pageBytes,
      loadReportsPerServerPerSec: round(st.loadReports / M / (endT / 1000), 3),
    };
    await wasmRouter.close();
  }
  return res;
}

export function round(x: number, d = 1): number {
  if (!Number.isFinite(x)) return x;
  const f = 10 ** d;
  return Math.round(x * f) / f;
}
