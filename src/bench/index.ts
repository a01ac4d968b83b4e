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
import { calibrate, POLICIES, round, runOne, type RunResult, type Slo } from "./simulate.js";
import { cdfPoints, chart } from "./svg.js";

export interface BenchOptions {
  quick?: boolean;
  out?: string;
  seed?: number;
  wasm?: string;
  noopWasm?: string;
  /** Which parts: routing scenarios, the scale scenario, the cost benchmark. Default all. */
  parts?: Array<"routing" | "scale" | "cost">;
  /** Merged into the filter's plugin configuration in every scenario (experiments; recorded in the summary). */
  filterOverrides?: Record<string, unknown>;
  /** Policies to run (default all). */
  policies?: string[];
  /** Only these scenario names. */
  only?: string[];
  log?: (s: string) => void;
  /** Keep raw samples out of files (always); write files at all (tests pass false). */
  write?: boolean;
}

export interface Ratios { ttftP99: number; e2eP99: number; ttftP90: number }
export interface LoadResult {
  load: number;
  offeredRps: number;
  results: Record<string, RunResult>;
  /** policy → its p99/p90 divided by the oracle's, round robin's and least-request's. */
  ratios: Record<string, { vsOracle: Ratios; vsRoundRobin: Ratios; vsLeastRequest: Ratios }>;
}
export interface ScenarioResult {
  name: string;
  description: string;
  servers: Array<{ pool: string; gpu: string; speed: number; models: string[] }>;
  sidecars: number;
  workersPerSidecar: number;
  durationMs: number;
  capacityRps: number;
  slo: Slo;
  loads: LoadResult[];
}
export interface Target { name: string; target: string; measured: string; met: boolean }
export interface BenchSummary {
  version: 1;
  seed: number;
  quick: boolean;
  model: string;
  filterOverrides?: Record<string, unknown>;
  wasm: { path: string; bytes: number; sha256: string };
  scenarios: ScenarioResult[];
  scale?: ScenarioResult & { metricsRequestsPerServerPerSec: { mean: number; max: number }; pollingDefaults: string };
  cost?: CostResult;
  targets: Target[];
  /** Where and how long (varies run to run; everything above is deterministic for a seed, except cost). */
  run: { node: string; cpus: number; cpuModel: string; wallMs: number };
}

const r3 = (a: number, b: number) => (b > 0 && Number.isFinite(a) && Number.isFinite(b) ? round(a / b, 3) : NaN);
function ratios(a: RunResult, b: RunResult | undefined): Ratios {
  if (!b) return { ttftP99: NaN, e2eP99: NaN, ttftP90: NaN };
  return { ttftP99: r3(a.ttftMs.p99, b.ttftMs.p99), e2eP99: r3(a.e2eMs.p99, b.e2eMs.p99), ttftP90: r3(a.ttftMs.p90, b.ttftMs.p90) };
}

export async function runScenario(s: Scenario, factory: ModelFactory, wasm: Uint8Array, seed: number, log: (s: string) => void): Promise<ScenarioResult> {
  // Capacity per model: the calibrated saturated throughput of each serving server, summed.
  const capacity = new Map<string, number>();
  let slo: Slo | undefined;
  const calCache = new Map<string, ReturnType<typeof calibrate>>();
  for (const d of s.servers) for (const m of d.models) {
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
    name: s.name, description: s.description, servers: s.servers, sidecars: s.sidecars, workersPerSidecar: s.workers,
    durationMs: s.durationMs, capacityRps: round(totalCap, 2), slo: slo!, loads: [],
  };
  for (const load of s.loads) {
    const rates = new Map(s.models.map((m) => [m.name, capacity.get(m.name)! * load]));
    const arrivals = workload(s, rates, seed);
    const results: Record<string, RunResult> = {};
    for (const p of s.policies ?? POLICIES) {
      const t0 = Date.now();
      results[p] = await runOne(s, arrivals, p, factory, wasm, seed, slo!);
      log(`  ${s.name} @${Math.round(load * 100)}% ${p.padEnd(16)} ttft p99 ${String(results[p]!.ttftMs.p99).padStart(8)} ms, e2e p99 ${String(results[p]!.e2eMs.p99).padStart(8)} ms  (${Date.now() - t0} ms)`);
    }
    const rr: LoadResult["ratios"] = {};
    for (const [p, r] of Object.entries(results)) rr[p] = { vsOracle: ratios(r, results["oracle"]), vsRoundRobin: ratios(r, results["round-robin"]), vsLeastRequest: ratios(r, results["least-request"]) };
    out.loads.push({ load, offeredRps: round(arrivals.length / (s.durationMs / 1000), 2), results, ratios: rr });
  }
  return out;
}

function stripSamples(s: ScenarioResult): ScenarioResult {
  return { ...s, loads: s.loads.map((l) => ({ ...l, results: Object.fromEntries(Object.entries(l.results).map(([k, v]) => { const { samples: _, ...rest } = v; return [k, rest]; })) })) };
}

function charts(s: ScenarioResult): string {
  const at = s.loads.find((l) => l.load === 0.85) ?? s.loads[s.loads.length - 1]!;
  const policies = Object.keys(at.results);
  return chart(`${s.name}: ${s.description}`, [
    { title: `TTFT CDF at ${Math.round(at.load * 100)}% load`, xLabel: "time to first token (ms, log)", yLabel: "fraction of requests", logX: true,
      series: policies.map((p) => ({ name: p, points: cdfPoints(at.results[p]!.samples?.ttft ?? []) })) },
    { title: "E2E latency CDF", xLabel: "end-to-end latency (ms, log)", yLabel: "fraction of requests", logX: true,
      series: policies.map((p) => ({ name: p, points: cdfPoints(at.results[p]!.samples?.e2e ?? []) })) },
    { title: "p99 TTFT vs load", xLabel: "load (share of capacity)", yLabel: "p99 TTFT (ms, log)", logY: true, markers: true,
      series: policies.map((p) => ({ name: p, points: s.loads.map((l) => [l.load, l.results[p]?.ttftMs.p99 ?? NaN] as [number, number]) })) },
  ], 420, 320);
}

function targets(sum: BenchSummary): Target[] {
  const t: Target[] = [];
  const f = (x: number) => (Number.isFinite(x) ? `${x}×` : "n/a");
  const het = sum.scenarios.find((s) => s.name === "heterogeneous")?.loads.find((l) => l.load === 0.85);
  if (het && het.ratios["inference-router"]) {
    const r = het.ratios["inference-router"]!;
    for (const [name, lim, v] of [["vs oracle", 1.15, r.vsOracle], ["vs round robin", 0.5, r.vsRoundRobin], ["vs least-request", 0.7, r.vsLeastRequest]] as const) {
      t.push({ name: `heterogeneous @85%: p99 TTFT ${name}`, target: `≤ ${lim}×`, measured: f(v.ttftP99), met: v.ttftP99 <= lim });
      t.push({ name: `heterogeneous @85%: p99 E2E ${name}`, target: `≤ ${lim}×`, measured: f(v.e2eP99), met: v.e2eP99 <= lim });
    }
  }
  const pre = sum.scenarios.find((s) => s.name === "prefix-heavy")?.loads.find((l) => l.load === 0.85);
  if (pre && pre.results["inference-router"] && pre.results["least-request"]) {
    const me = pre.results["inference-router"]!, lr = pre.results["least-request"]!;
    const gain = round(lr.ttftMs.p90 / me.ttftMs.p90, 2);
    t.push({ name: "prefix-heavy @85%: p90 TTFT improvement over least-request", target: "≥ 3×", measured: `${gain}× (${me.ttftMs.p90} vs ${lr.ttftMs.p90} ms)`, met: gain >= 3 });
    t.push({ name: "prefix-heavy @85%: busiest upstream / mean (time-averaged outstanding)", target: "≤ 1.3×", measured: `${me.outstandingMaxOverMean}× (requests routed: ${me.loadMaxOverMean}×)`, met: me.outstandingMaxOverMean <= 1.3 });
  }
  if (sum.cost) {
    const c = sum.cost;
    t.push({ name: "filter lifecycle cost vs no-op filter", target: "≤ 1.5×", measured: `${c.lifecycle.medianRatio}× (${c.lifecycle.routerNsPerRequest} vs ${c.lifecycle.noopNsPerRequest} ns)`, met: c.lifecycle.medianRatio <= 1.5 });
    const d = c.decision.find((x) => x.endpoints === 1024)!;
    t.push({ name: "decision cost at 1024 endpoints vs 8", target: "≤ 1.2×", measured: `${d.ratioTo8}×`, met: d.ratioTo8 <= 1.2 });
    t.push({ name: ".wasm size", target: "≤ 64 KiB (65536 B)", measured: `${c.wasmBytes} B (${(c.wasmBytes / 1024).toFixed(1)} KiB)`, met: c.wasmBytes <= 65536 });
    t.push({ name: `Wasm memory over ${c.memory.requests} requests`, target: "flat", measured: `${c.memory.start} → ${c.memory.end} pages`, met: c.memory.flat });
  }
  return t;
}

export function summaryTable(sum: BenchSummary): string {
  const lines: string[] = [];
  lines.push("| scenario | load | policy | TTFT p50 / p90 / p99 (ms) | E2E p50 / p90 / p99 (ms) | goodput (req/s) | failed | max/mean load | prefix hits | p99 TTFT ÷ oracle / RR / LR |");
  lines.push("|---|---|---|---|---|---|---|---|---|---|");
  const all = [...sum.scenarios, ...(sum.scale ? [sum.scale] : [])];
  for (const s of all) for (const l of s.loads) for (const [p, r] of Object.entries(l.results)) {
    const q = l.ratios[p]!;
    lines.push(`| ${s.name} | ${Math.round(l.load * 100)}% | ${p} | ${r.ttftMs.p50} / ${r.ttftMs.p90} / ${r.ttftMs.p99} | ${r.e2eMs.p50} / ${r.e2eMs.p90} / ${r.e2eMs.p99} | ${r.goodputRps} | ${r.failed + r.rejected} | ${r.outstandingMaxOverMean} | ${r.prefixHitRate ?? "–"} | ${q.vsOracle.ttftP99} / ${q.vsRoundRobin.ttftP99} / ${q.vsLeastRequest.ttftP99} |`);
  }
  return lines.join("\n");
}

export function targetsTable(t: Target[]): string {
  return ["| target | goal | measured | met |", "|---|---|---|---|", ...t.map((x) => `| ${x.name} | ${x.target} | ${x.measured} | ${x.met ? "yes" : "**no**"} |`)].join("\n");
}

export async function runBench(o: BenchOptions = {}): Promise<BenchSummary> {
  const t0 = Date.now();
  const quick = !!o.quick, seed = o.seed ?? 42, log = o.log ?? (() => {});
  const wasmPath = o.wasm ?? "build/inference-router.wasm";
  const parts = o.parts ?? ["routing", "scale", "cost"];
  const wasm = new Uint8Array(readFileSync(wasmPath));
  const factory = await loadModelFactory();
  log(`server model: ${factory.name}`);
  const sum: BenchSummary = {
    version: 1, seed, quick, model: factory.name, ...(o.filterOverrides ? { filterOverrides: o.filterOverrides } : {}),
    wasm: { path: wasmPath, bytes: wasm.length, sha256: createHash("sha256").update(wasm).digest("hex") },
    scenarios: [], targets: [],
    run: { node: process.version, cpus: os.cpus().length, cpuModel: os.cpus()[0]?.model ?? "", wallMs: 0 },
  };
  const tweak = (s: Scenario): Scenario => ({ ...s, ...(o.filterOverrides ? { filterOverrides: o.filterOverrides } : {}), ...(o.policies ? { policies: o.policies } : {}) });
  const full: ScenarioResult[] = [];
  if (parts.includes("routing")) {
    for (const s of scenarios(quick).filter((x) => !o.only || o.only.includes(x.name))) full.push(await runScenario(tweak(s), factory, wasm, seed, log));
  }
  let scaleFull: ScenarioResult | undefined;
  if (parts.includes("scale") && (!o.only || o.only.includes("scale"))) {
    const s = tweak(scaleScenario(quick));
    log(`scale: ${s.sidecars} sidecars × ${s.workers} worker, ${s.servers.length} servers`);
    scaleFull = await runScenario(s, factory, wasm, seed, log);
    const me = scaleFull.loads[0]!.results["inference-router"]!;
    sum.scale = { ...stripSamples(scaleFull), metricsRequestsPerServerPerSec: me.filter!.metricsRequestsPerServerPerSec, pollingDefaults: "filter defaults (polling.intervalMs 1000, probesPerTick 8, subsetAbove 16)" };
  }
  sum.scenarios = full.map(stripSamples);
  if (parts.includes("cost")) {
    log("filter cost:");
    sum.cost = await runCost({ wasm, noop: new Uint8Array(readFileSync(o.noopWasm ?? "build/test/noop.wasm")), quick, log });
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
