// A Proxy is one Envoy process running one Wasm plugin: a base VM (initialised only), a canary VM (start +
// configure, then discarded without done/delete) and one VM per worker thread, plus the process-wide pieces
// the VMs share (shared data, stats, callouts, clock, logs).
import { readFile } from "node:fs/promises";
import { Callouts, type CalloutTransport } from "./callouts.js";
import { RealClock, VirtualClock, type Clock } from "./clock.js";
import { HostContext } from "./context.js";
import { HeaderMap, type HeaderInit } from "./headers.js";
import { levelName } from "./imports.js";
import { MetricStore } from "./metrics.js";
import { Properties, type PropertySource } from "./properties.js";
import { SharedDataStore } from "./shared-data.js";
import { HttpStream, type LocalReply } from "./stream.js";
import { HostError, LOG_LEVELS, WasmResult, type FailurePolicy, type LogEntry, type LogLevelName } from "./types.js";
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
}

/** Captured log lines with a few filters for short assertions. */
export class LogBook extends Array<LogEntry> {
  static get [Symbol.species]() { return Array; }
  atLevel(level: LogLevelName): LogEntry[] { return this.filter((l) => l.level === level); }
  matching(pattern: string | RegExp): LogEntry[] {
    return this.filter((l) => (typeof pattern === "string" ? l.message.includes(pattern) : pattern.test(l.message)));
  }
  messages(filter?: { level?: LogLevelName; worker?: number; vm?: LogEntry["vm"] }): string[] {
    return this.filter((l) => (!filter?.level || l.level === filter.level) && (filter?.worker === undefined || l.worker === filter.worker)
      && (!filter?.vm || l.vm === filter.vm)).map((l) => l.message);
  }
  clear(): void { this.length = 0; }
}

export class Worker {
  reloads = 0;
  constructor(readonly index: number, public vm: WasmVm) {}
  memoryPages(): number { return this.vm.memoryPages(); }
  get failed(): boolean { return this.vm.failed; }
  get rootId(): number { return this.vm.rootId; }
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
  readonly pluginConfig: Uint8Array;
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

  private constructor(opts: ProxyOptions) {
    this.options = opts;
    this.clock = opts.clock ?? new RealClock();
    this.sharedData = opts.sharedData ?? new SharedDataStore();
    this.callouts = new Callouts(this);
    this.clusters = new Set(opts.clusters ?? []);
    this.vmConfig = toBytes(opts.vmConfig ?? "");
    const pc = opts.pluginConfig;
    this.pluginConfig = pc === undefined ? new Uint8Array(0) : typeof pc === "string" || pc instanceof Uint8Array ? toBytes(pc) : utf8.encode(JSON.stringify(pc));
    this.vmId = opts.vmId ?? "";
    this.rootIdName = opts.rootId ?? "inference-router";
    this.failurePolicy = opts.failurePolicy ?? "FAIL_CLOSED";
    this.logLevelNum = LOG_LEVELS.indexOf(opts.logLevel ?? "info");
    this.random = opts.random ?? Math.random;
    this.properties = new Properties({
      pluginName: opts.pluginName ?? this.rootIdName, rootId: this.rootIdName, vmId: this.vmId, extra: opts.properties ?? {},
    });
  }

  static async create(opts: ProxyOptions): Promise<Proxy> {
    const p = new Proxy(opts);
    const bytes = typeof opts.wasm === "string" ? new Uint8Array(await readFile(opts.wasm)) : opts.wasm;
    const { info, abi } = inspectModule(bytes);
    let module: WebAssembly.Module;
    try { module = await WebAssembly.compile(new Uint8Array(bytes)); } catch (e) { throw new HostError("LoadFailed", String(e)); }
    p.loaded = { module, info, abi };
    p.base = p.startVm("base", -1);
    p.canary = p.startVm("canary", -2);
    p.discard(p.canary);
    for (let w = 0; w < (opts.workers ?? 1); w++) p.workers.push(new Worker(w, p.startVm("worker", w)));
    return p;
  }

  get abi(): string { return this.loaded.abi; }

  /** Instantiate + initialise; for canary/worker also root context create, vm_start, configure. */
  private startVm(kind: VmKind, index: number): WasmVm {
    const vm = new WasmVm(this, this.loaded, kind, index);
    vm.start();
    if (kind === "base") return vm;
    const root = new HostContext(vm, vm.newContextId(), "root");
    vm.rootId = root.id;
    vm.contexts.set(root.id, root);
    const fail = (code: string, what: string): never => {
      this.discard(vm);
      throw new HostError(code, `${what} (${vm.label})${vm.failure ? `: ${vm.failure}` : ""}`, this.logs.slice());
    };
    if (!vm.call("proxy_on_context_create", root, root.id, 0).ok) fail("StartFailed", "proxy_on_context_create trapped");
    const s = vm.call("proxy_on_vm_start", root, root.id, this.vmConfig.length);
    if (!s.ok || (!s.missing && s.value === 0)) fail("StartFailed", "proxy_on_vm_start failed");
    root.pluginConfigAvailable = true;
    const c = vm.call("proxy_on_configure", root, root.id, this.pluginConfig.length);
    root.pluginConfigAvailable = false;
    if (!c.ok || (!c.missing && c.value === 0)) fail("ConfigureFailed", "proxy_on_configure failed");
    return vm;
  }

  private discard(vm: WasmVm): void {
    vm.tickTimer?.cancel();
    vm.tickTimer = undefined;
    vm.tickPeriodMs = 0;
    vm.failed = true; // nothing may reach it any more (queue notifications, callouts)
    vm.failure ??= "discarded";
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
  nextWorker(): number { return this.rr++ % this.workers.length; }

  /** Drives a whole stream: request, router response (if the request got there), then log/done/delete. */
  async request(spec: RequestSpec = {}): Promise<RequestResult> {
    const s = this.newStream(spec.worker ?? 0);
    s.peerUriSan = spec.peer;
    const h = new HeaderMap({
      ":method": spec.method ?? "GET", ":path": spec.path ?? "/", ":authority": spec.authority ?? "example.com",
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

  setTickPeriod(vm: WasmVm, ms: number): void {
    vm.tickTimer?.cancel();
    vm.tickTimer = undefined;
    vm.tickPeriodMs = ms;
    if (ms > 0 && !vm.failed) this.armTick(vm);
  }

  private armTick(vm: WasmVm): void {
    const handle = this.clock.setTimer(vm.tickPeriodMs, () => {
      if (vm.tickTimer !== handle) return;
      vm.tickTimer = undefined;
      if (vm.failed || this.closed) return;
      vm.call("proxy_on_tick", vm.contexts.get(vm.rootId)!, vm.rootId);
      // Fixed delay: re-armed after the tick unless the tick itself changed the period.
      if (!vm.tickTimer && vm.tickPeriodMs > 0 && !vm.failed) this.armTick(vm);
      this.drain();
    });
    vm.tickTimer = handle;
  }

  /** Work that Envoy posts to a worker's dispatcher (queue ready, callout completion): never re-entrant. */
  post(fn: () => void): void {
    this.posted.push(fn);
    if (!this.drainScheduled) {
      this.drainScheduled = true;
      queueMicrotask(() => { this.drainScheduled = false; this.drain(); });
    }
  }

  drain(): void {
    if ([this.base, this.canary, ...this.workers.map((w) => w.vm)].some((vm) => vm?.inCall)) return;
    while (this.posted.length) this.posted.shift()!();
  }

  /** Waits until posted work (async transports, microtasks) has been delivered. */
  async settle(rounds = 5): Promise<void> {
    for (let i = 0; i < rounds; i++) { await new Promise((r) => setImmediate(r)); this.drain(); }
  }

  deliverQueueReady(vm: WasmVm, rootId: number, queueId: number): void {
    const root = vm.contexts.get(rootId);
    if (vm.failed || !root || this.closed) return;
    vm.call("proxy_on_queue_ready", root, rootId, queueId);
  }

  deliverHttpCallResponse(vm: WasmVm, token: number, data: { headers: HeaderMap; body: Uint8Array; trailers: HeaderMap } | undefined): void {
    const root = vm.contexts.get(vm.rootId);
    if (vm.failed || !root || this.closed) return;
    if (data) { root.status = { code: WasmResult.Ok, message: "" }; root.httpCallResponse = data; }
    else root.status = { code: WasmResult.BrokenConnection, message: "reset" };
    try {
      vm.call("proxy_on_http_call_response", root, vm.rootId, token, data ? data.headers.size : 0, data ? data.body.length : 0, data ? data.trailers.size : 0);
    } finally {
      root.httpCallResponse = undefined;
    }
  }

  /** proxy_done: finishes a root context whose on_done returned false. */
  rootDone(vm: WasmVm, ctx: HostContext): number {
    const root = vm.contexts.get(ctx.rootId);
    if (!root || !root.pendingDone) return WasmResult.NotFound;
    root.pendingDone = false;
    vm.defer(() => { vm.call("proxy_on_delete", root, root.id); vm.contexts.delete(root.id); });
    return WasmResult.Ok;
  }

  // ---------------------------------------------------------------- stats
  metrics(): ReturnType<MetricStore["snapshot"]> { return this.metricStore.snapshot(); }
  prometheus(): string { return this.metricStore.prometheus(); }

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
  /** Plugin shutdown: root proxy_on_done; true ⇒ proxy_on_delete, false ⇒ wait for proxy_done(). */
  async close(): Promise<void> {
    for (const w of this.workers) {
      const vm = w.vm;
      vm.tickTimer?.cancel();
      vm.tickTimer = undefined;
      const root = vm.contexts.get(vm.rootId);
      if (vm.failed || !root) continue;
      const r = vm.call("proxy_on_done", root, root.id);
      if (!r.ok) continue;
      if (r.missing || r.value !== 0) { vm.call("proxy_on_delete", root, root.id); vm.contexts.delete(root.id); }
      else root.pendingDone = true;
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
