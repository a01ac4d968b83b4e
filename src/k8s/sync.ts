// `inference-router sync`: keeps the endpoints in the filter's pluginConfig equal to the ready endpoints Kubernetes
// knows, by updating the WasmPlugin `generate` wrote. Sources per pool: the EndpointSlices of the pool's Service
// (`pools[].service`), or a GIE InferencePool v1 of the pool's name (its selector and target ports, over Pods).
//
// Safety rules: only ready endpoints; a change is written at most once per debounce interval, and only when the
// pluginConfig differs; a pool whose source has not listed yet, failed, or has no ready endpoint keeps the
// endpoints it has (never written empty); every write is a read-modify-update carrying the object's
// resourceVersion, so replicas never overwrite each other — a 409 Conflict re-reads and recomputes. Every replica
// computes the same desired config from the same cluster state, so running two is safe and the spare takes over
// without an election.
import type { RouterConfig } from "../config/router-config.js";
import { buildPluginConfig } from "../toolkit/generate.js";
import type { PluginConfig } from "../config/plugin-config.js";
import { ApiError, KubeClient } from "./client.js";
import { inferencePoolPorts, inferencePoolSelector, readyFromPods, readyFromSlices, servicePortName } from "./endpoints.js";
import { Reflector } from "./reflector.js";

export type SyncSource = "endpointslices" | "inferencepools";
/** The object that carries the pluginConfig: the WasmPlugin `generate` wrote, or the TrafficExtension `ambient` wrote (Istio >= 1.30). */
export type SyncTarget = "wasmplugin" | "trafficextension";

export interface SyncOptions {
  source: SyncSource;
  target?: SyncTarget;
  /** Longest time from a change in the cluster to the write (default 1000 ms). */
  debounceMs?: number;
  /** Where the WasmPlugin lives (default: the router config's name and namespace). */
  name?: string;
  namespace?: string;
  log?: (line: string) => void;
  /** Reflector backoff base (tests shorten it). */
  backoffMs?: number;
  watchTimeoutSeconds?: number;
}

const EXTENSIONS = "/apis/extensions.istio.io/v1alpha1/namespaces";

function splitHost(host: string, ns: string): { name: string; namespace: string } {
  const parts = host.split(".");
  return parts.length === 1 ? { name: host, namespace: ns } : { name: parts[0]!, namespace: parts[1]! };
}

/** Deterministic JSON (sorted keys) for change detection. */
export function canonical(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonical).join(",")}]`;
  if (v && typeof v === "object") {
    return `{${Object.keys(v as object)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonical((v as Record<string, unknown>)[k])}`)
      .join(",")}}`;
  }
  return JSON.stringify(v);
}

interface PoolSource {
  pool: string;
  /** Ready endpoints now, or undefined when the source cannot say (not listed yet, misconfigured). */
  ready(): string[] | undefined;
  reflectors: Reflector[];
}

export class SyncController {
  readonly sources: PoolSource[] = [];
  private readonly reflectors: Reflector[] = [];
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private again = false;
  private stopped = false;
  readonly name: string;
  readonly namespace: string;
  writes = 0;
  /** The endpoints last written or found in the WasmPlugin, per pool (what "keep" keeps). */
  private last: Record<string, string[]> = {};

  constructor(
    private readonly client: KubeClient,
    private readonly cfg: RouterConfig,
    private readonly o: SyncOptions,
  ) {
    this.name = o.name ?? cfg.name;
    this.namespace = o.namespace ?? cfg.namespace;
    const onChange = () => this.schedule();
    const common = {
      onChange,
      onError: (e: Error) => this.log(`watch error: ${e.message}`),
      backoffMs: o.backoffMs,
      watchTimeoutSeconds: o.watchTimeoutSeconds,
    };
    if (o.source === "endpointslices") {
      for (const p of cfg.pools) {
        if (!p.service) continue;
        const svc = splitHost(p.service.host, cfg.namespace);
        const slices = new Reflector(client, {
          ...common,
          path: `/apis/discovery.k8s.io/v1/namespaces/${svc.namespace}/endpointslices`,
          labelSelector: `kubernetes.io/service-name=${svc.name}`,
        });
        const services = new Reflector(client, {
          ...common,
          path: `/api/v1/namespaces/${svc.namespace}/services`,
          fieldSelector: `metadata.name=${svc.name}`,
        });
        const port = p.service.port;
        this.sources.push({
          pool: p.name,
          reflectors: [slices, services],
          ready: () => {
            if (!slices.synced || !services.synced) return undefined;
            const service = [...services.items.values()][0];
            const portName = servicePortName(service, port);
            if (portName === undefined) return undefined; // no such Service port: nothing to say
            return readyFromSlices(slices.items.values(), portName);
          },
        });
      }
    } else {
      const ns = cfg.namespace;
      const pools = new Reflector(client, { ...common, path: `/apis/inference.networking.k8s.io/v1/namespaces/${ns}/inferencepools` });
      const pods = new Reflector(client, { ...common, path: `/api/v1/namespaces/${ns}/pods` });
      for (const p of cfg.pools) {
        this.sources.push({
          pool: p.name,
          reflectors: [pools, pods],
          ready: () => {
            if (!pools.synced || !pods.synced) return undefined;
            const ip = pools.items.get(`${ns}/${p.name}`);
            if (!ip) return undefined;
            const ports = inferencePoolPorts(ip);
            const sel = inferencePoolSelector(ip);
            if (!sel || ports.length === 0) return undefined;
            return readyFromPods(pods.items.values(), sel, ports.slice(0, 1));
          },
        });
      }
    }
    for (const s of this.sources) for (const r of s.reflectors) if (!this.reflectors.includes(r)) this.reflectors.push(r);
  }

  private log(line: string): void {
    this.o.log?.(line);
  }
  private get path(): string {
    return `${EXTENSIONS}/${this.namespace}/${this.o.target === "trafficextension" ? "trafficextensions" : "wasmplugins"}/${this.name}`;
  }
  get kind(): string {
    return this.o.target === "trafficextension" ? "TrafficExtension" : "WasmPlugin";
  }
  /** Where the object keeps the pluginConfig: spec.pluginConfig (WasmPlugin) or spec.wasm.pluginConfig (TrafficExtension). */
  private readConfig(obj: Record<string, any>): PluginConfig | undefined {
    return this.o.target === "trafficextension" ? obj.spec?.wasm?.pluginConfig : obj.spec?.pluginConfig;
  }
  private writeConfig(obj: Record<string, any>, config: PluginConfig): void {
    if (this.o.target === "trafficextension") obj.spec = { ...obj.spec, wasm: { ...obj.spec?.wasm, pluginConfig: config } };
    else obj.spec = { ...obj.spec, pluginConfig: config };
  }

  /** The pluginConfig that should be in the WasmPlugin now, given the endpoints it holds (`current`). */
  desired(current: PluginConfig | undefined): { config: PluginConfig; kept: string[] } {
    const endpoints: Record<string, string[]> = {};
    const kept: string[] = [];
    for (const p of this.cfg.pools) {
      const had = current?.pools.find((x) => x.name === p.name)?.endpoints ?? this.last[p.name] ?? p.endpoints;
      const src = this.sources.find((s) => s.pool === p.name);
      if (!src) {
        endpoints[p.name] = had;
        continue;
      }
      const now = src.ready();
      if (now === undefined || now.length === 0) {
        endpoints[p.name] = had;
        kept.push(p.name);
      } else endpoints[p.name] = now;
    }
    return { config: buildPluginConfig(this.cfg, endpoints), kept };
  }

  /** Reads the WasmPlugin, writes the desired pluginConfig when it differs (conflict-safe). Returns true when written. */
  async reconcile(): Promise<boolean> {
    for (let attempt = 0; attempt < 5; attempt++) {
      const obj = await this.client.request("GET", this.path);
      const current = this.readConfig(obj);
      const { config, kept } = this.desired(current);
      for (const p of kept)
        this.log(`pool ${p}: no ready endpoints known (source not listed, missing or empty): keeping its current endpoints`);
      if (current && canonical(current) === canonical(config)) return false;
      this.writeConfig(obj, config);
      try {
        // The object's resourceVersion makes this a compare-and-swap: a concurrent writer gets 409 Conflict.
        await this.client.request("PUT", this.path, obj);
        this.writes++;
        for (const p of config.pools) this.last[p.name] = p.endpoints;
        this.log(
          `updated ${this.kind} ${this.namespace}/${this.name}: ${config.pools.map((p) => `${p.name}=[${p.endpoints.join(",")}]`).join(" ")}`,
        );
        return true;
      } catch (e) {
        if (e instanceof ApiError && e.status === 409) continue;
        throw e;
      }
    }
    throw new Error(`${this.kind} ${this.namespace}/${this.name}: still conflicting after 5 attempts`);
  }

  /** Coalesces changes: the first change starts the timer, later ones ride along, so a change waits at most debounceMs. */
  private schedule(): void {
    if (this.stopped || this.timer) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.kick();
    }, this.o.debounceMs ?? 1000);
  }

  private async kick(): Promise<void> {
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = (async () => {
      do {
        this.again = false;
        try {
          await this.reconcile();
        } catch (e) {
          this.log(`reconcile failed (will retry on the next change or in 10 s): ${(e as Error).message}`);
          this.retryLater();
        }
      } while (this.again && !this.stopped);
    })();
    await this.running;
    this.running = undefined;
  }

  private retryLater(): void {
    if (this.stopped) return;
    setTimeout(() => this.schedule(), 10_000).unref();
  }

  /** Lists and watches until stop(). */
  start(): void {
    for (const r of this.reflectors) void r.run();
  }

  /** Lists every source once and returns what would be written (no watch, no write). */
  async once(): Promise<{ config: PluginConfig; kept: string[]; changed: boolean }> {
    const lists = this.reflectors.map((r) => r.listOnce());
    await Promise.all(lists);
    let current: PluginConfig | undefined;
    try {
      current = this.readConfig(await this.client.request("GET", this.path));
    } catch (e) {
      if (!(e instanceof ApiError && e.status === 404)) throw e;
    }
    const d = this.desired(current);
    return { ...d, changed: !current || canonical(current) !== canonical(d.config) };
  }

  /** Waits for pending writes. */
  async idle(): Promise<void> {
    while (this.timer || this.running) await new Promise((r) => setTimeout(r, 10));
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    for (const r of this.reflectors) r.stop();
  }
}
