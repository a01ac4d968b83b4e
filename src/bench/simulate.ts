// The discrete-event loop: arrivals, server-model events, filter ticks (SimClock timers), metrics-poll responses
// and faults, processed in virtual-time order. Same workload, one policy per run.
import type { ModelEvent, ModelFactory, ServerModel } from "./model.js";
import { LeastRequest, Oracle, RandomPolicy, RoundRobin, servingMap, type Policy } from "./policies.js";
import { quantile } from "./rng.js";
import type { Arrival, Scenario, ServerDef } from "./scenarios.js";
import { requestMix } from "./scenarios.js";
import { rng } from "./rng.js";
import { SimClock, START_MS } from "./sim-clock.js";
import { WasmRouter } from "./wasm-router.js";

export const POLICIES = ["inference-router", "oracle", "round-robin", "random", "least-request"] as const;

export interface Percentiles { p50: number; p90: number; p99: number }

export interface RunResult {
  policy: string;
  requests: number;
  completed: number;
  failed: number;
  rejected: number;
  ttftMs: Percentiles;
  e2eMs: Percentiles;
  throughputRps: number;
  goodputRps: number;
  /** max / mean of requests routed per server (per unit of speed). */
  loadMaxOverMean: number;
  /** max / mean of time-averaged outstanding requests per server (per unit of speed). */
  outstandingMaxOverMean: number;
  prefixHitRate: number | null;
  /** Per pool (scenarios with several pools): share of completed requests and their TTFT / E2E p99. */
  byPool?: Record<string, { share: number; ttftP99: number; e2eP99: number; longPromptShare: number }>;
  /** Only for inference-router. */
  filter?: { unsteered: number; localReplies: Record<string, number>; pollingConfigured: boolean; polled: boolean; affinity: boolean; metricsRequestsPerServerPerSec: { mean: number; max: number } };
  /** Sorted TTFT / E2E samples (kept in memory for charts, not written to JSON). */
  samples?: { ttft: number[]; e2e: number[] };
}

export interface Slo { ttftMs: number; e2eMs: number }

/** Completed-request rate of one server of this kind fully loaded with this scenario's request mix, and an unloaded TTFT. */
export function calibrate(s: Scenario, factory: ModelFactory, def: ServerDef, model: string, seed: number): { capacityRps: number; unloadedTtftMs: number; unloadedE2eMs: number } {
  const r = rng(seed ^ 0xca1);
  const m = factory.create({ id: "calib", gpu: def.gpu, speed: def.speed, models: [model] });
  const n = 1500;
  const reqs = Array.from({ length: n }, (_, i) => requestMix(s, r, i, model));
  // Keep the server saturated: a backlog of requests, refilled as they complete.
  let t = 0, next = 0, done = 0;
  const doneAt: number[] = [];
  for (; next < 300; next++) m.submit(reqs[next]!, t);
  while (done < n) {
    const e = m.nextEventMs();
    if (!Number.isFinite(e)) break;
    t = e;
    for (const ev of m.advanceTo(t)) if (ev.kind === "completion") { done++; doneAt.push(t); if (next < n) m.submit(reqs[next++]!, t); }
  }
  // Steady state: the middle half of completions.
  const a = doneAt[Math.floor(n * 0.25)]!, b = doneAt[Math.floor(n * 0.75)]!;
  const capacityRps = (n * 0.5) / ((b - a) / 1000);
  // Unloaded: median-sized requests alone.
  const ttfts: number[] = [], e2es: number[] = [];
  for (let i = 0; i < 50; i++) {
    const u = factory.create({ id: "calib-u", gpu: def.gpu, speed: def.speed, models: [model] });
    const q = requestMix(s, r, i, model);
    u.submit(q, 0);
    let ft = 0, ct = 0;
    while (Number.isFinite(u.nextEventMs())) for (const ev of u.advanceTo(u.nextEventMs())) { if (ev.kind === "first-token") ft = ev.atMs; if (ev.kind === "completion") ct = ev.atMs; }
    ttfts.push(ft); e2es.push(ct);
  }
  ttfts.sort((x, y) => x - y); e2es.sort((x, y) => x - y);
  return { capacityRps, unloadedTtftMs: quantile(ttfts, 0.5), unloadedE2eMs: quantile(e2es, 0.5) };
}

interface Rec { a: Arrival; server: number; ttft: number; e2e: number; ok: boolean; finished: boolean; rejected: boolean }

export async function runOne(
  s: Scenario, arrivals: Arrival[], policyName: string, factory: ModelFactory, wasm: Uint8Array, seed: number, slo: Slo,
): Promise<RunResult> {
  const clock = new SimClock(START_MS);
  const servers: ServerModel[] = s.servers.map((d, i) => factory.create({ id: `s${i}`, gpu: d.gpu, speed: d.speed, models: d.models }));
  const serving = servingMap(s.servers.map((d) => d.models));
  let wasmRouter: WasmRouter | undefined;
  let policy: Policy;
  switch (policyName) {
    case "inference-router": policy = wasmRouter = await WasmRouter.create(wasm, s, servers, clock, serving, seed); break;
    case "oracle": policy = new Oracle(serving, servers); break;
    case "round-robin": policy = new RoundRobin(serving, seed); break;
    case "random": policy = new RandomPolicy(serving, seed); break;
    case "least-request": policy = new LeastRequest(serving, s.sidecars, s.servers.length, seed); break;
    default: throw new Error(`unknown policy ${policyName}`);
  }
  const recs: Rec[] = arrivals.map((a) => ({ a, server: -1, ttft: NaN, e2e: NaN, ok: false, finished: false, rejected: false }));
  const M = servers.length;
  const routed = new Float64Array(M);
  const outstanding = new Float64Array(M);
  const area = new Float64Array(M);
  const lastT = new Float64Array(M);
  const rel = (t: number) => t - START_MS;
  const track = (i: number, t: number, d: number) => { area[i]! += outstanding[i]! * (t - lastT[i]!); lastT[i] = t; outstanding[i]! += d; };

  const finish = (rec: Rec, ok: boolean, t: number) => {
    if (rec.finished) return;
    rec.finished = true;
    rec.ok = ok;
    if (ok) rec.e2e = rel(t) - rec.a.atMs;
    track(rec.server, rel(t), -1);
    policy.done(rec.a, rec.server, ok, t);
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
    for (const m of servers) { const e = m.nextEventMs(); if (e < tM) tM = e; }
    const tT = wasmRouter ? rel(clock.nextDue()) : Infinity;
    const tP = wasmRouter ? rel(wasmRouter.nextPollResponseMs()) : Infinity;
    const tF = fault && !fault.done ? fault.at : Infinity;
    const tWork = Math.min(tA, tM, tF);
    if (tWork === Infinity || tWork > hardEnd) break; // nothing left but ticks and polls
    const t = Math.min(tWork, tT, tP);
    // Model events first (they happened at their own times ≤ t).
    if (tM <= t) for (let i = 0; i < M; i++) if (servers[i]!.nextEventMs() <= t) handle(servers[i]!.advanceTo(t).map((e) => ({ ...e, atMs: e.atMs + START_MS })));
    if (wasmRouter) {
      if (tT <= t) { clock.runUntil(t + START_MS); wasmRouter.collectAll(t + START_MS); }
      clock.set(t + START_MS);
      if (tP <= t) wasmRouter.deliverPolls(t + START_MS, advanceServer);
    } else clock.set(t + START_MS);
    if (fault && !fault.done && tF <= t) {
      fault.done = true;
      const m = servers[s.fault!.server]!;
      if (s.fault!.kind === "die") handle(m.kill(t).map((e) => ({ ...e, atMs: e.atMs + START_MS })));
      else m.setSpeedFactor(s.fault!.factor, t);
    }
    while (ai < arrivals.length && arrivals[ai]!.atMs <= t) {
      const a = arrivals[ai++]!;
      const rec = recs[a.id]!;
      const r = policy.route(a, t + START_MS);
      if (r.server < 0) { rec.rejected = true; rec.finished = true; continue; }
      rec.server = r.server;
      routed[r.server]! += 1;
      track(r.server, t, +1);
      const m = servers[r.server]!;
      if (m.dead) { finish(rec, false, t + START_MS); continue; } // connection refused / 503
      if (m.nextEventMs() <= t) handle(m.advanceTo(t).map((e) => ({ ...e, atMs: e.atMs + START_MS })));
      m.submit(a, t);
    }
  }
  const endT = rel(clock.nowMs());
  for (let i = 0; i < M; i++) track(i, endT, 0);

  // Measurement window: arrivals after a 10% warm-up.
  const warm = s.durationMs * 0.1;
  const win = recs.filter((r) => r.a.atMs >= warm);
  const ok = win.filter((r) => r.finished && r.ok);
  const ttft = ok.map((r) => r.ttft).sort((x, y) => x - y);
  const e2e = ok.map((r) => r.e2e).sort((x, y) => x - y);
  const pct = (v: number[]): Percentiles => ({ p50: round(quantile(v, 0.5)), p90: round(quantile(v, 0.9)), p99: round(quantile(v, 0.99)) });
  const windowS = (s.durationMs - warm) / 1000;
  const speeds = s.servers.map((d) => d.speed);
  const ratio = (v: Float64Array) => {
    const n = Array.from(v, (x, i) => x / speeds[i]!);
    const mean = n.reduce((a, b) => a + b, 0) / n.length;
    return mean > 0 ? round(Math.max(...n) / mean, 3) : 0;
  };
  let hits = 0, queries = 0;
  for (const m of servers) { const st = m.stats(endT); hits += st.prefixHits; queries += st.prefixQueries; }
  const res: RunResult = {
    policy: policyName,
    requests: win.length,
    completed: ok.length,
    failed: win.filter((r) => r.finished && !r.ok && !r.rejected).length + win.filter((r) => !r.finished).length,
    rejected: win.filter((r) => r.rejected).length,
    ttftMs: pct(ttft),
    e2eMs: pct(e2e),
    throughputRps: round(ok.length / windowS, 2),
    goodputRps: round(ok.filter((r) => r.ttft <= slo.ttftMs && r.e2e <= slo.e2eMs).length / windowS, 2),
    loadMaxOverMean: ratio(routed),
    outstandingMaxOverMean: ratio(area),
    prefixHitRate: s.prefix && queries > 0 ? round(hits / queries, 3) : null,
    samples: { ttft, e2e },
  };
  const pools = [...new Set(s.servers.map((d) => d.pool))];
  if (pools.length > 1) {
    res.byPool = {};
    // "Long" prompts: the longest 10% of this run's prompts (their prefill dominates TTFT on a slow GPU).
    const lens = ok.map((r) => r.a.promptTokens).sort((x, y) => x - y);
    const long = quantile(lens, 0.9);
    for (const p of pools) {
      const mine = ok.filter((r) => s.servers[r.server]!.pool === p);
      const longAll = ok.filter((r) => r.a.promptTokens >= long).length;
      res.byPool[p] = {
        share: round(mine.length / Math.max(1, ok.length), 3),
        ttftP99: round(quantile(mine.map((r) => r.ttft).sort((x, y) => x - y), 0.99)),
        e2eP99: round(quantile(mine.map((r) => r.e2e).sort((x, y) => x - y), 0.99)),
        longPromptShare: round(mine.filter((r) => r.a.promptTokens >= long).length / Math.max(1, longAll), 3),
      };
    }
  }
  if (wasmRouter) {
    const st = wasmRouter.stats;
    const perSec = st.metricsRequests.map((n) => n / (endT / 1000));
    res.filter = {
      unsteered: st.unsteered, localReplies: st.localReplies, pollingConfigured: st.features.polling, polled: st.metricsRequests.some((n) => n > 0), affinity: st.features.affinity,
      metricsRequestsPerServerPerSec: { mean: round(perSec.reduce((a, b) => a + b, 0) / perSec.length, 3), max: round(Math.max(...perSec), 3) },
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
