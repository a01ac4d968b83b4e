// The local gateway's config file: a normal router config (src/config/router-config.ts, validated by the same
// schema and loader as every other command) plus one optional top-level `local:` section that only `serve` and
// `start` read. The section is removed before the router config is validated, so other commands never see it.
//
//   local:
//     port: 8080            # gateway listener (127.0.0.1), like Envoy's listener
//     adminPort: 9901       # admin listener: /stats/prometheus, /stats, /ready
//     workers: 2            # worker VMs running the filter (Envoy --concurrency)
//     pools:
//       a100:               # a pool name from `pools:`
//         replicas: 2       # simulators started in-process (`inference-router simulate` semantics)
//         gpu: a100         # GPU preset of those simulators (a100, l4, h100, l40s, a10g, t4)
//         speed: 1.0        # optional, overrides the preset's relative speed
//         engine: vllm      # server engine (src/sim/server.ts): vllm | sglang | tgi | triton | kserve | torchserve |
//                           #   tfserving; default: the simulator of the pool's metrics.engine (src/config/engines.ts), else vllm
//         orca: true        # answer endpoint-load-metrics-format with ORCA reports, as vLLM does (false: never)
//         ports: [8001, 8002]          # optional fixed simulator ports (default: ephemeral)
//         addresses: ["127.0.0.1:8001"] # use already running servers instead of starting simulators
//
// Pools without a `local` entry use their `endpoints:` (endpoint mode), or get 2 simulators on the pool's gpu.
import { readFileSync } from "node:fs";
import { z } from "zod";
import type { RouterConfig } from "../config/router-config.js";
import type { Engine } from "../sim/server.js";
import { SIMULATOR_ENGINES, simulatorOf } from "../config/engines.js";
import { checkRouterConfig, ConfigError, parseConfigText, zodProblems } from "../toolkit/load.js";

const address = z
  .string()
  .regex(/^127\.\d{1,3}\.\d{1,3}\.\d{1,3}:\d{1,5}$|^localhost:\d{1,5}$/, "must be 127.x.x.x:port or localhost:port (loopback only)");

export const LocalPoolSchema = z
  .object({
    replicas: z.number().int().min(1).max(16).default(2),
    gpu: z
      .string()
      .regex(/^[A-Za-z0-9._-]{1,32}$/)
      .optional(),
    speed: z.number().min(0.01).max(100).optional(),
    engine: z.enum(SIMULATOR_ENGINES).optional(),
    orca: z.boolean().default(true),
    ports: z.array(z.number().int().min(1).max(65535)).optional(),
    addresses: z.array(address).min(1).optional(),
  })
  .strict();

export const LocalSectionSchema = z
  .object({
    port: z.number().int().min(0).max(65535).default(8080),
    adminPort: z.number().int().min(0).max(65535).default(9901),
    workers: z.number().int().min(1).max(64).default(2),
    pools: z.record(z.string(), LocalPoolSchema).default({}),
  })
  .strict();

export type LocalPool = z.infer<typeof LocalPoolSchema>;
export type LocalSection = z.infer<typeof LocalSectionSchema>;

export interface LocalConfig {
  router: RouterConfig;
  local: LocalSection;
}

export function parseLocalConfig(raw: unknown, file: string): LocalConfig {
  const obj = raw && typeof raw === "object" && !Array.isArray(raw) ? { ...(raw as Record<string, unknown>) } : raw;
  let localRaw: unknown = {};
  if (obj && typeof obj === "object" && "local" in (obj as Record<string, unknown>)) {
    localRaw = (obj as Record<string, unknown>).local ?? {};
    delete (obj as Record<string, unknown>).local;
  }
  const { config, problems } = checkRouterConfig(obj, file);
  const l = LocalSectionSchema.safeParse(localRaw);
  const all = [...problems, ...(l.success ? [] : zodProblems(file, l.error).map((p) => ({ ...p, path: `local.${p.path}` })))];
  if (config && l.success) {
    for (const name of Object.keys(l.data.pools)) {
      if (!config.pools.some((p) => p.name === name))
        all.push({ file, path: `local.pools.${name}`, message: `no pool named "${name}" in pools` });
    }
  }
  if (all.length > 0 || !config || !l.success) throw new ConfigError(all);
  return { router: config, local: l.data };
}

export function loadLocalConfig(file: string): LocalConfig {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (e) {
    throw new ConfigError([{ file, path: "$", message: `cannot read: ${(e as Error).message}` }]);
  }
  return parseLocalConfig(parseConfigText(text, file), file);
}

/** What runs behind one pool locally. */
export interface PoolPlan {
  pool: string;
  /** Existing servers (no simulators started). */
  addresses?: string[];
  /** Simulators to start. */
  simulators?: Array<{ gpu: string; speed?: number; engine: Engine; orca: boolean; port: number; models: string[] }>;
}

export function planPools(cfg: LocalConfig): PoolPlan[] {
  return cfg.router.pools.map((p) => {
    const l = cfg.local.pools[p.name];
    if (l?.addresses) return { pool: p.name, addresses: l.addresses };
    if (!l && p.endpoints.length > 0) return { pool: p.name, addresses: p.endpoints };
    const replicas = l?.replicas ?? 2;
    const me = p.metrics?.engine;
    const engine: Engine = l?.engine ?? (me !== undefined ? simulatorOf(me) : undefined) ?? "vllm";
    const models = [...p.models, ...p.modelPrefixes.map((x) => `${x}sim`)];
    return {
      pool: p.name,
      simulators: Array.from({ length: replicas }, (_, i) => ({
        gpu: l?.gpu ?? (p.gpu || "a100"),
        ...(l?.speed !== undefined ? { speed: l.speed } : {}),
        engine,
        orca: l?.orca ?? true,
        port: l?.ports?.[i] ?? 0,
        models,
      })),
    };
  });
}
