// A vLLM (V1 engine) /metrics page of realistic size: besides the gauges the filter reads, everything a real
// server exports — the Python process collectors, token and request counters, and the request histograms with
// vLLM's bucket boundaries (vllm/v1/metrics/loggers.py: TTFT, inter-token, end-to-end, queue/prefill/decode/
// inference time, prompt/generation tokens, iteration tokens, max_tokens, n). A real page is tens of KB; the filter
// has to walk all of it on every poll, so its parse cost is part of the benchmark (see cost.ts).
import type { ModelStats } from "./model.js";

const TTFT = [
  0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0, 20.0, 40.0, 80.0, 160.0, 640.0, 2560.0,
];
const ITL = [0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0, 20.0, 40.0, 80.0];
const LAT = [0.3, 0.5, 0.8, 1.0, 1.5, 2.0, 2.5, 5.0, 10.0, 15.0, 20.0, 30.0, 40.0, 50.0, 60.0, 120.0, 240.0, 480.0, 960.0, 1920.0, 7680.0];
const TOKENS = [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000];
const ITER = [1, 8, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096, 8192, 16384];
const N = [1, 2, 5, 10, 20];

function fmt(v: number): string {
  return Number.isInteger(v) ? `${v}.0` : String(v);
}

/** A histogram whose observations follow a log-normal-ish spread around `median`, `count` in total. */
function histogram(out: string[], name: string, help: string, labels: string, bounds: number[], count: number, median: number): void {
  out.push(`# HELP ${name} ${help}`, `# TYPE ${name} histogram`);
  let sum = 0;
  for (const le of bounds) {
    // Share of observations ≤ le: a logistic curve in log space around the median.
    const share = 1 / (1 + Math.pow(median / le, 2.2));
    out.push(`${name}_bucket{${labels},le="${fmt(le)}"} ${fmt(Math.round(count * share))}`);
  }
  out.push(`${name}_bucket{${labels},le="+Inf"} ${fmt(count)}`);
  sum = count * median * 1.15;
  out.push(`${name}_count{${labels}} ${fmt(count)}`, `${name}_sum{${labels}} ${sum}`);
}

function counter(out: string[], name: string, help: string, samples: Array<[string, number]>): void {
  out.push(`# HELP ${name}_total ${help}`, `# TYPE ${name}_total counter`);
  for (const [l, v] of samples) out.push(`${name}_total${l} ${fmt(v)}`);
}

function gauge(out: string[], name: string, help: string, samples: Array<[string, number | string]>): void {
  out.push(`# HELP ${name} ${help}`, `# TYPE ${name} gauge`);
  for (const [l, v] of samples) out.push(`${name}${l} ${typeof v === "number" ? fmt(v) : v}`);
}

/** The page of one server hosting `model`, from its state at `nowMs` (ms since the run started). */
export function vllmMetricsPage(model: string, st: ModelStats, nowMs: number): string {
  const o: string[] = [];
  const up = Math.max(1, nowMs / 1000);
  // Request count grows with time; exact values do not matter to a router, sizes and shapes do.
  const reqs = Math.round(up * 6 + st.prefixQueries / 400);
  const ml = `engine="0",model_name="${model}"`;
  const L = `{${ml}}`;
  // prometheus_client's default collectors (Python GC, process), first on a real page.
  o.push("# HELP python_gc_objects_collected_total Objects collected during gc", "# TYPE python_gc_objects_collected_total counter");
  for (const g of [0, 1, 2]) o.push(`python_gc_objects_collected_total{generation="${g}"} ${fmt(12000 - g * 5000 + Math.round(up))}`);
  o.push(
    "# HELP python_gc_objects_uncollectable_total Uncollectable objects found during GC",
    "# TYPE python_gc_objects_uncollectable_total counter",
  );
  for (const g of [0, 1, 2]) o.push(`python_gc_objects_uncollectable_total{generation="${g}"} 0.0`);
  o.push("# HELP python_gc_collections_total Number of times this generation was collected", "# TYPE python_gc_collections_total counter");
  for (const g of [0, 1, 2]) o.push(`python_gc_collections_total{generation="${g}"} ${fmt(900 - g * 400 + Math.round(up / 10))}`);
  gauge(o, "python_info", "Python platform information", [
    ['{implementation="CPython",major="3",minor="12",patchlevel="9",version="3.12.9"}', 1],
  ]);
  gauge(o, "process_virtual_memory_bytes", "Virtual memory size in bytes.", [["", 6.1925376e10]]);
  gauge(o, "process_resident_memory_bytes", "Resident memory size in bytes.", [["", 4.812349e9]]);
  gauge(o, "process_start_time_seconds", "Start time of the process since unix epoch in seconds.", [["", 1.75e9]]);
  counter(o, "process_cpu_seconds", "Total user and system CPU time spent in seconds.", [["", Math.round(up * 1.3)]]);
  gauge(o, "process_open_fds", "Number of open file descriptors.", [["", 87]]);
  gauge(o, "process_max_fds", "Maximum number of open file descriptors.", [["", 1048576]]);
  // Scheduler state: the series routers read.
  gauge(o, "vllm:num_requests_running", "Number of requests in model execution batches.", [[L, st.running]]);
  gauge(o, "vllm:num_requests_waiting", "Number of requests waiting to be processed.", [[L, st.waiting]]);
  gauge(o, "vllm:kv_cache_usage_perc", "KV-cache usage. 1 means 100 percent usage.", [[L, st.kvCacheUsage]]);
  gauge(o, "vllm:lora_requests_info", "Running stats on lora requests.", [
    ['{max_lora="0",running_lora_adapters="",waiting_lora_adapters=""}', 1.75e9 + up],
  ]);
  gauge(o, "vllm:cache_config_info", "Information of the LLMEngine CacheConfig", [
    [
      `{block_size="16",cache_dtype="auto",calculate_kv_scales="False",cpu_offload_gb="0",enable_prefix_caching="True",engine="0",gpu_memory_utilization="0.9",is_attention_free="False",num_cpu_blocks="None",num_gpu_blocks="4096",num_gpu_blocks_override="None",prefix_caching_hash_algo="builtin",sliding_window="None",swap_space="4",swap_space_bytes="4294967296"}`,
      1,
    ],
  ]);
  counter(o, "vllm:num_preemptions", "Cumulative number of preemption from the engine.", [[L, Math.round(reqs / 200)]]);
  counter(o, "vllm:prefix_cache_queries", "Prefix cache queries, in terms of number of queried tokens.", [
    [L, Math.round(st.prefixQueries)],
  ]);
  counter(o, "vllm:prefix_cache_hits", "Prefix cache hits, in terms of number of cached tokens.", [[L, Math.round(st.prefixHits)]]);
  counter(o, "vllm:prompt_tokens", "Number of prefill tokens processed.", [[L, reqs * 400]]);
  counter(o, "vllm:generation_tokens", "Number of generation tokens processed.", [[L, reqs * 160]]);
  counter(
    o,
    "vllm:request_success",
    "Count of successfully processed requests.",
    ["stop", "length", "abort"].map((r, i) => [
      `{engine="0",finished_reason="${r}",model_name="${model}"}`,
      Math.round(reqs * [0.8, 0.19, 0.01][i]!),
    ]),
  );
  // Request histograms.
  histogram(o, "vllm:request_prompt_tokens", "Number of prefill tokens processed.", ml, TOKENS, reqs, 400);
  histogram(o, "vllm:request_generation_tokens", "Number of generation tokens processed.", ml, TOKENS, reqs, 160);
  histogram(o, "vllm:iteration_tokens_total", "Histogram of number of tokens per engine_step.", ml, ITER, reqs * 40, 48);
  histogram(
    o,
    "vllm:request_max_num_generation_tokens",
    "Histogram of maximum number of requested generation tokens.",
    ml,
    TOKENS,
    reqs,
    1000,
  );
  histogram(o, "vllm:request_params_n", "Histogram of the n request parameter.", ml, N, reqs, 1);
  histogram(o, "vllm:request_params_max_tokens", "Histogram of the max_tokens request parameter.", ml, TOKENS, reqs, 1000);
  histogram(o, "vllm:time_to_first_token_seconds", "Histogram of time to first token in seconds.", ml, TTFT, reqs, 0.08);
  histogram(o, "vllm:time_per_output_token_seconds", "Histogram of time per output token in seconds.", ml, ITL, reqs * 160, 0.03);
  histogram(o, "vllm:inter_token_latency_seconds", "Histogram of inter-token latency in seconds.", ml, ITL, reqs * 160, 0.03);
  histogram(o, "vllm:e2e_request_latency_seconds", "Histogram of e2e request latency in seconds.", ml, LAT, reqs, 5);
  histogram(o, "vllm:request_queue_time_seconds", "Histogram of time spent in WAITING phase for request.", ml, LAT, reqs, 0.3);
  histogram(o, "vllm:request_inference_time_seconds", "Histogram of time spent in RUNNING phase for request.", ml, LAT, reqs, 4.7);
  histogram(o, "vllm:request_prefill_time_seconds", "Histogram of time spent in PREFILL phase for request.", ml, LAT, reqs, 0.06);
  histogram(o, "vllm:request_decode_time_seconds", "Histogram of time spent in DECODE phase for request.", ml, LAT, reqs, 4.6);
  o.push("");
  return o.join("\n");
}

/** The minimal page (only the three gauges routers read), for comparing parse cost. */
export function minimalVllmPage(model: string, st: ModelStats): string {
  const L = `{engine="0",model_name="${model}"}`;
  return [
    `vllm:num_requests_running${L} ${fmt(st.running)}`,
    `vllm:num_requests_waiting${L} ${fmt(st.waiting)}`,
    `vllm:kv_cache_usage_perc${L} ${st.kvCacheUsage}`,
    "",
  ].join("\n");
}
