// Health from polling: a server that stops answering its metrics polls (connection failure, reset, timeout) is
// ejected within two poll intervals, even with no traffic to it, and taken back on its first good poll. A server
// that answers badly (error status, garbage, metrics endpoint gone) is up: it stays in rotation.
import { describe, expect, it } from "vitest";
import type { Proxy } from "../../src/host/index.js";
import { loadKey, oip, readLoad, routerProxy } from "./helpers.js";

const CLUSTER = "outbound|8000||vllm.llm.svc.cluster.local";
const EP1 = "10.0.0.1:8000";
const EP2 = "10.0.0.2:8000";
const PAGE =
  "# TYPE vllm:num_requests_waiting gauge\nvllm:num_requests_waiting 0\nvllm:num_requests_running 0\nvllm:kv_cache_usage_perc 0.1\n";

const cfg = (interval = 1000) => ({
  steering: "endpoint",
  polling: { intervalMs: interval },
  pools: [{ name: "a", models: ["m"], endpoints: [EP1, EP2], metrics: { cluster: CLUSTER, timeoutMs: 300 } }],
});

/** Answers the pending polls: EP1 by `ep1`, EP2 always fine. */
function answer(p: Proxy, ep1: "ok" | "fail" | "404" | "garbage" | "hang"): void {
  for (const c of p.callouts.pending) {
    const ep = c.headers["x-gateway-destination-endpoint"];
    if (ep !== EP1 || ep1 === "ok") c.respond({ status: 200, body: PAGE });
    else if (ep1 === "fail") c.fail();
    else if (ep1 === "404") c.respond({ status: 404, body: "not found" });
    else if (ep1 === "garbage") c.respond({ status: 200, body: "\u0000\u0001 not metrics {{{" });
    // "hang": leave it pending; Envoy answers with a 504 after the call's timeout
  }
}

const ejected = (p: Proxy, ep: string) => readLoad(p, loadKey("a", ep))!.ejectedUntilMs > p.clock.nowMs();

describe("health from metrics polls", () => {
  it("ejects a dead server within two poll intervals and takes it back after its first good poll", async () => {
    const p = await routerProxy(cfg(), { clusters: [CLUSTER] });
    p.advance(1000);
    answer(p, "ok");
    expect(ejected(p, EP1)).toBe(false);
    p.advance(1000);
    answer(p, "fail"); // one miss: still in
    expect(ejected(p, EP1)).toBe(false);
    p.advance(1000);
    answer(p, "fail"); // second miss, two intervals after the last good poll: out
    expect(ejected(p, EP1)).toBe(true);
    for (let i = 0; i < 6; i++)
      expect((await p.request(oip("m"))).routerHeaders!["x-gateway-destination-endpoint"]!.split(",")[0]).toBe(EP2);
    expect(p.prometheus()).toMatch(/inference_router_ejections\{pool="a",endpoint="10\.0\.0\.1:8000"\} 1\n/);
    // Still down for a long while: the ejection is renewed and never lapses.
    for (let i = 0; i < 8; i++) {
      p.advance(1000);
      answer(p, "fail");
    }
    expect(ejected(p, EP1)).toBe(true);
    // Back up: the first good poll lifts the ejection.
    p.advance(1000);
    answer(p, "ok");
    expect(ejected(p, EP1)).toBe(false);
    const seen = new Set<string>();
    for (let i = 0; i < 40 && !seen.has(EP1); i++)
      seen.add((await p.request(oip("m"))).routerHeaders!["x-gateway-destination-endpoint"]!.split(",")[0]!);
    expect(seen.has(EP1)).toBe(true);
  });

  it("a server that hangs (polls time out) is ejected the same way", async () => {
    const p = await routerProxy(cfg(), { clusters: [CLUSTER] });
    for (let i = 0; i < 3; i++) {
      p.advance(1000);
      answer(p, "hang");
    }
    p.advance(500); // the last poll's timeout
    expect(ejected(p, EP1)).toBe(true);
    expect(ejected(p, EP2)).toBe(false);
  });

  it("a server whose metrics endpoint is gone or returns garbage stays in rotation", async () => {
    for (const mode of ["404", "garbage"] as const) {
      const p = await routerProxy(cfg(), { clusters: [CLUSTER] });
      for (let i = 0; i < 5; i++) {
        p.advance(1000);
        answer(p, mode);
      }
      expect(ejected(p, EP1)).toBe(false);
      const seen = new Set<string>();
      for (let i = 0; i < 40 && !seen.has(EP1); i++)
        seen.add((await p.request(oip("m"))).routerHeaders!["x-gateway-destination-endpoint"]!.split(",")[0]!);
      expect(seen.has(EP1)).toBe(true);
    }
  });

  it("never ejects more than maxEjectionPercent of a pool on poll failures", async () => {
    const p = await routerProxy({ ...cfg(), outlier: { maxEjectionPercent: 50 } }, { clusters: [CLUSTER] });
    for (let i = 0; i < 4; i++) {
      p.advance(1000);
      for (const c of p.callouts.pending) c.fail();
    }
    expect([ejected(p, EP1), ejected(p, EP2)].filter(Boolean).length).toBe(1);
    expect((await p.request(oip("m"))).reachedRouter).toBe(true);
  });
});

describe("health from polls in pool mode", () => {
  const poolCfg = {
    steering: "pool",
    polling: { intervalMs: 1000 },
    outlier: { maxEjectionPercent: 100 },
    pools: [
      { name: "a", models: ["m"], endpoints: [EP1, EP2], metrics: { cluster: CLUSTER, timeoutMs: 300 } },
      {
        name: "b",
        models: ["m"],
        endpoints: ["10.0.1.1:8000"],
        metrics: { cluster: "outbound|8000||b.llm.svc.cluster.local", timeoutMs: 300 },
      },
    ],
  };
  const poolEjected = (p: Proxy, pool: string) => readLoad(p, loadKey(pool, pool))!.ejectedUntilMs > p.clock.nowMs();

  it("ejects a pool only when none of its members answers, and any member's answer takes it back", async () => {
    const p = await routerProxy(poolCfg, { clusters: [CLUSTER, "outbound|8000||b.llm.svc.cluster.local"] });
    const round = (a1: boolean, a2: boolean) => {
      p.advance(1000);
      for (const c of p.callouts.pending) {
        const ep = c.headers["x-gateway-destination-endpoint"];
        if ((ep === EP1 && !a1) || (ep === EP2 && !a2)) c.fail();
        else c.respond({ status: 200, body: PAGE });
      }
    };
    round(false, true);
    round(false, true);
    round(false, true);
    expect(poolEjected(p, "a")).toBe(false); // one member still answers
    round(false, false);
    round(false, false);
    expect(poolEjected(p, "a")).toBe(true);
    for (let i = 0; i < 4; i++) expect((await p.request(oip("m"))).routerHeaders!["x-inference-pool"]).toBe("b");
    round(false, true);
    expect(poolEjected(p, "a")).toBe(false);
  });
});

describe("poll pacing", () => {
  it("polls every intervalMs even when body mode ticks at another period", async () => {
    const p = await routerProxy(
      { ...cfg(200), body: { enabled: true, timeoutMs: 500 } }, // body mode alone would tick every 125 ms
      { clusters: [CLUSTER] },
    );
    const times: number[] = [];
    for (let t = 0; t < 1000; t += 25) {
      p.advance(25);
      if (p.callouts.pending.length > 0) times.push(p.clock.nowMs());
      answer(p, "ok");
    }
    const gaps = times.slice(1).map((t, i) => t - times[i]!);
    expect(gaps.every((g) => g === 200)).toBe(true);
  });
});

describe("upstream failures without a response", () => {
  const oneEp = {
    steering: "endpoint",
    outlier: { consecutiveErrors: 1, maxEjectionPercent: 100 },
    pools: [{ name: "a", models: ["m"], endpoints: [EP1] }],
  };
  const open = (p: Proxy) => {
    const s = p.newStream();
    s.sendRequestHeaders({ ":method": "POST", ":path": "/v2/models/m/infer", ":authority": "x" }, true);
    return s;
  };

  it("counts an upstream connect failure or reset (Envoy response flags) as an error of the picked upstream", async () => {
    // UF (upstream connection failure) = 0x20 in Envoy's response flags.
    const p = await routerProxy(oneEp, { properties: { "response.flags": 0x20 } });
    open(p).reset("upstream_reset_before_response_started");
    expect(ejected(p, EP1)).toBe(true);
  });

  it("reads the flags the host derives from how the stream ended (upstream reset → UR)", async () => {
    const p = await routerProxy(oneEp);
    open(p).reset("upstream_reset_before_response_started{remote_reset}");
    expect(ejected(p, EP1)).toBe(true);
    const q = await routerProxy(oneEp);
    open(q).reset(); // the client went away
    expect(ejected(q, EP1)).toBe(false);
  });

  it("does not blame the upstream when the client went away (downstream termination)", async () => {
    // DC (downstream connection termination) = 0x4000: not an upstream failure.
    const p = await routerProxy(oneEp, { properties: { "response.flags": 0x4000 } });
    open(p).reset();
    expect(ejected(p, EP1)).toBe(false);
    expect(readLoad(p, loadKey("a", EP1))!.inFlight).toBe(0);
  });
});
