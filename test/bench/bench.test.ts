// The benchmark harness: a tiny quick scenario through the real .wasm and the baselines; the summary has the
// documented shape and a seed makes the simulation repeat exactly.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { runBench, runScenario } from "../../src/bench/index.js";
import { loadModelFactory } from "../../src/bench/gpu-adapter.js";
import { scenarios } from "../../src/bench/scenarios.js";
import { POLICIES } from "../../src/bench/simulate.js";

const WASM = join(import.meta.dirname, "..", "..", "build", "inference-router.wasm");

function tiny(name: string) {
  const s = scenarios(true).find((x) => x.name === name)!;
  return { ...s, durationMs: 4000, loads: [0.7], sidecars: 2 };
}

describe("bench", () => {
  it("produces the documented summary shape", async () => {
    const sum = await runBench({ quick: true, parts: ["routing"], only: ["dying"], wasm: WASM, write: false });
    expect(sum.version).toBe(1);
    expect(sum.wasm.bytes).toBeGreaterThan(0);
    expect(sum.scenarios).toHaveLength(1);
    const s = sum.scenarios[0]!;
    expect(s.capacityRps).toBeGreaterThan(0);
    expect(s.loads.map((l) => l.load)).toEqual([0.5, 0.85]);
    for (const l of s.loads) {
      expect(Object.keys(l.results).sort()).toEqual([...POLICIES].sort());
      for (const r of Object.values(l.results)) {
        expect(r.requests).toBeGreaterThan(0);
        expect(r.ttftMs.p50).toBeLessThanOrEqual(r.ttftMs.p99);
        expect(r.e2eMs.p90).toBeLessThanOrEqual(r.e2eMs.p99);
        expect(r).not.toHaveProperty("samples");
        expect(r.failed).toBeGreaterThan(0); // a server dies a third of the way in
      }
      expect(l.results["inference-router"]!.filter).toBeDefined();
      expect(l.ratios["oracle"]!.vsOracle.ttftP99).toBe(1);
    }
    expect(JSON.parse(JSON.stringify(sum)).scenarios[0].name).toBe("dying");
  });

  it("is deterministic for a seed and differs across seeds", async () => {
    const factory = await loadModelFactory();
    const wasm = new Uint8Array(readFileSync(WASM));
    const strip = (x: unknown) => JSON.stringify(x, (k, v) => (k === "samples" ? undefined : v));
    const a = await runScenario(tiny("heterogeneous"), factory, wasm, 7, () => {});
    const b = await runScenario(tiny("heterogeneous"), factory, wasm, 7, () => {});
    const c = await runScenario(tiny("heterogeneous"), factory, wasm, 8, () => {});
    expect(strip(a)).toBe(strip(b));
    expect(strip(a)).not.toBe(strip(c));
  });
});
