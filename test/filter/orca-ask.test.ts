// Piggybacked load through the compiled .wasm: the filter asks the servers of ORCA pools for a load report on
// every request it steers (`endpoint-load-metrics-format`, a client's value replaced), leaves every other request
// alone, reads the report from the response, and its poller skips upstreams whose record got a report recently.
// Also the TEXT forms Envoy's own ORCA parser accepts (`name:value`).
import { describe, expect, it } from "vitest";
import type { Proxy } from "../../src/host/index.js";
import { chat, loadKey, oip, readLoad, routerProxy, writeReport } from "./helpers.js";

const CLUSTER = "outbound|8000||vllm-a.llm.svc.cluster.local";
const EP1 = "10.0.0.1:8000";
const EP2 = "10.0.0.2:8000";
const T0 = 1_700_000_000_000;
const ASK = "endpoint-load-metrics-format";

function pool(extra: Record<string, unknown> = {}, metrics: Record<string, unknown> | null = {}): Record<string, unknown> {
  return {
    name: "a",
    models: ["llama-3-8b"],
    endpoints: [EP1, EP2],
    ...(metrics ? { metrics: { cluster: CLUSTER, ...metrics } } : {}),
    ...extra,
  };
}

function endpointConfig(p: Record<string, unknown>, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { steering: "endpoint", pools: [p], ...extra };
}

/** The `endpoint-load-metrics-format` the upstream receives for one request (undefined when absent). */
async function askSent(p: Proxy, spec = oip("llama-3-8b")): Promise<string | undefined> {
  const r = await p.request(spec);
  return r.routerHeaders?.[ASK];
}

describe("asking for ORCA reports on steered requests", () => {
  it("a vLLM pool (the default engine) gets `JSON` on every steered request, a client's value replaced", async () => {
    const p = await routerProxy(endpointConfig(pool()));
    expect(await askSent(p)).toBe("JSON");
    expect(await askSent(p, oip("llama-3-8b", { headers: { [ASK]: "TEXT" } }))).toBe("JSON");
    expect(await askSent(p, oip("llama-3-8b", { headers: { [ASK]: ["BIN", "garbage"] } }))).toBe("JSON");
    // A chat request whose model is in the body, with body reading off: not steered, so left alone.
    expect(await askSent(p, chat("llama-3-8b", { headers: { [ASK]: "TEXT" } }))).toBe("TEXT");
    // A pool without metrics defaults to the schema's engine, vllm.
    const q = await routerProxy(endpointConfig(pool({}, null)));
    expect(await askSent(q)).toBe("JSON");
  });

  it("follows the engine default and the per-pool override, in pool mode too", async () => {
    const sglang = await routerProxy(endpointConfig(pool({}, { engine: "sglang" })));
    expect(await askSent(sglang)).toBeUndefined();
    // Not an ORCA pool: a client's value is not the filter's business (the server ignores it).
    expect(await askSent(sglang, oip("llama-3-8b", { headers: { [ASK]: "TEXT" } }))).toBe("TEXT");
    const forced = await routerProxy(endpointConfig(pool({ orca: true }, { engine: "sglang" })));
    expect(await askSent(forced)).toBe("JSON");
    const off = await routerProxy(endpointConfig(pool({ orca: false })));
    expect(await askSent(off)).toBeUndefined();
    const triton = await routerProxy({
      pools: [{ name: "t", models: ["llama-3-8b"], metrics: { cluster: CLUSTER, engine: "triton-trtllm" } }],
    });
    expect(await askSent(triton)).toBe("JSON");
    // Reading ORCA reports switched off: asking for them would be wasted.
    const noRead = await routerProxy(endpointConfig(pool(), { loadReports: { orca: false } }));
    expect(await askSent(noRead)).toBeUndefined();
  });

  it("leaves requests it does not steer alone", async () => {
    const p = await routerProxy(endpointConfig(pool({ hosts: ["llm.example.com"] })));
    // Out of scope (another authority): passes unsteered, the client's header untouched, none added.
    const out = await p.request(oip("llama-3-8b", { authority: "other.example.com", headers: { [ASK]: "TEXT" } }));
    expect(out.routerHeaders?.["x-gateway-destination-endpoint"]).toBeUndefined();
    expect(out.routerHeaders?.[ASK]).toBe("TEXT");
    expect((await p.request(oip("llama-3-8b", { authority: "other.example.com" }))).routerHeaders?.[ASK]).toBeUndefined();
    // Not an inference request (passthrough).
    const get = await p.request({ method: "GET", path: "/healthz", authority: "llm.example.com", headers: { [ASK]: "TEXT" } });
    expect(get.routerHeaders?.[ASK]).toBe("TEXT");
    // An unknown model (no pool serves it): a local reply, nothing steered.
    const unknown = await p.request(oip("no-such-model", { authority: "llm.example.com" }));
    expect(unknown.routerHeaders?.["x-gateway-destination-endpoint"]).toBeUndefined();
    // In scope: steered and asked.
    expect(await askSent(p, oip("llama-3-8b", { authority: "llm.example.com", headers: { [ASK]: "TEXT" } }))).toBe("JSON");
  });

  it("reads the report the server attaches (vLLM's JSON form) into the picked upstream's record", async () => {
    const p = await routerProxy(endpointConfig(pool()));
    const r = await p.request(
      oip("llama-3-8b", {
        response: (h) => ({
          status: 200,
          headers:
            h.get(ASK) === "JSON"
              ? { "endpoint-load-metrics": 'JSON {"named_metrics": {"num_requests_waiting": 4.0, "kv_cache_usage_perc": 0.25}}' }
              : ({} as Record<string, string>),
        }),
      }),
    );
    const ep = r.routerHeaders!["x-gateway-destination-endpoint"]!.split(",")[0]!;
    const rec = readLoad(p, loadKey("a", ep))!;
    expect(rec.queue).toBe(4);
    expect(rec.kvCache).toBeCloseTo(0.25);
    expect(rec.reportedAtMs).toBe(T0);
  });

  it("a report without a running count leaves it unknown, not as fresh as the report (a poll's count would freeze)", async () => {
    const p = await routerProxy(endpointConfig(pool()));
    // A poll a while ago saw 40 running on each member; since then the servers answer with ORCA (queue, KV only).
    await p.request(oip("llama-3-8b")); // creates both records
    for (const ep of [EP1, EP2]) writeReport(p, loadKey("a", ep), { queue: 0, kvCache: 0.1, atMs: T0 - 2000, running: 40 });
    const r = await p.request(
      oip("llama-3-8b", {
        response: () => ({
          status: 200,
          headers: { "endpoint-load-metrics": 'JSON {"named_metrics": {"num_requests_waiting": 1.0, "kv_cache_usage_perc": 0.2}}' },
        }),
      }),
    );
    const ep = r.routerHeaders!["x-gateway-destination-endpoint"]!.split(",")[0]!;
    const other = ep === EP1 ? EP2 : EP1;
    const rec = readLoad(p, loadKey("a", ep))!;
    expect(rec.reportedAtMs).toBe(T0);
    expect(rec.queue).toBe(1);
    expect(rec.running).toBe(-1);
    // The member that sent no report keeps its poll's count, still dated by that poll.
    expect(readLoad(p, loadKey("a", other))!.running).toBe(40);
  });

  it("reads Envoy's TEXT form (`name:value`, blanks around the pairs) from a response", async () => {
    const p = await routerProxy(endpointConfig(pool()));
    const r = await p.request(
      oip("llama-3-8b", {
        response: () => ({
          status: 200,
          headers: { "endpoint-load-metrics": "TEXT cpu_utilization:0.3 , named_metrics.queue: 6,named_metrics.kv_cache_utilization :0.5" },
        }),
      }),
    );
    const ep = r.routerHeaders!["x-gateway-destination-endpoint"]!.split(",")[0]!;
    const rec = readLoad(p, loadKey("a", ep))!;
    expect(rec.queue).toBe(6);
    expect(rec.kvCache).toBeCloseTo(0.5);
  });

  it("bounds a report at 4096 UTF-16 units, as the header's text (read as bytes, not as a decoded string)", async () => {
    const queueAfter = async (value: string) => {
      const p = await routerProxy(endpointConfig(pool()));
      const r = await p.request(oip("llama-3-8b", { response: () => ({ status: 200, headers: { "endpoint-load-metrics": value } }) }));
      return readLoad(p, loadKey("a", r.routerHeaders!["x-gateway-destination-endpoint"]!.split(",")[0]!))!.queue;
    };
    // 2 100 two-byte characters: more than 4096 bytes, fewer than 4096 units — read.
    expect(await queueAfter(`TEXT named_metrics.queue:6,named_metrics.${"é".repeat(2100)}:1`)).toBe(6);
    // More than 4096 units — not read at all.
    expect(await queueAfter(`TEXT named_metrics.queue:6,${" ".repeat(4100)}`)).not.toBe(6);
  });
});

describe("Envoy's BIN form", () => {
  it("reads a base64 protobuf report from a response", async () => {
    const p = await routerProxy(endpointConfig(pool()));
    // named_metrics {"queue": 3} and cpu_utilization 0.5, serialized (xds.data.orca.v3.OrcaLoadReport).
    const entry = Buffer.concat([
      Buffer.from([0x0a, 5]),
      Buffer.from("queue"),
      Buffer.from([0x11]),
      Buffer.from(new Float64Array([3]).buffer),
    ]);
    const report = Buffer.concat([
      Buffer.from([0x09]),
      Buffer.from(new Float64Array([0.5]).buffer),
      Buffer.from([0x42, entry.length]),
      entry,
    ]);
    const r = await p.request(
      oip("llama-3-8b", { response: () => ({ status: 200, headers: { "endpoint-load-metrics": `BIN ${report.toString("base64")}` } }) }),
    );
    const ep = r.routerHeaders!["x-gateway-destination-endpoint"]!.split(",")[0]!;
    expect(readLoad(p, loadKey("a", ep))!.queue).toBe(3);
  });
});

describe("polls skip upstreams with a recent report", () => {
  it("skips an upstream that reported within half a poll interval and polls one that did not", async () => {
    const p = await routerProxy(endpointConfig(pool()), { clusters: [CLUSTER] });
    const page = "vllm:num_requests_waiting 0\nvllm:num_requests_running 2\n";
    p.advance(1000);
    expect(p.callouts.pending.length).toBe(2);
    for (const c of p.callouts.pending) c.respond({ status: 200, body: page });
    p.advance(700);
    // One request at T0+1700, answered with a report: its upstream's record is 300 ms old at the next tick.
    const r = await p.request(
      oip("llama-3-8b", {
        response: () => ({ status: 200, headers: { "endpoint-load-metrics": "TEXT named_metrics.num_requests_waiting:1" } }),
      }),
    );
    const reported = r.routerHeaders!["x-gateway-destination-endpoint"]!.split(",")[0]!;
    const silent = reported === EP1 ? EP2 : EP1;
    expect(readLoad(p, loadKey("a", reported))).toMatchObject({ reportedAtMs: T0 + 1700, queue: 1 });
    p.advance(300);
    const calls = p.callouts.pending;
    expect(calls.map((c) => c.headers["x-gateway-destination-endpoint"])).toEqual([silent]);
    for (const c of calls) c.respond({ status: 200, body: page });
    // A second later the report is 1300 ms old: both are polled.
    p.advance(1000);
    expect(p.callouts.pending.map((c) => c.headers["x-gateway-destination-endpoint"]).sort()).toEqual([EP1, EP2]);
    for (const c of p.callouts.pending) c.respond({ status: 200, body: page });
  });

  it("still polls an upstream with reports in every response once its last poll is half the stale time old", async () => {
    // staleAfterMs 5000 (default): a target is polled at least every 2500 ms, reports or not.
    const p = await routerProxy(endpointConfig(pool({}, {}), { steering: "endpoint" }), { clusters: [CLUSTER] });
    const report = { status: 200, headers: { "endpoint-load-metrics": "TEXT named_metrics.num_requests_waiting=0" } };
    const polled: string[][] = [];
    for (let tick = 1; tick <= 6; tick++) {
      // Both upstreams report through responses 200 ms before each tick.
      p.advance(800);
      const seen = new Set<string>();
      for (let i = 0; i < 20 && seen.size < 2; i++) {
        const r = await p.request(oip("llama-3-8b", { response: () => report }));
        seen.add(r.routerHeaders!["x-gateway-destination-endpoint"]!.split(",")[0]!);
      }
      expect(seen.size).toBe(2);
      p.advance(200);
      polled.push(p.callouts.pending.map((c) => c.headers["x-gateway-destination-endpoint"]!).sort());
      // Waiting, not running: a poll's running count would make the other upstream, whose report dropped it, win
      // every pick here (requests complete at once), and this test needs reports from both.
      for (const c of p.callouts.pending) c.respond({ status: 200, body: "vllm:num_requests_waiting 0\n" });
    }
    // Tick 1: never polled, so polled; ticks 2-3 skipped (last poll 1000 / 2000 ms old); tick 4 (3000 ms): polled.
    expect(polled).toEqual([[EP1, EP2], [], [], [EP1, EP2], [], []]);
  });

  it("subset probing: skipped targets cost no probe", async () => {
    const eps = Array.from({ length: 40 }, (_, i) => `10.0.2.${i + 1}:8000`);
    // staleAfterMs 600 s: every target stays within its re-poll time once polled.
    const p = await routerProxy(
      {
        steering: "endpoint",
        polling: { subsetAbove: 16, probesPerTick: 8 },
        scoring: { staleAfterMs: 600_000 },
        loadReports: { orca: true },
        pools: [{ name: "a", models: ["llama-3-8b"], endpoints: eps, metrics: { cluster: CLUSTER } }],
      },
      { clusters: [CLUSTER] },
    );
    // Poll every target once (traffic earns the probes; no reports in these responses).
    const polled = new Set<string>();
    let now = T0;
    for (let t = 0; t < 100 && polled.size < eps.length; t++, now += 1000) {
      for (let i = 0; i < 16; i++) await p.request(oip("llama-3-8b"));
      p.advance(1000);
      for (const c of p.callouts.pending) {
        polled.add(c.headers["x-gateway-destination-endpoint"]!);
        c.respond({ status: 200, body: "vllm:num_requests_waiting 0\n" });
      }
    }
    expect(polled.size).toBe(eps.length);
    p.advance(900);
    // Every upstream but one got a report 100 ms before the next tick (as a response's report lands in the record).
    const withReport = new Set(eps.slice(1));
    for (const e of withReport) writeReport(p, loadKey("a", e), { queue: 0, kvCache: 0.1, atMs: now + 900 });
    for (let i = 0; i < 16; i++) await p.request(oip("llama-3-8b"));
    p.advance(100);
    const probed = p.callouts.pending.map((c) => c.headers["x-gateway-destination-endpoint"]);
    // Only the silent upstream can be probed (it may be drawn zero or several times; at most once while pending).
    expect(probed.length).toBeLessThanOrEqual(1);
    for (const e of probed) expect(withReport.has(e!)).toBe(false);
  });

  it("subset probing follows traffic: no requests, no probes; each worker spends what its own requests earned", async () => {
    const eps = Array.from({ length: 40 }, (_, i) => `10.0.2.${i + 1}:8000`);
    const cfg = {
      steering: "endpoint",
      polling: { subsetAbove: 16, probesPerTick: 8, probesPerRequest: 0.5 },
      loadReports: { orca: false },
      pools: [{ name: "a", models: ["llama-3-8b"], endpoints: eps, metrics: { cluster: CLUSTER } }],
    };
    const p = await routerProxy(cfg, { clusters: [CLUSTER], workers: 2 });
    for (let i = 0; i < 3; i++) p.advance(1000);
    expect(p.callouts.all.length).toBe(0);
    // 6 requests on worker 0 and 2 on worker 1 earn 3 and 1 probes, spent by each worker on its next poll.
    for (let i = 0; i < 6; i++) await p.request(oip("llama-3-8b", { worker: 0 }));
    for (let i = 0; i < 2; i++) await p.request(oip("llama-3-8b", { worker: 1 }));
    p.advance(1000);
    const byWorker = [0, 1].map((w) => p.callouts.all.filter((c) => c.request.worker === w).length);
    expect(byWorker).toEqual([3, 1]);
    for (const c of p.callouts.pending) c.respond({ status: 200, body: "vllm:num_requests_waiting 0\n" });
    // Spent: nothing more until more traffic. The budget per poll is capped at probesPerTick.
    p.advance(1000);
    expect(p.callouts.all.length).toBe(4);
    for (let i = 0; i < 40; i++) await p.request(oip("llama-3-8b", { worker: 0 }));
    p.advance(1000);
    expect(p.callouts.all.length).toBe(4 + 8);
  });
});
