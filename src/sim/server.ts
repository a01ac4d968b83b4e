// `inference-router simulate`: an HTTP model server (node:http) around GpuServerModel, driven by the wall clock.
// Speaks OpenAI (/v1/chat/completions, /v1/completions, /v1/embeddings, /v1/models; SSE streaming), KServe v2 /
// Open Inference Protocol (/v2/models/{m}/infer, /generate, /generate_stream, /v2/health/*, /v2/repository/index)
// and Prometheus /metrics in vLLM or Triton names. Optional ORCA header endpoint-load-metrics on responses.
// Fault switches: POST /admin/fault {slowdown, failureRate, dead, metricsGarbage, metricsDown, metricsStatus}; GET /admin/state.
// metricsDown answers /metrics with metricsStatus (default 503; e.g. 404 for an endpoint that went away).
//
// Request sizing: prompt tokens = ceil(chars / 4) of the message/prompt text (+4 per chat message); the prefix
// identity is a hash of the first chat message (the system prompt) and its tokens skip prefill when cached.
// Output tokens = max_tokens / max_completion_tokens / parameters.max_tokens (default 64, at most 4096).
import { createHash } from "node:crypto";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { GpuServerModel, type GpuServerSpec, type SimEvent } from "./model.js";
import { newModelCounters, tritonMetrics, vllmMetrics, type ModelCounters } from "./metrics.js";

export type Engine = "vllm" | "triton";

export interface SimulatorOptions extends GpuServerSpec {
  port?: number;
  host?: string;
  engine?: Engine;
  /** Send ORCA `endpoint-load-metrics` response headers. */
  orca?: boolean;
  /** Name shown in logs and /admin/state. */
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

interface Waiter {
  onFirst?: (e: Extract<SimEvent, { type: "first_token" }>) => void;
  onDone: (e: Extract<SimEvent, { type: "complete" }>) => void;
  onError: (e: Extract<SimEvent, { type: "error" }>) => void;
}

interface Job {
  model: string;
  promptTokens: number;
  maxTokens: number;
  prefixId?: string;
  prefixTokens?: number;
}

const MAX_BODY = 8 * 1024 * 1024;
const WORDS = ["the", "GPU", "routes", "tokens", "quickly", "and", "a", "model", "answers", "with", "care", "while", "batches", "grow", "cache", "hits"];

function tokenText(i: number): string {
  return `${i === 0 ? "" : " "}${WORDS[(i * 7 + 3) % WORDS.length]}`;
}

export function estimateTokens(text: string): number {
  return Math.max(1, Math.ceil(text.length / 4));
}

function hashText(text: string): string {
  return createHash("sha1").update(text).digest("hex").slice(0, 16);
}

function contentText(c: unknown): string {
  if (typeof c === "string") return c;
  if (Array.isArray(c)) return c.map((p) => (p && typeof p === "object" && typeof (p as { text?: unknown }).text === "string" ? (p as { text: string }).text : "")).join("");
  return "";
}

function clampTokens(v: unknown, dflt: number): number {
  return typeof v === "number" && Number.isFinite(v) && v >= 0 ? Math.min(4096, Math.floor(v)) : dflt;
}

export class Simulator {
  readonly model: GpuServerModel;
  readonly engine: Engine;
  readonly faults: FaultState = { slowdown: 1, failureRate: 0, dead: false, metricsGarbage: false, metricsDown: false, metricsStatus: 503 };
  readonly counters = new Map<string, ModelCounters>();
  readonly server: http.Server;
  private readonly waiters = new Map<string, Waiter>();
  private readonly origin = performance.now();
  private timer: NodeJS.Timeout | undefined;
  private timerAt = Infinity;
  private nextId = 0;
  private readonly defaultMaxTokens: number;
  private readonly streamIntervalMs: number;
  private closed = false;
  requests = 0;

  constructor(readonly options: SimulatorOptions = {}) {
    this.model = new GpuServerModel(options);
    this.engine = options.engine ?? "vllm";
    this.defaultMaxTokens = options.defaultMaxTokens ?? 64;
    this.streamIntervalMs = options.streamIntervalMs ?? 25;
    for (const m of this.model.spec.models) this.counters.set(m, newModelCounters());
    this.server = http.createServer((req, res) => this.handle(req, res));
    this.server.keepAliveTimeout = 30_000;
  }

  get models(): string[] { return this.model.spec.models; }
  get name(): string { return this.options.name ?? `sim-${this.model.spec.gpu}`; }

  /** Listens (port 0 = ephemeral); resolves with the bound port. */
  listen(port = this.options.port ?? 0, host = this.options.host ?? "127.0.0.1"): Promise<number> {
    return new Promise((resolve, reject) => {
      this.server.once("error", reject);
      this.server.listen(port, host, () => {
        this.server.off("error", reject);
        resolve((this.server.address() as AddressInfo).port);
      });
    });
  }

  get port(): number { return (this.server.address() as AddressInfo).port; }
  get address(): string { return `127.0.0.1:${this.port}`; }

  async close(): Promise<void> {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    this.server.closeAllConnections();
    await new Promise<void>((r) => this.server.close(() => r()));
  }

  /** Model clock: milliseconds since the simulator started (monotonic). */
  now(): number { return performance.now() - this.origin; }

  setFaults(f: Partial<FaultState>): void {
    const now = this.now();
    if (typeof f.slowdown === "number" && f.slowdown > 0) { this.model.advanceTo(now).forEach((e) => this.dispatch(e)); this.model.setSlowdown(f.slowdown); this.faults.slowdown = f.slowdown; }
    if (typeof f.failureRate === "number") { this.model.setFailureRate(f.failureRate); this.faults.failureRate = Math.min(1, Math.max(0, f.failureRate)); }
    if (typeof f.dead === "boolean" && f.dead !== this.faults.dead) {
      if (f.dead) this.model.kill(now); else this.model.revive(now);
      this.faults.dead = f.dead;
    }
    if (typeof f.metricsGarbage === "boolean") this.faults.metricsGarbage = f.metricsGarbage;
    if (typeof f.metricsDown === "boolean") this.faults.metricsDown = f.metricsDown;
    if (typeof f.metricsStatus === "number" && Number.isInteger(f.metricsStatus) && f.metricsStatus >= 400 && f.metricsStatus <= 599) this.faults.metricsStatus = f.metricsStatus;
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
    this.timer = setTimeout(() => { this.timer = undefined; this.timerAt = Infinity; this.pump(); }, Math.max(0, next - this.now()));
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
    else { this.waiters.delete(String(e.id)); if (e.type === "complete") w.onDone(e); else w.onError(e); }
  }

  private countersFor(model: string): ModelCounters {
    let c = this.counters.get(model);
    if (!c) { c = newModelCounters(); this.counters.set(model, c); }
    return c;
  }

  private submit(job: Job, w: Waiter): string {
    const id = `r${++this.nextId}`;
    this.waiters.set(id, w);
    this.model.submit({ id, model: job.model, promptTokens: job.promptTokens, maxTokens: job.maxTokens, ...(job.prefixId ? { prefixId: job.prefixId, prefixTokens: job.prefixTokens ?? job.promptTokens } : {}) }, this.now());
    this.pump();
    return id;
  }

  // ------------------------------------------------------------------ HTTP
  private orcaHeader(): Record<string, string> {
    if (!this.options.orca) return {};
    const s = this.model.stats(this.now());
    return { "endpoint-load-metrics": `TEXT named_metrics.queue=${s.waiting}, named_metrics.running=${s.running}, named_metrics.kv_cache_utilization=${Math.round(s.kvCacheUsage * 1e4) / 1e4}` };
  }

  private json(res: http.ServerResponse, status: number, body: unknown, extra: Record<string, string> = {}): void {
    const text = JSON.stringify(body);
    res.writeHead(status, { "content-type": "application/json", "content-length": Buffer.byteLength(text), ...extra });
    res.end(text);
  }

  private error(res: http.ServerResponse, status: number, message: string, type = "BadRequestError"): void {
    this.json(res, status, { object: "error", error: { message, type, code: status } });
  }

  private handle(req: http.IncomingMessage, res: http.ServerResponse): void {
    const url = new URL(req.url ?? "/", "http://sim");
    const p = url.pathname;
    const chunks: Buffer[] = [];
    let size = 0;
    req.on("data", (c: Buffer) => { size += c.length; if (size <= MAX_BODY) chunks.push(c); });
    req.on("end", () => {
      if (size > MAX_BODY) { this.error(res, 413, "request body too large"); return; }
      const raw = Buffer.concat(chunks).toString("utf8");
      if (p.startsWith("/admin/")) { this.admin(req.method ?? "GET", p, raw, res); return; }
      if (this.faults.dead) { req.socket.destroy(); return; } // a dead server resets every connection
      try {
        this.route(req.method ?? "GET", p, raw, res);
      } catch (e) {
        if (!res.headersSent) this.error(res, 500, String((e as Error).message), "InternalServerError");
      }
    });
  }

  private admin(method: string, p: string, raw: string, res: http.ServerResponse): void {
    if (p === "/admin/fault" && method === "POST") {
      let body: Partial<FaultState>;
      try { body = raw ? (JSON.parse(raw) as Partial<FaultState>) : {}; } catch { this.error(res, 400, "body must be JSON"); return; }
      this.setFaults(body);
      this.json(res, 200, this.faults);
      return;
    }
    if (p === "/admin/state") { this.json(res, 200, { name: this.name, gpu: this.model.spec.gpu, speed: this.model.spec.speed, engine: this.engine, models: this.models, faults: this.faults, stats: this.model.stats(this.now()), requests: this.requests }); return; }
    this.error(res, 404, `no admin route ${p}`, "NotFoundError");
  }

  private parse(raw: string, res: http.ServerResponse): Record<string, unknown> | undefined {
    try {
      const v = raw ? (JSON.parse(raw) as unknown) : {};
      if (v && typeof v === "object" && !Array.isArray(v)) return v as Record<string, unknown>;
    } catch { /* fallthrough */ }
    this.error(res, 400, "request body must be a JSON object");
    return undefined;
  }

  private resolveModel(name: unknown, res: http.ServerResponse): string | undefined {
    const m = typeof name === "string" && name ? name : this.models[0];
    if (m === undefined || (this.models.length > 0 && !this.models.includes(m))) {
      this.error(res, 404, `The model \`${String(name)}\` does not exist.`, "NotFoundError");
      return undefined;
    }
    return m;
  }

  private route(method: string, p: string, raw: string, res: http.ServerResponse): void {
    if (method === "GET" && (p === "/health" || p === "/v2/health/ready" || p === "/v2/health/live" || p === "/ready")) { res.writeHead(200, { "content-length": "0" }); res.end(); return; }
    if (method === "GET" && p === "/metrics") { this.metrics(res); return; }
    if (method === "GET" && p === "/v1/models") {
      this.json(res, 200, { object: "list", data: this.models.map((id) => ({ id, object: "model", created: 1_700_000_000, owned_by: "inference-router-sim", root: id, max_model_len: this.model.spec.kvCacheTokens })) });
      return;
    }
    if (method === "GET" && p === "/v2") { this.json(res, 200, { name: "inference-router-sim", version: "0.1.0", extensions: [] }); return; }
    if (method === "POST" && p === "/v2/repository/index") { this.json(res, 200, this.models.map((name) => ({ name, version: "1", state: "READY" }))); return; }
    if (method === "POST" && p === "/v1/chat/completions") { this.chat(raw, res); return; }
    if (method === "POST" && p === "/v1/completions") { this.completions(raw, res); return; }
    if (method === "POST" && p === "/v1/embeddings") { this.embeddings(raw, res); return; }
    const v2 = /^\/v2\/models\/([^/]+)(?:\/versions\/[^/]+)?(\/ready|\/infer|\/generate|\/generate_stream)?$/.exec(p);
    if (v2) {
      const name = decodeURIComponent(v2[1]!);
      const op = v2[2] ?? "";
      if (!this.models.includes(name)) { this.json(res, 404, { error: `Request for unknown model: '${name}' is not found` }); return; }
      if (method === "GET" && op === "") { this.json(res, 200, { name, versions: ["1"], platform: this.engine === "triton" ? "tensorrt_llm" : "vllm", inputs: [{ name: "text_input", datatype: "BYTES", shape: [-1] }], outputs: [{ name: "text_output", datatype: "BYTES", shape: [-1] }] }); return; }
      if (method === "GET" && op === "/ready") { res.writeHead(200, { "content-length": "0" }); res.end(); return; }
      if (method === "POST" && op === "/infer") { this.infer(name, raw, res); return; }
      if (method === "POST" && (op === "/generate" || op === "/generate_stream")) { this.generate(name, raw, res, op === "/generate_stream"); return; }
    }
    this.error(res, 404, `no route for ${method} ${p}`, "NotFoundError");
  }

  private metrics(res: http.ServerResponse): void {
    if (this.faults.metricsDown) { res.writeHead(this.faults.metricsStatus, { "content-type": "text/plain" }); res.end("metrics unavailable\n"); return; }
    if (this.faults.metricsGarbage) {
      res.writeHead(200, { "content-type": "text/plain; version=0.0.4" });
      res.end("vllm:num_requests_waiting{model_name=\"x\" NaN\n\u0000garbage{{{ 12 34\nvllm:kv_cache_usage_perc -7e999\n");
      return;
    }
    const stats = this.model.stats(this.now());
    const lora = (list: string[]) => [...new Set(list.filter((m) => m.includes(":")))];
    const perModelRunning = Object.entries(stats.perModel).filter(([, v]) => v.running > 0).map(([m]) => m);
    const perModelWaiting = Object.entries(stats.perModel).filter(([, v]) => v.waiting > 0).map(([m]) => m);
    const input = {
      stats, models: this.models, perModel: this.counters, blockSize: this.model.spec.blockSize, maxBatch: this.model.spec.maxBatch,
      gpu: this.model.spec.gpu, nowSeconds: Math.floor(Date.now() / 1000), runningLora: lora(perModelRunning), waitingLora: lora(perModelWaiting),
    };
    const text = this.engine === "triton" ? tritonMetrics(input) : vllmMetrics(input);
    res.writeHead(200, { "content-type": "text/plain; version=0.0.4; charset=utf-8", "content-length": Buffer.byteLength(text) });
    res.end(text);
  }

  /** Runs a job; streams via `chunk(text, i)` when stream, else answers once with `final(text, done)`. */
  private run(
    job: Job,
    res: http.ServerResponse,
    o: {
      stream: boolean;
      final: (text: string, e: Extract<SimEvent, { type: "complete" }>) => unknown;
      chunk?: (text: string, index: number) => unknown;
      last?: (e: Extract<SimEvent, { type: "complete" }>) => unknown[];
      sse?: boolean;
    },
  ): void {
    this.requests++;
    let sent = 0;
    let interval: NodeJS.Timeout | undefined;
    let id = "";
    const flush = (upTo: number) => {
      if (!o.chunk) return;
      for (; sent < upTo; sent++) res.write(`data: ${JSON.stringify(o.chunk(tokenText(sent), sent))}\n\n`);
    };
    res.on("close", () => { if (interval) clearInterval(interval); });
    const text = (n: number) => Array.from({ length: n }, (_, i) => tokenText(i)).join("");
    const head = () => {
      if (res.headersSent || res.writableEnded || res.destroyed) return;
      res.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-cache", ...this.orcaHeader() });
      res.flushHeaders();
    };
    id = this.submit(job, {
      onFirst: () => {
        if (!o.stream) return;
        head();
        flush(this.model.progress(id).generated);
        interval = setInterval(() => { this.pump(); if (!res.writableEnded) flush(this.model.progress(id).generated); }, this.streamIntervalMs);
        interval.unref();
      },
      onDone: (e) => {
        if (interval) clearInterval(interval);
        if (res.writableEnded || res.destroyed) return;
        if (o.stream) {
          head();
          flush(e.outputTokens);
          for (const extra of o.last?.(e) ?? []) res.write(`data: ${JSON.stringify(extra)}\n\n`);
          if (o.sse !== false) res.write("data: [DONE]\n\n");
          res.end();
        } else this.json(res, 200, o.final(text(e.outputTokens), e), this.orcaHeader());
      },
      onError: (e) => {
        if (interval) clearInterval(interval);
        if (res.writableEnded || res.destroyed) return;
        if (e.reason === "server_dead") { res.destroy(); return; }
        if (res.headersSent) { res.destroy(); return; }
        if (e.reason === "prompt_too_long") this.error(res, 400, "This model's maximum context length is exceeded.");
        else this.error(res, 500, "simulated failure", "InternalServerError");
      },
    });
    if (o.stream) head();
  }

  private chat(raw: string, res: http.ServerResponse): void {
    const b = this.parse(raw, res);
    if (!b) return;
    const model = this.resolveModel(b.model, res);
    if (!model) return;
    const messages = Array.isArray(b.messages) ? (b.messages as Array<{ role?: unknown; content?: unknown }>) : [];
    if (messages.length === 0) { this.error(res, 400, "messages must be a non-empty array"); return; }
    const texts = messages.map((m) => contentText(m?.content));
    const promptTokens = texts.reduce((n, t) => n + estimateTokens(t) + 4, 0);
    const first = texts[0] ?? "";
    const job: Job = { model, promptTokens, maxTokens: clampTokens(b.max_completion_tokens ?? b.max_tokens, this.defaultMaxTokens), prefixId: `chat:${hashText(first)}`, prefixTokens: estimateTokens(first) + 4 };
    const stream = b.stream === true;
    const created = Math.floor(Date.now() / 1000);
    const cid = `chatcmpl-${hashText(String(Math.random()))}`;
    this.run(job, res, {
      stream,
      final: (text, e) => ({
        id: cid, object: "chat.completion", created, model,
        choices: [{ index: 0, message: { role: "assistant", content: text }, finish_reason: "length", logprobs: null }],
        usage: { prompt_tokens: e.promptTokens, completion_tokens: e.outputTokens, total_tokens: e.promptTokens + e.outputTokens, prompt_tokens_details: { cached_tokens: e.cachedTokens } },
      }),
      chunk: (text, i) => ({ id: cid, object: "chat.completion.chunk", created, model, choices: [{ index: 0, delta: i === 0 ? { role: "assistant", content: text } : { content: text }, finish_reason: null }] }),
      last: (e) => [
        { id: cid, object: "chat.completion.chunk", created, model, choices: [{ index: 0, delta: {}, finish_reason: "length" }] },
        ...((b.stream_options as { include_usage?: boolean } | undefined)?.include_usage ? [{ id: cid, object: "chat.completion.chunk", created, model, choices: [], usage: { prompt_tokens: e.promptTokens, completion_tokens: e.outputTokens, total_tokens: e.promptTokens + e.outputTokens } }] : []),
      ],
    });
  }

  private completions(raw: string, res: http.ServerResponse): void {
    const b = this.parse(raw, res);
    if (!b) return;
    const model = this.resolveModel(b.model, res);
    if (!model) return;
    const prompt = Array.isArray(b.prompt) ? b.prompt.map(String).join("") : typeof b.prompt === "string" ? b.prompt : "";
    const promptTokens = estimateTokens(prompt);
    const job: Job = { model, promptTokens, maxTokens: clampTokens(b.max_tokens, this.defaultMaxTokens), prefixId: `cmpl:${hashText(prompt)}`, prefixTokens: promptTokens };
    const created = Math.floor(Date.now() / 1000);
    const cid = `cmpl-${hashText(String(Math.random()))}`;
    this.run(job, res, {
      stream: b.stream === true,
      final: (text, e) => ({
        id: cid, object: "text_completion", created, model,
        choices: [{ index: 0, text, finish_reason: "length", logprobs: null }],
        usage: { prompt_tokens: e.promptTokens, completion_tokens: e.outputTokens, total_tokens: e.promptTokens + e.outputTokens },
      }),
      chunk: (text) => ({ id: cid, object: "text_completion", created, model, choices: [{ index: 0, text, finish_reason: null, logprobs: null }] }),
      last: () => [{ id: cid, object: "text_completion", created, model, choices: [{ index: 0, text: "", finish_reason: "length", logprobs: null }] }],
    });
  }

  private embeddings(raw: string, res: http.ServerResponse): void {
    const b = this.parse(raw, res);
    if (!b) return;
    const model = this.resolveModel(b.model, res);
    if (!model) return;
    const inputs = Array.isArray(b.input) ? b.input.map((x) => (typeof x === "string" ? x : JSON.stringify(x))) : [typeof b.input === "string" ? b.input : ""];
    const promptTokens = inputs.reduce((n, t) => n + estimateTokens(t), 0);
    this.run({ model, promptTokens, maxTokens: 0 }, res, {
      stream: false,
      final: (_text, e) => ({
        object: "list", model,
        data: inputs.map((t, index) => ({ object: "embedding", index, embedding: Array.from({ length: 8 }, (_, k) => Math.round(Math.sin(t.length + k) * 1e4) / 1e4) })),
        usage: { prompt_tokens: e.promptTokens, total_tokens: e.promptTokens },
      }),
    });
  }

  private infer(model: string, raw: string, res: http.ServerResponse): void {
    const b = this.parse(raw, res);
    if (!b) return;
    const promptTokens = Math.max(16, estimateTokens(raw));
    const reqId = typeof b.id === "string" ? b.id : undefined;
    this.run({ model, promptTokens, maxTokens: 0 }, res, {
      stream: false,
      final: () => ({ model_name: model, model_version: "1", ...(reqId ? { id: reqId } : {}), outputs: [{ name: "output0", datatype: "FP32", shape: [1, 4], data: [0.1, 0.2, 0.3, 0.4] }] }),
    });
  }

  private generate(model: string, raw: string, res: http.ServerResponse, stream: boolean): void {
    const b = this.parse(raw, res);
    if (!b) return;
    const input = typeof b.text_input === "string" ? b.text_input : typeof b.prompt === "string" ? b.prompt : "";
    const params = (b.parameters && typeof b.parameters === "object" ? b.parameters : {}) as Record<string, unknown>;
    const promptTokens = estimateTokens(input);
    const job: Job = { model, promptTokens, maxTokens: clampTokens(params.max_tokens ?? b.max_tokens, this.defaultMaxTokens), prefixId: `gen:${hashText(input)}`, prefixTokens: promptTokens };
    this.run(job, res, {
      stream,
      sse: false,
      final: (text) => ({ model_name: model, model_version: "1", text_output: text }),
      chunk: (text) => ({ model_name: model, model_version: "1", text_output: text }),
    });
  }
}

export async function startSimulator(opts: SimulatorOptions = {}): Promise<Simulator> {
  const s = new Simulator(opts);
  await s.listen();
  return s;
}
