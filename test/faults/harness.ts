// Fault-injection harness: simulators + the local gateway (build/inference-router.wasm in the proxy-wasm host on
// the real clock) on ephemeral loopback ports, a bounded closed-loop load, and a classifier for every 5xx.
//
// 5xx causes (what the fault tests assert on):
//   * filter_local   — a 5xx local reply of the filter (e.g. 503 no_healthy_upstream). Filter-caused.
//   * known_dead     — a 5xx from an upstream the filter steered to while that upstream was ejected by the filter
//                      (the ejection was in force when the request was sent). Filter-caused.
//   * in_flight      — the request was already on the server when the fault hit it. Not the filter's doing.
//   * detection      — sent after the fault, before the filter had ejected the server (the at most two poll
//                      intervals it takes to notice). Not filter-caused by definition; reported.
//   * other          — any other 5xx (none expected).
// Every loop here is bounded in count and wall time; every socket is on 127.0.0.1.
import net from "node:net";
import { join } from "node:path";
import { Gateway } from "../../src/gateway/gateway.js";
import { parseLocalConfig } from "../../src/gateway/local-config.js";
import { Simulator } from "../../src/sim/server.js";

export const ROOT = join(import.meta.dirname, "..", "..");
export const WASM = join(ROOT, "build", "inference-router.wasm");
export const MODEL = "llama-3.1-8b-instruct";

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
export const now = () => performance.now();

export interface BedOptions {
  steering: "pool" | "endpoint";
  /** Simulators (default 4: two a100, two l4). */
  servers?: number;
  intervalMs?: number;
  /** metrics.timeoutMs (default 1000, the filter's default). */
  metricsTimeoutMs?: number;
  failStrategy?: "FAIL_CLOSE" | "FAIL_OPEN" | "FAIL_RELOAD";
  workers?: number;
  upstreamTimeoutMs?: number;
  /** Router `outlier` section (passive ejection on 5xx / resets). */
  outlier?: { consecutiveErrors?: number; baseEjectionMs?: number; maxEjectionMs?: number; maxEjectionPercent?: number };
  /** pools[].orca (default: the engine's, on for vLLM). */
  orca?: boolean;
}

export interface Bed {
  gw: Gateway;
  sims: Simulator[];
  /** Upstream name as the filter knows it: the pool (pool mode) or ip:port (endpoint mode), per simulator. */
  upstreamOf: string[];
  addresses: string[];
  /** Port of each simulator (kept: a closed server has no address any more). */
  ports: number[];
  pools: string[];
  opts: Required<Pick<BedOptions, "steering" | "intervalMs">>;
  /** Filter ejections seen in the host's log, with the wall time they were logged. */
  ejections: Array<{ at: number; upstream: string; message: string }>;
  /** "answers its metrics polls again" lines, with their time. */
  recoveries: Array<{ at: number; upstream: string }>;
  close(): Promise<void>;
}

/**
 * One simulator per pool in pool mode (p0..pN, so "the pool" and "the server" are the same thing and pool steering
 * can avoid a dead server at all); in endpoint mode two pools (a100, l4) with every simulator an endpoint.
 * Every pool has `metrics` (vLLM) and is polled every `intervalMs`.
 */
export async function startBed(o: BedOptions): Promise<Bed> {
  const n = o.servers ?? 4;
  const intervalMs = o.intervalMs ?? 150;
  const sims: Simulator[] = [];
  for (let i = 0; i < n; i++) {
    const gpu = i < n / 2 ? "a100" : "l4";
    const s = new Simulator({ name: `sim-${i}`, gpu, models: [MODEL], seed: 100 + i });
    await s.listen(0);
    sims.push(s);
  }
  const addresses = sims.map((s) => s.address);
  const metrics = { engine: "vllm", ...(o.metricsTimeoutMs !== undefined ? { timeoutMs: o.metricsTimeoutMs } : {}) };
  const orca = o.orca !== undefined ? { orca: o.orca } : {};
  let pools: Array<Record<string, unknown>>;
  let upstreams: Record<string, string[]>;
  let upstreamOf: string[];
  if (o.steering === "pool") {
    pools = sims.map((s, i) => ({
      name: `p${i}`,
      gpu: s.model.spec.gpu,
      weight: s.model.spec.gpu === "a100" ? 3 : 1,
      models: [MODEL],
      metrics,
      ...orca,
    }));
    upstreams = Object.fromEntries(sims.map((s, i) => [`p${i}`, [s.address]]));
    upstreamOf = sims.map((_, i) => `p${i}`);
  } else {
    const a = addresses.slice(0, Math.ceil(n / 2)),
      l = addresses.slice(Math.ceil(n / 2));
    pools = [
      { name: "a100", gpu: "a100", weight: 3, models: [MODEL], endpoints: a, metrics, ...orca },
      { name: "l4", gpu: "l4", weight: 1, models: [MODEL], endpoints: l, metrics, ...orca },
    ];
    upstreams = { a100: a, l4: l };
    upstreamOf = addresses;
  }
  const doc = {
    namespace: "faults",
    workload: { selector: { matchLabels: { app: "t" } } },
    frontend: { host: "llm", port: 8000 },
    wasm: { url: "file://build/inference-router.wasm" },
    steering: o.steering,
    failStrategy: o.failStrategy ?? "FAIL_OPEN",
    body: { enabled: true },
    pools,
    polling: { intervalMs },
    ...(o.outlier ? { outlier: o.outlier } : {}),
    local: { pools: Object.fromEntries(Object.entries(upstreams).map(([p, a]) => [p, { addresses: a }])) },
  };
  const cfg = parseLocalConfig(doc, `faults-${o.steering}.yaml`);
  const gw = new Gateway({
    router: cfg.router,
    upstreams,
    wasm: WASM,
    workers: o.workers ?? 2,
    port: 0,
    adminPort: 0,
    upstreamTimeoutMs: o.upstreamTimeoutMs ?? 10_000,
    logLevel: "info",
  });
  await gw.start();
  const ejections: Bed["ejections"] = [];
  const recoveries: Bed["recoveries"] = [];
  hookLogs(gw, ejections, recoveries);
  return {
    gw,
    sims,
    upstreamOf,
    addresses,
    ports: sims.map((s) => s.port),
    pools: Object.keys(upstreams),
    opts: { steering: o.steering, intervalMs },
    ejections,
    recoveries,
    close: async () => {
      await gw.close();
      await Promise.all(sims.map((s) => s.close().catch(() => undefined)));
    },
  };
}

/** Timestamps the filter's ejection / recovery log lines as they are written (also after a VM reload). */
function hookLogs(gw: Gateway, ejections: Bed["ejections"], recoveries: Bed["recoveries"]): void {
  const logs = gw.proxy.logs;
  const push = logs.push.bind(logs);
  logs.push = (...items) => {
    for (const e of items) {
      const m = /ejected upstream (\S+)/.exec(e.message);
      if (m) ejections.push({ at: now(), upstream: m[1]!, message: e.message });
      const r = /upstream (\S+) answers its metrics polls again/.exec(e.message);
      if (r) recoveries.push({ at: now(), upstream: r[1]! });
    }
    // keep the log book bounded on long runs
    if (logs.length > 5000) logs.splice(0, logs.length - 1000);
    return push(...items);
  };
}

/** Replaces simulator i with a fresh one on the same port (a restarted server). */
export async function restart(bed: Bed, i: number): Promise<Simulator> {
  const old = bed.sims[i]!;
  const port = bed.ports[i]!;
  await old.close().catch(() => undefined);
  const s = new Simulator({ name: `sim-${i}`, gpu: old.model.spec.gpu, models: [MODEL], seed: 200 + i });
  for (let t = 0; ; t++) {
    try {
      await s.listen(port);
      break;
    } catch (e) {
      if (t >= 20) throw e;
      await sleep(25);
    }
  }
  bed.sims[i] = s;
  return s;
}

/** A server that accepts connections and never answers (a hung process); closes its sockets on close(). */
export async function blackhole(port: number): Promise<{ close(): Promise<void> }> {
  const sockets = new Set<net.Socket>();
  const srv = net.createServer((s) => {
    sockets.add(s);
    s.on("error", () => undefined);
    s.on("close", () => sockets.delete(s));
    s.resume();
  });
  for (let t = 0; ; t++) {
    try {
      await new Promise<void>((res, rej) => {
        srv.once("error", rej);
        srv.listen(port, "127.0.0.1", () => {
          srv.off("error", rej);
          res();
        });
      });
      break;
    } catch (e) {
      if (t >= 20) throw e;
      await sleep(25);
    }
  }
  return {
    close: () => {
      for (const s of sockets) s.destroy();
      return new Promise<void>((r) => srv.close(() => r()));
    },
  };
}

// ------------------------------------------------------------------ load

export interface Sample {
  t0: number;
  t1: number;
  status: number;
  /** The address the gateway sent it to ("" for a local reply or a client-side error). */
  address: string;
  pool: string;
  /** error.type of a JSON error body (local replies), or "fetch_error". */
  kind: string;
}

export interface Load {
  samples: Sample[];
  stop(): Promise<void>;
}

/** Closed-loop load: `concurrency` clients, each sending one small chat request at a time, until stop() or maxMs. */
export function startLoad(gw: Gateway, o: { concurrency?: number; maxMs?: number; maxRequests?: number } = {}): Load {
  const samples: Sample[] = [];
  const concurrency = o.concurrency ?? 6;
  const deadline = now() + (o.maxMs ?? 20_000);
  const maxRequests = o.maxRequests ?? 20_000;
  let stopped = false;
  let sent = 0;
  const one = async (): Promise<void> => {
    const t0 = now();
    try {
      const r = await fetch(`http://127.0.0.1:${gw.port}/v1/chat/completions`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ model: MODEL, max_tokens: 2, messages: [{ role: "user", content: "hi" }] }),
        signal: AbortSignal.timeout(15_000),
      });
      const text = await r.text();
      const [pool, address] = (r.headers.get("x-inference-router-upstream") ?? "/").split("/");
      let kind = "";
      if (r.status >= 400) {
        try {
          kind = (JSON.parse(text) as { error?: { type?: string } }).error?.type ?? "";
        } catch {
          kind = text.slice(0, 60);
        }
      }
      samples.push({ t0, t1: now(), status: r.status, address: address ?? "", pool: pool ?? "", kind });
    } catch (e) {
      samples.push({ t0, t1: now(), status: 0, address: "", pool: "", kind: `fetch_error: ${(e as Error).message}` });
    }
  };
  const client = async () => {
    while (!stopped && now() < deadline && sent < maxRequests) {
      sent++;
      await one();
    }
  };
  const running = Promise.all(Array.from({ length: concurrency }, client));
  return {
    samples,
    stop: async () => {
      stopped = true;
      await running;
    },
  };
}

/** Waits (bounded) until pred() holds, checking every stepMs. Returns the time it first held, or undefined. */
export async function until(pred: () => boolean, maxMs: number, stepMs = 5): Promise<number | undefined> {
  const end = now() + maxMs;
  while (now() < end) {
    if (pred()) return now();
    await sleep(stepMs);
  }
  return pred() ? now() : undefined;
}

// ------------------------------------------------------------------ stats

/** The filter's stats as the admin endpoint serves them (over HTTP, as an operator would read them). */
export async function scrape(gw: Gateway): Promise<string> {
  return (await fetch(`http://127.0.0.1:${gw.adminPort}/stats/prometheus`)).text();
}

/** A counter from the Prometheus text (`name` or `name{labels}` exactly); 0 when absent (Envoy defines stats lazily). */
export function counter(text: string, name: string): number {
  const series = name.includes("{") ? name : `${name}{}`;
  const m = new RegExp(`^${series.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")} (\\d+)$`, "m").exec(text);
  return m ? Number(m[1]) : 0;
}

/** The filter's ejection counter name for an upstream (pool mode: the pool; endpoint mode: pool + endpoint). */
export function ejectionStat(bed: Bed, i: number): string {
  if (bed.opts.steering === "pool") return `inference_router_ejections{pool="${bed.upstreamOf[i]}"}`;
  const pool = bed.pools.find((p) => (bed.gw.clusters.get(p) ?? []).includes(bed.addresses[i]!))!;
  return `inference_router_ejections{pool="${pool}",endpoint="${bed.addresses[i]!}"}`;
}

// ------------------------------------------------------------------ classification

export interface Windows {
  /** Address of the faulted server. */
  address: string;
  /** When the fault was injected. */
  faultAt: number;
  /** When the filter ejected it (from its log), undefined if it never did. */
  ejectedAt?: number;
  /** When it recovered / the fault was lifted (end of the known-dead window). */
  recoveredAt?: number;
}

export interface Tally {
  requests: number;
  ok: number;
  fiveXx: number;
  filterLocal: number;
  knownDead: number;
  inFlight: number;
  detection: number;
  other: number;
  /** Requests the gateway sent to the faulted server after the filter ejected it (before recovery). */
  sentToEjected: number;
  statuses: Record<string, number>;
}

export function classify(samples: Sample[], w: Windows): Tally {
  const t: Tally = {
    requests: samples.length,
    ok: 0,
    fiveXx: 0,
    filterLocal: 0,
    knownDead: 0,
    inFlight: 0,
    detection: 0,
    other: 0,
    sentToEjected: 0,
    statuses: {},
  };
  const ejectedEnd = w.recoveredAt ?? Infinity;
  for (const s of samples) {
    t.statuses[s.status] = (t.statuses[s.status] ?? 0) + 1;
    const toFaulted = s.address === w.address;
    // Sent after the ejection was logged (t0 is when the client sent it; the filter decides a little later).
    if (toFaulted && w.ejectedAt !== undefined && s.t0 > w.ejectedAt && s.t0 < ejectedEnd) t.sentToEjected++;
    if (s.status >= 200 && s.status < 400) {
      t.ok++;
      continue;
    }
    if (s.status < 500) {
      t.other++;
      continue;
    }
    t.fiveXx++;
    if (s.address === "") t.filterLocal++;
    else if (!toFaulted) t.other++;
    else if (s.t0 < w.faultAt) t.inFlight++;
    else if (w.ejectedAt !== undefined && s.t0 > w.ejectedAt && s.t0 < ejectedEnd) t.knownDead++;
    else t.detection++;
  }
  return t;
}

/** Collected figures, printed at the end of each suite (and used for docs/reliability.md "Faults"). */
export const figures: Record<string, unknown> = {};
export function record(name: string, v: unknown): void {
  figures[name] = v;
  console.log(`[faults] ${name}: ${JSON.stringify(v)}`);
}
