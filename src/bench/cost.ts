// Filter cost in the host: the whole stream lifecycle (request headers → response headers → log/done/delete) of
// the router vs the no-op filter built with the same toolchain, measured side by side in interleaved batches;
// decision cost as the pool grows; module size; Wasm memory over many requests.
import { createProxy, VirtualClock, type Proxy } from "../host/index.js";
import { round } from "./simulate.js";
import { rng } from "./rng.js";

export interface CostResult {
  lifecycle: { routerNsPerRequest: number; noopNsPerRequest: number; medianRatio: number; filterOwnNsPerRequest: number; batches: number; batchSize: number };
  decision: { endpoints: number; nsPerRequest: number; ratioTo8: number }[];
  wasmBytes: number;
  noopWasmBytes: number;
  memory: { requests: number; pagesAt: Array<[number, number]>; start: number; end: number; flat: boolean };
}

function endpoints(n: number): string[] {
  return Array.from({ length: n }, (_, i) => `10.1.${Math.floor(i / 250)}.${(i % 250) + 1}:8000`);
}

function routerConfig(n: number): object {
  return { steering: "endpoint", pools: [{ name: "gpu", models: ["llama-3-8b"], endpoints: endpoints(n) }] };
}

async function proxyFor(wasm: Uint8Array, cfg: object | undefined, seed: number): Promise<Proxy> {
  return createProxy({ wasm, workers: 1, clock: new VirtualClock(1_750_000_000_000), random: rng(seed), logLevel: "warn", ...(cfg ? { pluginConfig: cfg } : {}) });
}

const REQ = { ":method": "POST", ":path": "/v2/models/llama-3-8b/generate", ":authority": "llm.example.com", ":scheme": "http", "content-type": "application/json" };
const RESP = { ":status": "200", "content-type": "application/json" };

function lifecycle(p: Proxy, n: number): void {
  for (let i = 0; i < n; i++) {
    const s = p.newStream(0);
    s.sendRequestHeaders(REQ, true);
    s.sendResponseHeaders(RESP, true);
    s.complete();
  }
}

function timeBatch(p: Proxy, n: number): number {
  const t0 = process.hrtime.bigint();
  lifecycle(p, n);
  return Number(process.hrtime.bigint() - t0) / n;
}

function median(v: number[]): number {
  const s = [...v].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

export async function runCost(opts: { wasm: Uint8Array; noop: Uint8Array; quick: boolean; log: (s: string) => void }): Promise<CostResult> {
  const { wasm, noop } = opts;
  const batches = opts.quick ? 15 : 41, batchSize = opts.quick ? 500 : 2000;

  // 1. Router vs no-op, interleaved (order alternates per batch) after a warm-up.
  const router = await proxyFor(wasm, routerConfig(8), 1);
  const base = await proxyFor(noop, undefined, 2);
  lifecycle(router, 5000); lifecycle(base, 5000);
  const rt: number[] = [], nt: number[] = [], ratios: number[] = [];
  for (let b = 0; b < batches; b++) {
    let r: number, n: number;
    if (b % 2 === 0) { r = timeBatch(router, batchSize); n = timeBatch(base, batchSize); }
    else { n = timeBatch(base, batchSize); r = timeBatch(router, batchSize); }
    rt.push(r); nt.push(n); ratios.push(r / n);
    (router.clock as VirtualClock).advance(1); (base.clock as VirtualClock).advance(1);
  }
  opts.log(`  lifecycle: router ${median(rt).toFixed(0)} ns, no-op ${median(nt).toFixed(0)} ns per request (median of ${batches} batches of ${batchSize})`);

  // 2. Decision cost by pool size (endpoint mode, one pool), interleaved the same way.
  const sizes = [8, 64, 256, 1024];
  const ps = await Promise.all(sizes.map((n, i) => proxyFor(wasm, routerConfig(n), 10 + i)));
  for (const p of ps) lifecycle(p, 3000);
  const per: number[][] = sizes.map(() => []);
  for (let b = 0; b < batches; b++) {
    const order = b % 2 === 0 ? [0, 1, 2, 3] : [3, 2, 1, 0];
    for (const i of order) per[i]!.push(timeBatch(ps[i]!, batchSize));
  }
  const med = per.map(median);
  const decision = sizes.map((n, i) => ({ endpoints: n, nsPerRequest: Math.round(med[i]!), ratioTo8: round(med[i]! / med[0]!, 3) }));
  opts.log(`  decision: ${decision.map((d) => `${d.endpoints}: ${d.nsPerRequest} ns (${d.ratioTo8}x)`).join(", ")}`);

  // 3. Memory pages over many requests (ticks run every virtual second).
  const total = opts.quick ? 100_000 : 1_000_000;
  const mp = await proxyFor(wasm, routerConfig(64), 3);
  const step = total / 10;
  const pagesAt: Array<[number, number]> = [[0, mp.workers[0]!.memoryPages()]];
  for (let done = 0; done < total; done += step) {
    for (let k = 0; k < step; k += 1000) { lifecycle(mp, 1000); (mp.clock as VirtualClock).advance(50); mp.drain(); }
    pagesAt.push([done + step, mp.workers[0]!.memoryPages()]);
  }
  // Flat: no growth over the second half (the first requests may still warm the heap up).
  const mid = pagesAt[5]![1], end = pagesAt[pagesAt.length - 1]![1];
  opts.log(`  memory: ${pagesAt.map((p) => p[1]).join(" → ")} pages over ${total} requests`);
  return {
    lifecycle: {
      routerNsPerRequest: Math.round(median(rt)), noopNsPerRequest: Math.round(median(nt)), medianRatio: round(median(ratios), 3),
      filterOwnNsPerRequest: Math.round(median(rt) - median(nt)), batches, batchSize,
    },
    decision,
    wasmBytes: wasm.length,
    noopWasmBytes: noop.length,
    memory: { requests: total, pagesAt, start: pagesAt[0]![1], end, flat: end === mid },
  };
}
