// A Proxy is one Envoy process running one Wasm plugin: a base VM (initialised only), a canary VM (start +
// configure, then discarded without done/delete) and one VM per worker thread, plus the process-wide pieces
// the VMs share (shared data, stats, callouts, clock, logs).
import { createHash } from "node:crypto";
import { readFile } from "node:fs/promises";
import { Callouts, type CalloutTransport } from "./callouts.js";
import { RealClock, VirtualClock, type Clock } from "./clock.js";
import { HostContext } from "./context.js";
import { HeaderMap, type HeaderInit } from "./headers.js";
import { levelName } from "./imports.js";
import { MetricStore } from "./metrics.js";
import type { TagSpecifier } from "../observability/tags.js";
import { Properties, type PropertySource } from "./properties.js";
import { SharedDataStore } from "./shared-data.js";
import { HttpStream, type LocalReply } from "./stream.js";
import { HostError, LOG_LEVELS, WasmResult, type FailurePolicy, type LogEntry, type LogLevelName } from "./types.js";
import { PluginHandle, pluginKey } from "./plugin.js";
import { inspectModule, WasmVm, type LoadedModule, type VmKind } from "./vm.js";

export interface ProxyOptions {
  wasm: Uint8Array | string;
  workers?: number;
  /** Envoy root_id (Istio pluginName); also the plugin_root_id property. */
  rootId?: string;
  /** Envoy PluginConfig.name (Istio `<ns>.<name>`); the plugin_name property. */
  pluginName?: string;
  /** Shared-data / queue namespace; Istio leaves it "". */
  vmId?: string;
  vmConfig?: string | Uint8Array;
  pluginConfig?: string | Uint8Array | object;
  failurePolicy?: FailurePolicy;
  /** Envoy ≥1.35 PluginConfig.allow_on_headers_stop_iteration. */
  allowOnHeadersStopIteration?: boolean;
  /**
   * The stream's buffer limit (the listener's per_connection_buffer_limit_bytes; Envoy's default 1 MiB, Envoy
   * Gateway 32 KiB). A request body a filter buffers (StopIterationAndBuffer) past it is answered 413. 0: none.
   */
  bufferLimitBytes?: number;
  /** FAIL_RELOAD backoff (reload_config.backoff.base_interval), default 1000 ms. */
  reloadBackoffMs?: number;
  clock?: Clock;
  /** Clusters known to this proxy's cluster manager (proxy_http_call targets). */
  clusters?: string[];
  transport?: CalloutTransport;
  sharedData?: SharedDataStore;
  /** Property overrides/additions by dotted path, e.g. { "xds.cluster_name": "outbound|8000||a" }. */
  properties?: Record<string, PropertySource>;
  logLevel?: LogLevelName;
  random?: () => number;
  /** Plugin environment variables (vm_config.environment_variables) for WASI environ_get. */
  env?: Record<string, string>;
  foreignFunctions?: Record<string, (args: Uint8Array) => Uint8Array>;
  /** Record every host call with its raw arguments in worker.vm.hostCalls. */
  traceHostCalls?: boolean;
  /** Envoy `stats_config.stats_tags` applied to `prometheus()` (e.g. tagSpecifiers() of src/observability/tags.ts). */
  statsTags?: TagSpecifier[];
}

/** Captured log lines with a few filters for short assertions. */
export class LogBook extends Array<LogEntry> {
  static get [Symbol.species]() {
    return Array;
  }
  atLevel(level: LogLevelName): LogEntry[] {
    return this.filter((l) => l.level === level);
  }
  matching(pattern: string | RegExp): LogEntry[] {
    return this.filter((l) => (typeof pattern === "string" ? l.message.includes(pattern) : pattern.test(l.message)));
  }
  messages(filter?: { level?: LogLevelName; worker?: number; vm?: LogEntry["vm"] }): string[] {
    return this.filter(
      (l) =>
        (!filter?.level || l.level === filter.level) &&
        (filter?.worker === undefined || l.worker === filter.worker) &&
        (!filter?.vm || l.vm === filter.vm),
    ).map((l) => l.message);
  }
  clear(): void {
    this.length = 0;
  }
}

export class Worker {
  reloads = 0;
  constructor(
    readonly index: number,
    public vm: WasmVm,
  ) {}
  memoryPages(): number {
    return this.vm.memoryPages();
  }
  get failed(): boolean {
    return this.vm.failed;
  }
  get rootId(): number {
    return this.vm.rootId;
  }
}

export interface RequestSpec {
  method?: string;
  path?: string;
  authority?: string;
  scheme?: string;
  headers?: Record<string, string | string[]>;
  body?: string | Uint8Array;
  bodyChunks?: Array<string | Uint8Array>;
  trailers?: Record<string, string>;
  worker?: number;
  /**
   * The downstream connection's mTLS peer: the first URI SAN of its certificate (Istio: a SPIFFE id). Served as
   * `connection.uri_san_peer_certificate` and makes `connection.mtls` true; absent = plain text.
   */
  peer?: string;
  response?: ResponseSpec | ((routerHeaders: HeaderMap, routerBody: string) => ResponseSpec);
  /** Leave the stream open (no complete()) so the test can inspect it first. */
  keepOpen?: boolean;
}

export interface ResponseSpec {
  status?: number;
  headers?: Record<string, string | string[]>;
  body?: string | Uint8Array;
  bodyChunks?: Array<string | Uint8Array>;
  trailers?: Record<string, string>;
}

export interface RequestResult {
  stream: HttpStream;
  status: number | undefined;
  headers: Record<string, string>;
  body: string;
  localReply: LocalReply | undefined;
  reachedRouter: boolean;
  routerHeaders: Record<string, string> | undefined;
  routerBody: string;
  routeCacheClears: number;
}

const utf8 = new TextEncoder();

/**
 * Compiled modules by content (SHA-256 of the bytes), as Envoy keeps one compiled base module per VM
 * configuration and clones it for every worker: a proxy created again with the same bytes (tests create
 * hundreds) instantiates the already compiled (and tiered-up) module instead of compiling it anew. Only
 * successful loads are kept; a few entries suffice (tests use a handful of modules).
 */
const compiled = new Map<string, LoadedModule>();
const COMPILED_CAP = 16;

async function loadModule(bytes: Uint8Array): Promise<LoadedModule> {
  const key = createHash("sha256").update(bytes).digest("hex");
  const hit = compiled.get(key);
  if (hit) return hit;
  const { info, abi } = inspectModule(bytes);
  let module: WebAssembly.Module;
  try {
    module = await WebAssembly.compile(new Uint8Array(bytes));
  } catch (e) {
    throw new HostError("LoadFailed", String(e));
  }
  const loaded = { module, info, abi };
  if (compiled.size >= COMPILED_CAP) compiled.delete(compiled.keys().next().value!);
  compiled.set(key, loaded);
  return loaded;
}

export class Proxy {
  readonly options: ProxyOptions;
  readonly clock: Clock;
  readonly sharedData: SharedDataStore;
  readonly metricStore = new MetricStore();
  readonly logs = new LogBook();
  readonly callouts: Callouts;
  readonly properties: Properties;
  readonly clusters: Set<string>;
  readonly vmConfig: Uint8Array;
  /** The configuration of the current plugin (replaced by pushConfig). */
  pluginConfig: Uint8Array;
  readonly vmId: string;
  readonly rootIdName: string;
  readonly failurePolicy: FailurePolicy;
  readonly logLevelNum: number;
  readonly random: () => number;
  readonly workers: Worker[] = [];
  base!: WasmVm;
  /** The discarded canary (kept only for inspection). */
  canary: WasmVm | undefined;
  nextConnectionId = 1;
  closed = false;
  private loaded!: LoadedModule;
  private posted: Array<() => void> = [];
  private drainScheduled = false;
  private rr = 0;
  /** cpp-host's plugin_canary_cache_: plugin key → whether its canary configured. */
  private canaryCache = new Map<string, boolean>();

  private constructor(opts: ProxyOptions) {
    this.options = opts;
    this.clock = opts.clock ?? new RealClock();
    this.sharedData = opts.sharedData ?? new SharedDataStore();
    this.callouts = new Callouts(this);
    this.clusters = new Set(opts.clusters ?? []);
    this.vmConfig = toBytes(opts.vmConfig ?? "");
    const pc = opts.pluginConfig;
    this.pluginConfig =
      pc === undefined
        ? new Uint8Array(0)
        : typeof pc === "string" || pc instanceof Uint8Array
          ? toBytes(pc)
          : utf8.encode(JSON.stringify(pc));
    this.vmId = opts.vmId ?? "";
    this.rootIdName = opts.rootId ?? "inference-router";
    this.failurePolicy = opts.failurePolicy ?? "FAIL_CLOSED";
    this.logLevelNum = LOG_LEVELS.indexOf(opts.logLevel ?? "info");
    this.random = opts.random ?? Math.random;
    this.properties = new Properties({
      pluginName: opts.pluginName ?? this.rootIdName,
      rootId: this.rootIdName,
      vmId: this.vmId,
      extra: opts.properties ?? {},
    });
  }

  static async create(opts: ProxyOptions): Promise<Proxy> {
    const p = new Proxy(opts);
    const bytes = typeof opts.wasm === "string" ? new Uint8Array(await readFile(opts.wasm)) : opts.wasm;
    p.loaded = await loadModule(bytes);
    p.base = p.startVm("base", -1);
    p.canary = p.startVm("canary", -2);
    p.discard(p.canary);
    p.canaryCache.set(p.currentKey, true);
    for (let w = 0; w < (opts.workers ?? 1); w++) p.workers.push(new Worker(w, p.startVm("worker", w)));
    return p;
  }

  get abi(): string {
    return this.loaded.abi;
  }

  private get currentKey(): string {
    return pluginKey(this.rootIdName, this.pluginConfig);
  }

  /** Instantiate + initialise; for canary/worker also start the current plugin (root create, vm_start, configure). */
  private startVm(kind: VmKind, index: number, config = this.pluginConfig): WasmVm {
    const vm = new WasmVm(this, this.loaded, kind, index);
    vm.start();
    if (kind === "base") return vm;
    try {
      vm.currentPlugin = this.startPlugin(vm, config);
    } catch (e) {
      this.discard(vm);
      throw e;
    }
    return vm;
  }

  /**
   * WasmBase::start + configure for a plugin key the VM does not run yet: a new root context (next context id),
   * proxy_on_context_create(root, 0), proxy_on_vm_start(root, vm_config_size) — on every new root, as
   * ContextBase::onStart does — then proxy_on_configure(root, size) with that plugin's configuration readable.
   */
  private startPlugin(vm: WasmVm, config: Uint8Array): PluginHandle {
    const root = new HostContext(vm, vm.newContextId(), "root");
    const handle = new PluginHandle(pluginKey(this.rootIdName, config), config, root);
    root.plugin = handle;
    vm.contexts.set(root.id, root);
    const fail = (code: string, what: string): never => {
      throw new HostError(code, `${what} (${vm.label})${vm.failure ? `: ${vm.failure}` : ""}`, this.logs.slice());
    };
    if (!vm.call("proxy_on_context_create", root, root.id, 0).ok) fail("StartFailed", "proxy_on_context_create trapped");
    const s = vm.call("proxy_on_vm_start", root, root.id, this.vmConfig.length);
    if (!s.ok || (!s.missing && s.value === 0)) fail("StartFailed", "proxy_on_vm_start failed");
    root.pluginConfig = config;
    const c = vm.call("proxy_on_configure", root, root.id, config.length);
    root.pluginConfig = undefined;
    if (!c.ok || (!c.missing && c.value === 0)) fail("ConfigureFailed", "proxy_on_configure failed");
    vm.plugins.set(handle.key, handle);
    return handle;
  }

  private discard(vm: WasmVm): void {
    vm.stopTicks();
    for (const r of vm.roots()) r.tickPeriodMs = 0;
    vm.failed = true; // nothing may reach it any more (queue notifications, callouts)
    vm.failure ??= "discarded";
  }

  // ---------------------------------------------------------------- configuration pushes
  /**
   * A new pluginConfig for the same Wasm code and VM config (an xDS push: WasmPlugin/EnvoyFilter update). As Envoy
   * does: the VMs are reused (same vm_key); a plugin key not seen before is checked on a fresh canary clone
   * (WasmHandleBase::canary; a rejected config throws ConfigureFailed and the old one stays); then every worker VM
   * gets a NEW root context for it beside the old one (getOrCreateThreadLocalPlugin → WasmBase::start), or reuses a
   * root for that key that is still alive. The old plugin is shut down (root on_done → on_delete) when its last
   * stream ends — at once when it has none.
   */
  pushConfig(pluginConfig: string | Uint8Array | object): void {
    const config =
      typeof pluginConfig === "string" || pluginConfig instanceof Uint8Array
        ? toBytes(pluginConfig)
        : utf8.encode(JSON.stringify(pluginConfig));
    const key = pluginKey(this.rootIdName, config);
    if (key === this.currentKey) return;
    const known = this.canaryCache.get(key);
    if (known === false)
      throw new HostError("ConfigureFailed", "Failed to configure base Wasm plugin (cached canary result)", this.logs.slice());
    if (known === undefined) {
      try {
        this.canary = this.startVm("canary", -2, config);
        this.discard(this.canary);
        this.canaryCache.set(key, true);
      } catch (e) {
        this.canaryCache.set(key, false);
        throw e;
      }
    }
    this.pluginConfig = config;
    for (const w of this.workers) {
      const vm = w.vm;
      if (vm.failed) continue; // a reload starts from the current configuration
      let next = vm.plugins.get(key);
      if (!next) {
        try {
          next = this.startPlugin(vm, config);
        } catch (e) {
          // cpp-host fails the VM (ConfigureFailed on a worker after a good canary: a guest bug).
          vm.fail("proxy_on_configure", e);
          continue;
        }
      }
      const old = vm.currentPlugin;
      next.current = true;
      vm.currentPlugin = next;
      if (old && old !== next) {
        old.current = false;
        this.releasePlugin(vm, old);
      }
    }
    this.drain();
  }

  /** A holder let go of a plugin: the last one of a replaced plugin shuts its root down (PluginHandleBase dtor). */
  releasePlugin(vm: WasmVm, h: PluginHandle, stream = false): void {
    if (stream) h.streams--;
    if (!h.idle || vm.plugins.get(h.key) !== h) return;
    vm.plugins.delete(h.key);
    this.shutdownRoot(vm, h.root);
  }

  /** WasmBase::startShutdown(key): root proxy_on_done; true ⇒ proxy_on_delete, false ⇒ wait for proxy_done(). */
  private shutdownRoot(vm: WasmVm, root: HostContext): void {
    root.tickTimer?.cancel();
    root.tickTimer = undefined;
    root.tickPeriodMs = 0;
    if (vm.failed) {
      vm.contexts.delete(root.id);
      return;
    }
    const r = vm.call("proxy_on_done", root, root.id);
    if (!r.ok) return;
    if (r.missing || r.value !== 0) {
      vm.call("proxy_on_delete", root, root.id);
      vm.contexts.delete(root.id);
    } else root.pendingDone = true;
  }

  // ---------------------------------------------------------------- streams
  /** A new HTTP stream on a worker (default 0). Failed VMs follow the failure policy. */
  newStream(worker = 0): HttpStream {
    const w = this.workers[worker];
    if (!w) throw new Error(`no worker ${worker}`);
    if (w.vm.failed) {
      if (this.failurePolicy === "FAIL_OPEN") return new HttpStream(this, w.vm, worker, "skip");
      if (this.failurePolicy === "FAIL_RELOAD" && this.clock.nowMs() - w.vm.failedAtMs >= (this.options.reloadBackoffMs ?? 1000)) {
        try {
          w.vm = this.startVm("worker", worker);
          w.reloads++;
          this.hostLog(w.vm, "info", `reloaded the Wasm VM of worker ${worker}`, 0);
        } catch {
          w.vm.failedAtMs = this.clock.nowMs();
          return new HttpStream(this, w.vm, worker, "fail");
        }
      } else return new HttpStream(this, w.vm, worker, "fail");
    }
    return new HttpStream(this, w.vm, worker, "filter");
  }

  /** Round-robin worker index, for callers that want to spread streams like the kernel spreads connections. */
  nextWorker(): number {
    return this.rr++ % this.workers.length;
  }

  /** Drives a whole stream: request, router response (if the request got there), then log/done/delete. */
  async request(spec: RequestSpec = {}): Promise<RequestResult> {
    const s = this.newStream(spec.worker ?? 0);
    s.peerUriSan = spec.peer;
    const h = new HeaderMap({
      ":method": spec.method ?? "GET",
      ":path": spec.path ?? "/",
      ":authority": spec.authority ?? "example.com",
      ":scheme": spec.scheme ?? "http",
    });
    for (const [k, v] of Object.entries(spec.headers ?? {})) for (const one of Array.isArray(v) ? v : [v]) h.add(k, one);
    const chunks = spec.bodyChunks ?? (spec.body !== undefined && toBytes(spec.body).length ? [spec.body] : []);
    s.sendRequestHeaders(h, chunks.length === 0 && !spec.trailers);
    chunks.forEach((c, i) => s.sendRequestBody(c, i === chunks.length - 1 && !spec.trailers));
    if (spec.trailers) s.sendRequestTrailers(spec.trailers);
    await s.waitFor(() => s.requestCompleteAtRouter || s.localReply !== undefined || s.completed || s.failed);
    if (s.requestCompleteAtRouter && !s.localReply && !s.completed) {
      const r = typeof spec.response === "function" ? spec.response(s.routerRequestHeaders!, s.routerRequestBody) : (spec.response ?? {});
      const rh = new HeaderMap({ ":status": String(r.status ?? 200) });
      for (const [k, v] of Object.entries(r.headers ?? {})) for (const one of Array.isArray(v) ? v : [v]) rh.add(k, one);
      const rchunks = r.bodyChunks ?? (r.body !== undefined && toBytes(r.body).length ? [r.body] : []);
      s.sendResponseHeaders(rh, rchunks.length === 0 && !r.trailers);
      rchunks.forEach((c, i) => s.sendResponseBody(c, i === rchunks.length - 1 && !r.trailers));
      if (r.trailers) s.sendResponseTrailers(r.trailers);
    }
    await s.waitFor(() => s.responseComplete || s.completed);
    if (!spec.keepOpen) s.complete();
    const dh = s.downstreamHeaders;
    return {
      stream: s,
      status: dh?.get(":status") !== undefined ? Number(dh.get(":status")) : undefined,
      headers: dh?.toObject() ?? {},
      body: s.downstreamBody,
      localReply: s.localReply,
      reachedRouter: s.reachedRouter,
      routerHeaders: s.routerRequestHeaders?.toObject(),
      routerBody: s.routerRequestBody,
      routeCacheClears: s.routeCacheClears,
    };
  }

  // ---------------------------------------------------------------- time, ticks, posted work
  /** Advances a VirtualClock: fires ticks, callout timeouts and posted deliveries in time order. */
  advance(ms: number): void {
    if (!(this.clock instanceof VirtualClock)) throw new Error("advance() needs a VirtualClock");
    this.clock.advance(ms);
    this.drain();
  }

  /** proxy_set_tick_period_milliseconds: one timer per root context (Envoy Wasm::setTimerPeriod(context_id, …)). */
  setTickPeriod(target: HostContext | WasmVm, ms: number): void {
    // A VM stands for its current root (tests stop or start a worker's ticks this way).
    const root = target instanceof WasmVm ? target.currentRoot : target;
    if (!root) return;
    root.tickTimer?.cancel();
    root.tickTimer = undefined;
    root.tickPeriodMs = ms;
    if (ms > 0 && !root.vm.failed) this.armTick(root);
  }

  private armTick(root: HostContext): void {
    const vm = root.vm;
    const handle = this.clock.setTimer(root.tickPeriodMs, () => {
      if (root.tickTimer !== handle) return;
      root.tickTimer = undefined;
      // Wasm::tickHandler ticks only a root context that still exists.
      if (vm.failed || this.closed || vm.contexts.get(root.id) !== root) return;
      vm.call("proxy_on_tick", root, root.id);
      // Fixed delay: re-armed after the tick unless the tick itself changed the period.
      if (!root.tickTimer && root.tickPeriodMs > 0 && !vm.failed && vm.contexts.get(root.id) === root) this.armTick(root);
      this.drain();
    });
    root.tickTimer = handle;
  }

  /** Work that Envoy posts to a worker's dispatcher (queue ready, callout completion): never re-entrant. */
  post(fn: () => void): void {
    this.posted.push(fn);
    if (!this.drainScheduled) {
      this.drainScheduled = true;
      queueMicrotask(() => {
        this.drainScheduled = false;
        this.drain();
      });
    }
  }

  drain(): void {
    if ([this.base, this.canary, ...this.workers.map((w) => w.vm)].some((vm) => vm?.inCall)) return;
    while (this.posted.length) this.posted.shift()!();
  }

  /** Waits until posted work (async transports, microtasks) has been delivered. */
  async settle(rounds = 5): Promise<void> {
    for (let i = 0; i < rounds; i++) {
      await new Promise((r) => setImmediate(r));
      this.drain();
    }
  }

  deliverQueueReady(vm: WasmVm, rootId: number, queueId: number): void {
    const root = vm.contexts.get(rootId);
    if (vm.failed || !root || this.closed) return;
    vm.call("proxy_on_queue_ready", root, rootId, queueId);
  }

  deliverHttpCallResponse(
    vm: WasmVm,
    rootId: number,
    token: number,
    data: { headers: HeaderMap; body: Uint8Array; trailers: HeaderMap } | undefined,
  ): void {
    // A callout outlives its root only as a cancelled request: a deleted root gets nothing (Envoy's Context
    // cancels its pending http calls when it is destroyed).
    const root = vm.contexts.get(rootId);
    if (vm.failed || !root || root.kind !== "root" || this.closed) return;
    if (data) {
      root.status = { code: WasmResult.Ok, message: "" };
      root.httpCallResponse = data;
    } else root.status = { code: WasmResult.BrokenConnection, message: "reset" };
    try {
      vm.call(
        "proxy_on_http_call_response",
        root,
        rootId,
        token,
        data ? data.headers.size : 0,
        data ? data.body.length : 0,
        data ? data.trailers.size : 0,
      );
    } finally {
      root.httpCallResponse = undefined;
    }
  }

  /** proxy_done: finishes a root context whose on_done returned false. */
  rootDone(vm: WasmVm, ctx: HostContext): number {
    const root = vm.contexts.get(ctx.rootId);
    if (!root || !root.pendingDone) return WasmResult.NotFound;
    root.pendingDone = false;
    vm.defer(() => {
      vm.call("proxy_on_delete", root, root.id);
      vm.contexts.delete(root.id);
    });
    return WasmResult.Ok;
  }

  // ---------------------------------------------------------------- stats
  metrics(): ReturnType<MetricStore["snapshot"]> {
    return this.metricStore.snapshot();
  }
  prometheus(): string {
    return this.metricStore.prometheus(this.options.statsTags);
  }

  // ---------------------------------------------------------------- logs
  guestLog(vm: WasmVm, level: number, message: string, contextId: number, source: LogEntry["source"]): void {
    if (level < this.logLevelNum) return; // Envoy drops messages below its current level
    this.logs.push({ level: levelName(level), levelNum: level, message, worker: vm.worker, vm: vm.kind, contextId, source });
  }

  hostLog(vm: WasmVm, level: LogLevelName, message: string, contextId: number): void {
    const n = LOG_LEVELS.indexOf(level);
    if (n < this.logLevelNum) return;
    this.logs.push({ level, levelNum: n, message, worker: vm.worker, vm: vm.kind, contextId, source: "host" });
  }

  // ---------------------------------------------------------------- shutdown
  /** VM shutdown (WasmBase::startShutdown()): every live root gets proxy_on_done, then proxy_on_delete or waits for proxy_done(). */
  async close(): Promise<void> {
    for (const w of this.workers) {
      const vm = w.vm;
      vm.stopTicks();
      if (vm.failed) continue;
      for (const h of [...vm.plugins.values()]) {
        vm.plugins.delete(h.key);
        this.shutdownRoot(vm, h.root);
      }
    }
    this.closed = true;
  }
}

function toBytes(v: string | Uint8Array): Uint8Array {
  return typeof v === "string" ? utf8.encode(v) : v;
}

export function createProxy(opts: ProxyOptions): Promise<Proxy> {
  return Proxy.create(opts);
}
export type { HeaderInit };
