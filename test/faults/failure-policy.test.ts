// Failure policies end to end through the gateway: the router .wasm in 2 worker VMs, one of them failed as a trap
// would fail it (`proxy.workers[0].vm.fail(...)`: the router filter has no trap path to trigger — the fuzz suite
// checks that — and the gateway runs the router's own plugin configuration, so a scripted trapping filter cannot
// be loaded without a larger gateway change). The gateway maps the router config's `failStrategy` to the host's
// failure policy exactly as the generated Envoy config does. Host-level traps in real callbacks: test/host/failure.test.ts.
import { afterEach, describe, expect, it } from "vitest";
import type { HttpStream } from "../../src/host/index.js";
import { counter, MODEL, record, scrape, sleep, startBed, type Bed } from "./harness.js";

let bed: Bed | undefined;
afterEach(async () => {
  await bed?.close();
  bed = undefined;
});

interface Shot {
  status: number;
  upstream: string;
  worker: number;
  mode: string;
  details: string | undefined;
}

/** Records, per gateway request, the worker VM that took its stream and how the host ran it. */
function spyStreams(b: Bed): Array<{ worker: number; s: HttpStream }> {
  const seen: Array<{ worker: number; s: HttpStream }> = [];
  const p = b.gw.proxy;
  const orig = p.newStream.bind(p);
  p.newStream = (worker = 0) => {
    const s = orig(worker);
    seen.push({ worker, s });
    return s;
  };
  return seen;
}

async function shoot(b: Bed, seen: Array<{ worker: number; s: HttpStream }>, n: number): Promise<Shot[]> {
  const out: Shot[] = [];
  for (let i = 0; i < n; i++) {
    // sequential: the gateway alternates worker 0, 1, 0, ...
    const k = seen.length;
    const r = await fetch(`http://127.0.0.1:${b.gw.port}/v1/chat/completions`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ model: MODEL, max_tokens: 2, messages: [{ role: "user", content: "hi" }] }),
      signal: AbortSignal.timeout(10_000),
    });
    await r.arrayBuffer();
    const st = seen[k]!;
    out.push({
      status: r.status,
      upstream: r.headers.get("x-inference-router-upstream") ?? "",
      worker: st.worker,
      mode: st.s.mode,
      details: st.s.localReply?.details,
    });
  }
  return out;
}

const routed = async (b: Bed) => counter(await scrape(b.gw), 'inference_router_requests{protocol="openai-chat",outcome="routed"}');
const trap = (b: Bed) => b.gw.proxy.workers[0]!.vm.fail("proxy_on_request_headers", new WebAssembly.RuntimeError("unreachable"));

describe("a trapped worker VM, through the gateway (pool steering, 4 pools, 2 workers)", () => {
  it("FAIL_CLOSE: requests on the failed worker get 503 with details wasm_fail_stream; the other worker keeps routing", async () => {
    bed = await startBed({ steering: "pool", failStrategy: "FAIL_CLOSE", workers: 2 });
    const b = bed;
    const seen = spyStreams(b);
    expect((await shoot(b, seen, 2)).every((s) => s.status === 200)).toBe(true);
    trap(b);
    const shots = await shoot(b, seen, 8);
    const failed = shots.filter((s) => s.worker === 0),
      healthy = shots.filter((s) => s.worker === 1);
    record("policy-fail-closed", {
      failedWorker: failed.map((s) => `${s.status}/${s.details}`),
      otherWorker: healthy.map((s) => s.status),
    });
    expect(failed).toHaveLength(4);
    for (const s of failed) expect(s).toMatchObject({ status: 503, mode: "fail", details: "wasm_fail_stream", upstream: "" });
    for (const s of healthy) expect(s.status).toBe(200);
    expect(b.gw.localReplies.get(503)).toBe(4);
    expect(b.gw.proxy.logs.matching(/Function: proxy_on_request_headers failed: Uncaught RuntimeError: unreachable/)).toHaveLength(1);
  }, 20_000);

  it("FAIL_OPEN: requests on the failed worker pass unfiltered (no steering: the route's default pool p0)", async () => {
    bed = await startBed({ steering: "pool", failStrategy: "FAIL_OPEN", workers: 2 });
    const b = bed;
    const seen = spyStreams(b);
    await shoot(b, seen, 2);
    trap(b);
    const before = await routed(b);
    const shots = await shoot(b, seen, 12);
    const failed = shots.filter((s) => s.worker === 0),
      healthy = shots.filter((s) => s.worker === 1);
    const after = await routed(b);
    record("policy-fail-open", {
      failedWorker: failed.map((s) => `${s.status} ${s.upstream.split("/")[0]}`),
      otherWorker: healthy.map((s) => `${s.status} ${s.upstream.split("/")[0]}`),
      filterRouted: after - before,
    });
    for (const s of failed) {
      expect(s).toMatchObject({ status: 200, mode: "skip", details: undefined });
      expect(s.upstream.split("/")[0]).toBe("p0"); // no pool header: where Envoy's route sends it without the filter
    }
    for (const s of healthy) expect(s).toMatchObject({ status: 200, mode: "filter" });
    expect(after - before, "only the healthy worker's requests went through the filter").toBe(healthy.length);
  }, 20_000);

  it("FAIL_RELOAD: 503 wasm_fail_stream during the 1 s backoff, then a new VM that filters (and steers) again", async () => {
    bed = await startBed({ steering: "pool", failStrategy: "FAIL_RELOAD", workers: 2 });
    const b = bed;
    const seen = spyStreams(b);
    await shoot(b, seen, 2);
    trap(b);
    const failedAt = performance.now();
    const during = (await shoot(b, seen, 4)).filter((s) => s.worker === 0);
    for (const s of during) expect(s).toMatchObject({ status: 503, mode: "fail", details: "wasm_fail_stream" });
    expect(b.gw.proxy.workers[0]!.reloads).toBe(0);
    await sleep(Math.max(0, 1050 - (performance.now() - failedAt)));
    const before = await routed(b);
    const afterShots = await shoot(b, seen, 8);
    const reloaded = afterShots.filter((s) => s.worker === 0);
    record("policy-fail-reload", {
      duringBackoff: during.map((s) => `${s.status}/${s.details}`),
      afterBackoff: reloaded.map((s) => `${s.status} ${s.mode}`),
      reloads: b.gw.proxy.workers[0]!.reloads,
      filterRouted: (await routed(b)) - before,
    });
    expect(b.gw.proxy.workers[0]!.reloads).toBe(1);
    expect(b.gw.proxy.workers[0]!.failed).toBe(false);
    for (const s of reloaded) expect(s).toMatchObject({ status: 200, mode: "filter", details: undefined });
    expect((await routed(b)) - before, "every request filtered again").toBe(afterShots.length);
    expect(b.gw.proxy.logs.matching("reloaded the Wasm VM of worker 0")).toHaveLength(1);
  }, 20_000);
});
