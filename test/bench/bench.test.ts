// The benchmark harness: a tiny quick scenario through the real .wasm and the baselines; the summary has the
// documented shape, a seed makes the simulation repeat exactly, and — the guard against regressions — the filter
// beats weighted least-request (Envoy's LEAST_REQUEST with the same weights, Istio's default retries) at p99 TTFT
// on a small heterogeneous scenario, so a change that loses to the baseline fails CI.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { runBench, runScenario } from "../../src/bench/index.js";
import { loadModelFactory } from "../../src/bench/gpu-adapter.js";
import { scenarios } from "../../src/bench/scenarios.js";
import { runOne } from "../../src/bench/simulate.js";
import { workload } from "../../src/bench/scenarios.js";

const WASM = join(import.meta.dirname, "..", "..", "build", "inference-router.wasm");

function tiny(name: string, over: Record<string, unknown> = {}) {
  const s = scenarios(true).find((x) => x.name === name)!;
  return { ...s, durationMs: 4000, loads: [0.7], sidecars: 2, ...over };
}

describe("bench", () => {
  it("produces the documented summary shape; failures stay in the statistics", async () => {
    const sum = await runBench({ quick: true, parts: ["routing"], only: ["dying"], seeds: 2, wasm: WASM, write: false });
    expect(sum.version).toBe(2);
    expect(sum.seeds).toEqual([42, 43]);
    const s = sum.scenarios[0]!;
    expect(s.loads.map((l) => l.load)).toEqual([0.5, 0.85]);
    for (const l of s.loads) {
      expect(Object.keys(l.results).sort()).toEqual([
        "clairvoyant-greedy",
        "epp",
        "inference-router",
        "least-request",
        "least-request+outlier",
        "round-robin",
      ]);
      for (const r of Object.values(l.results)) {
        expect(r.seeds).toBe(2);
        expect(r.perSeed.ttftP99).toHaveLength(2);
        expect(r).not.toHaveProperty("samples");
        expect(r.failed).toBeGreaterThan(0); // a server dies a third of the way in: in-flight requests fail
        expect(r.requests).toBe(r.completed + r.failed + r.rejected);
      }
      // Istio's default retries rescue requests sent to the dead server: the baselines retry.
      expect(l.results["round-robin"]!.retries).toBeGreaterThan(0);
      expect(l.ratios["least-request"]!.vsLeastRequest.goodput.mean).toBe(1);
    }
  }, 120_000);

  it("is deterministic for a seed and differs across seeds", async () => {
    const factory = await loadModelFactory();
    const wasm = new Uint8Array(readFileSync(WASM));
    const strip = (x: unknown) => JSON.stringify(x, (k, v) => (k === "samples" ? undefined : v));
    const s = tiny("heterogeneous", { policies: ["inference-router", "least-request"] });
    const a = await runScenario(s, factory, wasm, [7], () => {});
    const b = await runScenario(s, factory, wasm, [7], () => {});
    const c = await runScenario(s, factory, wasm, [8], () => {});
    expect(strip(a)).toBe(strip(b));
    expect(strip(a)).not.toBe(strip(c));
  }, 60_000);

  it("CI guard: on mixed GPUs at 85% load the filter beats weighted least-request's p99 TTFT", async () => {
    const factory = await loadModelFactory();
    const wasm = new Uint8Array(readFileSync(WASM));
    const s = tiny("heterogeneous", { durationMs: 8000, sidecars: 3, loads: [0.85] });
    // Capacity as the bench calibrates it: H100 and L4 saturated throughput, scaled to 85 %.
    const probe = await runScenario({ ...s, policies: ["least-request"] }, factory, wasm, [11], () => {});
    const rate = probe.capacityRps * 0.85;
    const arrivals = workload(s, new Map([["llama-3-8b", rate]]), 11);
    const me = await runOne(s, arrivals, "inference-router", factory, wasm, 11, probe.slo);
    const lr = await runOne(s, arrivals, "least-request", factory, wasm, 11, probe.slo);
    expect(me.failed + me.rejected).toBe(0);
    expect(me.ttftMs.p99).toBeLessThan(lr.ttftMs.p99);
  }, 60_000);
});
