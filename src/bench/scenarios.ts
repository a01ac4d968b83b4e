// Benchmark scenarios and their workloads. A workload is generated once per (scenario, load, seed) and replayed
// unchanged through every policy: same arrivals, sidecars, models, prompt/output lengths and prefix ids.
import type { BenchRequest } from "./model.js";
import { expSample, lognormal, rng } from "./rng.js";

/** Policies of every scenario, in table order (simulate.ts builds them). */
export const POLICY_ORDER = ["inference-router", "epp", "least-request", "least-request+outlier", "round-robin", "clairvoyant-greedy"];

export interface ServerDef {
  pool: string;
  gpu: string;
  speed: number;
  models: string[];
}
export interface PoolDef {
  name: string;
  models: string[];
  weight: number;
  fallback?: string;
}

export interface Scenario {
  name: string;
  description: string;
  servers: ServerDef[];
  pools: PoolDef[];
  /** Traffic share per model (rates are then scaled so each model's serving servers run at the target load). */
  models: Array<{ name: string; share: number }>;
  prefix?: { count: number; tokens: number; zipf: number };
  /** On/off bursts: `factor`× the mean rate for `onMs`, then quiet, same mean. */
  bursty?: { factor: number; onMs: number; offMs: number };
  fault?: { kind: "degrade" | "die"; server: number; atFrac: number; factor: number };
  /** Metrics pages the simulated servers serve: a realistic vLLM page (default) or only the 3 gauges (the scale
   *  scenario: 8000 polls a second, whose parse cost is measured once in cost.ts instead). */
  metricsPage?: "full" | "minimal";
  /** Share of requests sent as sheddable (priority −1, below the filter's default shedding.belowPriority 0). */
  sheddableShare?: number;
  sidecars: number;
  workers: number;
  durationMs: number;
  loads: number[];
  /** Merged into the filter's plugin configuration (experiments). */
  pluginConfig?: Record<string, unknown>;
  /** Policies to run (default all). */
  policies?: string[];
}

export interface Arrival extends BenchRequest {
  atMs: number;
  sidecar: number;
  /** Request priority header (sheddable share only). */
  priority?: number;
}

function homogeneousServers(n: number, model: string, pool = "gpu"): ServerDef[] {
  return Array.from({ length: n }, () => ({ pool, gpu: "a100", speed: 1, models: [model] }));
}

const LOADS = [0.5, 0.85, 0.95];
/** Scenarios without a target of their own run two loads (time budget: `npm run bench` well under 15 min on 2 cores). */
const LOADS2 = [0.5, 0.85];
/** Without failures least-request+outlier is least-request exactly: it runs only where servers fail or slow down. */
const NO_OUTLIER = ["inference-router", "epp", "least-request", "round-robin", "clairvoyant-greedy"];
const M = "llama-3-8b";

export function scenarios(quick: boolean): Scenario[] {
  const d = quick ? 15_000 : 20_000;
  const base = { sidecars: quick ? 3 : 4, workers: 2, durationMs: d, loads: quick ? [0.5, 0.85] : LOADS2 };
  const three = { loads: quick ? [0.5, 0.85] : LOADS };
  const het = () => [
    ...Array.from({ length: 4 }, () => ({ pool: "h100", gpu: "h100", speed: 1.8, models: [M] })),
    ...Array.from({ length: 4 }, () => ({ pool: "l4", gpu: "l4", speed: 0.35, models: [M] })),
  ];
  return [
    {
      name: "homogeneous",
      description: "8 identical GPUs, one model",
      servers: homogeneousServers(8, M),
      pools: [{ name: "gpu", models: [M], weight: 1 }],
      models: [{ name: M, share: 1 }],
      policies: NO_OUTLIER,
      ...base,
    },
    {
      name: "heterogeneous",
      description:
        "4 H100 (speed 1.8) and 4 L4 (speed 0.35), one model; every policy gets weights = speeds; also the filter without weights",
      servers: het(),
      pools: [
        { name: "h100", models: [M], weight: 1.8 },
        { name: "l4", models: [M], weight: 0.35 },
      ],
      models: [{ name: M, share: 1 }],
      ...base,
      policies: [...NO_OUTLIER, "inference-router-no-weights"],
      ...three,
    },
    {
      name: "single-gateway",
      description:
        "one gateway (2 workers) in front of 4 H100 (pool h100, fallback l4) and 4 L4; 30% of requests sheddable (priority -1); shedding and fallback on",
      servers: het(),
      pools: [
        { name: "h100", models: [M], weight: 1.8, fallback: "l4" },
        { name: "l4", models: [M], weight: 0.35 },
      ],
      models: [{ name: M, share: 1 }],
      sheddableShare: 0.3,
      ...base,
      sidecars: 1,
      loads: quick ? [0.5, 0.85] : [0.5, 0.7, 0.85, 0.95],
      policies: NO_OUTLIER,
    },
    {
      name: "multi-model",
      description: "two models on separate pools of 4 (traffic 60/40), each pool at the target load",
      servers: [...homogeneousServers(4, M, "llama"), ...homogeneousServers(4, "mistral-7b", "mistral")],
      pools: [
        { name: "llama", models: [M], weight: 1 },
        { name: "mistral", models: ["mistral-7b"], weight: 1 },
      ],
      models: [
        { name: M, share: 0.6 },
        { name: "mistral-7b", share: 0.4 },
      ],
      policies: NO_OUTLIER,
      ...base,
    },
    {
      name: "prefix-heavy",
      description:
        "8 GPUs; 200 shared system prompts of 2000 tokens (Zipf 0.8; 400k prefix tokens vs 65k of prefix cache per GPU); body mode with prefix affinity",
      servers: homogeneousServers(8, M),
      pools: [{ name: "gpu", models: [M], weight: 1 }],
      models: [{ name: M, share: 1 }],
      prefix: { count: 200, tokens: 2000, zipf: 0.8 },
      policies: NO_OUTLIER,
      ...base,
      ...three,
    },
    {
      name: "bursty",
      description: "8 identical GPUs; 3x-rate bursts of 2 s every 8 s, a third of the rate between them (same mean rate)",
      servers: homogeneousServers(8, M),
      pools: [{ name: "gpu", models: [M], weight: 1 }],
      models: [{ name: M, share: 1 }],
      bursty: { factor: 3, onMs: 2000, offMs: 6000 },
      policies: NO_OUTLIER,
      ...base,
    },
    {
      name: "degrading",
      description: "8 identical GPUs; one slows to 25% speed a third of the way in",
      servers: homogeneousServers(8, M),
      pools: [{ name: "gpu", models: [M], weight: 1 }],
      models: [{ name: M, share: 1 }],
      fault: { kind: "degrade", server: 0, atFrac: 1 / 3, factor: 0.25 },
      ...base,
    },
    {
      name: "dying",
      description: "8 identical GPUs; one dies a third of the way in (in-flight requests fail, new ones get 503)",
      servers: homogeneousServers(8, M),
      pools: [{ name: "gpu", models: [M], weight: 1 }],
      models: [{ name: M, share: 1 }],
      fault: { kind: "die", server: 0, atFrac: 1 / 3, factor: 0 },
      ...base,
    },
  ];
}

export function scaleScenario(quick: boolean): Scenario {
  return {
    name: "scale",
    description: "1000 sidecars (1 worker each) in front of 200 identical GPUs",
    servers: homogeneousServers(200, M),
    pools: [{ name: "gpu", models: [M], weight: 1 }],
    models: [{ name: M, share: 1 }],
    sidecars: quick ? 100 : 1000,
    workers: 1,
    durationMs: quick ? 4000 : 6000,
    loads: [0.85],
    metricsPage: "minimal",
    policies: ["inference-router", "epp", "least-request", "round-robin", "clairvoyant-greedy"],
  };
}

/** The request mix (lengths) of a scenario, without arrival times: used for capacity calibration too. */
export function requestMix(s: Scenario, r: () => number, id: number, model: string): BenchRequest {
  const outputTokens = Math.max(4, Math.min(1024, Math.round(lognormal(r, 160, 0.8))));
  let promptTokens = Math.max(16, Math.min(4096, Math.round(lognormal(r, 400, 0.9))));
  let prefixId = -1,
    prefixTokens = 0;
  if (s.prefix) {
    prefixId = zipf(r, s.prefix.count, s.prefix.zipf);
    prefixTokens = s.prefix.tokens;
    promptTokens = prefixTokens + Math.max(16, Math.round(lognormal(r, 120, 0.7)));
  }
  return { id, model, promptTokens, outputTokens, prefixId, prefixTokens };
}

function zipf(r: () => number, n: number, s: number): number {
  let z = 0;
  for (let i = 1; i <= n; i++) z += 1 / Math.pow(i, s);
  let u = r() * z;
  for (let i = 1; i <= n; i++) {
    u -= 1 / Math.pow(i, s);
    if (u <= 0) return i - 1;
  }
  return n - 1;
}

/** Arrivals for a scenario at `ratePerModel` requests/s. */
export function workload(s: Scenario, ratePerModel: Map<string, number>, seed: number): Arrival[] {
  const out: Arrival[] = [];
  let id = 0;
  let mi = 0;
  for (const m of s.models) {
    const r = rng(seed * 7919 + 101 * ++mi);
    const rate = ratePerModel.get(m.name)!;
    const meanGap = 1000 / rate;
    let t = 0;
    for (;;) {
      let gap = expSample(r, meanGap);
      if (s.bursty) {
        // Time-varying rate: factor× during on-periods, the rest spread over off-periods to keep the mean.
        const period = s.bursty.onMs + s.bursty.offMs;
        const on = t % period < s.bursty.onMs;
        const offFactor = Math.max(0.05, (period - s.bursty.factor * s.bursty.onMs) / s.bursty.offMs);
        gap = gap / (on ? s.bursty.factor : offFactor);
      }
      t += gap;
      if (t >= s.durationMs) break;
      const req = requestMix(s, r, 0, m.name);
      const sidecar = Math.floor(r() * s.sidecars);
      const a: Arrival = { ...req, atMs: t, sidecar };
      if (s.sheddableShare) a.priority = r() < s.sheddableShare ? -1 : 0;
      out.push(a);
    }
  }
  out.sort((a, b) => a.atMs - b.atMs);
  for (const a of out) a.id = id++;
  return out;
}
