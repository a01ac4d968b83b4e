// Routing policies compared by the benchmark. The filter itself ("inference-router") is driven through the real
// .wasm by WasmRouter (wasm-router.ts); the peers here see the same arrivals and sidecar assignment.
//
// Baselines are configured as an Istio user would configure them, with the same per-server weights the filter gets:
// - Envoy ROUND_ROBIN and LEAST_REQUEST, weighted (EnvoyLb below), each sidecar with its own state;
// - Istio's default retry policy on every route (simulate.ts applies it to every policy, see RETRY);
// - a variant with outlier detection as a DestinationRule sets it (OUTLIER_DR).
// The strongest peer is a central Endpoint-Picker-style scheduler (EppPicker) modelled on the Gateway API Inference
// Extension's default scorers. "clairvoyant-greedy" reads every server's true state and each request's true lengths
// and places greedily: an upper reference point, not a bound (greedy placement is not optimal), with no target.
import type { Arrival } from "./scenarios.js";
import type { ServerModel } from "./model.js";
import { rng } from "./rng.js";
import { START_MS } from "./sim-clock.js";

export interface Route {
  /** Server index, or -1 when the request was answered locally (status says how). */
  server: number;
  status?: number;
  /** The filter left the request unsteered (Envoy's own load balancing routes it). */
  unsteered?: boolean;
  /** Where a retry goes next (the filter's/EPP's fallback list, in order), before Envoy's own LB. */
  fallbacks?: number[];
  /** Per-request delay before the request leaves the proxy (the EPP's ext_proc round trip). */
  delayMs?: number;
}

export interface Policy {
  readonly name: string;
  route(a: Arrival, nowMs: number): Route;
  /** A retry of `a` after `tried` failed: Envoy's LB with the previous_hosts predicate (see RETRY). */
  retryPick(a: Arrival, tried: number[], nowMs: number): number;
  /** One upstream attempt ended (ok = 2xx). Envoy's LB and outlier detection see every attempt. */
  attemptDone(a: Arrival, server: number, ok: boolean, nowMs: number): void;
  /** The downstream request finished (after its last attempt). */
  done(a: Arrival, server: number, ok: boolean, nowMs: number): void;
  close?(): Promise<void>;
}

/** Istio's default route retry policy (no VirtualService retries set): 2 retries on
 *  connect-failure, refused-stream, unavailable, cancelled and retriable-status-codes 503, to another host
 *  (envoy.retry_host_predicates.previous_hosts, host_selection_retry_max_attempts 5).
 *  istio/istio@126806ab73d1ad1eb185b1d73d9cb92961efb142 pilot/pkg/networking/core/route/retry/retry.go
 *  (DefaultPolicy / defaultPolicy). Envoy's default back-off between retries: base 25 ms, each wait uniform in
 *  [0, (2^k − 1) · 25 ms] for retry k (router retry_state_impl, fully jittered exponential back-off).
 *  In the simulation a request to a dead server fails at connect (retried); a server dying under an in-flight
 *  request resets it after it was sent (`reset` is not in retry_on: not retried). */
export const RETRY = { numRetries: 2, hostSelectionRetryMaxAttempts: 5, baseIntervalMs: 25 };

/** Outlier detection as a DestinationRule sets it: `trafficPolicy.outlierDetection {consecutive5xxErrors: 5,
 *  interval: 10s, baseEjectionTime: 30s, maxEjectionPercent: 50}`. The first three are Envoy's defaults
 *  (envoyproxy/envoy@b62b88e01756395dd64c8d85ce3483e38892463e api/envoy/config/cluster/v3/outlier_detection.proto:
 *  consecutive_5xx 5, interval 10 s, base_ejection_time 30 s × times ejected, max_ejection_percent 10 and
 *  always_eject_one_host false). maxEjectionPercent is raised to 50 because at Envoy's 10 % a pool of 8 can never
 *  eject anyone (1/8 > 10 %), which is what a user finds out and fixes. Connect failures count as 5xx
 *  (split_external_local_origin_errors false). An ejected host returns at the first interval sweep after its
 *  ejection time. Below 50 % healthy hosts Envoy's panic threshold routes to all hosts. */
export const OUTLIER_DR = {
  consecutive5xx: 5,
  intervalMs: 10_000,
  baseEjectionMs: 30_000,
  maxEjectionPercent: 50,
  panicThresholdPercent: 50,
};

/** Servers serving each model, in server order. */
export function servingMap(serverModels: string[][]): Map<string, number[]> {
  const m = new Map<string, number[]>();
  serverModels.forEach((ms, i) => {
    for (const x of ms) {
      if (!m.has(x)) m.set(x, []);
      m.get(x)!.push(i);
    }
  });
  return m;
}

interface Edf {
  hosts: number[];
  deadline: Float64Array;
  now: number;
}

/** One sidecar's view in Envoy: active requests per host (its own), outlier-detection state. */
class SidecarLb {
  active: Int32Array;
  fails: Int32Array;
  ejectedUntil: Float64Array;
  ejections: Int32Array;
  edf = new Map<string, Edf>();
  constructor(n: number) {
    this.active = new Int32Array(n);
    this.fails = new Int32Array(n);
    this.ejectedUntil = new Float64Array(n);
    this.ejections = new Int32Array(n);
  }
}

/** Envoy ROUND_ROBIN / LEAST_REQUEST with per-host load-balancing weights, per sidecar.
 *  - ROUND_ROBIN: with equal weights a rotation from a random start; with unequal weights an EDF schedule
 *    (deadline += 1/weight per pick).
 *  - LEAST_REQUEST: with equal weights power of two choices on the sidecar's active requests (choice_count 2);
 *    with unequal weights the EDF schedule with weight / (active + 1)^1 computed when the host is picked and
 *    re-queued (active_request_bias 1.0; envoyproxy/envoy@3b0bcb125b34a5447f21d6ff10ed6cbdef600da6
 *    source/extensions/load_balancing_policies/least_request/least_request_lb.cc, hostWeight()). */
export class EnvoyLb implements Policy {
  private r: () => number;
  private sc: SidecarLb[];
  private equal: boolean;
  constructor(
    readonly name: string,
    private kind: "round-robin" | "least-request",
    private serving: Map<string, number[]>,
    sidecars: number,
    private weights: number[],
    seed: number,
    private outlier = false,
  ) {
    this.r = rng(seed);
    this.sc = Array.from({ length: sidecars }, () => new SidecarLb(weights.length));
    this.equal = weights.every((w) => w === weights[0]);
  }

  private hosts(a: Arrival, nowMs: number): number[] {
    const all = this.serving.get(a.model)!;
    if (!this.outlier) return all;
    const s = this.sc[a.sidecar]!;
    const healthy = all.filter((h) => s.ejectedUntil[h]! <= nowMs);
    // Panic threshold: too few healthy hosts → Envoy load balances over all of them.
    return healthy.length * 100 < all.length * OUTLIER_DR.panicThresholdPercent || healthy.length === 0 ? all : healthy;
  }

  private pickOnce(a: Arrival, nowMs: number): number {
    const s = this.sc[a.sidecar]!;
    const hosts = this.hosts(a, nowMs);
    if (this.kind === "least-request" && this.equal) {
      const x = hosts[Math.floor(this.r() * hosts.length)]!,
        y = hosts[Math.floor(this.r() * hosts.length)]!;
      return s.active[y]! < s.active[x]! ? y : x;
    }
    // EDF schedule per (sidecar, host set); rebuilt when the host set changes (ejection), like Envoy's refresh.
    const key = `${a.model}|${hosts.join(",")}`;
    let e = s.edf.get(key);
    const w = (h: number) => (this.kind === "least-request" ? this.weights[h]! / (s.active[h]! + 1) : this.weights[h]!);
    if (!e) {
      e = { hosts, deadline: Float64Array.from(hosts, (h) => 1 / w(h)), now: 0 };
      s.edf.set(key, e);
      // Envoy starts a new schedule after a random number of picks so proxies do not move in lockstep.
      const warm = Math.floor(this.r() * hosts.length);
      for (let k = 0; k < warm; k++) this.edfPick(e, w);
    }
    return this.edfPick(e, w);
  }

  private edfPick(e: Edf, w: (h: number) => number): number {
    let bi = 0;
    for (let i = 1; i < e.hosts.length; i++) if (e.deadline[i]! < e.deadline[bi]!) bi = i;
    const h = e.hosts[bi]!;
    e.now = e.deadline[bi]!;
    e.deadline[bi] = e.now + 1 / Math.max(1e-9, w(h));
    return h;
  }

  route(a: Arrival, nowMs: number): Route {
    const h = this.pickOnce(a, nowMs);
    this.sc[a.sidecar]!.active[h]!++;
    return { server: h };
  }

  retryPick(a: Arrival, tried: number[], nowMs: number): number {
    let h = -1;
    for (let k = 0; k <= RETRY.hostSelectionRetryMaxAttempts; k++) {
      h = this.pickOnce(a, nowMs);
      if (!tried.includes(h)) break;
    }
    this.sc[a.sidecar]!.active[h]!++;
    return h;
  }

  attemptDone(a: Arrival, server: number, ok: boolean, nowMs: number): void {
    const s = this.sc[a.sidecar]!;
    s.active[server]!--;
    if (!this.outlier) return;
    if (ok) {
      s.fails[server] = 0;
      return;
    }
    if (++s.fails[server]! < OUTLIER_DR.consecutive5xx || s.ejectedUntil[server]! > nowMs) return;
    s.fails[server] = 0;
    const all = this.serving.get(a.model)!;
    const ejected = all.filter((h) => s.ejectedUntil[h]! > nowMs).length;
    if ((100 * (ejected + 1)) / all.length > OUTLIER_DR.maxEjectionPercent) return;
    s.ejections[server]!++;
    // Back at the first interval sweep after base × times ejected (sweeps every intervalMs from the start).
    const until = nowMs + OUTLIER_DR.baseEjectionMs * s.ejections[server]!;
    const t0 = START_MS;
    s.ejectedUntil[server] = t0 + Math.ceil((until - t0) / OUTLIER_DR.intervalMs) * OUTLIER_DR.intervalMs;
  }

  done(): void {}
}

/** Envoy RANDOM (unweighted). */
export class RandomPolicy implements Policy {
  readonly name = "random";
  private r: () => number;
  constructor(
    private serving: Map<string, number[]>,
    seed: number,
  ) {
    this.r = rng(seed);
  }
  route(a: Arrival): Route {
    const c = this.serving.get(a.model)!;
    return { server: c[Math.floor(this.r() * c.length)]! };
  }
  retryPick(a: Arrival, tried: number[]): number {
    const c = this.serving.get(a.model)!.filter((h) => !tried.includes(h));
    return c.length ? c[Math.floor(this.r() * c.length)]! : tried[tried.length - 1]!;
  }
  attemptDone(): void {}
  done(): void {}
}

/** Defaults of the EPP-style peer: the Gateway API Inference Extension's default scheduling profile — queue-scorer
 *  weight 2, kv-cache-utilization-scorer weight 2, prefix-cache-scorer weight 3, max-score picker
 *  (kubernetes-sigs/gateway-api-inference-extension@0c8fd519270ebd8422e0bbbfc03ac4d91fc2f1b0
 *  pkg/epp/config/loader/defaults.go, loadDefaultConfig) — metrics refreshed every 50 ms. */
export const EPP_DEFAULTS = { queueWeight: 2, kvWeight: 2, prefixWeight: 3, scrapeMs: 50, extProcDelayMs: 2 };

/** A central Endpoint Picker (one for all sidecars/gateways), modelled on GIE's default scorers:
 *  - queue: (max − q) / (max − min) of the candidates' waiting queues (1 when all equal; GIE@cb1c67d325c9335dfa867050f81c1624ac8340ac
 *    pkg/epp/framework/plugins/scheduling/scorer/queuedepth/queue.go);
 *  - KV cache: 1 − utilisation;
 *  - prefix: share of the request's prompt in blocks the EPP believes the server holds — its own index of where it
 *    sent each prefix (approximate prefix cache: it never sees evictions; its LRU holds far more than a GPU);
 *  - the highest weighted sum wins, ties at random.
 *  Metrics come from a scrape of every server at most `scrapeMs` old (taken at the first pick after each period,
 *  which is slightly fresher than a fixed grid: it favours the EPP). Every request waits `extProcDelayMs` (the
 *  ext_proc round trip) before it leaves the proxy. It does not know GPU speeds; on a retry the next-best
 *  scored endpoints are used. */
export class EppPicker implements Policy {
  readonly name = "epp";
  private r: () => number;
  private snap: Array<{ waiting: number; kv: number }> = [];
  private nextScrape = -Infinity;
  private held = new Map<number, Set<number>>();
  constructor(
    private serving: Map<string, number[]>,
    private servers: ServerModel[],
    seed: number,
    private o = EPP_DEFAULTS,
  ) {
    this.r = rng(seed);
  }
  private scrape(nowMs: number): void {
    if (nowMs < this.nextScrape) return;
    this.nextScrape = nowMs + this.o.scrapeMs;
    this.snap = this.servers.map((s) => {
      if (s.dead) return { waiting: Infinity, kv: 1 };
      const st = s.stats(nowMs - START_MS);
      return { waiting: st.waiting, kv: st.kvCacheUsage };
    });
  }
  private ranked(a: Arrival, nowMs: number): number[] {
    this.scrape(nowMs);
    const c = this.serving.get(a.model)!;
    const qs = c.map((h) => this.snap[h]!.waiting).filter(Number.isFinite);
    const qmin = Math.min(...qs),
      qmax = Math.max(...qs);
    const held = a.prefixId >= 0 ? this.held.get(a.prefixId) : undefined;
    const scored = c.map((h) => {
      const s = this.snap[h]!;
      const q = !Number.isFinite(s.waiting) ? 0 : qmax === qmin ? 1 : (qmax - s.waiting) / (qmax - qmin);
      const p = held?.has(h) ? a.prefixTokens / a.promptTokens : 0;
      return { h, score: this.o.queueWeight * q + this.o.kvWeight * (1 - s.kv) + this.o.prefixWeight * p, tie: this.r() };
    });
    scored.sort((x, y) => y.score - x.score || x.tie - y.tie);
    return scored.map((x) => x.h);
  }
  route(a: Arrival, nowMs: number): Route {
    const order = this.ranked(a, nowMs);
    const h = order[0]!;
    if (a.prefixId >= 0) {
      let s = this.held.get(a.prefixId);
      if (!s) this.held.set(a.prefixId, (s = new Set()));
      s.add(h);
    }
    return { server: h, fallbacks: order.slice(1), delayMs: this.o.extProcDelayMs };
  }
  retryPick(a: Arrival, tried: number[], nowMs: number): number {
    return this.ranked(a, nowMs).find((h) => !tried.includes(h)) ?? tried[tried.length - 1]!;
  }
  attemptDone(): void {}
  done(): void {}
}

/** Clairvoyant greedy: least expected completion time from every server's true state (queue, running batch with
 *  remaining tokens, prefix-cache contents) and the request's true lengths. Not a bound. */
export class ClairvoyantGreedy implements Policy {
  readonly name = "clairvoyant-greedy";
  constructor(
    private serving: Map<string, number[]>,
    private servers: ServerModel[],
  ) {}
  private order(a: Arrival, nowMs: number): number[] {
    return this.serving
      .get(a.model)!
      .map((s) => ({ s, t: this.servers[s]!.estimateCompletionMs(a, nowMs - START_MS) }))
      .sort((x, y) => x.t - y.t)
      .map((x) => x.s);
  }
  route(a: Arrival, nowMs: number): Route {
    return { server: this.order(a, nowMs)[0]! };
  }
  retryPick(a: Arrival, tried: number[], nowMs: number): number {
    return this.order(a, nowMs).find((h) => !tried.includes(h)) ?? tried[tried.length - 1]!;
  }
  attemptDone(): void {}
  done(): void {}
}
