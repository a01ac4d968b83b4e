// The model-server engines, listed once. Every other engine list is derived from this table:
//   METRICS_ENGINES     the plugin config's `metrics.engine` enum (src/config/plugin-config.ts) and, through
//                       `npm run gen:config`, the filter's preset ids (assembly/router/signals/engines.ts)
//   ROUTER_ENGINES      the router config's `metrics.engine` enum (src/config/router-config.ts); an alias such as
//                       vllm-v0 is written into the plugin config as its preset (presetOf)
//   SIMULATOR_ENGINES   the server kinds `inference-router simulate` speaks (src/sim/server.ts); simulatorOf maps
//                       any engine name to one (the CLI's --engine, the local gateway's simulators)
// The series each preset reads are in assembly/router/signals/presets.ts (with the reason for each choice).
//
// `orca`: whether the real server answers a request carrying `endpoint-load-metrics-format: TEXT|JSON` with an
// ORCA `endpoint-load-metrics` response header (the simulator does exactly where this says so). Sources:
//   vLLM (V1 engine): vllm-project/vllm vllm/entrypoints/serve/utils/orca_metrics.py @ 7be59d7621e2872dfb0a37130aceca4ba2c208cb
//     (added by vllm-project/vllm#24905 for the V1 engine only; chat and completion responses)
//   Triton: triton-inference-server/server src/http_server.cc (triton-inference-server/server#7839, merged
//     2025-03-17) reads the header on HTTP inference requests; the report carries the TensorRT-LLM backend's
//     KV-cache figures, so it is useful with that backend (Triton client docs, "ORCA Header Metrics")
//   SGLang: no reader of the header in sgl-project/sglang python/sglang/srt/entrypoints/http_server.py; its load
//     is exported on /metrics and on /v1/loads (sgl-project/sglang#16976)
//   TGI, trtllm-serve, KServe, TorchServe, TF Serving: no ORCA support documented or found in their sources.

/** The simulator's server kinds (each answers the real server's routes: src/sim/routes.ts). */
export type SimulatorKind = "vllm" | "sglang" | "tgi" | "triton" | "kserve" | "torchserve" | "tfserving";

export interface EngineInfo {
  /** The metrics preset the filter applies (a plugin-config `metrics.engine` value); null: no Prometheus preset. */
  preset: string | null;
  /** Accepted as the router config's `metrics.engine`. */
  router: boolean;
  /** The simulator kind that speaks it; null: none (the local gateway simulates vLLM). */
  simulator: SimulatorKind | null;
  /** The real server answers `endpoint-load-metrics-format` with an ORCA report (sources above). */
  orca: boolean;
}

/** The one engine list. Order matters: the preset ids of the filter are the positions of METRICS_ENGINES. */
export const ENGINE_TABLE = {
  vllm: { preset: "vllm", router: true, simulator: "vllm", orca: true },
  /** vLLM's V0 engine: same preset (V0 KV series is the preset's second candidate); no ORCA (V1 only). */
  "vllm-v0": { preset: "vllm", router: true, simulator: "vllm", orca: false },
  sglang: { preset: "sglang", router: true, simulator: "sglang", orca: false },
  /** trtllm-serve (TensorRT-LLM's own OpenAI server); simulated by the Triton kind (same metric family). */
  trtllm: { preset: "trtllm", router: true, simulator: "triton", orca: false },
  "triton-trtllm": { preset: "triton-trtllm", router: true, simulator: "triton", orca: true },
  triton: { preset: "triton", router: true, simulator: "triton", orca: true },
  tgi: { preset: "tgi", router: true, simulator: "tgi", orca: false },
  /** The operator lists the series (plugin config `metrics.series`; not in the router config). */
  custom: { preset: "custom", router: false, simulator: null, orca: false },
  kserve: { preset: null, router: false, simulator: "kserve", orca: false },
  torchserve: { preset: null, router: false, simulator: "torchserve", orca: false },
  tfserving: { preset: null, router: false, simulator: "tfserving", orca: false },
} as const satisfies Record<string, EngineInfo>;

export type EngineName = keyof typeof ENGINE_TABLE;
const NAMES = Object.keys(ENGINE_TABLE) as EngineName[];
const info = (n: string): EngineInfo | undefined =>
  Object.prototype.hasOwnProperty.call(ENGINE_TABLE, n) ? (ENGINE_TABLE as Record<string, EngineInfo>)[n] : undefined;

/** Names for which `f` holds, as a non-empty tuple (what z.enum takes). */
function names<T extends string>(f: (n: EngineName, e: EngineInfo) => boolean): [T, ...T[]] {
  const out = NAMES.filter((n) => f(n, ENGINE_TABLE[n])) as string[] as T[];
  if (out.length === 0) throw new Error("engines: empty list");
  return out as [T, ...T[]];
}

type MetricsEngine = { [K in EngineName]: (typeof ENGINE_TABLE)[K]["preset"] extends K ? K : never }[EngineName];
type RouterEngine = { [K in EngineName]: (typeof ENGINE_TABLE)[K]["router"] extends true ? K : never }[EngineName];
type SimulatorEngine = { [K in EngineName]: (typeof ENGINE_TABLE)[K]["simulator"] extends K ? K : never }[EngineName];

/** The filter's metrics presets (plugin config `metrics.engine`). */
export const METRICS_ENGINES = names<MetricsEngine>((n, e) => e.preset === n);
/** The router config's `metrics.engine` values. */
export const ROUTER_ENGINES = names<RouterEngine>((_, e) => e.router);
/** The simulator's server kinds. */
export const SIMULATOR_ENGINES = names<SimulatorEngine>((n, e) => e.simulator === n);

/** The metrics preset of an engine name (vllm-v0 → vllm); undefined when it has none. */
export function presetOf(name: string): MetricsEngine | undefined {
  return (info(name)?.preset ?? undefined) as MetricsEngine | undefined;
}

/** The simulator kind that speaks an engine (trtllm → triton); undefined for an unknown name or one with none. */
export function simulatorOf(name: string): SimulatorKind | undefined {
  return info(name)?.simulator ?? undefined;
}

/** Whether the real server of that engine answers ORCA load-report requests. */
export function speaksOrca(name: string): boolean {
  return info(name)?.orca ?? false;
}
