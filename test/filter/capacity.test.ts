// Learned capacity (issue 11 item 2), through the compiled .wasm: with no `weight`, the filter learns each
// upstream's completions per in-flight second from its own traffic, and the faster GPU ends up with the traffic
// an exact weight would give it; a `weight` still overrides what is learned.
import { describe, expect, it } from "vitest";
import type { HttpStream, Proxy } from "../../src/host/index.js";
import { loadKey, oip, readLoad, routerProxy } from "./helpers.js";

const FAST = "10.0.0.1:8000";
const SLOW = "10.0.1.1:8000";
/** How long each server takes per request (ms): the slow one is 5× slower, like an L4 against an H100. */
const SERVICE_MS: Record<string, number> = { [FAST]: 100, [SLOW]: 500 };

function config(weights: boolean): Record<string, unknown> {
  return {
    steering: "endpoint",
    pools: [
      { name: "h100", models: ["m"], endpoints: [FAST], ...(weights ? { weight: 1 } : {}) },
      { name: "l4", models: ["m"], endpoints: [SLOW], ...(weights ? { weight: 1 } : {}) },
    ],
  };
}

/**
 * Light traffic on a virtual clock: one request every `everyMs`, each answered 200 at once and finished after its
 * server's service time. Returns how many of the requests after `warmupMs` each endpoint got.
 */
async function traffic(p: Proxy, requests: number, everyMs: number, warmupMs: number): Promise<Record<string, number>> {
  const open: Array<{ doneAt: number; stream: HttpStream }> = [];
  const picks: Record<string, number> = {};
  let now = 0;
  for (let i = 0; i < requests; i++) {
    const r = await p.request({ ...oip("m"), keepOpen: true });
    const ep = r.routerHeaders?.["x-gateway-destination-endpoint"]?.split(",")[0] ?? "(none)";
    if (now >= warmupMs) picks[ep] = (picks[ep] ?? 0) + 1;
    open.push({ doneAt: now + (SERVICE_MS[ep] ?? 0), stream: r.stream });
    // Advance to the next arrival, finishing what is due on the way (in time order).
    const next = now + everyMs;
    open.sort((a, b) => a.doneAt - b.doneAt);
    while (open.length > 0 && open[0]!.doneAt <= next) {
      const o = open.shift()!;
      p.advance(o.doneAt - now);
      now = o.doneAt;
      o.stream.complete();
    }
    p.advance(next - now);
    now = next;
  }
  return picks;
}

describe("learned capacity", () => {
  it("without weights the 5× faster upstream takes the traffic once learned; its learned rate is ~5× the slow one's", async () => {
    const p = await routerProxy(config(false));
    const picks = await traffic(p, 200, 250, 10_000);
    const after = (picks[FAST] ?? 0) + (picks[SLOW] ?? 0);
    expect(after).toBeGreaterThan(100);
    // Between two idle upstreams the larger capacity wins (the "+ 1" of the score): nearly everything goes fast.
    expect((picks[FAST] ?? 0) / after).toBeGreaterThan(0.9);
    const rate = (ep: string, pool: string) => {
      const l = readLoad(p, loadKey(pool, ep))!;
      return l.capacityCompletions / l.capacityExposureMs; // completions per in-flight ms = 1 / mean duration
    };
    expect(1 / rate(FAST, "h100")).toBeGreaterThan(90);
    expect(1 / rate(FAST, "h100")).toBeLessThan(110);
    // The slow one was tried while nothing was learned yet (and again as its evidence aged): its rate is known too.
    expect(rate(FAST, "h100") / rate(SLOW, "l4")).toBeGreaterThan(4);
    expect(rate(FAST, "h100") / rate(SLOW, "l4")).toBeLessThan(6);
  });

  it("a weight overrides: equal weights keep splitting idle-time picks between the two", async () => {
    const p = await routerProxy(config(true));
    const picks = await traffic(p, 200, 250, 10_000);
    const after = (picks[FAST] ?? 0) + (picks[SLOW] ?? 0);
    expect((picks[FAST] ?? 0) / after).toBeLessThan(0.75);
    // Nothing learned where a weight is set: the record's sums stay untouched.
    expect(readLoad(p, loadKey("h100", FAST))!.capacityAtMs).toBe(0);
  });

  it("a failing upstream does not look fast: its 5xx answers are exposure without completions", async () => {
    const p = await routerProxy(config(false));
    for (let i = 0; i < 40; i++) {
      const r = await p.request({
        ...oip("m"),
        keepOpen: true,
        response: (h) => ({ status: h.get("x-gateway-destination-endpoint")?.startsWith(SLOW) ? 503 : 200 }),
      });
      p.advance(20);
      r.stream.complete();
      p.advance(200);
    }
    const slow = readLoad(p, loadKey("l4", SLOW))!;
    expect(slow.capacityCompletions).toBe(0);
  });
});
