// The filter's cost in absolute terms, in V8 through our host:
// - per request (request headers → response headers → log/done/delete), split into time inside the Wasm module
//   and time inside host calls, with the number of host calls and of shared-data operations per request — pool
//   mode and endpoint mode at 8 / 64 / 1024 endpoints, and body mode; each figure the median of repeated batches
//   with its min and max;
// - the decision cost at 1024 vs 8 endpoints, as a ratio per repetition (median, min, max);
// - the parse cost of a metrics poll with a realistic vLLM page (tens of KB) vs the minimal page;
// - module size, and Wasm memory over many requests.
// The split is measured by wrapping every import and export of the module instance with a clock read at each
// boundary (Wasm → host and back); the clock's own cost per boundary is measured and subtracted.
import { performance } from "node:perf_hooks";
import { createProxy, VirtualClock, type Proxy } from "../host/index.js";
import { round } from "./simulate.js";
import { rng } from "./rng.js";
import { minimalVllmPage, vllmMetricsPage } from "./vllm-page.js";

export interface Spread {
  median: number;
  min: number;
  max: number;
  n: number;
}
export interface PerRequestCost {
  mode: "pool" | "endpoint" | "body";
  endpoints: number;
  hostCalls: number;
  sharedDataOps: number;
  /** Host calls per request by name (steady state). */
  calls: Record<string, number>;
  wasmUs: Spread;
  hostUs: Spread;
  totalUs: Spread;
}
export interface CostResult {
  perRequest: PerRequestCost[];
  decision: Array<{ endpoints: number; nsPerRequest: number; ratioTo8: Spread }>;
  metricsParse: Array<{ page: string; bytes: number; usPerPoll: Spread; mbPerS: number }>;
  wasmBytes: number;
  memory: { requests: number; pagesAt: Array<[number, number]>; start: number; end: number; flat: boolean };
}

const SHARED = new Set(["proxy_get_shared_data", "proxy_set_shared_data"]);

function spread(v: number[], d = 2): Spread {
  const s = [...v].sort((a, b) => a - b);
  return { median: round(s[Math.floor(s.length / 2)]!, d), min: round(s[0]!, d), max: round(s[s.length - 1]!, d), n: s.length };
}

function endpoints(n: number): string[] {
  return Array.from({ length: n }, (_, i) => `10.1.${Math.floor(i / 250)}.${(i % 250) + 1}:8000`);
}

/** Pool mode: n endpoints in min(n, 64) pools (64 is the config's limit; the picker chooses among pools).
 *  Endpoint mode: one pool of n endpoints. */
function routerConfig(mode: "pool" | "endpoint" | "body", n: number): object {
  const eps = endpoints(n);
  if (mode === "pool") {
    const k = Math.min(n, 64),
      per = n / k;
    return {
      steering: "pool",
      pools: Array.from({ length: k }, (_, i) => ({ name: `p${i}`, models: ["llama-3-8b"], endpoints: eps.slice(i * per, (i + 1) * per) })),
    };
  }
  return {
    steering: "endpoint",
    pools: [{ name: "gpu", models: ["llama-3-8b"], endpoints: eps }],
    ...(mode === "body" ? { body: { enabled: true } } : {}),
  };
}

/** Time accounting across the Wasm/host boundary: a stack of modes, time added to the mode on top. */
class Split {
  wasm = 0;
  host = 0;
  transitions = 0;
  private stack: Array<"wasm" | "host"> = [];
  private last = 0;
  enter(m: "wasm" | "host"): void {
    const t = performance.now();
    const top = this.stack[this.stack.length - 1];
    if (top) this[top] += t - this.last;
    this.stack.push(m);
    this.last = t;
    this.transitions++;
  }
  leave(): void {
    const t = performance.now();
    const top = this.stack.pop()!;
    this[top] += t - this.last;
    this.last = t;
    this.transitions++;
  }
  reset(): void {
    this.wasm = 0;
    this.host = 0;
    this.transitions = 0;
  }
}

/** Creates a proxy whose module instance is wrapped: every export call counts as Wasm time, every import call
 *  (host call) as host time, nested either way. */
async function timedProxy(wasm: Uint8Array, cfg: object, split: Split, seed: number): Promise<Proxy> {
  const Orig = WebAssembly.Instance;
  const wrapFns = (obj: Record<string, unknown>, mode: "wasm" | "host"): Record<string, unknown> => {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(obj)) {
      out[k] =
        typeof v === "function"
          ? (...a: unknown[]) => {
              split.enter(mode);
              try {
                return (v as (...x: unknown[]) => unknown)(...a);
              } finally {
                split.leave();
              }
            }
          : v;
    }
    return out;
  };
  const Timed = function (this: unknown, module: WebAssembly.Module, imports: WebAssembly.Imports) {
    const wrapped: WebAssembly.Imports = {};
    for (const [ns, o] of Object.entries(imports ?? {}))
      wrapped[ns] = wrapFns(o as Record<string, unknown>, "host") as WebAssembly.ModuleImports;
    const inst = new Orig(module, wrapped);
    return { exports: wrapFns(inst.exports as Record<string, unknown>, "wasm") };
  } as unknown as typeof WebAssembly.Instance;
  (WebAssembly as { Instance: typeof WebAssembly.Instance }).Instance = Timed;
  try {
    return await createProxy({
      wasm,
      workers: 1,
      clock: new VirtualClock(1_750_000_000_000),
      random: rng(seed),
      logLevel: "warn",
      pluginConfig: cfg,
      allowOnHeadersStopIteration: true,
    });
  } finally {
    (WebAssembly as { Instance: typeof WebAssembly.Instance }).Instance = Orig;
  }
}

async function plainProxy(wasm: Uint8Array, cfg: object, seed: number, trace = false): Promise<Proxy> {
  return createProxy({
    wasm,
    workers: 1,
    clock: new VirtualClock(1_750_000_000_000),
    random: rng(seed),
    logLevel: "warn",
    pluginConfig: cfg,
    allowOnHeadersStopIteration: true,
    ...(trace ? { traceHostCalls: true } : {}),
  });
}

const REQ = {
  ":method": "POST",
  ":path": "/v2/models/llama-3-8b/generate",
  ":authority": "llm.example.com",
  ":scheme": "http",
  "content-type": "application/json",
};
const CHAT = {
  ":method": "POST",
  ":path": "/v1/chat/completions",
  ":authority": "llm.example.com",
  ":scheme": "http",
  "content-type": "application/json",
};
const BODY = JSON.stringify({
  model: "llama-3-8b",
  messages: [
    { role: "system", content: "You are a helpful assistant. ".repeat(20) },
    { role: "user", content: "hello" },
  ],
  stream: true,
});
const RESP = { ":status": "200", "content-type": "application/json" };

function lifecycle(p: Proxy, n: number, body: boolean): void {
  for (let i = 0; i < n; i++) {
    const s = p.newStream(0);
    if (body) {
      s.sendRequestHeaders({ ...CHAT, "content-length": String(BODY.length) }, false);
      s.sendRequestBody(BODY, true);
    } else s.sendRequestHeaders(REQ, true);
    s.sendResponseHeaders(RESP, true);
    s.complete();
  }
}

export async function runCost(opts: { wasm: Uint8Array; quick: boolean; log: (s: string) => void }): Promise<CostResult> {
  const { wasm } = opts;
  const reps = opts.quick ? 9 : 31,
    batch = opts.quick ? 200 : 500;

  // 1. Per request: host calls and shared-data operations (traced), and the Wasm / host time split.
  const cases: Array<["pool" | "endpoint" | "body", number]> = [
    ["pool", 8],
    ["pool", 64],
    ["pool", 1024],
    ["endpoint", 8],
    ["endpoint", 64],
    ["endpoint", 1024],
    ["body", 8],
  ];
  const perRequest: PerRequestCost[] = [];
  for (const [mode, n] of cases) {
    const tp = await plainProxy(wasm, routerConfig(mode, n), 5, true);
    lifecycle(tp, 200, mode === "body");
    const vm = tp.workers[0]!.vm;
    vm.hostCalls.length = 0;
    const k = 100;
    lifecycle(tp, k, mode === "body");
    const calls: Record<string, number> = {};
    for (const c of vm.hostCalls) calls[c.name] = (calls[c.name] ?? 0) + 1 / k;
    for (const key of Object.keys(calls)) calls[key] = round(calls[key]!, 2);
    const hostCalls = round(vm.hostCalls.length / k, 2);
    const sharedDataOps = round(vm.hostCalls.filter((c) => SHARED.has(c.name)).length / k, 2);
    await tp.close();

    const split = new Split();
    const p = await timedProxy(wasm, routerConfig(mode, n), split, 7);
    const plain = await plainProxy(wasm, routerConfig(mode, n), 7);
    lifecycle(p, 2000, mode === "body");
    lifecycle(plain, 2000, mode === "body");
    const w: number[] = [],
      h: number[] = [],
      t: number[] = [];
    for (let r = 0; r < reps; r++) {
      split.reset();
      // Alternate the order so drift on a shared machine hits both alike.
      let wrapped = 0,
        total = 0;
      for (const which of r % 2 ? ["plain", "wrapped"] : ["wrapped", "plain"]) {
        const t0 = performance.now();
        lifecycle(which === "wrapped" ? p : plain, batch, mode === "body");
        if (which === "wrapped") wrapped = performance.now() - t0;
        else total = performance.now() - t0;
      }
      // The wrappers' own cost, measured in place: (wrapped − plain) over the boundary crossings. Each crossing
      // is shared by the two sides it separates: Wasm borders every crossing, the host two per host call.
      const c = Math.max(0, wrapped - total) / Math.max(1, split.transitions);
      w.push(((split.wasm - (c * split.transitions) / 2) * 1000) / batch);
      h.push(((split.host - c * hostCalls * batch) * 1000) / batch);
      t.push((total * 1000) / batch);
      (p.clock as VirtualClock).advance(1);
      (plain.clock as VirtualClock).advance(1);
    }
    await p.close();
    await plain.close();
    const row: PerRequestCost = {
      mode,
      endpoints: n,
      hostCalls,
      sharedDataOps,
      calls,
      wasmUs: spread(w),
      hostUs: spread(h),
      totalUs: spread(t),
    };
    perRequest.push(row);
    opts.log(
      `  ${mode} ${n}: ${hostCalls} host calls (${sharedDataOps} shared-data) per request; Wasm ${row.wasmUs.median} µs, host calls ${row.hostUs.median} µs, whole stream in the host ${row.totalUs.median} µs`,
    );
  }

  // 2. Decision cost by pool size (endpoint mode), interleaved; ratio to 8 per repetition.
  const sizes = [8, 64, 256, 1024];
  const ps = await Promise.all(sizes.map((n, i) => plainProxy(wasm, routerConfig("endpoint", n), 10 + i)));
  for (const p of ps) lifecycle(p, 3000, false);
  const per: number[][] = sizes.map(() => []);
  for (let b = 0; b < reps * 2; b++) {
    const order = b % 2 === 0 ? [0, 1, 2, 3] : [3, 2, 1, 0];
    for (const i of order) {
      const t0 = performance.now();
      lifecycle(ps[i]!, batch, false);
      per[i]!.push(((performance.now() - t0) * 1e6) / batch);
    }
  }
  for (const p of ps) await p.close();
  const decision = sizes.map((n, i) => ({
    endpoints: n,
    nsPerRequest: spread(per[i]!, 0).median,
    ratioTo8: spread(
      per[i]!.map((x, k) => x / per[0]![k]!),
      3,
    ),
  }));
  opts.log(`  decision: ${decision.map((d) => `${d.endpoints}: ${d.nsPerRequest} ns (${d.ratioTo8.median}x)`).join(", ")}`);

  // 3. Metrics-poll parse cost: 8 endpoints polled; each poll answered with a realistic or a minimal page.
  const st = { waiting: 3, running: 41, kvCacheUsage: 0.42, prefixHits: 1.2e6, prefixQueries: 3.4e6 };
  const pages: Array<[string, string]> = [
    ["vLLM page (full)", vllmMetricsPage("llama-3-8b", st, 3_600_000)],
    ["minimal (3 gauges)", minimalVllmPage("llama-3-8b", st)],
  ];
  const metricsParse: CostResult["metricsParse"] = [];
  const CL = "outbound|8000||gpu-metrics.llm.svc.cluster.local";
  for (const [name, body] of pages) {
    const cfg = {
      steering: "endpoint",
      pools: [{ name: "gpu", models: ["llama-3-8b"], endpoints: endpoints(8), metrics: { cluster: CL, engine: "vllm" } }],
    };
    const p = await createProxy({
      wasm,
      workers: 1,
      clock: new VirtualClock(1_750_000_000_000),
      random: rng(3),
      logLevel: "warn",
      pluginConfig: cfg,
      clusters: [CL],
    });
    const times: number[] = [];
    for (let r = 0; r < reps * 4; r++) {
      p.advance(1000);
      const pending = p.callouts.pending;
      const t0 = performance.now();
      for (const c of pending) c.respond({ status: 200, headers: { "content-type": "text/plain; version=0.0.4" }, body });
      if (pending.length) times.push(((performance.now() - t0) * 1000) / pending.length);
    }
    await p.close();
    const sp = spread(times.slice(2), 1);
    metricsParse.push({ page: name, bytes: Buffer.byteLength(body), usPerPoll: sp, mbPerS: round(Buffer.byteLength(body) / sp.median, 1) });
    opts.log(
      `  metrics poll, ${name}: ${Buffer.byteLength(body)} bytes, ${sp.median} µs per poll (${round(Buffer.byteLength(body) / sp.median, 1)} MB/s)`,
    );
  }

  // 4. Memory pages over many requests (ticks run every virtual 50 ms).
  const total = opts.quick ? 100_000 : 500_000;
  const mp = await plainProxy(wasm, routerConfig("endpoint", 64), 3);
  const step = total / 10;
  const pagesAt: Array<[number, number]> = [[0, mp.workers[0]!.memoryPages()]];
  for (let done = 0; done < total; done += step) {
    for (let k = 0; k < step; k += 1000) {
      lifecycle(mp, 1000, false);
      (mp.clock as VirtualClock).advance(50);
      mp.drain();
    }
    pagesAt.push([done + step, mp.workers[0]!.memoryPages()]);
  }
  await mp.close();
  const mid = pagesAt[5]![1],
    end = pagesAt[pagesAt.length - 1]![1];
  opts.log(`  memory: ${pagesAt.map((p) => p[1]).join(" → ")} pages over ${total} requests`);
  return {
    perRequest,
    decision,
    metricsParse,
    wasmBytes: wasm.length,
    memory: { requests: total, pagesAt, start: pagesAt[0]![1], end, flat: end === mid },
  };
}
