// Config pushes while traffic flows, through the compiled filter. Envoy keys a plugin by root id + configuration, so
// every push starts a new root context on the reused worker VM and deletes the old one when its last stream ends
// (proxy-wasm-cpp-host src/wasm.cc WasmBase::start/startShutdown @52a02917b301c679ff43565064cffd2c3c750f6d; the
// project's host models it, test/host/config-push.test.ts). The filter keeps one router per root: the old root's
// memory is given back when it is deleted, its requests finish on its router (held bodies included), and the load
// records of upstreams that remain carry over (they are keyed by pool and upstream in shared data).
import { describe, expect, it } from "vitest";
import { HeaderMap, type HttpStream, type Proxy } from "../../src/host/index.js";
import { loadKey, readLoad, routerProxy, writeReport } from "./helpers.js";

const KEEP = "10.0.0.1:8000";

/** Push i: one upstream that stays, one that changes, body mode on (a 64 KiB body scratch per router). */
function configN(i: number, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    steering: "endpoint",
    body: { enabled: true, timeoutMs: 200 },
    pools: [{ name: "a", models: ["m"], endpoints: [KEEP, `10.0.${1 + (i % 7)}.2:8000`] }],
    ...extra,
  };
}

const HEADERS = { ":method": "POST", ":path": "/v1/chat/completions", ":authority": "x", "content-type": "application/json" };
const BODY = '{"model":"m","messages":[{"role":"user","content":"hi"}]}';

/** Sum of in-flight slots over every load record of the pool. */
function inFlightTotal(p: Proxy): number {
  let n = 0;
  for (const key of Object.keys(p.sharedData.entries(p.vmId))) if (key.includes("/load/")) n += readLoad(p, key)?.inFlight ?? 0;
  return n;
}

function counter(p: Proxy, name: string): number {
  return Number(p.metrics()[`inference-router.${name}`] ?? 0);
}

describe("config pushes while requests flow", () => {
  it("1000 pushes: memory flat, no request stalled, every in-flight slot kept and given back", { timeout: 180_000 }, async () => {
    const p = await routerProxy(configN(0), { allowOnHeadersStopIteration: true, workers: 2 });
    const open: HttpStream[] = [];
    const finishRouted = () => {
      for (let k = open.length - 1; k >= 0; k--) {
        const s = open[k]!;
        if (!s.reachedRouter && !s.localReply) continue;
        if (s.reachedRouter) s.sendResponseHeaders(new HeaderMap({ ":status": "200" }), true);
        s.complete();
        open.splice(k, 1);
      }
    };
    // One long request routed under the first config and still open after every push (a long generation).
    const long = p.newStream(0);
    long.sendRequestHeaders(new HeaderMap(HEADERS), false).sendRequestBody(BODY, true);
    expect(long.routerRequestHeaders?.get("x-gateway-destination-endpoint")).toBeDefined();
    // Measured after 200 pushes: the heap takes its one growth step (32 → 64 pages on the busier worker) within the
    // first couple hundred roots; from there on it must not move.
    let pagesAt200 = 0;
    for (let i = 1; i <= 1000; i++) {
      const w = i % 2;
      // Held for its body across the push: the body comes after it, to the old root's stream.
      const bodyAfterPush = p.newStream(w).sendRequestHeaders(new HeaderMap(HEADERS), false);
      // Held for a body that never comes: the old root's tick must release it after body.timeoutMs.
      if (i % 10 === 0) open.push(p.newStream(w).sendRequestHeaders(new HeaderMap(HEADERS), false));
      p.pushConfig(configN(i));
      bodyAfterPush.sendRequestBody(BODY, true);
      expect(bodyAfterPush.reachedRouter).toBe(true);
      open.push(bodyAfterPush);
      // And one request entirely under the new config.
      open.push(p.newStream(w).sendRequestHeaders(new HeaderMap(HEADERS), false).sendRequestBody(BODY, true));
      p.advance(20);
      finishRouted();
      if (i === 200) pagesAt200 = Math.max(...p.workers.map((x) => x.memoryPages()));
    }
    p.advance(1000);
    finishRouted();
    expect(open).toEqual([]); // nothing stalled: every held request was routed
    expect(p.workers.every((x) => !x.failed)).toBe(true);
    expect(Math.max(...p.workers.map((x) => x.memoryPages()))).toBe(pagesAt200);
    expect(counter(p, "body_timeouts")).toBe(100);
    expect(counter(p, "in_flight_update_lost")).toBe(0);
    // Only the long request is in flight, 20 s after its root was replaced: its slot still counts.
    expect(inFlightTotal(p)).toBe(1);
    // Worker 0 keeps two roots (the current one and the long request's), worker 1 one.
    expect(p.workers.map((x) => x.vm.roots().length)).toEqual([2, 1]);
    long.sendResponseHeaders(new HeaderMap({ ":status": "200" }), true).complete();
    expect(inFlightTotal(p)).toBe(0);
    expect(p.workers.map((x) => x.vm.roots().length)).toEqual([1, 1]);
  });

  it("keeps the load record of an upstream that stays; a new root reads it at once", async () => {
    const p = await routerProxy({
      steering: "endpoint",
      pools: [{ name: "a", models: ["m"], endpoints: [KEEP, "10.0.9.9:8000"] }],
    });
    const now = p.clock.nowMs();
    writeReport(p, loadKey("a", KEEP), { queue: 50, kvCache: 0.9, atMs: now });
    const held = p.newStream();
    held.sendRequestHeaders(new HeaderMap({ ":method": "POST", ":path": "/v2/models/m/infer", ":authority": "x" }), true);
    p.pushConfig({ steering: "endpoint", pools: [{ name: "a", models: ["m"], endpoints: [KEEP, "10.0.8.8:8000"] }] });
    const rec = readLoad(p, loadKey("a", KEEP))!;
    expect(rec.queue).toBe(50);
    // The busy upstream that stayed still loses to the new idle one.
    const r = await p.request({ method: "POST", path: "/v2/models/m/infer" });
    expect(r.routerHeaders?.["x-gateway-destination-endpoint"]?.split(",")[0]).toBe("10.0.8.8:8000");
    held.sendResponseHeaders(new HeaderMap({ ":status": "200" }), true).complete();
    expect(inFlightTotal(p)).toBe(0);
  });

  it("only the newest root polls; the replaced one stops with its last stream", async () => {
    const CLUSTER = "outbound|8000||vllm.llm.svc.cluster.local";
    const polled = (i: number) => ({
      steering: "endpoint",
      polling: { intervalMs: 1000 },
      pools: [{ name: "a", models: ["m"], endpoints: [KEEP, `10.0.${i}.2:8000`], metrics: { cluster: CLUSTER } }],
    });
    const p = await routerProxy(polled(1), { clusters: [CLUSTER] });
    const held = p.newStream();
    held.sendRequestHeaders(new HeaderMap({ ":method": "POST", ":path": "/v2/models/m/infer", ":authority": "x" }), true);
    p.pushConfig(polled(2));
    p.advance(1000);
    const targets = p.callouts.pending.map((c) => c.headers["x-gateway-destination-endpoint"]).sort();
    expect(targets).toEqual([KEEP, "10.0.2.2:8000"]); // not the old config's 10.0.1.2, and no duplicate polls
    for (const c of p.callouts.pending) c.respond({ status: 200, body: "" });
    // Back to the first config while its root is alive: Envoy reuses that root (no configure) and deletes the
    // newer one, so the surviving root must take the polling back.
    p.pushConfig(polled(1));
    p.advance(1000);
    const again = p.callouts.pending.map((c) => c.headers["x-gateway-destination-endpoint"]).sort();
    expect(again).toEqual([KEEP, "10.0.1.2:8000"]);
    held.complete();
  });
});
