// The filter under test: K independent simulated sidecars (one Proxy each — its own SharedDataStore, its own
// worker VMs) running build/inference-router.wasm on the shared SimClock. Requests go through the filter's request
// path; the steering header decides the server. Metrics polls the filter makes with proxy_http_call are answered
// after a small network delay with vLLM exposition text rendered from the server model at that virtual time.
import { createProxy, HostError, type HttpStream, type PendingCallout, type Proxy } from "../host/index.js";
import type { ModelStats, ServerModel } from "./model.js";
import type { Policy, Route } from "./policies.js";
import { rng } from "./rng.js";
import type { Arrival, Scenario } from "./scenarios.js";
import { START_MS, type SimClock } from "./sim-clock.js";
import { minimalVllmPage, vllmMetricsPage } from "./vllm-page.js";
import { orcaReport } from "../sim/server.js";

export const POLL_LATENCY_MS = 2;
export const PRIORITY_HEADER = "x-request-priority";

export function endpointOf(i: number): string {
  return `10.0.${Math.floor(i / 250)}.${(i % 250) + 1}:8000`;
}
export function metricsCluster(pool: string): string {
  return `outbound|8000||${pool}-metrics.llm.svc.cluster.local`;
}

/** The filter's plugin configuration for a scenario; `features` says which optional parts to include. */
export function pluginConfigFor(
  s: Scenario,
  features: { polling: boolean; affinity: boolean },
  overrides: Record<string, unknown> = {},
  noWeights = false,
): Record<string, unknown> {
  const pools = s.pools.map((p) => ({
    name: p.name,
    models: p.models,
    ...(noWeights ? {} : { weight: p.weight }),
    ...(p.fallback ? { fallback: p.fallback } : {}),
    endpoints: s.servers.map((sv, i) => (sv.pool === p.name ? endpointOf(i) : "")).filter((e) => e !== ""),
    ...(features.polling ? { metrics: { cluster: metricsCluster(p.name), path: "/metrics", engine: "vllm" } } : {}),
  }));
  const cfg: Record<string, unknown> = { steering: "endpoint", pools };
  // Shedding: requests carry their priority in a header (sheddable ones below shedding.belowPriority, default 0).
  if (s.sheddableShare) cfg["headers"] = { priorityIn: PRIORITY_HEADER };
  if (s.prefix) {
    cfg["body"] = { enabled: true };
    if (features.affinity) cfg["affinity"] = { prefix: { enabled: true } };
  }
  // Experiments (`bench --plugin-config '{"scoring":{"staleAfterMs":2000}}'`): top-level objects are merged.
  for (const [k, v] of Object.entries(overrides)) {
    const cur = cfg[k];
    cfg[k] =
      v && typeof v === "object" && !Array.isArray(v) && cur && typeof cur === "object" ? { ...(cur as object), ...(v as object) } : v;
  }
  return cfg;
}

function systemPrompt(id: number, tokens: number): string {
  // ~4 characters per token, capped: the filter reads only the first bytes anyway.
  const unit = `You are assistant profile ${id}. Follow policy ${(id * 7919) % 1000} carefully. `;
  return unit.repeat(Math.max(1, Math.min(Math.ceil((tokens * 4) / unit.length), 2000 / unit.length)));
}

interface Pending {
  at: number;
  seq: number;
  proxy: Proxy;
  callout: PendingCallout;
  server: number;
}

export interface WasmRouterStats {
  metricsRequests: number[];
  unsteered: number;
  localReplies: Record<string, number>;
  features: { polling: boolean; affinity: boolean };
  /** Size of the last metrics page served (bytes). */
  pageBytes: number;
  /** ORCA load reports attached to responses (requests that asked). */
  loadReports: number;
}

export class WasmRouter implements Policy {
  readonly name = "inference-router";
  private proxies: Proxy[] = [];
  private streams = new Map<number, HttpStream>();
  private byEndpoint = new Map<string, number>();
  private pending: Pending[] = [];
  private seq = 0;
  private fallbackR: () => number;
  readonly stats: WasmRouterStats;
  private prompts = new Map<number, string>();

  private constructor(
    private s: Scenario,
    private servers: ServerModel[],
    private clock: SimClock,
    private serving: Map<string, number[]>,
    features: { polling: boolean; affinity: boolean },
    seed: number,
    private noWeights = false,
  ) {
    this.fallbackR = rng(seed ^ 0x5eed);
    s.servers.forEach((_, i) => this.byEndpoint.set(endpointOf(i), i));
    this.stats = {
      metricsRequests: new Array(s.servers.length).fill(0),
      unsteered: 0,
      localReplies: {},
      features,
      pageBytes: 0,
      loadReports: 0,
    };
  }

  /** Starts the sidecars. Tries the full configuration first and drops optional features the filter rejects. */
  static async create(
    wasm: Uint8Array,
    s: Scenario,
    servers: ServerModel[],
    clock: SimClock,
    serving: Map<string, number[]>,
    seed: number,
    o: { noWeights?: boolean } = {},
  ): Promise<WasmRouter> {
    const tries = [
      { polling: true, affinity: !!s.prefix },
      { polling: true, affinity: false },
      { polling: false, affinity: false },
    ];
    let lastErr: unknown;
    for (const f of tries) {
      const w = new WasmRouter(s, servers, clock, serving, f, seed, !!o.noWeights);
      try {
        for (let k = 0; k < s.sidecars; k++) w.proxies.push(await w.startSidecar(wasm, k, seed));
        return w;
      } catch (e) {
        if (!(e instanceof HostError) || e.code !== "ConfigureFailed") throw e;
        lastErr = e;
      }
    }
    throw lastErr;
  }

  private startSidecar(wasm: Uint8Array, k: number, seed: number): Promise<Proxy> {
    return createProxy({
      wasm,
      workers: this.s.workers,
      clock: this.clock,
      pluginConfig: pluginConfigFor(this.s, this.stats.features, this.s.pluginConfig ?? {}, this.noWeights),
      clusters: this.s.pools.map((p) => metricsCluster(p.name)),
      allowOnHeadersStopIteration: true,
      random: rng(seed * 1000 + k + 1),
      logLevel: "warn",
    });
  }

  route(a: Arrival, nowMs: number): Route {
    const p = this.proxies[a.sidecar]!;
    const s = p.newStream(p.nextWorker());
    const headers: Record<string, string> = {
      ":method": "POST",
      ":scheme": "http",
      ":authority": "llm.example.com",
      "content-type": "application/json",
    };
    if (a.priority !== undefined) headers[PRIORITY_HEADER] = String(a.priority);
    if (this.s.prefix) {
      let sys = this.prompts.get(a.prefixId);
      if (sys === undefined) {
        sys = systemPrompt(a.prefixId, a.prefixTokens);
        this.prompts.set(a.prefixId, sys);
      }
      const body = JSON.stringify({
        model: a.model,
        messages: [
          { role: "system", content: sys },
          { role: "user", content: `question ${a.id}` },
        ],
        max_tokens: a.outputTokens,
        stream: true,
      });
      headers[":path"] = "/v1/chat/completions";
      headers["content-length"] = String(Buffer.byteLength(body));
      s.sendRequestHeaders(headers, false);
      s.sendRequestBody(body, true);
    } else {
      headers[":path"] = `/v2/models/${a.model}/generate`;
      s.sendRequestHeaders(headers, true);
    }
    this.collect(p, nowMs);
    if (s.localReply || !s.reachedRouter) {
      const st = s.localReply?.status ?? 503;
      this.stats.localReplies[st] = (this.stats.localReplies[st] ?? 0) + 1;
      s.complete();
      return { server: -1, status: st };
    }
    this.streams.set(a.id, s);
    const ep = s.routerRequestHeaders?.get("x-gateway-destination-endpoint");
    const list = (ep ?? "")
      .split(",")
      .map((e) => this.byEndpoint.get(e.trim()))
      .filter((i): i is number => i !== undefined);
    if (!list.length) {
      // Unsteered: Envoy's own load balancing (random here) routes it.
      this.stats.unsteered++;
      const c = this.serving.get(a.model)!;
      return { server: c[Math.floor(this.fallbackR() * c.length)]!, unsteered: true };
    }
    // Retries walk the header's fallback list in order (override_host), then Envoy's fallback LB.
    return { server: list[0]!, fallbacks: list.slice(1) };
  }

  /** A retry past the fallback list: Istio's override_host fallback policy (round robin; random here) among the
   *  model's servers not tried yet. */
  retryPick(a: Arrival, tried: number[]): number {
    const c = this.serving.get(a.model)!.filter((h) => !tried.includes(h));
    return c.length ? c[Math.floor(this.fallbackR() * c.length)]! : tried[tried.length - 1]!;
  }

  /** Envoy retries inside the router; the filter sees only the final response. */
  attemptDone(): void {}

  done(a: Arrival, server: number, ok: boolean, nowMs: number): void {
    const s = this.streams.get(a.id);
    if (!s) return;
    this.streams.delete(a.id);
    const headers: Record<string, string> = { ":status": ok ? "200" : "503", "content-type": "application/json" };
    // Like vLLM: a load report only when the request asked for one, only on a successful non-streaming response
    // (the prefix scenarios stream), with the server's gauges at the time the response leaves it.
    if (ok && !this.s.prefix && server >= 0) {
      const st = this.servers[server]!.stats(nowMs - START_MS);
      const v = orcaReport(s.routerRequestHeaders?.get("endpoint-load-metrics-format"), [
        ["num_requests_waiting", st.waiting],
        ["kv_cache_usage_perc", st.kvCacheUsage],
      ]);
      if (v !== undefined) {
        headers["endpoint-load-metrics"] = v;
        this.stats.loadReports++;
      }
    }
    s.sendResponseHeaders(headers, true);
    s.complete();
    this.collect(this.proxies[a.sidecar]!, nowMs);
  }

  /** After timers fired: pick up polls from every sidecar. */
  collectAll(nowMs: number): void {
    for (const p of this.proxies) this.collect(p, nowMs);
  }

  private collect(p: Proxy, nowMs: number): void {
    const all = p.callouts.all;
    if (all.length === 0) return;
    for (const c of all) {
      if (c.settled) continue;
      const server = this.serverOf(c);
      if (server >= 0) this.stats.metricsRequests[server]!++;
      this.pending.push({ at: nowMs + POLL_LATENCY_MS, seq: this.seq++, proxy: p, callout: c, server });
    }
    all.length = 0; // answered from this.pending; keeps the host's list from growing over a long run
  }

  private serverOf(c: PendingCallout): number {
    const r = c.request;
    const cands = [r.authority, r.path, ...r.headers.map(([, v]) => v)];
    for (const v of cands) {
      const i = this.byEndpoint.get(v);
      if (i !== undefined) return i;
      for (const part of v.split(/[,/?&=\s]/)) {
        const j = this.byEndpoint.get(part);
        if (j !== undefined) return j;
      }
    }
    return -1;
  }

  nextPollResponseMs(): number {
    let t = Infinity;
    for (const p of this.pending) if (p.at < t) t = p.at;
    return t;
  }

  /** Delivers poll responses due by `nowMs` (rendered from the model's state now). */
  deliverPolls(nowMs: number, advance: (server: number) => void): void {
    if (!this.pending.length) return;
    const due = this.pending.filter((p) => p.at <= nowMs).sort((a, b) => a.at - b.at || a.seq - b.seq);
    if (!due.length) return;
    this.pending = this.pending.filter((p) => p.at > nowMs);
    for (const d of due) {
      if (d.server < 0) {
        d.callout.respond({ status: 404, body: "no such endpoint" });
        continue;
      }
      const m = this.servers[d.server]!;
      if (m.dead) {
        d.callout.fail();
        continue;
      }
      advance(d.server);
      const model = this.s.servers[d.server]!.models[0]!;
      const st = m.stats(nowMs - START_MS);
      const body = this.s.metricsPage === "minimal" ? minimalVllmPage(model, st) : vllmMetricsPage(model, st, nowMs - START_MS);
      this.stats.pageBytes = body.length;
      d.callout.respond({ status: 200, headers: { "content-type": "text/plain; version=0.0.4" }, body });
    }
    for (const d of due) this.collect(d.proxy, nowMs);
  }

  /** Wasm memory pages per sidecar worker (for reports). */
  memoryPages(): number[] {
    return this.proxies.flatMap((p) => p.workers.map((w) => w.memoryPages()));
  }

  async close(): Promise<void> {
    for (const p of this.proxies) await p.close();
  }
}
