// The router filter through the compiled .wasm in the Envoy-faithful host: classification headers, steering in
// both modes, spoofed headers, unknown models, the load view shared by worker VMs, saturation and shedding,
// fallback pools, staleness, ejection and recovery.
import { describe, expect, it } from "vitest";
import { chat, loadKey, oip, readLoad, routerProxy, twoPools, writeReport } from "./helpers.js";

describe("classification and steering headers", () => {
  it("classifies an OIP v2 request from its path and steers it to a pool serving the model (pool mode)", async () => {
    const p = await routerProxy(twoPools());
    const r = await p.request(oip("mistral-7b"));
    expect(r.reachedRouter).toBe(true);
    expect(r.routerHeaders!["x-inference-pool"]).toBe("l4");
    expect(r.routerHeaders!["x-inference-protocol"]).toBe("oip-infer");
    expect(r.routerHeaders!["x-inference-model"]).toBe("mistral-7b");
    expect(r.routerHeaders!["x-inference-class"]).toBe("predict");
    expect(r.routerHeaders!["x-inference-priority"]).toBe("0");
    // A request-header write clears Envoy's route cache (ABI 0.2.x), so the router re-matches on the pool header.
    expect(r.routeCacheClears).toBeGreaterThan(0);
    expect(r.routerHeaders!["x-gateway-destination-endpoint"]).toBeUndefined();
  });

  it("endpoint mode writes ip:port of the pick first, then fallbacks, all from the catalog", async () => {
    const p = await routerProxy(twoPools({ steering: "endpoint" }));
    const r = await p.request(oip("llama-3-70b"));
    const v = r.routerHeaders!["x-gateway-destination-endpoint"]!;
    const parts = v.split(",");
    expect(parts.length).toBeGreaterThanOrEqual(1);
    for (const e of parts) expect(["10.0.0.1:8000", "10.0.0.2:8000"]).toContain(e);
    expect(new Set(parts).size).toBe(parts.length);
    expect(r.routerHeaders!["x-inference-pool"]).toBeUndefined();
  });

  it("removes every inbound copy of steering and classification headers, on every kind of request", async () => {
    const p = await routerProxy(twoPools({ steering: "endpoint", unknownModel: "passthrough" }));
    const spoof = {
      "x-gateway-destination-endpoint": ["169.254.169.254:80", "10.9.9.9:1"],
      "x-inference-pool": "evil",
      "x-inference-model": "spoofed",
      "x-inference-priority": "100",
      "x-inference-protocol": "x",
      "x-inference-class": "y",
    };
    for (const spec of [
      oip("llama-3-70b", { headers: spoof }), // routed
      oip("no-such-model", { headers: spoof }), // unknown model, passthrough
      { method: "GET", path: "/v2/health/ready", headers: spoof }, // not inference
      chat("llama-3-8b", { headers: spoof }), // model in body, body mode off: undetermined
    ]) {
      const r = await p.request(spec);
      const h = r.routerHeaders!;
      expect(h["x-inference-pool"]).toBeUndefined();
      const ep = h["x-gateway-destination-endpoint"];
      if (ep !== undefined)
        for (const e of ep.split(",")) expect(["10.0.0.1:8000", "10.0.0.2:8000", "10.0.1.1:8000", "10.0.1.2:8000"]).toContain(e);
      expect(h["x-inference-model"]).not.toBe("spoofed");
      expect(h["x-inference-priority"]).not.toBe("100");
      expect(r.stream.routerRequestHeaders!.getAll("x-gateway-destination-endpoint").length).toBeLessThanOrEqual(1);
    }
  });

  it("health, metadata and model-list calls pass untouched", async () => {
    const p = await routerProxy(twoPools());
    for (const [method, path] of [
      ["GET", "/v2/health/live"],
      ["GET", "/v1/models"],
      ["GET", "/v2/models/llama-3-8b"],
      ["GET", "/metrics"],
    ]) {
      const r = await p.request({ method, path });
      expect(r.reachedRouter).toBe(true);
      expect(r.routerHeaders!["x-inference-pool"]).toBeUndefined();
      expect(r.routerHeaders!["x-inference-protocol"]).toBeUndefined();
    }
  });

  it("matches model prefixes (LoRA adapters) and URL-decoded names", async () => {
    const p = await routerProxy({
      pools: [
        { name: "base", models: ["meta/llama"], modelPrefixes: ["llama-3-8b:"] },
        { name: "other", models: ["x"] },
      ],
    });
    expect((await p.request(oip("llama-3-8b:sql-adapter"))).routerHeaders!["x-inference-pool"]).toBe("base");
    const r = await p.request({ method: "POST", path: "/v2/models/meta%2Fllama/infer", body: "{}" });
    expect(r.routerHeaders!["x-inference-pool"]).toBe("base");
    expect(r.routerHeaders!["x-inference-model"]).toBe("meta/llama");
  });

  it("reads the model from a configured header and the priority from the client's priority header", async () => {
    const peer = "spiffe://cluster.local/ns/gw/sa/gateway";
    const p = await routerProxy(twoPools({ headers: { modelOverride: "x-model", priorityIn: "x-priority", trustedPeers: [peer] } }));
    const r = await p.request(chat("ignored", { peer, headers: { "x-model": "mistral-7b", "x-priority": "7" } }));
    expect(r.routerHeaders!["x-inference-pool"]).toBe("l4");
    expect(r.routerHeaders!["x-inference-priority"]).toBe("7");
    const bad = await p.request(chat("ignored", { peer, headers: { "x-model": "mistral-7b", "x-priority": "1e9" } }));
    expect(bad.routerHeaders!["x-inference-priority"]).toBe("0");
  });
});

describe("unknown models and errors", () => {
  it("answers 404 with a JSON error when no pool serves the model", async () => {
    const p = await routerProxy(twoPools());
    const r = await p.request(oip("gpt-9"));
    expect(r.reachedRouter).toBe(false);
    expect(r.localReply!.status).toBe(404);
    expect(JSON.parse(r.localReply!.body).error.type).toBe("model_not_found");
    expect(r.localReply!.headers).toContainEqual(["content-type", "application/json"]);
    // One content-type downstream, the filter's: Envoy adds text/plain only when the filter supplied none.
    expect(r.stream.downstreamHeaders!.getAll("content-type")).toEqual(["application/json"]);
  });

  it("routes unknown models untouched when unknownModel is passthrough", async () => {
    const p = await routerProxy(twoPools({ unknownModel: "passthrough" }));
    const r = await p.request(oip("gpt-9"));
    expect(r.reachedRouter).toBe(true);
    expect(r.routerHeaders!["x-inference-pool"]).toBeUndefined();
  });
});

describe("load view and picking", () => {
  it("counts in-flight requests across worker VMs through shared data and spreads by capacity", async () => {
    const p = await routerProxy(twoPools({ steering: "endpoint" }), { workers: 3 });
    const open = [];
    for (let i = 0; i < 12; i++) open.push(await p.request(oip("llama-3-70b", { worker: i % 3, keepOpen: true })));
    const a = readLoad(p, loadKey("a100", "10.0.0.1:8000"))!;
    const b = readLoad(p, loadKey("a100", "10.0.0.2:8000"))!;
    expect(a.inFlight + b.inFlight).toBe(12);
    expect(Math.abs(a.inFlight - b.inFlight)).toBeLessThanOrEqual(1);
    // Slots are per VM: three workers each hold part of the count.
    expect(new Set([...a.slots, ...b.slots].filter((s) => s.inFlight > 0).map((s) => s.vmId)).size).toBe(3);
    for (const r of open) r.stream.complete();
    expect(readLoad(p, loadKey("a100", "10.0.0.1:8000"))!.inFlight).toBe(0);
    expect(readLoad(p, loadKey("a100", "10.0.0.2:8000"))!.inFlight).toBe(0);
  });

  it("gives the slot back however the stream ends: reset, local reply, completion", async () => {
    const p = await routerProxy(twoPools({ steering: "endpoint" }));
    const s = p.newStream();
    s.sendRequestHeaders(
      { ":method": "POST", ":path": "/v2/models/mistral-7b/infer", ":authority": "x", "content-type": "application/json" },
      false,
    );
    const total = () => readLoad(p, loadKey("l4", "10.0.1.1:8000"))!.inFlight + readLoad(p, loadKey("l4", "10.0.1.2:8000"))!.inFlight;
    expect(total()).toBe(1);
    s.reset();
    expect(total()).toBe(0);
  });

  it("prefers the larger pool by capacity weight in pool mode", async () => {
    const p = await routerProxy(twoPools());
    const counts: Record<string, number> = {};
    const open = [];
    for (let i = 0; i < 30; i++) {
      const r = await p.request(oip("llama-3-8b", { keepOpen: true }));
      open.push(r);
      const pool = r.routerHeaders!["x-inference-pool"]!;
      counts[pool] = (counts[pool] ?? 0) + 1;
    }
    // a100: weight 2 × 2 members = capacity 4; l4: 1 × 2 = 2 → about 2:1.
    expect(counts["a100"]).toBeGreaterThanOrEqual(18);
    expect(counts["a100"]).toBeLessThanOrEqual(22);
  });

  it("follows server-reported load: queue and KV-cache from a fresh report steer away from a busy endpoint", async () => {
    const p = await routerProxy(twoPools({ steering: "endpoint" }));
    const now = p.clock.nowMs();
    writeReport(p, loadKey("l4", "10.0.1.1:8000"), { queue: 5, kvCache: 0.5, atMs: now });
    writeReport(p, loadKey("l4", "10.0.1.2:8000"), { queue: 0, kvCache: 0.1, atMs: now });
    for (let i = 0; i < 4; i++) {
      const r = await p.request(oip("mistral-7b"));
      expect(r.routerHeaders!["x-gateway-destination-endpoint"]!.split(",")[0]).toBe("10.0.1.2:8000");
    }
  });

  it("counts requests sent since the last report so a burst does not herd onto the idle-looking endpoint", async () => {
    const p = await routerProxy(twoPools({ steering: "endpoint" }));
    const now = p.clock.nowMs();
    writeReport(p, loadKey("l4", "10.0.1.1:8000"), { queue: 3, kvCache: 0, atMs: now });
    writeReport(p, loadKey("l4", "10.0.1.2:8000"), { queue: 0, kvCache: 0, atMs: now });
    const picks: string[] = [];
    for (let i = 0; i < 8; i++)
      picks.push((await p.request(oip("mistral-7b", { keepOpen: true }))).routerHeaders!["x-gateway-destination-endpoint"]!.split(",")[0]!);
    expect(picks.filter((x) => x === "10.0.1.1:8000").length).toBeGreaterThanOrEqual(2);
  });

  it("treats stale reports as saturated, and fails open to in-flight counts when every report is stale", async () => {
    const p = await routerProxy(twoPools({ steering: "endpoint", scoring: { staleAfterMs: 1000 } }));
    const now = p.clock.nowMs();
    writeReport(p, loadKey("l4", "10.0.1.1:8000"), { queue: 0, kvCache: 0, atMs: now - 5000 }); // stale
    writeReport(p, loadKey("l4", "10.0.1.2:8000"), { queue: 2, kvCache: 0.5, atMs: now }); // fresh, busier
    for (let i = 0; i < 3; i++) {
      const r = await p.request(oip("mistral-7b"));
      expect(r.routerHeaders!["x-gateway-destination-endpoint"]!.split(",")[0]).toBe("10.0.1.2:8000");
    }
    writeReport(p, loadKey("l4", "10.0.1.2:8000"), { queue: 0, kvCache: 0, atMs: now - 5000 }); // now both stale
    const r = await p.request(oip("mistral-7b"));
    expect(r.reachedRouter).toBe(true);
    expect(r.routerHeaders!["x-gateway-destination-endpoint"]).toBeDefined();
    expect(p.prometheus()).toMatch(/inference_router_stale_fallbacks\{\} 1\n/);
  });

  it("uses the fallback pool when every member of the primary pool is saturated", async () => {
    const p = await routerProxy({
      steering: "pool",
      pools: [
        { name: "local", models: ["m"], maxInFlight: 2, fallback: "remote" },
        { name: "remote", models: ["m"], maxInFlight: 100 },
      ],
    });
    const picks = [];
    for (let i = 0; i < 4; i++) picks.push((await p.request(oip("m", { keepOpen: true }))).routerHeaders!["x-inference-pool"]);
    expect(picks).toEqual(["local", "local", "remote", "remote"]);
    expect(p.prometheus()).toMatch(/inference_router_fallback_pool_picks\{\} 2\n/);
  });

  it("sheds low-priority requests with 429 and Retry-After when all are saturated; others go to the least loaded", async () => {
    const p = await routerProxy({
      pools: [{ name: "p", models: ["m"], maxInFlight: 1 }],
      models: [{ name: "m", priority: -1 }],
      headers: { priorityIn: "x-priority", trustedPeers: ["ns:vip"] },
      shedding: { belowPriority: 0, retryAfterSeconds: 3 },
    });
    const first = await p.request(oip("m", { keepOpen: true }));
    expect(first.routerHeaders!["x-inference-pool"]).toBe("p");
    const shed = await p.request(oip("m"));
    expect(shed.localReply!.status).toBe(429);
    expect(shed.localReply!.headers).toContainEqual(["retry-after", "3"]);
    const vip = await p.request(oip("m", { peer: "spiffe://cluster.local/ns/vip/sa/batch", headers: { "x-priority": "5" } }));
    expect(vip.routerHeaders!["x-inference-pool"]).toBe("p");
    expect(p.prometheus()).toMatch(/inference_router_saturated_picks\{\} 1\n/);
  });
});

describe("passive outlier ejection", () => {
  const cfg = (pct = 50) =>
    twoPools({
      steering: "endpoint",
      outlier: { consecutiveErrors: 2, baseEjectionMs: 1000, maxEjectionMs: 8000, maxEjectionPercent: pct },
    });

  it("ejects an endpoint after consecutive 5xx, backs off longer on repeat, and takes it back after the ejection", async () => {
    const p = await routerProxy(
      twoPools({ steering: "endpoint", outlier: { consecutiveErrors: 1, baseEjectionMs: 1000, maxEjectionMs: 8000 } }),
    );
    const bad = "10.0.1.1:8000";
    const fail = (h: { get(k: string): string | undefined }) => ({
      status: h.get("x-gateway-destination-endpoint")!.startsWith(bad) ? 503 : 200,
    });
    // Idle endpoints tie and ties break at random: send until the bad one has been picked (and failed) once.
    for (let i = 0; i < 64 && readLoad(p, loadKey("l4", bad))!.ejectedUntilMs === 0; i++)
      await p.request(oip("mistral-7b", { response: fail }));
    const t0 = p.clock.nowMs();
    expect(readLoad(p, loadKey("l4", bad))!.ejectedUntilMs).toBe(t0 + 1000);
    for (let i = 0; i < 5; i++)
      expect((await p.request(oip("mistral-7b"))).routerHeaders!["x-gateway-destination-endpoint"]!.split(",")[0]).toBe("10.0.1.2:8000");
    expect(p.prometheus()).toMatch(/inference_router_ejections\{pool="l4",endpoint="10\.0\.1\.1:8000"\} 1\n/);
    // Back after the ejection; failing again ejects it for twice as long.
    p.advance(1100);
    const seen = new Set<string>();
    // Picks between two idle endpoints are random: go on until the bad one was tried (bounded).
    for (let i = 0; i < 64 && !seen.has(bad); i++)
      seen.add((await p.request(oip("mistral-7b", { response: fail }))).routerHeaders!["x-gateway-destination-endpoint"]!.split(",")[0]!);
    expect(seen.has(bad)).toBe(true);
    const rec = readLoad(p, loadKey("l4", bad))!;
    expect(rec.ejectedUntilMs - p.clock.nowMs()).toBe(2000);
    expect(rec.ejections).toBe(2);
    // A success after the ejection ends resets the backoff.
    p.advance(2100);
    for (let i = 0; i < 64 && readLoad(p, loadKey("l4", bad))!.ejections !== 0; i++)
      await p.request(oip("mistral-7b", { response: { status: 200 } }));
    expect(readLoad(p, loadKey("l4", bad))!.ejections).toBe(0);
  });

  it("never ejects more than maxEjectionPercent of a pool, and answers 503 only when nothing healthy is left", async () => {
    const p = await routerProxy(cfg(50));
    for (let i = 0; i < 20; i++) await p.request(oip("mistral-7b", { response: { status: 500 } }));
    const ej = ["10.0.1.1:8000", "10.0.1.2:8000"].filter((e) => readLoad(p, loadKey("l4", e))!.ejectedUntilMs > p.clock.nowMs());
    expect(ej.length).toBe(1);
    const q = await routerProxy(cfg(100));
    for (let i = 0; i < 20; i++) await q.request(oip("mistral-7b", { response: { status: 500 } }));
    const r = await q.request(oip("mistral-7b"));
    expect(r.localReply!.status).toBe(503);
  });

  it("an error never makes an upstream look less loaded: error runs add to its load", async () => {
    const p = await routerProxy(twoPools({ steering: "endpoint", outlier: { consecutiveErrors: 100 } }));
    const bad = "10.0.1.1:8000";
    for (let i = 0; i < 6; i++) {
      await p.request(
        oip("mistral-7b", { response: (h) => ({ status: h.get("x-gateway-destination-endpoint")!.startsWith(bad) ? 502 : 200 }) }),
      );
    }
    const r = await p.request(oip("mistral-7b"));
    expect(r.routerHeaders!["x-gateway-destination-endpoint"]!.split(",")[0]).toBe("10.0.1.2:8000");
  });
});

describe("configuration", () => {
  it("rejects a bad configuration with a log line naming the field, and configure returns false", async () => {
    await expect(routerProxy({ pools: [{ name: "a", models: ["m"], weight: 0 }] })).rejects.toThrow();
    try {
      await routerProxy({ pools: [{ name: "a", models: ["m"], weight: 0 }] });
    } catch (e) {
      const logs = (e as { logs: Array<{ message: string }> }).logs.map((l) => l.message).join("\n");
      expect(logs).toMatch(/configuration rejected: pools\[0\]\.weight/);
    }
    await expect(routerProxy("not json")).rejects.toThrow();
    const enc = new TextEncoder();
    const bad = Uint8Array.of(...enc.encode('{"pools":[{"name":"a","models":["m'), 0xc1, 0x81, ...enc.encode('"]}]}'));
    const logs = await routerProxy(bad).then(
      () => "",
      (e: { logs: Array<{ message: string }> }) => e.logs.map((l) => l.message).join("\n"),
    );
    expect(logs).toMatch(/configuration rejected: \(root\): invalid UTF-8 at byte 34/);
    const twice = await routerProxy({
      pools: [
        { name: "a", models: ["m"], endpoints: ["1.1.1.1:1"] },
        { name: "b", models: ["n"], endpoints: ["1.1.1.1:1"] },
      ],
    }).then(
      () => "",
      (e: { logs: Array<{ message: string }> }) => e.logs.map((l) => l.message).join("\n"),
    );
    expect(twice).toMatch(/pools\[1\]\.endpoints\[0\]: endpoint "1\.1\.1\.1:1" is listed more than once/);
    await expect(routerProxy("")).rejects.toThrow();
  });
});
