// Traps and failure policies (host-behaviour §2.9, §6.C.9).
import { describe, expect, it } from "vitest";
import { callbacks, scripted, workerResults } from "./helpers.js";

describe("traps (host-behaviour §6.C.9, §2.9)", () => {
  it("§6.C.9 FAIL_CLOSED: the trapping stream gets 503 wasm_fail_stream (grpc Unavailable); later callbacks skipped silently", async () => {
    const p = await scripted(["request_headers@2 trap"], { failurePolicy: "FAIL_CLOSED" });
    const r = await p.request({});
    expect(r.status).toBe(503);
    expect(r.localReply).toMatchObject({ status: 503, details: "wasm_fail_stream", grpcStatus: 14 });
    expect(r.reachedRouter).toBe(false);
    expect(callbacks(p).slice(-1)).toEqual(["request_headers 2 4 1"]); // no log/done/delete
    expect(p.workers[0]!.failed).toBe(true);
    expect(p.logs.matching(/Function: proxy_on_request_headers failed: .*unreachable/)).toHaveLength(1);
    const r2 = await p.request({});
    expect(r2.status).toBe(503);
    expect(r2.localReply?.details).toBe("wasm_fail_stream");
  });

  it("§2.9 FAIL_OPEN: the trapping stream continues unfiltered; new streams skip the filter", async () => {
    const p = await scripted(["request_headers@2 trap", "request_headers add 0 x-filtered 1"], { failurePolicy: "FAIL_OPEN" });
    const r = await p.request({});
    expect(r.status).toBe(200);
    expect(r.reachedRouter).toBe(true);
    const r2 = await p.request({});
    expect(r2.status).toBe(200);
    expect(r2.routerHeaders?.["x-filtered"]).toBeUndefined();
    expect(callbacks(p).filter((c) => c.startsWith("context_create 3"))).toHaveLength(0);
  });

  it("§2.9 FAIL_RELOAD: 503 for the failing stream, then a fresh VM for the next stream after the backoff (on the clock)", async () => {
    const p = await scripted(["request_headers@2 trap"], { failurePolicy: "FAIL_RELOAD", workers: 2 });
    expect((await p.request({})).status).toBe(503);
    expect((await p.request({})).status).toBe(503); // within the 1000 ms backoff
    p.advance(1000);
    const r = await p.request({});
    expect(p.workers[0]!.reloads).toBe(1);
    // the reloaded VM starts over: root 1, then configure, stream id 2 again — which traps again by script
    expect(r.status).toBe(503);
    p.advance(1000);
    expect(p.workers[1]!.failed).toBe(false);
    expect(p.logs.filter((l) => l.worker === 0 && l.message === "CB configure 1 " + p.pluginConfig.length)).toHaveLength(2);
  });

  it("§6.C.9 a trap in a root callback (tick) fails the VM: ticks stop, streams on that worker follow the policy", async () => {
    const p = await scripted(["configure tick 10", "tick trap"], { workers: 2 });
    p.advance(10);
    expect(p.workers.map((w) => w.failed)).toEqual([true, true]);
    p.advance(100);
    expect(p.logs.filter((l) => l.message === "CB tick 1")).toHaveLength(2);
    expect((await p.request({})).status).toBe(503);
  });

  it("§6.C.9 a trap in on_log skips done/delete of that stream and the root's shutdown", async () => {
    const p = await scripted(["log trap"]);
    await p.request({});
    expect(callbacks(p).slice(-1)).toEqual(["log 2"]);
    await p.close();
    expect(callbacks(p).slice(-1)).toEqual(["log 2"]);
  });

  it("§6.C.9 trap in a response callback under FAIL_CLOSED after the request reached the router", async () => {
    const p = await scripted(["response_headers trap"]);
    const r = await p.request({ response: { status: 200, body: "x" } });
    expect(r.reachedRouter).toBe(true);
    expect(r.status).toBe(503);
    expect(workerResults(p)).toHaveLength(0);
  });

  it("§6.C.10 AS abort path: abort logs at critical, proc_exit returns, `unreachable` traps", async () => {
    const p = await scripted(["request_headers exit 255", "request_headers trap"]);
    const r = await p.request({});
    expect(p.logs.matching("proc_exit")).toHaveLength(1);
    expect(r.status).toBe(503);
  });
});
