// Prometheus text exposition for the simulator: vLLM names (as vLLM V1 and llm-d-inference-sim export them) or
// Triton names (core + TensorRT-LLM backend), chosen by --engine.
import type { SimStats } from "./model.js";

export const LATENCY_BUCKETS = [0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10, 20, 40, 80];

export class Histogram {
  readonly counts: number[];
  sum = 0;
  count = 0;
  constructor(readonly buckets: number[] = LATENCY_BUCKETS) {
    this.counts = buckets.map(() => 0);
  }
  observe(v: number): void {
    this.sum += v;
    this.count++;
    for (let i = 0; i < this.buckets.length; i++) if (v <= this.buckets[i]!) this.counts[i]!++;
  }
}

function labelText(labels: Record<string, string>): string {
  const parts = Object.entries(labels).map(([k, v]) => `${k}="${v.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n")}"`);
  return parts.length ? `{${parts.join(",")}}` : "";
}

function num(v: number): string {
  return Number.isInteger(v) ? String(v) : String(Math.round(v * 1e6) / 1e6);
}

export class Exposition {
  private lines: string[] = [];
  family(name: string, type: "gauge" | "counter" | "histogram", help: string): this {
    this.lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
    return this;
  }
  sample(name: string, labels: Record<string, string>, v: number): this {
    this.lines.push(`${name}${labelText(labels)} ${num(v)}`);
    return this;
  }
  histogram(name: string, labels: Record<string, string>, h: Histogram): this {
    h.buckets.forEach((b, i) => this.sample(`${name}_bucket`, { ...labels, le: String(b) }, h.counts[i]!));
    this.sample(`${name}_bucket`, { ...labels, le: "+Inf" }, h.count);
    this.sample(`${name}_sum`, labels, h.sum);
    this.sample(`${name}_count`, labels, h.count);
    return this;
  }
  text(): string {
    return `${this.lines.join("\n")}\n`;
  }
}

export interface ModelCounters {
  success: number;
  failure: number;
  promptTokens: number;
  generationTokens: number;
  e2e: Histogram;
  ttft: Histogram;
  queue: Histogram;
  computeUs: number;
  queueUs: number;
  requestUs: number;
}

export function newModelCounters(): ModelCounters {
  return {
    success: 0,
    failure: 0,
    promptTokens: 0,
    generationTokens: 0,
    e2e: new Histogram(),
    ttft: new Histogram(),
    queue: new Histogram(),
    computeUs: 0,
    queueUs: 0,
    requestUs: 0,
  };
}

export interface ExpositionInput {
  stats: SimStats;
  models: string[];
  perModel: Map<string, ModelCounters>;
  blockSize: number;
  maxBatch: number;
  gpu: string;
  /** Unix seconds, for vllm:lora_requests_info's value. */
  nowSeconds: number;
  /** LoRA adapters running / waiting (model names of the form base:adapter). */
  runningLora: string[];
  waitingLora: string[];
}

export function vllmMetrics(i: ExpositionInput): string {
  const e = new Exposition();
  const s = i.stats;
  const models = i.models.length ? i.models : [""];
  const per = (m: string) => s.perModel[m] ?? { waiting: 0, running: 0 };
  const mc = (m: string) => i.perModel.get(m) ?? newModelCounters();
  e.family("vllm:num_requests_running", "gauge", "Number of requests in model execution batches.");
  for (const m of models) e.sample("vllm:num_requests_running", { engine: "0", model_name: m }, per(m).running);
  e.family("vllm:num_requests_waiting", "gauge", "Number of requests waiting to be processed.");
  for (const m of models) e.sample("vllm:num_requests_waiting", { engine: "0", model_name: m }, per(m).waiting);
  e.family("vllm:kv_cache_usage_perc", "gauge", "KV-cache usage. 1 means 100 percent usage.");
  for (const m of models) e.sample("vllm:kv_cache_usage_perc", { engine: "0", model_name: m }, s.kvCacheUsage);
  e.family("vllm:lora_requests_info", "gauge", "Running stats on lora requests.");
  e.sample(
    "vllm:lora_requests_info",
    { max_lora: "4", running_lora_adapters: i.runningLora.join(","), waiting_lora_adapters: i.waitingLora.join(",") },
    i.nowSeconds,
  );
  e.family("vllm:cache_config_info", "gauge", "Information of the LLMEngine CacheConfig");
  e.sample(
    "vllm:cache_config_info",
    {
      block_size: String(i.blockSize),
      num_gpu_blocks: String(Math.floor(s.kvCapacityTokens / i.blockSize)),
      enable_prefix_caching: "True",
    },
    1,
  );
  e.family("vllm:prefix_cache_queries_total", "counter", "Prefix cache queries, in terms of number of queried tokens.");
  for (const m of models) e.sample("vllm:prefix_cache_queries_total", { engine: "0", model_name: m }, s.prefixQueries);
  e.family("vllm:prefix_cache_hits_total", "counter", "Prefix cache hits, in terms of number of cached tokens.");
  for (const m of models) e.sample("vllm:prefix_cache_hits_total", { engine: "0", model_name: m }, s.prefixHits);
  e.family("vllm:num_preemptions_total", "counter", "Cumulative number of preemption from the engine.");
  for (const m of models) e.sample("vllm:num_preemptions_total", { engine: "0", model_name: m }, s.preemptions);
  e.family("vllm:prompt_tokens_total", "counter", "Number of prefill tokens processed.");
  for (const m of models) e.sample("vllm:prompt_tokens_total", { engine: "0", model_name: m }, mc(m).promptTokens);
  e.family("vllm:generation_tokens_total", "counter", "Number of generation tokens processed.");
  for (const m of models) e.sample("vllm:generation_tokens_total", { engine: "0", model_name: m }, mc(m).generationTokens);
  e.family("vllm:request_success_total", "counter", "Count of successfully processed requests.");
  for (const m of models) e.sample("vllm:request_success_total", { engine: "0", finished_reason: "length", model_name: m }, mc(m).success);
  e.family("vllm:e2e_request_latency_seconds", "histogram", "Histogram of e2e request latency in seconds.");
  for (const m of models) e.histogram("vllm:e2e_request_latency_seconds", { engine: "0", model_name: m }, mc(m).e2e);
  e.family("vllm:time_to_first_token_seconds", "histogram", "Histogram of time to first token in seconds.");
  for (const m of models) e.histogram("vllm:time_to_first_token_seconds", { engine: "0", model_name: m }, mc(m).ttft);
  e.family("vllm:request_queue_time_seconds", "histogram", "Histogram of time spent in WAITING phase for request.");
  for (const m of models) e.histogram("vllm:request_queue_time_seconds", { engine: "0", model_name: m }, mc(m).queue);
  return e.text();
}

export function tritonMetrics(i: ExpositionInput): string {
  const e = new Exposition();
  const s = i.stats;
  const models = i.models.length ? i.models : [""];
  const per = (m: string) => s.perModel[m] ?? { waiting: 0, running: 0 };
  const mc = (m: string) => i.perModel.get(m) ?? newModelCounters();
  const l = (m: string) => ({ model: m, version: "1" });
  e.family("nv_inference_request_success", "counter", "Number of successful inference requests, all batch sizes");
  for (const m of models) e.sample("nv_inference_request_success", l(m), mc(m).success);
  e.family("nv_inference_request_failure", "counter", "Number of failed inference requests, all batch sizes");
  for (const m of models) e.sample("nv_inference_request_failure", { ...l(m), reason: "BACKEND" }, mc(m).failure);
  e.family("nv_inference_count", "counter", "Number of inferences performed (does not include cached requests)");
  for (const m of models) e.sample("nv_inference_count", l(m), mc(m).success);
  e.family("nv_inference_exec_count", "counter", "Number of model executions performed (does not include cached requests)");
  for (const m of models) e.sample("nv_inference_exec_count", l(m), mc(m).success);
  e.family("nv_inference_pending_request_count", "gauge", "Instantaneous number of pending requests awaiting execution per-model.");
  for (const m of models) e.sample("nv_inference_pending_request_count", l(m), per(m).waiting);
  e.family(
    "nv_inference_request_duration_us",
    "counter",
    "Cumulative inference request duration in microseconds (includes cached requests)",
  );
  for (const m of models) e.sample("nv_inference_request_duration_us", l(m), Math.round(mc(m).requestUs));
  e.family("nv_inference_queue_duration_us", "counter", "Cumulative inference queuing duration in microseconds (includes cached requests)");
  for (const m of models) e.sample("nv_inference_queue_duration_us", l(m), Math.round(mc(m).queueUs));
  e.family(
    "nv_inference_compute_infer_duration_us",
    "counter",
    "Cumulative compute inference duration in microseconds (does not include cached requests)",
  );
  for (const m of models) e.sample("nv_inference_compute_infer_duration_us", l(m), Math.round(mc(m).computeUs));
  e.family("nv_trt_llm_request_metrics", "gauge", "TRT LLM request metrics");
  for (const m of models) {
    const p = per(m);
    e.sample("nv_trt_llm_request_metrics", { ...l(m), request_type: "waiting" }, p.waiting);
    e.sample("nv_trt_llm_request_metrics", { ...l(m), request_type: "scheduled" }, p.running);
    e.sample("nv_trt_llm_request_metrics", { ...l(m), request_type: "active" }, p.running + p.waiting);
    e.sample("nv_trt_llm_request_metrics", { ...l(m), request_type: "max" }, i.maxBatch);
  }
  e.family("nv_trt_llm_kv_cache_block_metrics", "gauge", "TRT LLM KV cache block metrics");
  const max = Math.floor(s.kvCapacityTokens / i.blockSize);
  const used = Math.ceil(s.kvUsedTokens / i.blockSize);
  for (const m of models) {
    e.sample("nv_trt_llm_kv_cache_block_metrics", { ...l(m), kv_cache_block_type: "max" }, max);
    e.sample("nv_trt_llm_kv_cache_block_metrics", { ...l(m), kv_cache_block_type: "used" }, Math.min(max, used));
    e.sample("nv_trt_llm_kv_cache_block_metrics", { ...l(m), kv_cache_block_type: "free" }, Math.max(0, max - used));
    e.sample("nv_trt_llm_kv_cache_block_metrics", { ...l(m), kv_cache_block_type: "tokens_per" }, i.blockSize);
    e.sample("nv_trt_llm_kv_cache_block_metrics", { ...l(m), kv_cache_block_type: "fraction" }, s.kvCacheUsage);
  }
  e.family("nv_gpu_utilization", "gauge", "GPU utilization rate [0.0 - 1.0)");
  e.sample("nv_gpu_utilization", { gpu_uuid: `GPU-sim-${i.gpu}` }, s.running > 0 ? Math.min(0.99, 0.3 + s.running / i.maxBatch) : 0);
  return e.text();
}

// SGLang (python/sglang/srt/metrics/collector.py): gauges labelled by model_name.
export function sglangMetrics(i: ExpositionInput): string {
  const e = new Exposition();
  const s = i.stats;
  const models = i.models.length ? i.models : [""];
  const per = (m: string) => s.perModel[m] ?? { waiting: 0, running: 0 };
  const mc = (m: string) => i.perModel.get(m) ?? newModelCounters();
  e.family("sglang:num_running_reqs", "gauge", "The number of running requests.");
  for (const m of models) e.sample("sglang:num_running_reqs", { model_name: m }, per(m).running);
  e.family("sglang:num_queue_reqs", "gauge", "The number of requests in the waiting queue.");
  for (const m of models) e.sample("sglang:num_queue_reqs", { model_name: m }, per(m).waiting);
  e.family("sglang:token_usage", "gauge", "The token usage.");
  for (const m of models) e.sample("sglang:token_usage", { model_name: m }, s.kvCacheUsage);
  e.family("sglang:prompt_tokens_total", "counter", "Number of prefill tokens processed.");
  for (const m of models) e.sample("sglang:prompt_tokens_total", { model_name: m }, mc(m).promptTokens);
  e.family("sglang:generation_tokens_total", "counter", "Number of generation tokens processed.");
  for (const m of models) e.sample("sglang:generation_tokens_total", { model_name: m }, mc(m).generationTokens);
  e.family("sglang:time_to_first_token_seconds", "histogram", "Histogram of time to first token in seconds.");
  for (const m of models) e.histogram("sglang:time_to_first_token_seconds", { model_name: m }, mc(m).ttft);
  return e.text();
}

// TGI (router/src/server.rs metric names): one model per server, no labels.
export function tgiMetrics(i: ExpositionInput): string {
  const e = new Exposition();
  const s = i.stats;
  let success = 0,
    failure = 0;
  for (const c of i.perModel.values()) {
    success += c.success;
    failure += c.failure;
  }
  e.family("tgi_queue_size", "gauge", "Requests waiting in the queue.");
  e.sample("tgi_queue_size", {}, s.waiting);
  e.family("tgi_batch_current_size", "gauge", "Requests in the running batch.");
  e.sample("tgi_batch_current_size", {}, s.running);
  e.family("tgi_request_success", "counter", "Successful requests.");
  e.sample("tgi_request_success", {}, success);
  e.family("tgi_request_failure", "counter", "Failed requests.");
  e.sample("tgi_request_failure", { err: "generation" }, failure);
  return e.text();
}

// TorchServe, TF Serving and the KServe Python server export no queue / KV-cache gauges of their own; the
// simulator exposes its state under these names so a pool can read them with `metrics.engine: custom`.
export function genericMetrics(i: ExpositionInput): string {
  const e = new Exposition();
  const s = i.stats;
  e.family("inference_sim_num_requests_waiting", "gauge", "Requests waiting (simulator state; read with engine: custom).");
  e.sample("inference_sim_num_requests_waiting", {}, s.waiting);
  e.family("inference_sim_num_requests_running", "gauge", "Requests running (simulator state).");
  e.sample("inference_sim_num_requests_running", {}, s.running);
  e.family("inference_sim_kv_cache_usage", "gauge", "KV-cache use 0..1 (simulator state).");
  e.sample("inference_sim_kv_cache_usage", {}, s.kvCacheUsage);
  return e.text();
}
