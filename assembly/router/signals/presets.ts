// What to read from each model server's Prometheus /metrics page.
//
// A MetricsSpec lists, for each load signal the router uses (queued requests, running requests, KV-cache
// utilisation, LoRA adapter state), the candidate series that carry it. For every signal the first candidate
// that appears in a scrape wins (e.g. vLLM V1 `vllm:kv_cache_usage_perc`, else the V0 name
// `vllm:gpu_cache_usage_perc`). Presets use the names the servers really export:
//
//   engine          queue                                  running                                 KV cache 0..1
//   vllm            vllm:num_requests_waiting              vllm:num_requests_running               vllm:kv_cache_usage_perc,
//                                                                                                  vllm:gpu_cache_usage_perc (V0)
//   sglang          sglang:num_queue_reqs                  sglang:num_running_reqs                 sglang:token_usage
//   trtllm          trtllm_num_requests_waiting            trtllm_num_requests_running             trtllm_kv_cache_utilization
//   triton-trtllm   nv_trt_llm_request_metrics             nv_trt_llm_request_metrics              nv_trt_llm_kv_cache_block_metrics
//                     {request_type="waiting"},              {request_type="scheduled"}              {kv_cache_block_type="fraction"}
//                   nv_inference_pending_request_count     (tensorrt_llm only)                     (tensorrt_llm only)
//                     (models other than tensorrt_llm)
//   triton          nv_inference_pending_request_count     (none)                                  (none)
//   tgi             tgi_queue_size                         tgi_batch_current_size                  (none)
//   custom          (empty: the operator lists series)
//
// Notes on the choices:
// - Triton's `nv_inference_exec_count` is a cumulative counter (batched executions since start), not a gauge
//   of requests in flight, so it is deliberately NOT used as "running"; plain Triton reports queue only.
// - TGI exports `tgi_queue_size` (gauge, requests waiting) and `tgi_batch_current_size` (gauge, requests in
//   the running batch). `tgi_batch_current_max_tokens` is the token budget of the current batch, not a 0..1
//   utilisation, so TGI has no KV signal here.
// - vLLM `vllm:lora_requests_info` is an info-style gauge whose labels `running_lora_adapters`,
//   `waiting_lora_adapters` (comma-separated adapter names) and `max_lora` carry the state and whose value is
//   the time of the last update: the sample with the greatest value is the current one.
// - `modelLabel` is the label naming the model on servers that can serve several (vLLM/SGLang `model_name`,
//   Triton `model`); with `model` set only samples of that model count (see prometheus.ts for the rule).

// The engine ids and names are generated from the one engine list (src/config/engines.ts → ./engines.ts).
import { ENGINE_VLLM, ENGINE_SGLANG, ENGINE_TRTLLM, ENGINE_TRITON_TRTLLM, ENGINE_TRITON, ENGINE_TGI, ENGINE_CUSTOM, engineFromName, engineAnswersOrca } from "./engines";
export { ENGINE_VLLM, ENGINE_SGLANG, ENGINE_TRTLLM, ENGINE_TRITON_TRTLLM, ENGINE_TRITON, ENGINE_TGI, ENGINE_CUSTOM, engineFromName, engineAnswersOrca };
import { PoolConfig } from "../config";

/** One series to extract: exact metric name plus required label matchers (name = value, exact, after
 *  unescaping). `labels` is flat: [k0, v0, k1, v1, ...]; a trailing odd key is ignored. Each matched sample is
 *  multiplied by `scale` (e.g. 0.01 for a 0..100 percentage). */
export class SeriesSpec {
  name: string;
  labels: Array<string>;
  scale: f64 = 1;
  constructor(name: string, labels: Array<string> = [], scale: f64 = 1) {
    this.name = name;
    this.labels = labels;
    this.scale = scale;
  }
}

/** What the filter reads from one server. Limits (see prometheus.ts): at most MAX_CANDIDATES series per
 *  signal and MAX_MATCHERS label matchers per series are honoured. */
export class MetricsSpec {
  queue: Array<SeriesSpec> = [];
  running: Array<SeriesSpec> = [];
  kvCache: Array<SeriesSpec> = [];
  loraInfo: SeriesSpec | null = null;
  /** Label carrying the model name on multi-model servers ("" = none). */
  modelLabel: string = "";
  /** Model to keep ("" = sum over all models). */
  model: string = "";
}

export const MAX_CANDIDATES: i32 = 8;
export const MAX_MATCHERS: i32 = 8;

function one(name: string): Array<SeriesSpec> {
  const a = new Array<SeriesSpec>();
  a.push(new SeriesSpec(name));
  return a;
}

function withLabel(name: string, k: string, v: string): Array<SeriesSpec> {
  const a = new Array<SeriesSpec>();
  const l = new Array<string>();
  l.push(k);
  l.push(v);
  a.push(new SeriesSpec(name, l));
  return a;
}

/** The preset for an engine. `model` filters on the engine's model label ("" = all models). Unknown engines
 *  and ENGINE_CUSTOM get an empty spec (no series) with `model` kept and no model label. */
export function presetSpec(engine: i32, model: string): MetricsSpec {
  const s = new MetricsSpec();
  s.model = model;
  if (engine == ENGINE_VLLM) {
    s.queue = one("vllm:num_requests_waiting");
    s.running = one("vllm:num_requests_running");
    s.kvCache = one("vllm:kv_cache_usage_perc");
    s.kvCache.push(new SeriesSpec("vllm:gpu_cache_usage_perc"));
    s.loraInfo = new SeriesSpec("vllm:lora_requests_info");
    s.modelLabel = "model_name";
  } else if (engine == ENGINE_SGLANG) {
    s.queue = one("sglang:num_queue_reqs");
    s.running = one("sglang:num_running_reqs");
    s.kvCache = one("sglang:token_usage");
    s.modelLabel = "model_name";
  } else if (engine == ENGINE_TRTLLM) {
    s.queue = one("trtllm_num_requests_waiting");
    s.running = one("trtllm_num_requests_running");
    s.kvCache = one("trtllm_kv_cache_utilization");
  } else if (engine == ENGINE_TRITON_TRTLLM) {
    // The TRT-LLM series carry model="tensorrt_llm" (the engine model); the other models of the usual
    // pipeline (ensemble, preprocessing, postprocessing, tensorrt_llm_bls) are Python/ensemble models with only
    // Triton's own per-model gauges. Queue falls back to Triton's pending count, so a label filter naming any
    // model of the server finds a signal: the first candidate with a usable sample wins (prometheus.ts).
    s.queue = withLabel("nv_trt_llm_request_metrics", "request_type", "waiting");
    s.queue.push(new SeriesSpec("nv_inference_pending_request_count"));
    s.running = withLabel("nv_trt_llm_request_metrics", "request_type", "scheduled");
    s.kvCache = withLabel("nv_trt_llm_kv_cache_block_metrics", "kv_cache_block_type", "fraction");
    s.modelLabel = "model";
  } else if (engine == ENGINE_TRITON) {
    s.queue = one("nv_inference_pending_request_count");
    s.modelLabel = "model";
  } else if (engine == ENGINE_TGI) {
    s.queue = one("tgi_queue_size");
    s.running = one("tgi_batch_current_size");
  }
  return s;
}

/** `pools[].orca`, defaulting from the pool's engine in the one engine list (`orca` column of src/config/engines.ts, with
 *  its sources; vllm when the pool has no metrics: the schema's engine default). */
export function poolAsksOrca(p: PoolConfig): bool {
  if (p.hasOrca) return p.orca;
  const m = p.metrics;
  return engineAnswersOrca(m === null ? ENGINE_VLLM : engineFromName(m.engine));
}
