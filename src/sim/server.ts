// `inference-router simulate`: a model server around GpuServerModel, driven by the wall clock. One port speaks
// HTTP/1.1 and HTTP/2 cleartext (h2c.ts); gRPC (grpc.ts) rides on HTTP/2. Each engine answers the routes the real
// server has, with its request/response shapes and error bodies (routes.ts lists them with their sources):
//   vllm        OpenAI chat / completions / embeddings / Responses, Anthropic Messages, legacy /generate,
//               rerank and score, /v1/models, /health, /metrics (vLLM names)
//   sglang      native /generate, OpenAI chat / completions / embeddings, /get_model_info, /metrics (SGLang names)
//   tgi         /generate, /generate_stream, POST / (compat), OpenAI chat / completions, /info, /metrics (TGI names)
//   triton      KServe v2 REST (+ generate extension) and gRPC inference.GRPCInferenceService, /metrics (Triton names)
//   kserve      KServe Python model server: v1 (:predict / :explain) and v2 REST, v2 gRPC
//   torchserve  /predictions/{m}[/{v}], /explanations/{m}, /ping
//   tfserving   /v1/models/{m}[/versions/{v}|/labels/{l}]:predict|:classify|:regress, model status and metadata
// Every response carries `x-simulator: <name>` so a test or a user can see which server answered.
// ORCA: where the real server does (vLLM, Triton: `orca` in src/config/engines.ts), an `endpoint-load-metrics`
// response header is sent only when the request asks for it with `endpoint-load-metrics-format: TEXT|JSON` (see
// orcaHeader below).
// Fault switches: POST /admin/fault {slowdown, failureRate, dead, metricsGarbage, metricsDown, metricsStatus}; GET /admin/state.
// metricsDown answers /metrics with metricsStatus (default 503; e.g. 404 for an endpoint that went away).
//
// Request sizing: prompt tokens = ceil(chars / 4) of the message/prompt text (+4 per chat message); the prefix
// identity is a hash of the first chat message (the system prompt) and its tokens skip prefill when cached.
// Output tokens = the request's max tokens field of its protocol (default 64, at most 4096). Tensor protocols
// (KServe, TorchServe, TF Serving, ModelInfer without text) are prefill-only jobs sized by their body.
import { createHash } from "node:crypto";
import http from "node:http";
import http2 from "node:http2";
import { GpuServerModel, type GpuServerSpec, type SimEvent } from "./model.js";
import { genericMetrics, newModelCounters, sglangMetrics, tgiMetrics, tritonMetrics, vllmMetrics, type ModelCounters } from "./metrics.js";
import { createDualServer, h2Exchange, type DualServer, type H2Request } from "./h2c.js";
import { GrpcService } from "./grpc.js";
import { routeFor, type Call, type Res } from "./routes.js";
import { SIMULATOR_ENGINES, type SimulatorKind } from "../config/engines.js";

/** A simulated server kind: the engine list is src/config/engines.ts (SIMULATOR_ENGINES). */
export type Engine = SimulatorKind;

export interface SimulatorOptions extends GpuServerSpec {
  port?: number;
  host?: string;
  engine?: Engine;
  /** Honour `endpoint-load-metrics-format` (ORCA) where the engine does (vLLM, Triton; default true). */
  orca?: boolean;
  /** Name sent in `x-simulator` and shown in /admin/state. */
  name?: string;
  /** Default output tokens when the request names none. */
  defaultMaxTokens?: number;
  /** Streaming flush period (ms). */
  streamIntervalMs?: number;
}

export interface FaultState {
  slowdown: number;
  failureRate: number;
  dead: boolean;
  metricsGarbage: boolean;
  metricsDown: boolean;
  /** Status /metrics answers while metricsDown (default 503). */
  metricsStatus: number;
}

type Complete = Extract<SimEvent, { type: "complete" }>;
type Failure = Extract<SimEvent, { type: "error" }>;

interface Waiter {
  onFirst?: (e: Extract<SimEvent, { type: "first_token" }>) => void;
  onDone: (e: Complete) => void;
  onError: (e: Failure) => void;
}

export interface Job {
  model: string;
  promptTokens: number;
  maxTokens: number;
  prefixId?: string;
  prefixTokens?: number;
}

/** Where a job's output goes: the HTTP and gRPC front ends each implement one. */
export interface Sink {
  stream: boolean;
  /** Streaming: one generated token (text, index), in order. */
  token?(text: string, index: number): void;
  done(text: string, e: Complete): void;
  fail(e: Failure): void;
  /** False once the client went away: nothing more is written. */
  alive(): boolean;
}

const MAX_BODY = 8 * 1024 * 1024;
const WORDS = [
  "the",
  "GPU",
  "routes",
  "tokens",
  "quickly",
  "and",
  "a",
  "model",
  "answers",
  "with",
  "care",
  "while",
  "batches",
  "grow",
  "cache",
  "hits",
];

export function tokenText(i: number): string {
  return `${i === 0 ? "" : " "}${WORDS[(i * 7 + 3) % WORDS.length]}`;
}

export function outputText(n: number): string {
  return Array.from({ length: n }, (_, i) => tokenText(i)).join("");
}

export function estimateTokens(text: string): number {
  return Math.max(1, Math.ceil(text.length / 4));
}

export function hashText(text: string): string {
  return createHash("sha1").update(text).digest("hex").slice(0, 16);
}

/** Python's repr of a float, as vLLM writes ORCA values (3 → "3.0"). */
function pyFloat(v: number): string {
  return Number.isInteger(v) ? v.toFixed(1) : String(v);
}

/** The ORCA format a request asks for with `endpoint-load-metrics-format` (TEXT or JSON, any case), as vLLM reads it. */
function orcaFormat(requested: string | string[] | undefined): "text" | "json" | undefined {
  const fmt = (Array.isArray(requested) ? requested[0] : requested)?.toLowerCase();
  return fmt === "text" || fmt === "json" ? fmt : undefined;
}

/** The `endpoint-load-metrics` value vLLM writes for these named metrics in the requested format (see
 *  Simulator.orcaHeader); undefined when the request did not ask for a report. Also used by the benchmark. */
export function orcaReport(requested: string | string[] | undefined, named: Array<[string, number]>): string | undefined {
  const fmt = orcaFormat(requested);
  if (fmt === undefined) return undefined;
  return fmt === "text"
    ? `TEXT ${named.map(([k, v]) => `named_metrics.${k}=${pyFloat(v)}`).join(", ")}`
    : `JSON {"named_metrics": {${named.map(([k, v]) => `${JSON.stringify(k)}: ${pyFloat(v)}`).join(", ")}}}`;
}

export class Simulator {
  readonly model: GpuServerModel;
  readonly engine: Engine;
  readonly faults: FaultState = { slowdown: 1, failureRate: 0, dead: false, metricsGarbage: false, metricsDown: false, metricsStatus: 503 };
  readonly counters = new Map<string, ModelCounters>();
  /** The HTTP/1.1 server (requests on h2c connections go to `h2`). */
  readonly server: http.Server;
  readonly h2: http2.Http2Server;
  private readonly listener: DualServer;
  private readonly grpc: GrpcService;
  private readonly waiters = new Map<string, Waiter>();
  private readonly origin = performance.now();
  private timer: NodeJS.Timeout | undefined;
  private timerAt = Infinity;
  private nextId = 0;
  readonly defaultMaxTokens: number;
  private readonly streamIntervalMs: number;
  private closed = false;
  requests = 0;

  constructor(readonly options: SimulatorOptions = {}) {
    this.model = new GpuServerModel(options);
    this.engine = options.engine ?? "vllm";
    if (!SIMULATOR_ENGINES.includes(this.engine))
      throw new Error(`unknown engine "${String(this.engine)}" (one of ${SIMULATOR_ENGINES.join(", ")})`);
    this.defaultMaxTokens = options.defaultMaxTokens ?? 64;
    this.streamIntervalMs = options.streamIntervalMs ?? 25;
    for (const m of this.model.spec.models) this.counters.set(m, newModelCounters());
    this.server = http.createServer((req, res) => this.handle(req, res));
    this.server.keepAliveTimeout = 30_000;
    this.grpc = new GrpcService(this);
    this.h2 = http2.createServer();
    this.h2.on("stream", (stream: http2.ServerHttp2Stream, headers: http2.IncomingHttpHeaders) => {
      if (this.grpc.matches(headers)) {
        this.grpc.handle(stream, headers);
        return;
      }
      const { req, res } = h2Exchange(stream, headers);
      this.handle(req, res);
    });
    this.listener = createDualServer(this.server, this.h2);
  }

  get models(): string[] {
    return this.model.spec.models;
  }
  get name(): string {
    return this.options.name ?? `sim-${this.model.spec.gpu}`;
  }
  get dead(): boolean {
    return this.faults.dead;
  }

  /** Listens (port 0 = ephemeral); resolves with the bound port. */
  listen(port = this.options.port ?? 0, host = this.options.host ?? "127.0.0.1"): Promise<number> {
    return this.listener.listen(port, host);
  }

  get port(): number {
    return this.listener.port;
  }
  get address(): string {
    return `127.0.0.1:${this.port}`;
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    await this.listener.close();
  }

  /** Model clock: milliseconds since the simulator started (monotonic). */
  now(): number {
    return performance.now() - this.origin;
  }

  setFaults(f: Partial<FaultState>): void {
    const now = this.now();
    if (typeof f.slowdown === "number" && f.slowdown > 0) {
      this.model.advanceTo(now).forEach((e) => this.dispatch(e));
      this.model.setSlowdown(f.slowdown);
      this.faults.slowdown = f.slowdown;
    }
    if (typeof f.failureRate === "number") {
      this.model.setFailureRate(f.failureRate);
      this.faults.failureRate = Math.min(1, Math.max(0, f.failureRate));
    }
    if (typeof f.dead === "boolean" && f.dead !== this.faults.dead) {
      if (f.dead) this.model.kill(now);
      else this.model.revive(now);
      this.faults.dead = f.dead;
    }
    if (typeof f.metricsGarbage === "boolean") this.faults.metricsGarbage = f.metricsGarbage;
    if (typeof f.metricsDown === "boolean") this.faults.metricsDown = f.metricsDown;
    if (typeof f.metricsStatus === "number" && Number.isInteger(f.metricsStatus) && f.metricsStatus >= 400 && f.metricsStatus <= 599)
      this.faults.metricsStatus = f.metricsStatus;
    this.pump();
  }

  // ------------------------------------------------------------------ model driving
  private pump(): void {
    if (this.closed) return;
    for (const e of this.model.advanceTo(this.now())) this.dispatch(e);
    const next = this.model.nextEventMs();
    if (next === undefined) return;
    if (this.timer && next >= this.timerAt) return;
    if (this.timer) clearTimeout(this.timer);
    this.timerAt = next;
    this.timer = setTimeout(
      () => {
        this.timer = undefined;
        this.timerAt = Infinity;
        this.pump();
      },
      Math.max(0, next - this.now()),
    );
  }

  private dispatch(e: SimEvent): void {
    const w = this.waiters.get(String(e.id));
    const c = e.type === "first_token" ? undefined : this.countersFor(e.model);
    if (e.type === "complete" && c) {
      c.success++;
      c.promptTokens += e.promptTokens;
      c.generationTokens += e.outputTokens;
      c.e2e.observe(e.e2eMs / 1000);
      c.ttft.observe(e.ttftMs / 1000);
      c.queue.observe(e.queueMs / 1000);
      c.requestUs += e.e2eMs * 1000;
      c.queueUs += e.queueMs * 1000;
      c.computeUs += (e.e2eMs - e.queueMs) * 1000;
    }
    if (e.type === "error" && c) c.failure++;
    if (!w) return;
    if (e.type === "first_token") w.onFirst?.(e);
    else {
      this.waiters.delete(String(e.id));
      if (e.type === "complete") w.onDone(e);
      else w.onError(e);
    }
  }

  private countersFor(model: string): ModelCounters {
    let c = this.counters.get(model);
    if (!c) {
      c = newModelCounters();
      this.counters.set(model, c);
    }
    return c;
  }

  /** Runs a job through the latency model; streaming sinks get each token as the model produces it. */
  execute(job: Job, sink: Sink): void {
    this.requests++;
    const id = `r${++this.nextId}`;
    let sent = 0;
    let interval: NodeJS.Timeout | undefined;
    const stop = () => {
      if (interval) clearInterval(interval);
      interval = undefined;
    };
    const flush = (upTo: number) => {
      if (!sink.token) return;
      for (; sent < upTo && sink.alive(); sent++) sink.token(tokenText(sent), sent);
    };
    this.waiters.set(id, {
      onFirst: () => {
        if (!sink.stream || !sink.alive()) return;
        flush(this.model.progress(id).generated);
        interval = setInterval(() => {
          this.pump();
          if (sink.alive()) flush(this.model.progress(id).generated);
          else stop();
        }, this.streamIntervalMs);
        interval.unref();
      },
      onDone: (e) => {
        stop();
        if (!sink.alive()) return;
        if (sink.stream) flush(e.outputTokens);
        sink.done(outputText(e.outputTokens), e);
      },
      onError: (e) => {
        stop();
        if (sink.alive()) sink.fail(e);
      },
    });
    this.model.submit(
      {
        id,
        model: job.model,
        promptTokens: job.promptTokens,
        maxTokens: job.maxTokens,
        ...(job.prefixId ? { prefixId: job.prefixId, prefixTokens: job.prefixTokens ?? job.promptTokens } : {}),
      },
      this.now(),
    );
    this.pump();
  }

  // ------------------------------------------------------------------ ORCA
  /**
   * The `endpoint-load-metrics` header a request asked for, or none. vLLM reads `endpoint-load-metrics-format`
   * and, for TEXT or JSON (any case), attaches the report to successful non-streaming chat and completion
   * responses; any other value, or no header, gets no report. Named metrics are vLLM's gauges
   * `num_requests_waiting` and `kv_cache_usage_perc` as Python floats, TEXT as "named_metrics.<k>=<v>" pairs joined
   * by ", ", JSON as json.dumps({"named_metrics": {...}}). Source: vllm-project/vllm
   * vllm/entrypoints/serve/utils/orca_metrics.py @ 7be59d7621e2872dfb0a37130aceca4ba2c208cb (create_orca_header,
   * get_named_metrics_from_prometheus) and vllm/entrypoints/openai/chat_completion/api_router.py @
   * c0bc59655a4068c08621bcac8ab67b39cd2ec173 (header only on a ChatCompletionResponse, not on streams or errors).
   * Triton (TRT-LLM backend) answers the same request header on inference responses with
   * `named_metrics.kv_cache_utilization` (triton-inference-server/server docs/user_guide/metrics.md, ORCA section).
   */
  orcaHeader(requested: string | string[] | undefined): Record<string, string> {
    if (this.options.orca === false || orcaFormat(requested) === undefined) return {};
    const s = this.model.stats(this.now());
    const named: Array<[string, number]> =
      this.engine === "triton"
        ? [
            ["kv_cache_utilization", s.kvCacheUsage],
            ["max_token_capacity", s.kvCapacityTokens],
          ]
        : [
            ["num_requests_waiting", s.waiting],
            ["kv_cache_usage_perc", s.kvCacheUsage],
          ];
    return { "endpoint-load-metrics": orcaReport(requested, named)! };
  }

  // ------------------------------------------------------------------ HTTP
  private handle(req: http.IncomingMessage | H2Request, res: Res): void {
    const url = new URL(req.url ?? "/", "http://sim");
    const chunks: Buffer[] = [];
    let size = 0;
    res.setHeader("x-simulator", this.name);
    req.on("data", (c: Buffer) => {
      size += c.length;
      if (size <= MAX_BODY) chunks.push(c);
    });
    req.on("end", () => {
      const call: Call = { method: req.method ?? "GET", path: url.pathname, url, headers: req.headers, raw: "", res, sim: this };
      if (size > MAX_BODY) {
        res.writeHead(413, { "content-type": "application/json" });
        res.end(JSON.stringify({ error: "request body too large" }));
        return;
      }
      call.raw = Buffer.concat(chunks).toString("utf8");
      if (call.path.startsWith("/admin/")) {
        this.admin(call);
        return;
      }
      if (this.faults.dead) {
        abort(req, res);
        return;
      } // a dead server resets every connection
      if (call.method === "GET" && this.metricsPaths().includes(call.path)) {
        this.metrics(res);
        return;
      }
      try {
        const handler = routeFor(this.engine, call);
        if (handler) handler(call);
        else {
          res.writeHead(404, { "content-type": "application/json" });
          res.end(JSON.stringify({ error: `no route for ${call.method} ${call.path} on a ${this.engine} server` }));
        }
      } catch (e) {
        if (!res.headersSent) {
          res.writeHead(500, { "content-type": "application/json" });
          res.end(JSON.stringify({ error: String((e as Error).message) }));
        }
      }
    });
  }

  private metricsPaths(): string[] {
    // TF Serving exposes Prometheus metrics at the path its monitoring config names; this is the documented one.
    return this.engine === "tfserving" ? ["/metrics", "/monitoring/prometheus/metrics"] : ["/metrics"];
  }

  private admin(c: Call): void {
    const send = (status: number, body: unknown) => {
      const t = JSON.stringify(body);
      c.res.writeHead(status, { "content-type": "application/json", "content-length": Buffer.byteLength(t) });
      c.res.end(t);
    };
    if (c.path === "/admin/fault" && c.method === "POST") {
      let body: Partial<FaultState>;
      try {
        body = c.raw ? (JSON.parse(c.raw) as Partial<FaultState>) : {};
      } catch {
        send(400, { error: "body must be JSON" });
        return;
      }
      this.setFaults(body);
      send(200, this.faults);
      return;
    }
    if (c.path === "/admin/state") {
      send(200, {
        name: this.name,
        gpu: this.model.spec.gpu,
        speed: this.model.spec.speed,
        engine: this.engine,
        models: this.models,
        faults: this.faults,
        stats: this.model.stats(this.now()),
        requests: this.requests,
      });
      return;
    }
    send(404, { error: `no admin route ${c.path}` });
  }

  private metrics(res: Res): void {
    if (this.faults.metricsDown) {
      res.writeHead(this.faults.metricsStatus, { "content-type": "text/plain" });
      res.end("metrics unavailable\n");
      return;
    }
    if (this.faults.metricsGarbage) {
      res.writeHead(200, { "content-type": "text/plain; version=0.0.4" });
      res.end('vllm:num_requests_waiting{model_name="x" NaN\n\u0000garbage{{{ 12 34\nvllm:kv_cache_usage_perc -7e999\n');
      return;
    }
    const stats = this.model.stats(this.now());
    const lora = (list: string[]) => [...new Set(list.filter((m) => m.includes(":")))];
    const perModelRunning = Object.entries(stats.perModel)
      .filter(([, v]) => v.running > 0)
      .map(([m]) => m);
    const perModelWaiting = Object.entries(stats.perModel)
      .filter(([, v]) => v.waiting > 0)
      .map(([m]) => m);
    const input = {
      stats,
      models: this.models,
      perModel: this.counters,
      blockSize: this.model.spec.blockSize,
      maxBatch: this.model.spec.maxBatch,
      gpu: this.model.spec.gpu,
      nowSeconds: Math.floor(Date.now() / 1000),
      runningLora: lora(perModelRunning),
      waitingLora: lora(perModelWaiting),
    };
    const render = {
      vllm: vllmMetrics,
      triton: tritonMetrics,
      sglang: sglangMetrics,
      tgi: tgiMetrics,
      kserve: genericMetrics,
      torchserve: genericMetrics,
      tfserving: genericMetrics,
    }[this.engine];
    const text = render(input);
    res.writeHead(200, { "content-type": "text/plain; version=0.0.4; charset=utf-8", "content-length": Buffer.byteLength(text) });
    res.end(text);
  }
}

/** Resets the client's connection (HTTP/1.1) or its HTTP/2 session, as a crashed server would. */
export function abort(req: http.IncomingMessage | H2Request, res: Res): void {
  if ("stream" in res) {
    res.stream.session?.destroy();
    return;
  }
  (req as http.IncomingMessage).socket.destroy();
}

export async function startSimulator(opts: SimulatorOptions = {}): Promise<Simulator> {
  const s = new Simulator(opts);
  await s.listen();
  return s;
}
