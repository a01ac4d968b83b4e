// In-flight slots survive nothing they should not: when a worker VM dies (a trap fails it for good and Envoy
// skips every later callback, including on_done of its open streams), the other workers stop counting its slots.
import { describe, expect, it } from "vitest";
import { oip, readLoad, readVms, loadKey, routerProxy } from "./helpers.js";

describe("in-flight slots of a failed worker VM", () => {
  it("stop counting once the VM has missed its heartbeats, and are dropped from the shared record", async () => {
    const p = await routerProxy(
      {
        steering: "endpoint",
        pools: [{ name: "p", models: ["m"], endpoints: ["10.0.0.1:8000"], maxInFlight: 3 }],
        shedding: { belowPriority: 0 },
      },
      { workers: 2, failurePolicy: "FAIL_OPEN" },
    );
    const before = readVms(p)!;
    expect(before.vms.length).toBeGreaterThanOrEqual(2); // every VM (both workers among them) heartbeats from its start
    expect(before.vms.every((v) => !v.dead)).toBe(true);
    for (let i = 0; i < 3; i++) await p.request(oip("m", { worker: 0, keepOpen: true }));
    expect(readLoad(p, loadKey("p", "10.0.0.1:8000"))!.inFlight).toBe(3);
    // Saturated: worker 1 sees worker 0's three requests.
    expect((await p.request(oip("m", { worker: 1, headers: { "x-unused": "1" } }))).stream.routerRequestHeaders).toBeDefined();
    expect(p.prometheus()).toMatch(/inference_router_saturated_picks\{\} 1\n/);
    // Worker 0's VM fails as it would after a trap: its streams' on_done never runs.
    p.workers[0]!.vm.fail("test", new Error("injected trap"));
    p.advance(7000); // worker 1 keeps ticking; worker 0 misses its heartbeats
    const r = await p.request(oip("m", { worker: 1 }));
    expect(r.routerHeaders!["x-gateway-destination-endpoint"]).toBe("10.0.0.1:8000");
    expect(p.prometheus()).toMatch(/inference_router_saturated_picks\{\} 1\n/); // not saturated any more
    // The registry keeps tombstones (worker 0's among them) behind worker 1, alive and fresher than any of them.
    const after = readVms(p)!;
    const dead = after.vms.filter((v) => v.dead);
    expect(dead.length).toBeGreaterThanOrEqual(1);
    expect(after.vms.some((v) => !v.dead && dead.every((d) => v.lastSeenMs > d.lastSeenMs))).toBe(true);
    const rec = readLoad(p, loadKey("p", "10.0.0.1:8000"))!;
    expect(rec.slots.every((s) => s.inFlight === 0)).toBe(true);
  });
});
