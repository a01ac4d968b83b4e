// The filter's per-request cost in host calls, counted through the .wasm (the host traces every call). Counts are
// deterministic — times are not — so this is where a change that adds host calls to the request path fails; the
// benchmark's cost part (src/bench/cost.ts) reports the same counts with the Wasm and host time split.
import { describe, expect, it } from "vitest";
import type { Proxy } from "../../src/host/index.js";
import { oip, routerProxy } from "./helpers.js";

const SHARED = new Set(["proxy_get_shared_data", "proxy_set_shared_data"]);
const endpoints = (n: number) => Array.from({ length: n }, (_, i) => `10.1.0.${i + 1}:8000`);
/** Pool mode: one endpoint per pool (the picker chooses among 8 pools). */
const poolMode = (n: number) => ({
  steering: "pool",
  pools: endpoints(n).map((e, i) => ({ name: `p${i}`, models: ["llama-3-8b"], endpoints: [e] })),
});
const endpointMode = (n: number) => ({ steering: "endpoint", pools: [{ name: "gpu", models: ["llama-3-8b"], endpoints: endpoints(n) }] });

/** Host calls by name over `n` steered requests (request headers → response 200 → end), per request. */
async function callsPerRequest(p: Proxy, n: number): Promise<{ total: number; shared: number; byName: Record<string, number> }> {
  for (let i = 0; i < 100; i++) await p.request({ ...oip("llama-3-8b"), response: { status: 200 } }); // every upstream's stats defined
  const trace = p.workers[0]!.vm.hostCalls;
  trace.length = 0;
  for (let i = 0; i < n; i++) {
    const r = await p.request({ ...oip("llama-3-8b"), response: { status: 200 } });
    expect(r.routerHeaders!["x-inference-model"]).toBe("llama-3-8b");
  }
  // Metric definitions are one-offs (an upstream's series are defined on its first pick), not per-request cost.
  const calls = trace.filter((c) => c.name !== "proxy_define_metric");
  const byName: Record<string, number> = {};
  for (const c of calls) byName[c.name] = (byName[c.name] ?? 0) + 1;
  for (const k of Object.keys(byName)) byName[k] = byName[k]! / n;
  return { total: calls.length / n, shared: calls.filter((c) => SHARED.has(c.name)).length / n, byName };
}

describe("host calls per steered request", () => {
  it("one read of the request headers, a write per header set, one read of the response headers, no removal when nothing is spoofed", async () => {
    const p = await routerProxy(endpointMode(64), { traceHostCalls: true });
    const { byName } = await callsPerRequest(p, 20);
    expect(byName["proxy_get_header_map_pairs"]).toBe(2); // request, then response (:status and the ORCA report)
    expect(byName["proxy_get_header_map_value"]).toBeUndefined();
    expect(byName["proxy_remove_header_map_value"]).toBeUndefined();
    expect(byName["proxy_replace_header_map_value"]).toBe(6); // protocol, model, class, priority, endpoint, endpoint-load-metrics-format (an ORCA pool: vllm)
    // Two clock reads: at the pick, and at the end for learned capacity (this pool has no weight: the time in
    // flight is the exposure the estimator divides by). A weighted pool reads the clock once.
    expect(byName["proxy_get_current_time_nanoseconds"]).toBe(2);
    const weighted = await routerProxy(
      { steering: "endpoint", pools: [{ name: "gpu", models: ["llama-3-8b"], weight: 1, endpoints: endpoints(64) }] },
      { traceHostCalls: true },
    );
    expect((await callsPerRequest(weighted, 20)).byName["proxy_get_current_time_nanoseconds"]).toBe(1);
  });

  it("above scoring.sampleAbove (power of two choices): at most 17 host calls and 5 shared-data operations", async () => {
    for (const cfg of [endpointMode(64), poolMode(32)]) {
      const p = await routerProxy(cfg, { traceHostCalls: true });
      const c = await callsPerRequest(p, 40);
      // Pick: 2 record reads (a second round of 2 only when both are unacceptable); take the slot from the pick's
      // copy: 1 write; a success on a clean upstream: nothing; give the slot back: 1 read + 1 write.
      expect(c.shared, JSON.stringify(c.byName)).toBeLessThanOrEqual(5);
      expect(c.total, JSON.stringify(c.byName)).toBeLessThanOrEqual(17); // 15 + the end-time read of learned capacity + the ORCA ask
    }
  });

  it("at 8 candidates (every record read): at most 23 host calls and 11 shared-data operations", async () => {
    for (const cfg of [endpointMode(8), poolMode(8)]) {
      const p = await routerProxy(cfg, { traceHostCalls: true });
      const c = await callsPerRequest(p, 40);
      expect(c.shared, JSON.stringify(c.byName)).toBeLessThanOrEqual(11);
      expect(c.total, JSON.stringify(c.byName)).toBeLessThanOrEqual(23); // 21 + the end-time read of learned capacity + the ORCA ask
    }
  });

  it("a failure still records the outcome (the clean-upstream shortcut is for successes only)", async () => {
    const p = await routerProxy(endpointMode(8), { traceHostCalls: true });
    const trace = p.workers[0]!.vm.hostCalls;
    await p.request({ ...oip("llama-3-8b"), response: { status: 200 } });
    trace.length = 0;
    await p.request({ ...oip("llama-3-8b"), response: { status: 503 } });
    const ok = trace.filter((c) => c.name === "proxy_set_shared_data").length;
    expect(ok).toBe(3); // slot taken, error run recorded, slot given back
  });
});
