// `inference-router serve`: a local HTTP gateway that does what the generated Envoy config does, with the built
// filter running in the project's proxy-wasm host (src/host) on the real clock.
//
// Per request: a stream on the next worker VM (round-robin, as connections spread over Envoy workers) gets the
// request headers and the whole body (one chunk with end_stream); when the filter lets the request through, the
// upstream is chosen from the headers the filter wrote, exactly as the generated routes/clusters would:
//   * pool mode (toolkit/local.ts): a request with the pool header goes to the cluster it names (cluster_header;
//     unknown cluster → 503 like Envoy's cluster_not_found_response_code), without it to the first pool; inside a
//     pool LEAST_REQUEST (power of two choices on active requests, random ties).
//   * endpoint mode: one cluster "gpu" of every member with override_host on the destination header: the first
//     listed ip:port that is a member of the cluster wins, otherwise the fallback policy (least request).
// The upstream response goes back through the filter's response callbacks (sendResponseHeaders/Body) and is
// streamed to the client chunk by chunk. Connection failures before headers become Envoy's 503 "upstream connect
// error or disconnect/reset before headers" (sent through the filter, so it sees the 5xx); timeouts 504.
// Local replies from the filter are returned as they leave the filter.
//
// The filter's HTTP callouts (proxy_http_call, e.g. metrics polling) go over real HTTP: every pool is known as the
// clusters `<pool>`, `metrics-<pool>` (toolkit/local.ts) and the metrics cluster `generate` computes
// (`outbound|port|subset|host`); "gpu" holds every member. A callout whose :authority is a member's ip:port goes
// to that member, otherwise members are used round-robin.
//
// Admin listener (like Envoy's admin): GET /stats/prometheus (the filter's stats as Envoy exports them, then the
// gateway's own `inference_gateway_*`), GET /stats (JSON), GET /ready, GET /upstreams.
import { randomUUID } from "node:crypto";
import http from "node:http";
import type { AddressInfo } from "node:net";
import type { RouterConfig } from "../config/router-config.js";
import { tagSpecifiers } from "../observability/tags.js";
import { createProxy, HeaderMap, RealClock, type CalloutRequest, type CalloutResponse, type HttpStream, type Proxy } from "../host/index.js";
import { buildPluginConfig, metricsTargets } from "../toolkit/generate.js";
import { UpstreamStats } from "./stats.js";

export interface GatewayOptions {
  router: RouterConfig;
  /** Members of each pool, ip:port (loopback). */
  upstreams: Record<string, string[]>;
  /** GPU label per member (for stats), optional. */
  gpus?: Record<string, string>;
  wasm: string | Uint8Array;
  workers?: number;
  /** Listener port (0 = ephemeral). */
  port?: number;
  /** Admin port (0 = ephemeral; -1 = no admin listener). */
  adminPort?: number;
  host?: string;
  upstreamTimeoutMs?: number;
  logLevel?: "trace" | "debug" | "info" | "warn" | "error" | "critical";
}

const HOP_BY_HOP = new Set(["connection", "keep-alive", "proxy-connection", "transfer-encoding", "upgrade", "te", "host", "http2-settings"]);
const MAX_BODY = 16 * 1024 * 1024;
const FAILURE_POLICY = { FAIL_CLOSE: "FAIL_CLOSED", FAIL_OPEN: "FAIL_OPEN", FAIL_RELOAD: "FAIL_RELOAD" } as const;

export interface Routed {
  pool: string;
  address: string;
}

export class Gateway {
  proxy!: Proxy;
  readonly server: http.Server;
  readonly admin: http.Server | undefined;
  readonly upstreamStats = new Map<string, UpstreamStats>();
  readonly clusters = new Map<string, string[]>();
  /** Downstream responses by status, local replies by status. */
  readonly responses = new Map<number, number>();
  readonly localReplies = new Map<number, number>();
  requests = 0;
  private readonly agent = new http.Agent({ keepAlive: true, maxSockets: 256 });
  private rrCallout = 0;
  private readonly poolOf = new Map<string, string>();

  constructor(readonly options: GatewayOptions) {
    const cfg = options.router;
    for (const p of cfg.pools) {
      const members = options.upstreams[p.name] ?? [];
      for (const a of members) {
        this.poolOf.set(a, p.name);
        this.upstreamStats.set(a, new UpstreamStats(p.name, a, options.gpus?.[a] ?? p.gpu));
      }
      this.clusters.set(p.name, members);
      this.clusters.set(`metrics-${p.name}`, members);
    }
    // Pools may share a metrics cluster (endpoint mode: every pool polls the frontend service's cluster), which then
    // holds the members of all of them, as the service's cluster would.
    for (const t of metricsTargets(cfg)) {
      const prev = this.clusters.get(t.cluster) ?? [];
      this.clusters.set(t.cluster, [...new Set([...prev, ...(options.upstreams[t.pool] ?? [])])]);
    }
    this.clusters.set("gpu", [...this.poolOf.keys()]);
    this.server = http.createServer((req, res) => { void this.handle(req, res); });
    this.server.keepAliveTimeout = 30_000;
    this.admin = options.adminPort === -1 ? undefined : http.createServer((req, res) => this.handleAdmin(req, res));
  }

  get port(): number { return (this.server.address() as AddressInfo).port; }
  get adminPort(): number | undefined { return this.admin ? (this.admin.address() as AddressInfo).port : undefined; }

  async start(): Promise<void> {
    const cfg = this.options.router;
    const pluginConfig = buildPluginConfig(cfg, this.options.upstreams);
    this.proxy = await createProxy({
      wasm: this.options.wasm,
      rootId: cfg.pluginName,
      pluginName: cfg.pluginName,
      pluginConfig,
      workers: this.options.workers ?? 2,
      clock: new RealClock(),
      failurePolicy: FAILURE_POLICY[cfg.failStrategy],
      allowOnHeadersStopIteration: cfg.body.enabled,
      clusters: [...this.clusters.keys()],
      transport: (r) => this.callout(r),
      logLevel: this.options.logLevel ?? "info",
      statsTags: tagSpecifiers(), // the labels a mesh configured by the toolkit shows (src/observability/tags.ts)
    });
    const host = this.options.host ?? "127.0.0.1";
    try {
      await listen(this.server, this.options.port ?? 8080, host);
      if (this.admin) await listen(this.admin, this.options.adminPort ?? 9901, host);
    } catch (e) {
      await this.close();
      throw e;
    }
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    this.admin?.closeAllConnections();
    await Promise.all([this.server.listening ? closeServer(this.server) : Promise.resolve(), this.admin?.listening ? closeServer(this.admin) : Promise.resolve()]);
    this.agent.destroy();
    await this.proxy?.close();
  }

  // ------------------------------------------------------------------ routing (what Envoy's config does)
  /** The upstream the generated Envoy config would pick for these router headers; undefined ⇒ 503 (no cluster). */
  route(h: HeaderMap): Routed | undefined {
    const cfg = this.options.router;
    if (cfg.steering === "endpoint") {
      const members = this.clusters.get("gpu")!;
      const wanted = (h.get(cfg.routing.destinationHeader) ?? "").split(",").map((s) => s.trim()).filter(Boolean);
      const hit = wanted.find((a) => members.includes(a));
      const address = hit ?? this.leastRequest(members);
      return address ? { pool: this.poolOf.get(address)!, address } : undefined;
    }
    const poolHeader = h.get(cfg.routing.poolHeader);
    const pool = poolHeader !== undefined ? poolHeader : cfg.pools[0]!.name;
    const members = cfg.pools.some((p) => p.name === pool) ? this.clusters.get(pool) : undefined;
    const address = members ? this.leastRequest(members) : undefined;
    return address ? { pool, address } : undefined;
  }

  /** Envoy LEAST_REQUEST (equal weights): the less loaded of two random members. */
  private leastRequest(members: string[]): string | undefined {
    if (members.length <= 1) return members[0];
    const a = Math.floor(Math.random() * members.length);
    let b = Math.floor(Math.random() * (members.length - 1));
    if (b >= a) b++;
    const x = members[a]!, y = members[b]!;
    const ax = this.upstreamStats.get(x)?.active ?? 0, ay = this.upstreamStats.get(y)?.active ?? 0;
    return ax <= ay ? x : y;
  }

  // ------------------------------------------------------------------ callouts
  /** The host's callout transport: real HTTP to a member of the named cluster. */
  callout(r: Pick<CalloutRequest, "cluster" | "authority" | "headers" | "method" | "path" | "body" | "timeoutMs">): Promise<CalloutResponse> {
    const members = this.clusters.get(r.cluster) ?? [];
    // Like an override_host cluster: the filter pins a poll to one member with the endpoint steering header.
    const pinHeader = this.options.router.routing.destinationHeader;
    const pinned = r.headers.find(([k]) => k === pinHeader)?.[1]?.split(",")[0]?.trim();
    const target = pinned !== undefined && members.includes(pinned)
      ? pinned
      : members.includes(r.authority) ? r.authority : members[this.rrCallout++ % Math.max(1, members.length)];
    if (!target) return Promise.reject(new Error(`cluster ${r.cluster} has no members`));
    const [hostname, port] = splitAddress(target);
    const headers: Record<string, string> = {};
    for (const [k, v] of r.headers) if (!k.startsWith(":") && !HOP_BY_HOP.has(k)) headers[k] = v;
    headers.host = r.authority;
    return new Promise((resolve, reject) => {
      const req = http.request({ hostname, port, method: r.method, path: r.path, headers, agent: this.agent, timeout: r.timeoutMs || 5000 }, (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () => resolve({ status: res.statusCode ?? 502, headers: responsePairs(res), body: new Uint8Array(Buffer.concat(chunks)) }));
        res.on("error", reject);
      });
      req.on("timeout", () => req.destroy(new Error("timeout")));
      req.on("error", reject);
      req.end(Buffer.from(r.body));
    });
  }

  // ------------------------------------------------------------------ data path
  private count(map: Map<number, number>, status: number): void {
    map.set(status, (map.get(status) ?? 0) + 1);
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    this.requests++;
    const body = await readBody(req).catch(() => undefined);
    if (body === undefined) { res.writeHead(413, { "content-type": "text/plain" }); res.end("payload too large\n"); this.count(this.responses, 413); return; }
    const h = new HeaderMap({ ":method": req.method ?? "GET", ":path": req.url ?? "/", ":authority": req.headers.host ?? "localhost", ":scheme": "http" });
    for (let i = 0; i < req.rawHeaders.length; i += 2) {
      const k = req.rawHeaders[i]!.toLowerCase();
      if (!HOP_BY_HOP.has(k)) h.add(k, req.rawHeaders[i + 1]!);
    }
    if (!h.has("x-request-id")) h.add("x-request-id", randomUUID());
    h.replace("x-forwarded-proto", "http");
    const s = this.proxy.newStream(this.proxy.nextWorker());
    let sent = 0;
    const writeOut = () => {
      if (!res.headersSent && s.downstreamHeaders) {
        const dh = s.downstreamHeaders;
        const status = Number(dh.get(":status") ?? 502);
        const out: Record<string, string | string[]> = {};
        for (const [k, v] of dh.entries()) {
          if (k.startsWith(":") || HOP_BY_HOP.has(k) || k === "content-length") continue;
          const prev = out[k];
          out[k] = prev === undefined ? v : Array.isArray(prev) ? [...prev, v] : [prev, v];
        }
        if (routed) out["x-inference-router-upstream"] = `${routed.pool}/${routed.address}`;
        if (s.responseComplete) out["content-length"] = String(s.response.outBody.reduce((n, c) => n + c.length, 0));
        res.writeHead(status, out);
        this.count(this.responses, status);
      }
      if (!res.headersSent) return;
      const chunks = s.response.outBody;
      for (; sent < chunks.length; sent++) if (chunks[sent]!.length) res.write(chunks[sent]);
      if (s.responseComplete && !res.writableEnded) res.end();
    };
    let routed: Routed | undefined;
    let upstreamReq: http.ClientRequest | undefined;
    let finished = false;
    const finish = () => { if (!finished) { finished = true; if (!s.completed) s.complete(); } };
    res.on("close", () => {
      if (!res.writableFinished) { upstreamReq?.destroy(); if (!s.completed) s.reset(); finished = true; }
    });

    s.sendRequestHeaders(h, body.length === 0);
    if (body.length > 0) s.sendRequestBody(body, true);
    // Held streams (body mode) are released by the filter; bound the wait like Envoy's stream idle timeout.
    const timer = setTimeout(() => { if (!s.requestCompleteAtRouter && !s.localReply && !s.completed) { s.reset("stream_idle_timeout"); if (!res.headersSent) { res.writeHead(504); res.end(); } } }, 30_000);
    await s.waitFor(() => s.requestCompleteAtRouter || s.localReply !== undefined || s.completed || s.responseComplete);
    clearTimeout(timer);
    if (s.completed && !s.responseComplete) return;
    if (!s.requestCompleteAtRouter || s.localReply) {
      // Local reply (or fail-closed 503): it already went through the filter's response callbacks.
      if (s.localReply) this.count(this.localReplies, s.localReply.status);
      await s.waitFor(() => s.responseComplete || s.completed);
      writeOut();
      if (!res.writableEnded) res.end();
      finish();
      return;
    }
    routed = this.route(s.routerRequestHeaders!);
    if (!routed) {
      // Envoy: cluster_header names no cluster → 503 (NC); the reply is encoded through the filter.
      s.sendResponseHeaders({ ":status": "503", "content-type": "text/plain", "content-length": "0" }, true);
      writeOut();
      if (!res.writableEnded) res.end();
      finish();
      return;
    }
    const us = this.upstreamStats.get(routed.address)!;
    us.active++;
    us.requests++;
    const t0 = performance.now();
    let firstByte: number | undefined;
    let done = false;
    const settle = (ok: boolean) => {
      if (done) return;
      done = true;
      us.active--;
      if (!ok) us.errors++;
      us.latencyMs.add(performance.now() - t0);
      if (firstByte !== undefined) us.ttftMs.add(firstByte - t0);
    };
    const rh = s.routerRequestHeaders!;
    const headers: Record<string, string> = {};
    for (const [k, v] of rh.entries()) if (!k.startsWith(":") && !HOP_BY_HOP.has(k) && k !== "content-length") headers[k] = v;
    headers.host = rh.get(":authority") ?? routed.address;
    const outBody = Buffer.concat(s.request.outBody.map((c) => Buffer.from(c)));
    if (outBody.length > 0 || rh.get(":method") !== "GET") headers["content-length"] = String(outBody.length);
    const [hostname, port] = splitAddress(routed.address);
    const localError = (status: number, text: string) => {
      if (!s.responseStarted) {
        s.sendResponseHeaders({ ":status": String(status), "content-type": "text/plain", "content-length": String(text.length) }, false);
        s.sendResponseBody(text, true);
        writeOut();
      } else if (!s.completed) {
        s.reset("upstream_reset_after_response_started");
        res.destroy();
      }
      finish();
    };
    upstreamReq = http.request(
      { hostname, port, method: rh.get(":method") ?? "GET", path: rh.get(":path") ?? "/", headers, agent: this.agent, timeout: this.options.upstreamTimeoutMs ?? 300_000 },
      (ures) => {
        const uh = new HeaderMap({ ":status": String(ures.statusCode ?? 502) });
        for (const [k, v] of responsePairs(ures)) uh.add(k, v);
        const empty = ures.headers["content-length"] === "0" || ures.statusCode === 204 || ures.statusCode === 304 || rh.get(":method") === "HEAD";
        s.sendResponseHeaders(uh, empty);
        writeOut();
        const streaming = (ures.headers["content-type"] ?? "").includes("event-stream");
        ures.on("data", (c: Buffer) => {
          if (streaming) firstByte ??= performance.now();
          s.sendResponseBody(new Uint8Array(c), false);
          writeOut();
        });
        ures.on("end", () => {
          if (!empty) s.sendResponseBody(new Uint8Array(0), true);
          settle((ures.statusCode ?? 502) < 500);
          writeOut();
          if (!res.writableEnded) res.end();
          finish();
        });
        ures.on("error", () => { settle(false); localError(503, "upstream reset"); });
      },
    );
    upstreamReq.on("timeout", () => { upstreamReq?.destroy(new Error("timeout")); settle(false); localError(504, "upstream request timeout"); });
    upstreamReq.on("error", (e) => {
      if (done) return;
      settle(false);
      localError(503, `upstream connect error or disconnect/reset before headers. reset reason: ${(e as NodeJS.ErrnoException).code === "ECONNREFUSED" ? "connection failure" : "connection termination"}`);
    });
    upstreamReq.end(outBody);
  }

  // ------------------------------------------------------------------ admin
  gatewayPrometheus(): string {
    const lines: string[] = [];
    const fam = (name: string, type: string, help: string) => lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
    const lbl = (u: UpstreamStats) => `pool="${u.pool}",upstream="${u.address}",gpu="${u.gpu}"`;
    const all = [...this.upstreamStats.values()];
    fam("inference_gateway_upstream_rq_active", "gauge", "Requests in flight to the upstream.");
    for (const u of all) lines.push(`inference_gateway_upstream_rq_active{${lbl(u)}} ${u.active}`);
    fam("inference_gateway_upstream_rq_total", "counter", "Requests sent to the upstream.");
    for (const u of all) lines.push(`inference_gateway_upstream_rq_total{${lbl(u)}} ${u.requests}`);
    fam("inference_gateway_upstream_rq_error_total", "counter", "Upstream 5xx, resets and timeouts.");
    for (const u of all) lines.push(`inference_gateway_upstream_rq_error_total{${lbl(u)}} ${u.errors}`);
    fam("inference_gateway_upstream_rq_time_ms", "summary", "Upstream request time (ms), recent requests.");
    for (const u of all) for (const q of [50, 90, 99]) lines.push(`inference_gateway_upstream_rq_time_ms{${lbl(u)},quantile="${q / 100}"} ${Math.round(u.latencyMs.percentile(q) ?? 0)}`);
    fam("inference_gateway_upstream_ttft_ms", "summary", "Streaming (text/event-stream) responses: time to the first body byte (ms).");
    for (const u of all) for (const q of [50, 90, 99]) lines.push(`inference_gateway_upstream_ttft_ms{${lbl(u)},quantile="${q / 100}"} ${Math.round(u.ttftMs.percentile(q) ?? 0)}`);
    fam("inference_gateway_downstream_rq_total", "counter", "Responses sent to clients by status.");
    for (const [code, n] of this.responses) lines.push(`inference_gateway_downstream_rq_total{response_code="${code}"} ${n}`);
    fam("inference_gateway_local_reply_total", "counter", "Local replies of the filter by status.");
    for (const [code, n] of this.localReplies) lines.push(`inference_gateway_local_reply_total{response_code="${code}"} ${n}`);
    return `${lines.join("\n")}\n`;
  }

  statsJson(): Record<string, unknown> {
    return {
      requests: this.requests,
      responses: Object.fromEntries(this.responses),
      localReplies: Object.fromEntries(this.localReplies),
      upstreams: [...this.upstreamStats.values()].map((u) => ({
        pool: u.pool, address: u.address, gpu: u.gpu, active: u.active, requests: u.requests, errors: u.errors,
        p50ms: u.latencyMs.percentile(50), p99ms: u.latencyMs.percentile(99), ttftP50ms: u.ttftMs.percentile(50), ttftP99ms: u.ttftMs.percentile(99),
      })),
      filter: this.proxy.metrics(),
    };
  }

  private handleAdmin(req: http.IncomingMessage, res: http.ServerResponse): void {
    const p = new URL(req.url ?? "/", "http://admin").pathname;
    const send = (status: number, type: string, text: string) => { res.writeHead(status, { "content-type": type, "content-length": Buffer.byteLength(text) }); res.end(text); };
    if (p === "/stats/prometheus") send(200, "text/plain; version=0.0.4", `${this.proxy.prometheus()}${this.gatewayPrometheus()}`);
    else if (p === "/stats") send(200, "application/json", `${JSON.stringify(this.statsJson(), (_k, v: unknown) => (typeof v === "bigint" ? Number(v) : v), 2)}\n`);
    else if (p === "/ready") send(200, "text/plain", "LIVE\n");
    else if (p === "/upstreams") send(200, "application/json", `${JSON.stringify(Object.fromEntries(this.clusters), null, 2)}\n`);
    else send(404, "text/plain", "admin: /stats/prometheus /stats /ready /upstreams\n");
  }
}

function splitAddress(a: string): [string, number] {
  const i = a.lastIndexOf(":");
  return [a.slice(0, i).replace(/^\[|\]$/g, ""), Number(a.slice(i + 1))];
}

function responsePairs(res: http.IncomingMessage): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  for (let i = 0; i < res.rawHeaders.length; i += 2) {
    const k = res.rawHeaders[i]!.toLowerCase();
    if (!HOP_BY_HOP.has(k)) out.push([k, res.rawHeaders[i + 1]!]);
  }
  return out;
}

function readBody(req: http.IncomingMessage): Promise<Uint8Array> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on("data", (c: Buffer) => { size += c.length; if (size > MAX_BODY) { reject(new Error("too large")); req.resume(); } else chunks.push(c); });
    req.on("end", () => resolve(new Uint8Array(Buffer.concat(chunks))));
    req.on("error", reject);
  });
}

function listen(server: http.Server, port: number, host: string): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => { server.off("error", reject); resolve(); });
  });
}

function closeServer(server: http.Server): Promise<void> {
  return new Promise((resolve) => server.close(() => resolve()));
}
