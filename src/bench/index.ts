// `inference-router bench`: the routing-quality simulation (real .wasm, K sidecars, M simulated GPU servers,
// baselines on the same workload) and the filter-cost benchmark. Writes summary.json and SVG charts.
import { createHash } from "node:crypto";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import os from "node:os";
import { join } from "node:path";
import { runCost, type CostResult } from "./cost.js";
import { loadModelFactory } from "./gpu-adapter.js";
import type { ModelFactory } from "./model.js";
import { scaleScenario, scenarios, workload, type Scenario } from "./scenarios.js";
import { calibrate, POLICIES, round, runOne, type RunOptions, type RunResult, type Slo } from "./simulate.js";
import { EPP_DEFAULTS } from "./policies.js";
import { chart, tailPoints, type Panel } from "./svg.js";

export interface BenchOptions {
  quick?: boolean;
  out?: string;
  /** First seed; `seeds` consecutive seeds from it are run per point (default 5, quick 2). */
  seed?: number;
  seeds?: number;
  /** The EPP-style peer's per-request ext_proc delay (ms). */
  eppDelayMs?: number;
  wasm?: string;
  /** Which parts: routing scenarios, the scale scenario, the cost benchmark. Default all. */
  parts?: Array<"routing" | "scale" | "cost">;
  /** Merged into the filter's plugin configuration in every scenario (experiments; recorded in the summary). */
  pluginConfig?: Record<string, unknown>;
  /** Policies to run (default all). */
  policies?: string[];
  /** Only these scenario names. */
  only?: string[];
  log?: (s: string) => void;
  /** Keep raw samples out of files (always); write files at all (tests pass false). */
  write?: boolean;
}

/** Mean over seeds with its 95 % confidence interval (Student's t, n − 1 degrees of freedom). lo/hi are null
 *  (NaN) with fewer than two finite values; a mean over a value that is infinite (a percentile falling on failed
 *  requests in some seed) is infinite (null in JSON). */
export interface Ci {
  mean: number;
  lo: number;
  hi: number;
  n: number;
}
const T975 = [
  NaN,
  12.706,
  4.303,
  3.182,
  2.776,
  2.571,
  2.447,
  2.365,
  2.306,
  2.262,
  2.228,
  2.201,
  2.179,
  2.16,
  2.145,
  2.131,
  2.12,
  2.11,
  2.101,
  2.093,
  2.086,
];
export function ci(v: number[], d = 3): Ci {
  const n = v.length;
  const mean = v.reduce((a, b) => a + b, 0) / Math.max(1, n);
  if (n < 2 || !Number.isFinite(mean)) return { mean: round(mean, d), lo: NaN, hi: NaN, n };
  const sd = Math.sqrt(v.reduce((a, b) => a + (b - mean) ** 2, 0) / (n - 1));
  const h = ((T975[Math.min(n - 1, 20)] ?? 1.96) * sd) / Math.sqrt(n);
  return { mean: round(mean, d), lo: round(mean - h, d), hi: round(mean + h, d), n };
}

/** One policy at one load: the seed-mean of every RunResult figure, confidence intervals for the headline ones,
 *  and per-seed values. Samples (for charts) are the first seed's. */
export interface PolicyResult extends RunResult {
  seeds: number;
  ci: { ttftP50: Ci; ttftP90: Ci; ttftP99: Ci; e2eP99: Ci; goodputRps: Ci; failedShare: Ci; outstandingMaxOverMean: Ci };
  perSeed: { ttftP90: number[]; ttftP99: number[]; goodputRps: number[]; failed: number[]; rejected: number[] };
}
/** policy / other policy, paired by seed (same workload), with its interval: below 1 = lower than the other. */
export interface Ratios {
  ttftP99: Ci;
  ttftP90: Ci;
  goodput: Ci;
}
export interface LoadResult {
  load: number;
  offeredRps: number;
  results: Record<string, PolicyResult>;
  ratios: Record<string, { vsLeastRequest: Ratios; vsEpp: Ratios; vsRoundRobin: Ratios }>;
}
export interface ScenarioResult {
  name: string;
  description: string;
  servers: Array<{ pool: string; gpu: string; speed: number; models: string[] }>;
  sidecars: number;
  workersPerSidecar: number;
  durationMs: number;
  seeds: number[];
  capacityRps: number;
  slo: Slo;
  loads: LoadResult[];
}
export interface Target {
  name: string;
  target: string;
  measured: string;
  met: boolean;
}
export interface BenchSummary {
  version: 2;
  seeds: number[];
  quick: boolean;
  model: string;
  eppDelayMs: number;
  pluginConfig?: Record<string, unknown>;
  wasm: { path: string; bytes: number; sha256: string };
  scenarios: ScenarioResult[];
  scale?: ScenarioResult & { metricsRequestsPerServerPerSec: { mean: number; max: number }; pollingDefaults: string };
  cost?: CostResult;
  targets: Target[];
  /** Where and how long (varies run to run; everything above is deterministic for the seeds, except cost). */
  run: { node: string; cpus: number; cpuModel: string; wallMs: number };
}

function pairRatio(a: RunResult[], b: RunResult[] | undefined, f: (r: RunResult) => number): Ci {
  if (!b) return { mean: NaN, lo: NaN, hi: NaN, n: 0 };
  return ci(a.map((x, i) => f(x) / f(b[i]!)));
}
function ratios(a: RunResult[], b: RunResult[] | undefined): Ratios {
  return {
    ttftP99: pairRatio(a, b, (r) => r.ttftMs.p99),
    ttftP90: pairRatio(a, b, (r) => r.ttftMs.p90),
    goodput: pairRatio(a, b, (r) => r.goodputRps),
  };
}

function aggregate(runs: RunResult[]): PolicyResult {
  const mean = (f: (r: RunResult) => number, d = 1) => round(runs.reduce((a, r) => a + f(r), 0) / runs.length, d);
  const first = runs[0]!;
  const out: PolicyResult = {
    ...first,
    requests: mean((r) => r.requests),
    completed: mean((r) => r.completed),
    failed: mean((r) => r.failed),
    rejected: mean((r) => r.rejected),
    failedShare: mean((r) => r.failedShare, 4),
    retries: mean((r) => r.retries),
    ttftMs: { p50: mean((r) => r.ttftMs.p50), p90: mean((r) => r.ttftMs.p90), p99: mean((r) => r.ttftMs.p99) },
    e2eMs: { p50: mean((r) => r.e2eMs.p50), p90: mean((r) => r.e2eMs.p90), p99: mean((r) => r.e2eMs.p99) },
    throughputRps: mean((r) => r.throughputRps, 2),
    goodputRps: mean((r) => r.goodputRps, 2),
    loadMaxOverMean: mean((r) => r.loadMaxOverMean, 3),
    outstandingMaxOverMean: mean((r) => r.outstandingMaxOverMean, 3),
    prefixHitRate: first.prefixHitRate === null ? null : mean((r) => r.prefixHitRate ?? 0, 3),
    seeds: runs.length,
    ci: {
      ttftP50: ci(
        runs.map((r) => r.ttftMs.p50),
        1,
      ),
      ttftP90: ci(
        runs.map((r) => r.ttftMs.p90),
        1,
      ),
      ttftP99: ci(
        runs.map((r) => r.ttftMs.p99),
        1,
      ),
      e2eP99: ci(
        runs.map((r) => r.e2eMs.p99),
        1,
      ),
      goodputRps: ci(
        runs.map((r) => r.goodputRps),
        2,
      ),
      failedShare: ci(
        runs.map((r) => r.failedShare),
        4,
      ),
      outstandingMaxOverMean: ci(
        runs.map((r) => r.outstandingMaxOverMean),
        3,
      ),
    },
    perSeed: {
      ttftP90: runs.map((r) => r.ttftMs.p90),
      ttftP99: runs.map((r) => r.ttftMs.p99),
      goodputRps: runs.map((r) => r.goodputRps),
      failed: runs.map((r) => r.failed),
      rejected: runs.map((r) => r.rejected),
    },
  };
  if (first.byPool) {
    out.byPool = Object.fromEntries(
      Object.keys(first.byPool).map((p) => [
        p,
        {
          share: round(runs.reduce((a, r) => a + r.byPool![p]!.share, 0) / runs.length, 3),
          ttftP99: round(runs.reduce((a, r) => a + r.byPool![p]!.ttftP99, 0) / runs.length, 1),
        },
      ]),
    );
  }
  return out;
}

export async function runScenario(
  s: Scenario,
  factory: ModelFactory,
  wasm: Uint8Array,
  seeds: number[],
  log: (s: string) => void,
  o: RunOptions = {},
): Promise<ScenarioResult> {
  const seed = seeds[0]!;
  // Capacity per model: the calibrated saturated throughput of each serving server, summed.
  const capacity = new Map<string, number>();
  let slo: Slo | undefined;
  const calCache = new Map<string, ReturnType<typeof calibrate>>();
  for (const d of s.servers)
    for (const m of d.models) {
      const key = `${d.gpu}/${d.speed}/${m}`;
      if (!calCache.has(key)) calCache.set(key, calibrate(s, factory, d, m, seed));
      const c = calCache.get(key)!;
      capacity.set(m, (capacity.get(m) ?? 0) + c.capacityRps / d.models.length);
    }
  // SLO from the unloaded latency of the scenario's fastest server type: TTFT ≤ 10× and E2E ≤ 3× unloaded medians.
  for (const c of calCache.values()) {
    const cand = { ttftMs: round(Math.max(100, c.unloadedTtftMs * 10), 0), e2eMs: round(c.unloadedE2eMs * 3, 0) };
    if (!slo || cand.e2eMs < slo.e2eMs) slo = cand;
  }
  const totalCap = [...capacity.values()].reduce((a, b) => a + b, 0);
  const out: ScenarioResult = {
    name: s.name,
    description: s.description,
    servers: s.servers,
    sidecars: s.sidecars,
    workersPerSidecar: s.workers,
    durationMs: s.durationMs,
    seeds,
    capacityRps: round(totalCap, 2),
    slo: slo!,
    loads: [],
  };
  for (const load of s.loads) {
    const rates = new Map(s.models.map((m) => [m.name, capacity.get(m.name)! * load]));
    const runs: Record<string, RunResult[]> = {};
    let offered = 0;
    for (const sd of seeds) {
      const arrivals = workload(s, rates, sd);
      offered += arrivals.length / (s.durationMs / 1000) / seeds.length;
      for (const p of s.policies ?? POLICIES) {
        const t0 = Date.now();
        const r = await runOne(s, arrivals, p, factory, wasm, sd, slo!, o);
        if (sd !== seed) delete r.samples;
        (runs[p] ??= []).push(r);
        log(
          `  ${s.name} @${Math.round(load * 100)}% seed ${sd} ${p.padEnd(24)} ttft p99 ${String(r.ttftMs.p99).padStart(8)} ms, goodput ${String(r.goodputRps).padStart(6)}/s, failed ${r.failed + r.rejected}  (${Date.now() - t0} ms)`,
        );
      }
    }
    const results: Record<string, PolicyResult> = {};
    for (const [p, rs] of Object.entries(runs)) results[p] = aggregate(rs);
    const rr: LoadResult["ratios"] = {};
    for (const [p, rs] of Object.entries(runs))
      rr[p] = {
        vsLeastRequest: ratios(rs, runs["least-request"]),
        vsEpp: ratios(rs, runs["epp"]),
        vsRoundRobin: ratios(rs, runs["round-robin"]),
      };
    out.loads.push({ load, offeredRps: round(offered, 2), results, ratios: rr });
  }
  return out;
}

function stripSamples(s: ScenarioResult): ScenarioResult {
  return {
    ...s,
    loads: s.loads.map((l) => ({
      ...l,
      results: Object.fromEntries(
        Object.entries(l.results).map(([k, v]) => {
          const { samples: _, ...rest } = v;
          return [k, rest as PolicyResult];
        }),
      ),
    })),
  };
}

const pctx = (x: number) => `${Math.round(x * 100)}%`;
/** "m [lo, hi]" */
export function fmtCi(c: Ci, unit = ""): string {
  if (!Number.isFinite(c.mean)) return "failed";
  return Number.isFinite(c.lo) ? `${c.mean}${unit} [${c.lo}, ${c.hi}]` : `${c.mean}${unit}`;
}

function charts(s: ScenarioResult): string {
  const at = s.loads.find((l) => l.load === 0.85) ?? s.loads[s.loads.length - 1]!;
  const policies = Object.keys(at.results);
  const one = s.loads.length === 1;
  const panels: Panel[] = [
    {
      title: `TTFT tail at ${pctx(at.load)} load (seed ${s.seeds[0]})`,
      xLabel: "time to first token (ms)",
      yLabel: "% of requests slower (log)",
      logX: true,
      logY: true,
      series: policies.map((p) => ({
        name: p,
        points: tailPoints(at.results[p]!.samples?.ttft ?? [], at.results[p]!.samples?.failed ?? 0),
      })),
    },
    {
      title: `E2E latency tail at ${pctx(at.load)} load`,
      xLabel: "end-to-end latency (ms)",
      yLabel: "% of requests slower (log)",
      logX: true,
      logY: true,
      series: policies.map((p) => ({
        name: p,
        points: tailPoints(at.results[p]!.samples?.e2e ?? [], at.results[p]!.samples?.failed ?? 0),
      })),
    },
  ];
  if (one) {
    panels.push({
      title: `p99 TTFT, ${s.seeds.length} seeds (95% CI)`,
      xLabel: "",
      yLabel: "p99 TTFT (ms)",
      bars: true,
      series: policies.map((p) => ({
        name: p,
        points: [[0, at.results[p]!.ttftMs.p99]],
        ci: [[at.results[p]!.ci.ttftP99.lo, at.results[p]!.ci.ttftP99.hi]],
      })),
    });
  } else {
    panels.push({
      title: `p99 TTFT vs load (${s.seeds.length} seeds, 95% CI)`,
      xLabel: "offered load (share of capacity)",
      yLabel: "p99 TTFT (ms, log)",
      logY: true,
      markers: true,
      series: policies.map((p) => ({
        name: p,
        points: s.loads.map((l) => [l.load, l.results[p]?.ttftMs.p99 ?? NaN] as [number, number]),
        ci: s.loads.map((l) => [l.results[p]?.ci.ttftP99.lo ?? NaN, l.results[p]?.ci.ttftP99.hi ?? NaN] as [number, number]),
      })),
    });
    panels.push({
      title: "goodput vs load (within SLO)",
      xLabel: "offered load (share of capacity)",
      yLabel: "goodput (req/s)",
      markers: true,
      series: policies.map((p) => ({
        name: p,
        points: s.loads.map((l) => [l.load, l.results[p]?.goodputRps ?? NaN] as [number, number]),
        ci: s.loads.map((l) => [l.results[p]?.ci.goodputRps.lo ?? NaN, l.results[p]?.ci.goodputRps.hi ?? NaN] as [number, number]),
      })),
    });
    panels.push({
      title: "failed + shed vs load",
      xLabel: "offered load (share of capacity)",
      yLabel: "share of requests (%)",
      markers: true,
      series: policies.map((p) => ({
        name: p,
        points: s.loads.map((l) => [l.load, (l.results[p]?.failedShare ?? NaN) * 100] as [number, number]),
      })),
    });
  }
  return chart(`${s.name}: ${s.description}`, panels, policies);
}

function targets(sum: BenchSummary): Target[] {
  const t: Target[] = [];
  const me = "inference-router";
  const at = (name: string, load: number) => sum.scenarios.find((s) => s.name === name)?.loads.find((l) => l.load === load);
  const het = at("heterogeneous", 0.85);
  if (het?.ratios[me]) {
    const r = het.ratios[me]!;
    t.push({
      name: "heterogeneous @85%: p99 TTFT vs weighted least-request (Istio retries)",
      target: "≤ 0.5×",
      measured: `${fmtCi(r.vsLeastRequest.ttftP99, "×")} (${het.results[me]!.ttftMs.p99} vs ${het.results["least-request"]?.ttftMs.p99} ms)`,
      met: r.vsLeastRequest.ttftP99.mean <= 0.5,
    });
    t.push({
      name: "heterogeneous @85%: goodput vs weighted least-request",
      target: "≥ 1.1×",
      measured: `${fmtCi(r.vsLeastRequest.goodput, "×")} (${het.results[me]!.goodputRps} vs ${het.results["least-request"]?.goodputRps} req/s)`,
      met: r.vsLeastRequest.goodput.mean >= 1.1,
    });
    t.push({
      name: "heterogeneous @85%: p99 TTFT vs the EPP-style peer",
      target: "≤ 1.1×",
      measured: `${fmtCi(r.vsEpp.ttftP99, "×")} (${het.results[me]!.ttftMs.p99} vs ${het.results["epp"]?.ttftMs.p99} ms)`,
      met: r.vsEpp.ttftP99.mean <= 1.1,
    });
    const nw = het.results["inference-router-no-weights"];
    if (nw) {
      const q = pairRatioCi(nw.perSeed.ttftP99, het.results[me]!.perSeed.ttftP99);
      t.push({
        name: "heterogeneous @85%: p99 TTFT without weights vs exact weights",
        target: "≤ 1.2×",
        measured: `${fmtCi(q, "×")} (${nw.ttftMs.p99} vs ${het.results[me]!.ttftMs.p99} ms)`,
        met: q.mean <= 1.2,
      });
    }
  }
  const pre = at("prefix-heavy", 0.85);
  if (pre?.results[me] && pre.results["least-request"]) {
    const gain = pairRatioCi(pre.results["least-request"]!.perSeed.ttftP90, pre.results[me]!.perSeed.ttftP90);
    t.push({
      name: "prefix-heavy @85%: p90 TTFT gain over weighted least-request (lower 95% bound)",
      target: "≥ 3×",
      measured: `${fmtCi(gain, "×")} (${pre.results[me]!.ttftMs.p90} vs ${pre.results["least-request"]!.ttftMs.p90} ms)`,
      met: (Number.isFinite(gain.lo) ? gain.lo : gain.mean) >= 3,
    });
    const o = pre.results[me]!.ci.outstandingMaxOverMean;
    t.push({
      name: "prefix-heavy @85%: busiest upstream / mean (time-averaged outstanding)",
      target: "≤ 1.3×",
      measured: fmtCi(o, "×"),
      met: o.mean <= 1.3,
    });
  }
  const sg = sum.scenarios.find((s) => s.name === "single-gateway");
  if (sg) {
    const below = sg.loads.filter((l) => l.load < 0.9);
    const shed = below.map((l) => `${pctx(l.load)}: ${l.results[me]?.perSeed.rejected.reduce((a, b) => a + b, 0) ?? "n/a"}`);
    const total = below.reduce((a, l) => a + (l.results[me]?.perSeed.rejected.reduce((x, y) => x + y, 0) ?? 0), 0);
    t.push({
      name: `single gateway: requests shed below 90% offered load (all ${sg.seeds.length} seeds)`,
      target: "0",
      measured: shed.join(", "),
      met: total === 0,
    });
  }
  if (sum.scale) {
    const sc = sum.scale.loads[0]!;
    const m = sum.scale.metricsRequestsPerServerPerSec;
    t.push({
      name: "scale (1000 sidecars × 200 servers): metrics probes per server per second",
      target: "≤ 5",
      measured: `${m.mean} (max ${m.max})`,
      met: m.mean <= 5,
    });
    if (sc.ratios[me])
      t.push({
        name: "scale: p99 TTFT vs round robin",
        target: "≤ 0.9×",
        measured: fmtCi(sc.ratios[me]!.vsRoundRobin.ttftP99, "×"),
        met: sc.ratios[me]!.vsRoundRobin.ttftP99.mean <= 0.9,
      });
  }
  if (sum.cost) {
    const c = sum.cost;
    const worstCalls = Math.max(...c.perRequest.map((x) => x.hostCalls));
    const worstShared = Math.max(...c.perRequest.map((x) => x.sharedDataOps));
    const calls = c.perRequest.map((x) => `${x.mode} ${x.endpoints}: ${x.hostCalls}/${x.sharedDataOps}`).join("; ");
    t.push({
      name: "host calls per request, every mode and pool size (calls / shared-data ops)",
      target: "≤ 20 calls",
      measured: `max ${worstCalls} (${calls})`,
      met: worstCalls <= 20,
    });
    t.push({
      name: "shared-data operations per request, independent of pool size",
      target: "≤ 4",
      measured: `max ${worstShared}`,
      met: worstShared <= 4 && new Set(c.perRequest.filter((x) => x.mode !== "body").map((x) => x.sharedDataOps)).size <= 2,
    });
    const p8 = c.perRequest.find((x) => x.mode === "pool" && x.endpoints === 8);
    if (p8)
      t.push({
        name: "Wasm execution per request, pool mode, 8 endpoints",
        target: "≤ 5 µs",
        measured:
          `${p8.wasmUs.median} µs (min ${p8.wasmUs.min}, max ${p8.wasmUs.max}); host calls ${p8.hostUs.median} µs` +
          (p8.wasmUs.min < 0 ? "; a negative minimum means the split could not resolve it on this machine" : ""),
        // Met only when the split is trustworthy: the wrappers' cost is estimated in place, and on a loaded
        // machine that estimate can exceed the time it is taken from (negative samples).
        met: p8.wasmUs.median <= 5 && p8.wasmUs.min >= 0,
      });
    const d = c.decision.find((x) => x.endpoints === 1024);
    if (d)
      t.push({
        name: "decision cost at 1024 endpoints vs 8 (endpoint mode)",
        target: "≤ 1.2×",
        measured: `${d.ratioTo8.median}× (min ${d.ratioTo8.min}, max ${d.ratioTo8.max} over ${d.ratioTo8.n} repetitions)`,
        met: d.ratioTo8.median <= 1.2,
      });
    t.push({
      name: ".wasm size",
      target: "≤ 64 KiB (65536 B)",
      measured: `${c.wasmBytes} B (${(c.wasmBytes / 1024).toFixed(1)} KiB)`,
      met: c.wasmBytes <= 65536,
    });
    t.push({
      name: `Wasm memory over ${c.memory.requests} requests`,
      target: "flat",
      measured: `${c.memory.start} → ${c.memory.end} pages`,
      met: c.memory.flat,
    });
  }
  return t;
}

function pairRatioCi(a: number[], b: number[]): Ci {
  return ci(a.map((x, i) => x / b[i]!));
}

export function summaryTable(sum: BenchSummary): string {
  const lines: string[] = [];
  lines.push(
    'Means over seeds; [95% CI]. Latency percentiles count failed and shed requests as infinitely late ("failed" = the percentile falls on them).',
    "",
  );
  lines.push(
    "| scenario | load | policy | TTFT p50 / p90 / p99 (ms) | p99 TTFT [95% CI] | E2E p99 (ms) | goodput (req/s) [95% CI] | failed / shed | retries | max/mean load | prefix hits | p99 TTFT ÷ LR / EPP |",
  );
  lines.push("|---|---|---|---|---|---|---|---|---|---|---|---|");
  const all = [...sum.scenarios, ...(sum.scale ? [sum.scale] : [])];
  const f = (x: number) => (Number.isFinite(x) ? String(x) : "failed");
  for (const s of all)
    for (const l of s.loads)
      for (const [p, r] of Object.entries(l.results)) {
        const q = l.ratios[p]!;
        lines.push(
          `| ${s.name} | ${pctx(l.load)} | ${p} | ${f(r.ttftMs.p50)} / ${f(r.ttftMs.p90)} / ${f(r.ttftMs.p99)} | ${fmtCi(r.ci.ttftP99)} | ${f(r.e2eMs.p99)} | ${fmtCi(r.ci.goodputRps)} | ${r.failed} / ${r.rejected} | ${r.retries} | ${r.outstandingMaxOverMean} | ${r.prefixHitRate ?? "–"} | ${f(q.vsLeastRequest.ttftP99.mean)} / ${f(q.vsEpp.ttftP99.mean)} |`,
        );
      }
  return lines.join("\n");
}

export function targetsTable(t: Target[]): string {
  return [
    "| target | goal | measured | met |",
    "|---|---|---|---|",
    ...t.map((x) => `| ${x.name} | ${x.target} | ${x.measured} | ${x.met ? "yes" : "**no**"} |`),
  ].join("\n");
}

export async function runBench(o: BenchOptions = {}): Promise<BenchSummary> {
  const t0 = Date.now();
  const quick = !!o.quick,
    seed = o.seed ?? 42,
    log = o.log ?? (() => {});
  const seeds = Array.from({ length: o.seeds ?? (quick ? 2 : 5) }, (_, i) => seed + i);
  const ro: RunOptions = { eppDelayMs: o.eppDelayMs ?? EPP_DEFAULTS.extProcDelayMs };
  const wasmPath = o.wasm ?? "build/inference-router.wasm";
  const parts = o.parts ?? ["routing", "scale", "cost"];
  const wasm = new Uint8Array(readFileSync(wasmPath));
  const factory = await loadModelFactory();
  log(`server model: ${factory.name}`);
  const sum: BenchSummary = {
    version: 2,
    seeds,
    quick,
    model: factory.name,
    eppDelayMs: ro.eppDelayMs!,
    ...(o.pluginConfig ? { pluginConfig: o.pluginConfig } : {}),
    wasm: { path: wasmPath, bytes: wasm.length, sha256: createHash("sha256").update(wasm).digest("hex") },
    scenarios: [],
    targets: [],
    run: { node: process.version, cpus: os.cpus().length, cpuModel: os.cpus()[0]?.model ?? "", wallMs: 0 },
  };
  const tweak = (s: Scenario): Scenario => ({
    ...s,
    ...(o.pluginConfig ? { pluginConfig: o.pluginConfig } : {}),
    ...(o.policies ? { policies: o.policies.filter((p) => p !== "inference-router-no-weights" || (s.policies ?? []).includes(p)) } : {}),
  });
  const full: ScenarioResult[] = [];
  if (parts.includes("routing")) {
    for (const s of scenarios(quick).filter((x) => !o.only || o.only.includes(x.name)))
      full.push(await runScenario(tweak(s), factory, wasm, seeds, log, ro));
  }
  let scaleFull: ScenarioResult | undefined;
  if (parts.includes("scale") && (!o.only || o.only.includes("scale"))) {
    const s = tweak(scaleScenario(quick));
    log(`scale: ${s.sidecars} sidecars × ${s.workers} worker, ${s.servers.length} servers`);
    // The scale scenario is 20× the work per seed: 3 seeds (quick 1).
    scaleFull = await runScenario(s, factory, wasm, seeds.slice(0, quick ? 1 : 3), log, ro);
    const me = scaleFull.loads[0]!.results["inference-router"]!;
    sum.scale = {
      ...stripSamples(scaleFull),
      metricsRequestsPerServerPerSec: me.filter!.metricsRequestsPerServerPerSec,
      pollingDefaults:
        "filter defaults (polling.intervalMs 1000, probesPerTick 8, subsetAbove 16, probesPerRequest 0.5; ORCA reports asked on every steered request)",
    };
  }
  sum.scenarios = full.map(stripSamples);
  if (parts.includes("cost")) {
    log("filter cost:");
    sum.cost = await runCost({ wasm, quick, log });
  }
  sum.targets = targets(sum);
  sum.run.wallMs = Date.now() - t0;
  if (o.write !== false) {
    const out = o.out ?? "bench-results";
    mkdirSync(out, { recursive: true });
    writeFileSync(join(out, "summary.json"), JSON.stringify(sum, null, 1) + "\n");
    for (const s of [...full, ...(scaleFull ? [scaleFull] : [])]) writeFileSync(join(out, `${s.name}.svg`), charts(s));
    writeFileSync(join(out, "summary.md"), `${summaryTable(sum)}\n\n${targetsTable(sum.targets)}\n`);
    log(`wrote ${out}/summary.json, summary.md and ${full.length + (scaleFull ? 1 : 0)} charts`);
  }
  return sum;
}
