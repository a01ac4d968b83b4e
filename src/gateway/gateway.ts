// `inference-router serve`: a local HTTP gateway that does what the generated Envoy config does, with the built
// filter running in the project's proxy-wasm host (src/host) on the real clock.
//
// One port takes HTTP/1.1 and HTTP/2 cleartext (h2c prior knowledge, as a sidecar receives it; src/sim/h2c.ts).
// Per request: a stream on the next worker VM (round-robin, as connections spread over Envoy workers) gets the
// request headers, then the body — HTTP/1.1: whole, in one chunk with end_stream; HTTP/2: chunk by chunk as it
// arrives, so gRPC streams flow both ways — and HTTP/2 clients are forwarded over HTTP/2 with trailers kept
// (gRPC end to end, as Envoy does with an HTTP/2 upstream). When the filter lets the request through, the
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
import http2 from "node:http2";
import type { AddressInfo } from "node:net";
import { createDualServer, type DualServer } from "../sim/h2c.js";
import protobuf from "protobufjs";
import { frame, grpcMessage, PROTO_PATH } from "../sim/grpc.js";
import {
  HOP_BY_HOP,
  Http2Pool,
  http1Downstream,
  http1Upstream,
  http2Downstream,
  type Downstream,
  type OutHeaders,
  type UpstreamCall,
  type UpstreamHandlers,
} from "./downstream.js";
import type { RouterConfig } from "../config/router-config.js";
import { tagSpecifiers } from "../observability/tags.js";
import {
  createProxy,
  HeaderMap,
  RealClock,
  type CalloutRequest,
  type CalloutResponse,
  type HttpStream,
  type Proxy,
} from "../host/index.js";
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

const MAX_BODY = 16 * 1024 * 1024;
const FAILURE_POLICY = { FAIL_CLOSE: "FAIL_CLOSED", FAIL_OPEN: "FAIL_OPEN", FAIL_RELOAD: "FAIL_RELOAD" } as const;

export interface Routed {
  pool: string;
  address: string;
}

export class Gateway {
  proxy!: Proxy;
  /** HTTP/1.1 connections; connections opening with the HTTP/2 preface (h2c) go to `h2`, on the same port. */
  readonly server: http.Server;
  readonly h2: http2.Http2Server;
  private readonly listener: DualServer;
  private readonly h2pool = new Http2Pool();
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
    this.server = http.createServer((req, res) => {
      void this.handle(http1Downstream(req, res));
    });
    this.server.keepAliveTimeout = 30_000;
    this.h2 = http2.createServer();
    this.h2.on("stream", (stream: http2.ServerHttp2Stream, headers: http2.IncomingHttpHeaders, flags: number, raw: string[]) => {
      void this.handle(http2Downstream(stream, headers, flags, raw));
    });
    this.listener = createDualServer(this.server, this.h2);
    this.admin = options.adminPort === -1 ? undefined : http.createServer((req, res) => this.handleAdmin(req, res));
  }

  get port(): number {
    return this.listener.port;
  }
  get adminPort(): number | undefined {
    return this.admin ? (this.admin.address() as AddressInfo).port : undefined;
  }

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
      await this.listener.listen(this.options.port ?? 8080, host);
      if (this.admin) await listen(this.admin, this.options.adminPort ?? 9901, host);
    } catch (e) {
      await this.close();
      throw e;
    }
  }

  async close(): Promise<void> {
    this.admin?.closeAllConnections();
    await Promise.all([this.listener.close(), this.admin?.listening ? closeServer(this.admin) : Promise.resolve()]);
    this.agent.destroy();
    this.h2pool.close();
    await this.proxy?.close();
  }

  // ------------------------------------------------------------------ routing (what Envoy's config does)
  /** The upstream the generated Envoy config would pick for these router headers; undefined ⇒ 503 (no cluster). */
  route(h: HeaderMap): Routed | undefined {
    const cfg = this.options.router;
    if (cfg.steering === "endpoint") {
      const members = this.clusters.get("gpu")!;
      const wanted = (h.get(cfg.routing.endpointHeader) ?? "")
        .split(",")
        .map((s) => s.trim())
        .filter(Boolean);
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
    const x = members[a]!,
      y = members[b]!;
    const ax = this.upstreamStats.get(x)?.active ?? 0,
      ay = this.upstreamStats.get(y)?.active ?? 0;
    return ax <= ay ? x : y;
  }

  // ------------------------------------------------------------------ callouts
  /** The host's callout transport: real HTTP to a member of the named cluster. */
  callout(
    r: Pick<CalloutRequest, "cluster" | "authority" | "headers" | "method" | "path" | "body" | "timeoutMs">,
  ): Promise<CalloutResponse> {
    const members = this.clusters.get(r.cluster) ?? [];
    // Like an override_host cluster: the filter pins a poll to one member with the endpoint steering header.
    const pinHeader = this.options.router.routing.endpointHeader;
    const pinned = r.headers
      .find(([k]) => k === pinHeader)?.[1]
      ?.split(",")[0]
      ?.trim();
    const target =
      pinned !== undefined && members.includes(pinned)
        ? pinned
        : members.includes(r.authority)
          ? r.authority
          : members[this.rrCallout++ % Math.max(1, members.length)];
    if (!target) return Promise.reject(new Error(`cluster ${r.cluster} has no members`));
    const [hostname, port] = splitAddress(target);
    const headers: Record<string, string> = {};
    for (const [k, v] of r.headers) if (!k.startsWith(":") && !HOP_BY_HOP.has(k)) headers[k] = v;
    headers.host = r.authority;
    return new Promise((resolve, reject) => {
      const req = http.request(
        { hostname, port, method: r.method, path: r.path, headers, agent: this.agent, timeout: r.timeoutMs || 5000 },
        (res) => {
          const chunks: Buffer[] = [];
          res.on("data", (c: Buffer) => chunks.push(c));
          res.on("end", () =>
            resolve({ status: res.statusCode ?? 502, headers: responsePairs(res), body: new Uint8Array(Buffer.concat(chunks)) }),
          );
          res.on("error", reject);
        },
      );
      req.on("timeout", () => req.destroy(new Error("timeout")));
      req.on("error", reject);
      req.end(Buffer.from(r.body));
    });
  }

  // ------------------------------------------------------------------ data path
  private count(map: Map<number, number>, status: number): void {
    map.set(status, (map.get(status) ?? 0) + 1);
  }

  /**
   * One stream, HTTP/1.1 or HTTP/2, as Envoy's HTTP connection manager runs it: request headers and body chunks
   * go through the filter as they arrive (so ModelStreamInfer streams both ways); once the filter lets the headers
   * through, the upstream is chosen from what it wrote and the request is forwarded (HTTP/2 upstream for an HTTP/2
   * client, as for gRPC in the mesh), the rest of the body following as the filter releases it. The response
   * (headers, body, trailers) goes back through the filter's response callbacks.
   */
  private async handle(d: Downstream): Promise<void> {
    this.requests++;
    const h = new HeaderMap({ ":method": d.method, ":path": d.path, ":authority": d.authority, ":scheme": "http" });
    for (const [k, v] of d.headers) h.add(k, v);
    if (!h.has("x-request-id")) h.add("x-request-id", randomUUID());
    h.replace("x-forwarded-proto", "http");
    const grpc = (h.get("content-type") ?? "").toLowerCase().startsWith("application/grpc");
    const s = this.proxy.newStream(this.proxy.nextWorker());
    s.protocol = d.protocol;
    let routed: Routed | undefined;
    let up: UpstreamCall | undefined;
    let upSent = 0;
    let upEnded = false;
    let finished = false;
    /** The gateway itself answered (no cluster, connect failure, timeout): an Envoy router local reply. */
    let gatewayReply = false;
    let sent = 0;
    const finish = () => {
      if (!finished) {
        finished = true;
        if (!s.completed) s.complete();
      }
    };
    const writeOut = () => {
      if (!d.headersSent && s.downstreamHeaders) {
        const dh = s.downstreamHeaders;
        const status = Number(dh.get(":status") ?? 502);
        const out: OutHeaders = {};
        for (const [k, v] of dh.entries()) {
          if (k.startsWith(":") || HOP_BY_HOP.has(k) || k === "content-length") continue;
          const prev = out[k];
          out[k] = prev === undefined ? v : Array.isArray(prev) ? [...prev, v] : [prev, v];
        }
        if (routed) out["x-inference-router-upstream"] = `${routed.pool}/${routed.address}`;
        const bodyBytes = s.response.outBody.reduce((n, c) => n + c.length, 0);
        if (grpc && (s.localReply || gatewayReply)) {
          // Envoy answers a gRPC request's local reply in trailers-only form: :status 200, content-type
          // application/grpc, grpc-status (the one given, else mapped from the HTTP status), grpc-message = the
          // percent-encoded body, no body, end of stream on the headers. envoyproxy/envoy
          // source/common/http/utility.cc @ 0075dc33dd44a3fe0e14021eec517ce97b3f6159 (prepareLocalReply,
          // encodeLocalReply); the mapping: source/common/grpc/status.cc @ 522e4f4cab63c88af4231a7376c5f3090d1d372b.
          const body = new TextDecoder().decode(Buffer.concat(s.response.outBody));
          out["content-type"] = "application/grpc";
          if (out["grpc-status"] === undefined) out["grpc-status"] = String(httpToGrpcStatus(status));
          if (body) out["grpc-message"] = grpcMessage(body);
          d.respond(200, out, true);
          this.count(this.responses, status);
          return;
        }
        const eos = s.responseComplete && bodyBytes === 0 && !s.downstreamTrailers;
        if (s.responseComplete && !grpc) out["content-length"] = String(bodyBytes);
        d.respond(status, out, eos);
        this.count(this.responses, status);
      }
      if (!d.headersSent || d.ended) return;
      const chunks = s.response.outBody;
      for (; sent < chunks.length; sent++) if (chunks[sent]!.length) d.write(chunks[sent]!);
      if (s.responseComplete) d.end(s.downstreamTrailers?.entries().filter(([k]) => !k.startsWith(":")));
    };
    /** Sends what the filter released of the request body to the upstream; ends it with the request. */
    const forward = () => {
      if (!up || upEnded) return;
      const chunks = s.request.outBody;
      const fresh: Uint8Array[] = [];
      for (; upSent < chunks.length; upSent++) if (chunks[upSent]!.length) fresh.push(chunks[upSent]!);
      // A request that is whole goes out in one write with its end (one segment, as before streaming).
      if (s.requestCompleteAtRouter) {
        upEnded = true;
        up.end(fresh.length ? Buffer.concat(fresh) : undefined);
      } else for (const c of fresh) up.write(c);
    };
    d.onAbort(() => {
      up?.destroy();
      if (!s.completed) s.reset();
      finished = true;
    });

    // ---- request: headers, then body chunks as they arrive
    let size = 0;
    s.sendRequestHeaders(h, d.endStream);
    if (!d.endStream && d.protocol === "HTTP/1.1") {
      // HTTP/1.1 clients of the inference APIs send whole bodies: hand the filter the body in one piece at its end.
      const parts: Buffer[] = [];
      d.onData((c) => {
        size += c.length;
        if (size > MAX_BODY) {
          if (!s.completed) s.reset("request_payload_too_large");
          if (!d.headersSent) {
            d.respond(413, { "content-type": "text/plain" }, false);
            d.write(Buffer.from("payload too large\n"));
            d.end();
            this.count(this.responses, 413);
          }
          return;
        }
        parts.push(c);
      });
      d.onEnd((trailers) => {
        if (s.completed || size > MAX_BODY) return;
        s.sendRequestBody(new Uint8Array(Buffer.concat(parts)), !trailers?.length);
        if (trailers?.length) s.sendRequestTrailers(trailers);
        forward();
      });
    } else if (!d.endStream) {
      d.onData((c) => {
        if (s.completed) return;
        size += c.length;
        if (size > MAX_BODY) {
          s.reset("request_payload_too_large");
          if (!d.headersSent) {
            d.respond(413, { "content-type": "text/plain" }, false);
            d.write(Buffer.from("payload too large\n"));
            d.end();
            this.count(this.responses, 413);
          } else d.destroy();
          up?.destroy();
          return;
        }
        s.sendRequestBody(new Uint8Array(c), false);
        forward();
      });
      d.onEnd((trailers) => {
        if (s.completed) return;
        if (trailers?.length) s.sendRequestTrailers(trailers);
        else s.sendRequestBody(new Uint8Array(0), true);
        forward();
      });
    }
    // Held streams (body mode) are released by the filter; bound the wait like Envoy's stream idle timeout.
    const timer = setTimeout(() => {
      if (!s.reachedRouter && !s.localReply && !s.completed) {
        s.reset("stream_idle_timeout");
        if (!d.headersSent) {
          d.respond(504, {}, true);
        }
      }
    }, 30_000);
    await s.waitFor(() => s.reachedRouter || s.localReply !== undefined || s.completed || s.responseComplete);
    clearTimeout(timer);
    if (s.completed && !s.responseComplete) return;
    if (!s.reachedRouter || s.localReply) {
      // Local reply (or fail-closed 503): it already went through the filter's response callbacks.
      if (s.localReply) this.count(this.localReplies, s.localReply.status);
      await s.waitFor(() => s.responseComplete || s.completed);
      writeOut();
      if (!d.ended) d.end();
      finish();
      return;
    }
    const rh = s.routerRequestHeaders!;
    if (this.isModelList(rh)) {
      await s.waitFor(() => s.requestCompleteAtRouter || s.completed);
      await (grpc ? this.grpcIndex(s, rh) : this.modelList(s, rh));
      writeOut();
      finish();
      return;
    }
    routed = this.route(rh);
    if (!routed) {
      // Envoy: cluster_header names no cluster → 503 (NC); the reply is encoded through the filter.
      gatewayReply = true;
      s.sendResponseHeaders({ ":status": "503", "content-type": "text/plain", "content-length": "0" }, true);
      writeOut();
      if (!d.ended) d.end();
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
    const localError = (status: number, text: string) => {
      if (!s.responseStarted) {
        gatewayReply = true;
        s.sendResponseHeaders({ ":status": String(status), "content-type": "text/plain", "content-length": String(text.length) }, false);
        s.sendResponseBody(text, true);
        writeOut();
      } else if (!s.completed) {
        s.reset("upstream_reset_after_response_started");
        d.destroy();
      }
      finish();
    };
    const headers: Array<[string, string]> = rh.entries().filter(([k]) => !k.startsWith(":") && !HOP_BY_HOP.has(k));
    const req = {
      address: routed.address,
      method: rh.get(":method") ?? "GET",
      path: rh.get(":path") ?? "/",
      authority: rh.get(":authority") ?? routed.address,
      headers,
      timeoutMs: this.options.upstreamTimeoutMs ?? 300_000,
    };
    let streaming = false;
    const handlers: UpstreamHandlers = {
      response: (status, pairs, eos) => {
        const uh = new HeaderMap({ ":status": String(status) });
        for (const [k, v] of pairs) uh.add(k, v);
        streaming = (uh.get("content-type") ?? "").includes("event-stream") || grpc;
        s.sendResponseHeaders(uh, eos);
        if (eos) settle(status < 500);
        writeOut();
        if (eos) finish();
      },
      data: (c) => {
        if (streaming) firstByte ??= performance.now();
        s.sendResponseBody(new Uint8Array(c), false);
        writeOut();
      },
      end: (trailers) => {
        if (!s.responseComplete) {
          if (trailers?.length) s.sendResponseTrailers(trailers);
          else s.sendResponseBody(new Uint8Array(0), true);
        }
        settle(Number(s.responseHeaders?.get(":status") ?? 502) < 500);
        writeOut();
        if (!d.ended) d.end();
        finish();
      },
      error: (kind) => {
        if (done) return;
        settle(false);
        if (kind === "timeout") localError(504, "upstream request timeout");
        else
          localError(
            503,
            `upstream connect error or disconnect/reset before headers. reset reason: ${kind === "connect" ? "connection failure" : "connection termination"}`,
          );
      },
    };
    if (d.protocol === "HTTP/2")
      up = this.h2pool.request(req, handlers, s.requestCompleteAtRouter && s.request.outBody.every((c) => c.length === 0));
    else {
      // HTTP/1.1 upstream: the body is whole by now unless the filter streams it; send its length when known.
      const known = s.requestCompleteAtRouter ? s.request.outBody.reduce((n, c) => n + c.length, 0) : undefined;
      up = http1Upstream(this.agent, req, handlers, known !== undefined && (known > 0 || req.method !== "GET") ? known : undefined);
    }
    if (d.protocol === "HTTP/2" && s.requestCompleteAtRouter && s.request.outBody.every((c) => c.length === 0)) upEnded = true;
    forward();
  }

  // ------------------------------------------------------------------ model lists (a local-gateway convenience)
  /** GET /v1/models and POST /v2/repository/index: a client pointed at one base URL expects every model behind it. */
  private isModelList(h: HeaderMap): boolean {
    const path = (h.get(":path") ?? "").split("?")[0];
    const m = h.get(":method");
    if (m === "POST" && path === GRPC_INDEX_PATH) return (h.get("content-type") ?? "").toLowerCase().startsWith("application/grpc");
    return (m === "GET" && path === "/v1/models") || (m === "POST" && path === "/v2/repository/index");
  }

  /**
   * gRPC RepositoryIndex, merged like the REST index: the client's request message goes unchanged to one member of
   * each pool (the first that answers grpc-status 0), and the `models` lists are joined, an entry per model name and
   * version (Triton lists each version of a model on its own). Servers without the gRPC service (vLLM) add nothing.
   */
  private async grpcIndex(s: HttpStream, h: HeaderMap): Promise<void> {
    const request = Buffer.concat(s.request.outBody);
    const type = repositoryIndexResponse();
    const seen = new Set<string>();
    const merged: Array<{ name?: string; version?: string }> = [];
    for (const p of this.options.router.pools) {
      for (const address of this.clusters.get(p.name) ?? []) {
        const message = await this.grpcUnary(address, h.get(":authority") ?? address, GRPC_INDEX_PATH, request).catch(() => undefined);
        if (!message) continue;
        let models: Array<{ name?: string; version?: string }>;
        try {
          models = (type.toObject(type.decode(message), { arrays: true }) as { models: typeof models }).models;
        } catch {
          continue;
        }
        for (const m of models) {
          const key = `${m.name ?? ""}\u0000${m.version ?? ""}`;
          if (!seen.has(key)) {
            seen.add(key);
            merged.push(m);
          }
        }
        break;
      }
    }
    s.sendResponseHeaders({ ":status": "200", "content-type": "application/grpc" }, false);
    s.sendResponseBody(new Uint8Array(frame(type.encode(type.fromObject({ models: merged })).finish())), false);
    s.sendResponseTrailers({ "grpc-status": "0" });
  }

  /** One unary gRPC call over h2c: the response message when the server answers grpc-status 0, else a rejection. */
  private grpcUnary(address: string, authority: string, path: string, request: Buffer): Promise<Buffer> {
    return new Promise((resolve, reject) => {
      const chunks: Buffer[] = [];
      let status: string | undefined;
      let httpStatus = 0;
      const call = this.h2pool.request(
        {
          address,
          method: "POST",
          path,
          authority,
          headers: [
            ["content-type", "application/grpc"],
            ["te", "trailers"],
          ],
          timeoutMs: 2000,
        },
        {
          response: (st, headers, endStream) => {
            httpStatus = st;
            status = headers.find(([k]) => k === "grpc-status")?.[1];
            if (endStream) reject(new Error(`grpc trailers-only ${st} ${status}`)); // no message: an error status
          },
          data: (c) => chunks.push(c),
          end: (trailers) => {
            status = trailers?.find(([k]) => k === "grpc-status")?.[1] ?? status;
            const body = Buffer.concat(chunks);
            // One length-prefixed, uncompressed message.
            if (httpStatus !== 200 || status !== "0" || body.length < 5 || body[0] !== 0 || body.readUInt32BE(1) !== body.length - 5)
              reject(new Error(`grpc ${httpStatus} ${status}`));
            else resolve(body.subarray(5));
          },
          error: (kind) => reject(new Error(kind)),
        },
        false,
      );
      call.end(request);
    });
  }

  /**
   * Answers a model list with the union of what the pools serve: asks one member of each pool (the first that
   * answers 200) and merges the lists by model name. Not something Envoy does — in a mesh the list comes from
   * whichever server the route picks; here the local gateway stands for the whole deployment.
   */
  private async modelList(s: HttpStream, h: HeaderMap): Promise<void> {
    const openai = h.get(":method") === "GET";
    const path = h.get(":path") ?? "/";
    const seen = new Set<string>();
    const merged: unknown[] = [];
    for (const p of this.options.router.pools) {
      for (const address of this.clusters.get(p.name) ?? []) {
        const r = await this.callout({
          cluster: p.name,
          authority: address,
          headers: [["accept", "application/json"], ...(openai ? [] : [["content-type", "application/json"] as [string, string]])],
          method: openai ? "GET" : "POST",
          path,
          body: new TextEncoder().encode(openai ? "" : "{}"),
          timeoutMs: 2000,
        }).catch(() => undefined);
        if (!r || r.status !== 200) continue;
        let j: unknown;
        try {
          j = JSON.parse(typeof r.body === "string" ? r.body : new TextDecoder().decode(r.body ?? new Uint8Array(0)));
        } catch {
          continue;
        }
        const list = openai ? (j as { data?: unknown }).data : j;
        if (!Array.isArray(list)) continue;
        for (const e of list) {
          const id = (e as { id?: unknown; name?: unknown })?.[openai ? "id" : "name"];
          if (typeof id === "string" && !seen.has(id)) {
            seen.add(id);
            merged.push(e);
          }
        }
        break;
      }
    }
    const text = JSON.stringify(openai ? { object: "list", data: merged } : merged);
    s.sendResponseHeaders(
      { ":status": "200", "content-type": "application/json", "content-length": String(Buffer.byteLength(text)) },
      false,
    );
    s.sendResponseBody(text, true);
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
    for (const u of all)
      for (const q of [50, 90, 99])
        lines.push(`inference_gateway_upstream_rq_time_ms{${lbl(u)},quantile="${q / 100}"} ${Math.round(u.latencyMs.percentile(q) ?? 0)}`);
    fam("inference_gateway_upstream_ttft_ms", "summary", "Streaming (text/event-stream) responses: time to the first body byte (ms).");
    for (const u of all)
      for (const q of [50, 90, 99])
        lines.push(`inference_gateway_upstream_ttft_ms{${lbl(u)},quantile="${q / 100}"} ${Math.round(u.ttftMs.percentile(q) ?? 0)}`);
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
        pool: u.pool,
        address: u.address,
        gpu: u.gpu,
        active: u.active,
        requests: u.requests,
        errors: u.errors,
        p50ms: u.latencyMs.percentile(50),
        p99ms: u.latencyMs.percentile(99),
        ttftP50ms: u.ttftMs.percentile(50),
        ttftP99ms: u.ttftMs.percentile(99),
      })),
      filter: this.proxy.metrics(),
    };
  }

  private handleAdmin(req: http.IncomingMessage, res: http.ServerResponse): void {
    const p = new URL(req.url ?? "/", "http://admin").pathname;
    const send = (status: number, type: string, text: string) => {
      res.writeHead(status, { "content-type": type, "content-length": Buffer.byteLength(text) });
      res.end(text);
    };
    if (p === "/stats/prometheus") send(200, "text/plain; version=0.0.4", `${this.proxy.prometheus()}${this.gatewayPrometheus()}`);
    else if (p === "/stats")
      send(
        200,
        "application/json",
        `${JSON.stringify(this.statsJson(), (_k, v: unknown) => (typeof v === "bigint" ? Number(v) : v), 2)}\n`,
      );
    else if (p === "/ready") send(200, "text/plain", "LIVE\n");
    else if (p === "/upstreams") send(200, "application/json", `${JSON.stringify(Object.fromEntries(this.clusters), null, 2)}\n`);
    else send(404, "text/plain", "admin: /stats/prometheus /stats /ready /upstreams\n");
  }
}

/** Envoy's Grpc::Utility::httpToGrpcStatus (source/common/grpc/status.cc, see writeOut). */
export function httpToGrpcStatus(status: number): number {
  switch (status) {
    case 400:
      return 13; // INTERNAL
    case 401:
      return 16; // UNAUTHENTICATED
    case 403:
      return 7; // PERMISSION_DENIED
    case 404:
      return 12; // UNIMPLEMENTED
    case 429:
    case 502:
    case 503:
    case 504:
      return 14; // UNAVAILABLE
    default:
      return 2; // UNKNOWN
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

function listen(server: http.Server, port: number, host: string): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => {
      server.off("error", reject);
      resolve();
    });
  });
}

function closeServer(server: http.Server): Promise<void> {
  return new Promise((resolve) => server.close(() => resolve()));
}

const GRPC_INDEX_PATH = "/inference.GRPCInferenceService/RepositoryIndex";
let indexType: protobuf.Type | undefined;
/** inference.RepositoryIndexResponse from the KServe v2 proto (loaded once, on the first gRPC index call). */
function repositoryIndexResponse(): protobuf.Type {
  indexType ??= protobuf.loadSync(PROTO_PATH).lookupType("inference.RepositoryIndexResponse");
  return indexType;
}
