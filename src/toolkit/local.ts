// `inference-router local`: a docker-compose test bed — the official Envoy image running the built
// filter from a static bootstrap, in front of simulated GPU model servers.
import path from "node:path";
import { stringify } from "yaml";
import type { RouterConfig } from "../config/router-config.js";
import type { PluginConfig } from "../config/plugin-config.js";
import { buildPluginConfig, overrideHostPolicy, wasmFilterConfig, type MetricsClusterOverride, type OutputFile } from "./generate.js";
import { type Problem, validateBootstrap, validateCompose } from "./validate.js";
import { envoyVersionOfImage } from "./versions.js";

/** Has override_host and allow_on_headers_stop_iteration (both Envoy >= 1.35, see versions.ts). */
export const DEFAULT_ENVOY_IMAGE = "envoyproxy/envoy:v1.36.0";
export const SIM_PORT = 8000;
export const LISTENER_PORT = 10000;
export const ADMIN_PORT = 9901;
const SUBNET_PREFIX = "172.30.42";
const WASM_IN_CONTAINER = "/etc/envoy/inference-router.wasm";

export interface LocalOptions {
  outDir: string;
  /** Project root: build context of the simulator image. */
  projectRoot: string;
  /** Built module on the host. */
  wasmPath: string;
  replicas?: number;
  envoyImage?: string;
  source?: string;
}

export interface SimServer {
  service: string;
  pool: string;
  address: string;
  models: string[];
}

export interface LocalResult {
  files: OutputFile[];
  bootstrap: Record<string, unknown>;
  compose: Record<string, unknown>;
  pluginConfig: PluginConfig;
  servers: SimServer[];
}

function socket(address: string, port: number) {
  return { socket_address: { address, port_value: port } };
}

function staticCluster(name: string, addresses: string[], port: number, extra: Record<string, unknown> = {}) {
  return {
    name,
    type: "STATIC",
    connect_timeout: "1s",
    ...extra,
    load_assignment: {
      cluster_name: name,
      endpoints: [{ lb_endpoints: addresses.map((a) => ({ endpoint: { address: socket(a, port) } })) }],
    },
  };
}

function posix(p: string): string {
  return p.split(path.sep).join("/");
}

export function buildLocal(cfg: RouterConfig, opts: LocalOptions): LocalResult {
  const replicas = opts.replicas ?? 2;
  const servers: SimServer[] = [];
  let host = 10;
  for (const p of cfg.pools) {
    for (let i = 0; i < replicas; i++) {
      servers.push({
        service: `sim-${p.name}-${i}`,
        pool: p.name,
        address: `${SUBNET_PREFIX}.${host++}`,
        models: [...p.models, ...p.modelPrefixes.map((x) => `${x}sim`)],
      });
    }
  }
  const endpoints: Record<string, string[]> = {};
  for (const s of servers) (endpoints[s.pool] ??= []).push(`${s.address}:${SIM_PORT}`);
  // One metrics cluster per simulated server, so each poll reaches the server it is about (a pool-wide cluster
  // would balance the polls across members).
  const metricsOverride: Record<string, MetricsClusterOverride> = {};
  for (const p of cfg.pools) {
    if (!p.metrics) continue;
    const endpointClusters: Record<string, string> = {};
    for (const s of servers.filter((x) => x.pool === p.name)) endpointClusters[`${s.address}:${SIM_PORT}`] = `metrics-${s.service}`;
    metricsOverride[p.name] = { cluster: `metrics-${p.name}`, endpointClusters };
  }
  const pluginConfig = buildPluginConfig(cfg, endpoints, metricsOverride);
  const poolHeader = cfg.routing.poolHeader;

  const poolClusters = cfg.pools.map((p) =>
    staticCluster(
      p.name,
      servers.filter((s) => s.pool === p.name).map((s) => s.address),
      SIM_PORT,
      { lb_policy: "LEAST_REQUEST" },
    ),
  );
  const gpuCluster = staticCluster(
    "gpu",
    servers.map((s) => s.address),
    SIM_PORT,
    {
      load_balancing_policy: overrideHostPolicy(cfg.routing.endpointHeader),
    },
  );
  const metricsClusters = [
    ...cfg.pools.map((p) =>
      staticCluster(
        `metrics-${p.name}`,
        servers.filter((s) => s.pool === p.name).map((s) => s.address),
        SIM_PORT,
      ),
    ),
    ...servers.map((s) => staticCluster(`metrics-${s.service}`, [s.address], SIM_PORT)),
  ];
  const routes =
    cfg.steering === "pool"
      ? [
          {
            match: { prefix: "/", headers: [{ name: poolHeader, present_match: true }] },
            route: { cluster_header: poolHeader, timeout: "300s" },
          },
          { match: { prefix: "/" }, route: { cluster: cfg.pools[0]!.name, timeout: "300s" } },
        ]
      : [{ match: { prefix: "/" }, route: { cluster: "gpu", timeout: "300s" } }];

  const bootstrap = {
    node: { id: "inference-router-local", cluster: "inference-router-local" },
    admin: { address: socket("0.0.0.0", ADMIN_PORT) },
    static_resources: {
      listeners: [
        {
          name: "inference",
          address: socket("0.0.0.0", LISTENER_PORT),
          filter_chains: [
            {
              filters: [
                {
                  name: "envoy.filters.network.http_connection_manager",
                  typed_config: {
                    "@type": "type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager",
                    stat_prefix: "inference",
                    codec_type: "AUTO",
                    route_config: { name: "inference", virtual_hosts: [{ name: "inference", domains: ["*"], routes }] },
                    http_filters: [
                      {
                        name: "envoy.filters.http.wasm",
                        typed_config: wasmFilterConfig(cfg, pluginConfig, { local: { filename: WASM_IN_CONTAINER } }, cfg.name, {
                          envoy: envoyVersionOfImage(opts.envoyImage ?? DEFAULT_ENVOY_IMAGE) ?? "1.36",
                        }),
                      },
                      {
                        name: "envoy.filters.http.router",
                        typed_config: { "@type": "type.googleapis.com/envoy.extensions.filters.http.router.v3.Router" },
                      },
                    ],
                  },
                },
              ],
            },
          ],
        },
      ],
      clusters: [...(cfg.steering === "pool" ? poolClusters : [gpuCluster]), ...metricsClusters],
    },
  };

  const rel = (target: string) => {
    const r = posix(path.relative(opts.outDir, target));
    return r.startsWith(".") ? r : `./${r}`;
  };
  const context = rel(opts.projectRoot);
  const dockerfile = posix(path.relative(opts.projectRoot, path.join(opts.outDir, "Dockerfile.simulator")));
  const services: Record<string, unknown> = {
    envoy: {
      image: opts.envoyImage ?? DEFAULT_ENVOY_IMAGE,
      command: ["envoy", "-c", "/etc/envoy/envoy.yaml", "--component-log-level", "wasm:debug"],
      volumes: [`./envoy.yaml:/etc/envoy/envoy.yaml:ro`, `${rel(opts.wasmPath)}:${WASM_IN_CONTAINER}:ro`],
      ports: [`${LISTENER_PORT}:${LISTENER_PORT}`, `${ADMIN_PORT}:${ADMIN_PORT}`],
      depends_on: servers.map((s) => s.service),
      networks: { inference: { ipv4_address: `${SUBNET_PREFIX}.2` } },
    },
  };
  for (const s of servers) {
    const pool = cfg.pools.find((p) => p.name === s.pool)!;
    services[s.service] = {
      build: { context, dockerfile },
      image: "inference-router-simulator:local",
      // The simulator is `inference-router simulate` (see docs/toolkit.md).
      command: [
        "node",
        "dist/cli.js",
        "simulate",
        "--port",
        String(SIM_PORT),
        "--models",
        s.models.join(","),
        "--engine",
        pool.metrics?.engine ?? "vllm",
        "--gpu",
        pool.gpu || pool.name,
      ],
      networks: { inference: { ipv4_address: s.address } },
    };
  }
  const compose = {
    services,
    networks: { inference: { driver: "bridge", ipam: { config: [{ subnet: `${SUBNET_PREFIX}.0/24` }] } } },
  };

  const source = opts.source ?? "router.yaml";
  const head = [`# Generated by inference-router local from ${source}; do not edit, rerun \`inference-router local\`.`];
  const dockerfileText = [
    "# Simulated GPU model server for the local test bed; build context is the project root.",
    "# Runs `inference-router simulate` (OpenAI-style completions + Prometheus /metrics).",
    "FROM node:20-slim",
    "WORKDIR /app",
    "COPY package.json package-lock.json ./",
    "RUN npm ci --ignore-scripts",
    "COPY tsconfig.json tsconfig.build.json ./",
    "COPY src ./src",
    "RUN npx tsc -p tsconfig.build.json",
    `EXPOSE ${SIM_PORT}`,
    `CMD ["node", "dist/cli.js", "simulate", "--port", "${SIM_PORT}"]`,
    "",
  ].join("\n");
  const files: OutputFile[] = [
    {
      path: "docker-compose.yaml",
      header: [
        ...head,
        `# Envoy (${opts.envoyImage ?? DEFAULT_ENVOY_IMAGE}) on :${LISTENER_PORT} (admin :${ADMIN_PORT}) running the filter from ${rel(opts.wasmPath)},`,
        `# ${servers.length} simulated model servers. Build the module first (npm run build:wasm), then: docker compose up --build`,
      ],
      content: stringify(compose, { lineWidth: 0 }),
    },
    {
      path: "envoy.yaml",
      header: [
        ...head,
        `# Envoy bootstrap: listener :${LISTENER_PORT} → wasm filter → ${cfg.steering === "pool" ? `route by cluster_header ${poolHeader} (one cluster per pool)` : `cluster "gpu" with override_host on ${cfg.routing.endpointHeader}`}.`,
        "# metrics-<pool> clusters hold each pool's servers, metrics-<server> one server each, for the filter's metrics calls.",
      ],
      content: stringify(bootstrap, { lineWidth: 0 }),
    },
    { path: "Dockerfile.simulator", content: dockerfileText },
    { path: "plugin-config.json", content: `${JSON.stringify(pluginConfig, null, 2)}\n` },
  ];
  return { files, bootstrap, compose, pluginConfig, servers };
}

export function validateLocal(result: LocalResult): Problem[] {
  return [...validateBootstrap(result.bootstrap, "envoy.yaml"), ...validateCompose(result.compose, "docker-compose.yaml")];
}
