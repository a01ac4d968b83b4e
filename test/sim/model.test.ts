import { describe, expect, it } from "vitest";
import { GpuServerModel, type SimEvent, type SimRequest } from "../../src/sim/model.js";

/** Discrete-event driver on a virtual clock: submits arrivals, returns every event. */
function run(m: GpuServerModel, arrivals: Array<{ at: number; req: SimRequest }>, untilMs = 600_000): SimEvent[] {
  const events: SimEvent[] = [];
  const queue = [...arrivals].sort((a, b) => a.at - b.at);
  let t = 0;
  for (let guard = 0; guard < 1_000_000; guard++) {
    const nextArrival = queue[0]?.at ?? Infinity;
    const next = Math.min(nextArrival, m.nextEventMs() ?? Infinity);
    if (next === Infinity || next > untilMs) break;
    t = next;
    events.push(...m.advanceTo(t));
    while (queue[0] && queue[0].at <= t) m.submit(queue.shift()!.req, t);
  }
  events.push(...m.advanceTo(t));
  return events;
}

const done = (ev: SimEvent[]) => ev.filter((e): e is Extract<SimEvent, { type: "complete" }> => e.type === "complete");
const byId = (ev: SimEvent[], id: string | number) => done(ev).find((e) => e.id === id)!;

describe("GpuServerModel", () => {
  it("a lone request: TTFT = one prefill iteration, e2e = prefill + (n-1) decode steps", () => {
    const m = new GpuServerModel({ gpu: "a100", models: ["m"] });
    const ev = run(m, [{ at: 0, req: { id: 1, promptTokens: 1000, maxTokens: 10 } }]);
    const c = byId(ev, 1);
    // prefill: 10 + 0.25 + 0.05*1000 = 60.25 ms; decode: (10 + 0.25) per token
    expect(c.ttftMs).toBeCloseTo(60.25, 5);
    expect(c.e2eMs).toBeCloseTo(60.25 + 9 * 10.25, 5);
    expect(c.outputTokens).toBe(10);
    expect(ev.map((e) => e.type)).toEqual(["first_token", "complete"]);
    expect(m.stats().running).toBe(0);
  });

  it("batching slows each request's decode", () => {
    const alone = byId(run(new GpuServerModel({ models: ["m"] }), [{ at: 0, req: { id: 0, promptTokens: 100, maxTokens: 200 } }]), 0);
    const m = new GpuServerModel({ models: ["m"] });
    const ev = run(
      m,
      Array.from({ length: 64 }, (_, i) => ({ at: 0, req: { id: i, promptTokens: 100, maxTokens: 200 } })),
    );
    const batched = byId(ev, 0);
    expect(done(ev)).toHaveLength(64);
    expect(batched.e2eMs).toBeGreaterThan(alone.e2eMs * 1.8);
  });

  it("queues when the KV cache is full and preempts when decode overflows it", () => {
    const m = new GpuServerModel({ models: ["m"], kvCacheTokens: 4000, maxBatch: 64 });
    const arrivals = Array.from({ length: 8 }, (_, i) => ({ at: 0, req: { id: i, promptTokens: 900, maxTokens: 400 } }));
    m.submit(arrivals[0]!.req, 0);
    for (const a of arrivals.slice(1)) m.submit(a.req, 0);
    m.advanceTo(1);
    // 900 + 1 per request: only 4 fit; the rest wait
    const s = m.stats(80);
    expect(s.running).toBe(4);
    expect(s.waiting).toBe(4);
    expect(s.kvCacheUsage).toBeGreaterThan(0.85);
    const ev = run(m, []);
    expect(done(ev)).toHaveLength(8);
    expect(m.stats().preemptions).toBeGreaterThan(0);
    expect(m.stats().kvCacheUsage).toBe(0);
  });

  it("prefix cache hits skip prefill and cut TTFT", () => {
    const m = new GpuServerModel({ models: ["m"] });
    const req = (id: number, prefixId: string): SimRequest => ({ id, promptTokens: 2000, maxTokens: 4, prefixId, prefixTokens: 1900 });
    const ev = run(m, [
      { at: 0, req: req(1, "sys") },
      { at: 1000, req: req(2, "sys") },
      { at: 2000, req: req(3, "other") },
    ]);
    const [a, b, c] = [byId(ev, 1), byId(ev, 2), byId(ev, 3)];
    expect(b.cachedTokens).toBe(Math.floor(1900 / 16) * 16);
    expect(b.ttftMs).toBeLessThan(a.ttftMs / 3);
    expect(c.cachedTokens).toBe(0);
    expect(c.ttftMs).toBeCloseTo(a.ttftMs, 5);
    const s = m.stats();
    expect(s.prefixHits).toBe(b.cachedTokens);
    expect(s.prefixQueries).toBe(3 * Math.floor(1900 / 16) * 16);
  });

  it("a slow GPU (L4) is slower than an A100 for the same work", () => {
    const work = Array.from({ length: 8 }, (_, i) => ({ at: i * 10, req: { id: i, promptTokens: 500, maxTokens: 100 } }));
    const a = done(run(new GpuServerModel({ gpu: "a100", models: ["m"] }), work));
    const l = done(run(new GpuServerModel({ gpu: "l4", models: ["m"] }), work));
    const mean = (x: typeof a) => x.reduce((s, e) => s + e.e2eMs, 0) / x.length;
    expect(mean(l) / mean(a)).toBeGreaterThan(2.5);
    expect(new GpuServerModel({ gpu: "l4" }).spec.speed).toBe(0.35);
  });

  it("faults: slowdown, deterministic failure rate, kill and revive", () => {
    const base = byId(run(new GpuServerModel({ models: ["m"] }), [{ at: 0, req: { id: 1, promptTokens: 100, maxTokens: 50 } }]), 1);
    const slow = new GpuServerModel({ models: ["m"] });
    slow.setSlowdown(4);
    expect(byId(run(slow, [{ at: 0, req: { id: 1, promptTokens: 100, maxTokens: 50 } }]), 1).e2eMs).toBeCloseTo(base.e2eMs * 4, 5);

    const outcomes = (seed: number) => {
      const m = new GpuServerModel({ models: ["m"], seed });
      m.setFailureRate(0.3);
      const ev = run(
        m,
        Array.from({ length: 200 }, (_, i) => ({ at: i, req: { id: i, promptTokens: 10, maxTokens: 1 } })),
      );
      return ev.filter((e) => e.type === "error").map((e) => e.id);
    };
    const f1 = outcomes(7);
    expect(f1.length).toBeGreaterThan(30);
    expect(f1.length).toBeLessThan(90);
    expect(outcomes(7)).toEqual(f1);
    expect(outcomes(8)).not.toEqual(f1);

    const m = new GpuServerModel({ models: ["m"] });
    m.submit({ id: "a", promptTokens: 100, maxTokens: 1000 }, 0);
    m.advanceTo(100);
    m.kill(100);
    const ev = m.advanceTo(200);
    expect(ev).toEqual([{ type: "error", id: "a", timeMs: 100, reason: "server_dead", model: "m" }]);
    m.submit({ id: "b", promptTokens: 100, maxTokens: 1 }, 200);
    expect(m.advanceTo(200)[0]).toMatchObject({ type: "error", reason: "server_dead" });
    m.revive(300);
    m.submit({ id: "c", promptTokens: 100, maxTokens: 1 }, 300);
    expect(run(m, [])).toContainEqual(expect.objectContaining({ type: "complete", id: "c" }));
  });

  it("is deterministic and cheap on a virtual clock (decode stretches are jumped)", () => {
    const arrivals = Array.from({ length: 2000 }, (_, i) => ({
      at: i * 37,
      req: { id: i, promptTokens: 200 + (i % 7) * 100, maxTokens: 50 + (i % 5) * 100, prefixId: `p${i % 3}`, prefixTokens: 150 },
    }));
    const t0 = performance.now();
    const a = run(new GpuServerModel({ gpu: "h100", models: ["m"] }), arrivals);
    const elapsed = performance.now() - t0;
    const b = run(new GpuServerModel({ gpu: "h100", models: ["m"] }), arrivals);
    expect(done(a)).toHaveLength(2000);
    expect(a).toEqual(b);
    expect(elapsed).toBeLessThan(3000);
  });

  it("real-time polling reports exact event times, and progress() counts tokens", () => {
    const m = new GpuServerModel({ models: ["m"] });
    m.submit({ id: 1, promptTokens: 100, maxTokens: 20 }, 0);
    expect(m.progress(1).state).toBe("waiting");
    m.advanceTo(50);
    const p = m.progress(1);
    expect(p.state).toBe("running");
    expect(p.generated).toBeGreaterThan(1);
    expect(p.generated).toBeLessThan(20);
    const ev = m.advanceTo(10_000);
    expect(ev.map((e) => e.type)).toEqual(["complete"]);
    expect(ev[0]!.timeMs).toBeCloseTo(15.25 + 19 * 10.25, 5);
    expect(m.progress(1)).toMatchObject({ state: "done", generated: 20 });
    expect(m.nextEventMs()).toBeUndefined();
  });
});
