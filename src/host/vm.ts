// One Wasm VM instance as cpp-host runs it: link with the ABI's exact import set, run the start function with
// no context, `_initialize`/`_start` under restricted callbacks, then proxy_on_* calls with a current and an
// effective context, deferred actions after each outermost call, and permanent failure on any trap.
import { HostContext } from "./context.js";
import type { PluginHandle } from "./plugin.js";
import { buildImports, EXPORT_SIGNATURES } from "./imports.js";
import { VmMetrics } from "./metrics.js";
import { readModuleInfo, sigString, type ModuleInfo } from "./module-info.js";
import type { Proxy } from "./proxy.js";
import { HostError, HostTrap, type AbiVersion } from "./types.js";

export type VmKind = "base" | "canary" | "worker";
export type VmMode = "instantiate" | "init" | "malloc" | "normal";

export interface CallResult {
  /** false when the VM was already failed (call skipped) or the call trapped. */
  ok: boolean;
  trapped: boolean;
  value: number;
  /** proxy_send_local_response ran during the call (cpp-host stopNextIteration). */
  stopNext: boolean;
  /** The export does not exist (cpp-host then returns the default for that callback). */
  missing: boolean;
}

export interface LoadedModule {
  module: WebAssembly.Module;
  info: ModuleInfo;
  abi: AbiVersion;
}

/** Checks what cpp-host checks before and while linking (ABI marker, allocator, callback signatures). */
export function inspectModule(bytes: Uint8Array): { info: ModuleInfo; abi: AbiVersion } {
  const info = readModuleInfo(bytes);
  let abi: AbiVersion | undefined;
  for (const name of info.exports.keys()) {
    const m = /^proxy_abi_version_(0_1_0|0_2_0|0_2_1)$/.exec(name);
    if (m) {
      abi = m[1]!.replace(/_/g, ".") as AbiVersion;
      break;
    }
  }
  if (!abi) throw new HostError("LoadFailed", "Missing or unknown Proxy-Wasm ABI version");
  for (const [name, exp] of info.exports) {
    const want = EXPORT_SIGNATURES(abi)[name];
    if (want && exp.kind === 0 && sigString(exp.sig) !== want) {
      throw new HostError("BadSignature", `Bad function signature for: ${name} (got ${sigString(exp.sig)}, want ${want})`);
    }
  }
  if (!info.exports.has("malloc") && !info.exports.has("proxy_on_memory_allocate")) {
    throw new HostError("MissingFunction", "Wasm module is missing malloc function.");
  }
  return { info, abi };
}

/** Decodes guest strings (non-fatal: invalid UTF-8 becomes U+FFFD, as a fresh TextDecoder did). */
const UTF8_DECODER = new TextDecoder();

export class WasmVm {
  instance!: WebAssembly.Instance;
  memory!: WebAssembly.Memory;
  exports: Record<string, unknown> = {};
  readonly contexts = new Map<number, HostContext>();
  readonly vmContext: HostContext;
  readonly metrics: VmMetrics;
  mode: VmMode = "instantiate";
  failed = false;
  failure: string | undefined;
  failedAtMs = 0;
  /** Live plugins on this VM by plugin key (root id + configuration); each has its own root context. */
  readonly plugins = new Map<string, PluginHandle>();
  /** The plugin new streams are created under (the worker's current filter configuration). */
  currentPlugin: PluginHandle | undefined;
  private nextContextId = 1;
  nextHttpCallId = 0;
  current: HostContext | undefined;
  effective: HostContext | undefined;
  private depth = 0;
  private stopNext = false;
  private deferred: Array<() => void> = [];
  /** Set when an import was called from the start section (Envoy+V8 would dereference a null context). */
  startSectionViolation: string | undefined;
  hostCalls: Array<{ name: string; args: Array<number | bigint> }> = [];

  constructor(
    readonly proxy: Proxy,
    readonly loaded: LoadedModule,
    readonly kind: VmKind,
    readonly worker: number,
  ) {
    this.vmContext = new HostContext(this, 0, "vm");
    this.metrics = new VmMetrics(proxy.metricStore);
  }

  get abi(): AbiVersion {
    return this.loaded.abi;
  }
  get currentRoot(): HostContext | undefined {
    return this.currentPlugin?.root;
  }
  /** The current plugin's root context id (0 before the first root exists). */
  get rootId(): number {
    return this.currentPlugin?.root.id ?? 0;
  }
  /** Every root context still known to the VM (live plugins and roots waiting for proxy_done). */
  roots(): HostContext[] {
    return [...this.contexts.values()].filter((c) => c.kind === "root");
  }
  stopTicks(): void {
    for (const r of this.roots()) {
      r.tickTimer?.cancel();
      r.tickTimer = undefined;
    }
  }
  get label(): string {
    return this.kind === "worker" ? `worker ${this.worker}` : this.kind;
  }

  /** Instantiates (start section runs here, with no context) and runs _initialize/_start restricted. */
  start(): void {
    const imports = buildImports(this, this.loaded.info);
    try {
      this.instance = new WebAssembly.Instance(this.loaded.module, imports);
    } catch (e) {
      if (this.startSectionViolation) {
        throw new HostError(
          "StartFunctionHostCall",
          `${this.startSectionViolation} called from the wasm start function with no context (Envoy+V8 crashes on the null context)`,
          this.proxy.logs.slice(),
        );
      }
      throw new HostError("InstantiateFailed", String((e as Error).message ?? e), this.proxy.logs.slice());
    }
    this.exports = this.instance.exports as Record<string, unknown>;
    const mem = this.exports["memory"];
    if (!(mem instanceof WebAssembly.Memory)) throw new HostError("LoadFailed", "module does not export memory");
    this.memory = mem;
    this.mode = "init";
    const init = (name: string, ...args: number[]): void => {
      const r = this.call(name, this.vmContext, ...args);
      if (r.trapped) throw new HostError("StartFailed", `${name} failed: ${this.failure}`, this.proxy.logs.slice());
    };
    if (typeof this.exports["_initialize"] === "function") {
      init("_initialize");
      if (typeof this.exports["main"] === "function") init("main", 0, 0);
      else if (typeof this.exports["__main_void"] === "function") init("__main_void");
    } else if (typeof this.exports["_start"] === "function") init("_start");
    this.mode = "normal";
  }

  newContextId(): number {
    return this.nextContextId++;
  }

  /** Calls a guest export the way cpp-host does: skipped when failed, current/effective context set, traps fail the VM. */
  call(name: string, ctx: HostContext, ...args: number[]): CallResult {
    if (this.failed) return { ok: false, trapped: false, value: 0, stopNext: false, missing: false };
    const fn = this.exports[name];
    if (typeof fn !== "function") return { ok: true, trapped: false, value: 0, stopNext: false, missing: true };
    const saved = { current: this.current, effective: this.effective, stopNext: this.stopNext };
    this.current = ctx;
    this.effective = ctx; // SaveRestoreContext: every host→VM call starts with the effective context reset.
    this.stopNext = false;
    this.depth++;
    let value = 0;
    let trapped = false;
    try {
      const r = (fn as (...a: number[]) => unknown)(...args);
      value = typeof r === "number" ? r >>> 0 : 0;
    } catch (e) {
      trapped = true;
      this.fail(name, e);
    } finally {
      this.depth--;
    }
    const stopNext = this.stopNext;
    this.current = saved.current;
    this.effective = saved.effective;
    this.stopNext = saved.stopNext;
    if (this.depth === 0) this.flushDeferred();
    return { ok: !trapped, trapped, value, stopNext, missing: false };
  }

  get inCall(): boolean {
    return this.depth > 0;
  }

  /** DeferAfterCallActions: continue/close/local reply run after the VM call returns. */
  defer(action: () => void): void {
    if (this.depth === 0) action();
    else this.deferred.push(action);
  }

  setStopNext(): void {
    this.stopNext = true;
  }

  private flushDeferred(): void {
    while (this.deferred.length) this.deferred.shift()!();
  }

  fail(where: string, e: unknown): void {
    if (this.failed) return;
    this.failed = true;
    this.failedAtMs = this.proxy.clock.nowMs();
    const msg =
      e instanceof HostTrap
        ? e.message
        : e instanceof WebAssembly.RuntimeError
          ? `Uncaught RuntimeError: ${e.message}`
          : `host error: ${(e as Error)?.stack ?? String(e)}`;
    this.failure = msg;
    this.stopTicks();
    this.proxy.hostLog(this, "critical", `Function: ${where} failed: ${msg}`, this.current?.id ?? 0);
  }

  // ---- memory ------------------------------------------------------------------------------------------------
  // Views of linear memory, rebuilt only when memory.buffer changed (malloc or memory.grow replace it): every
  // host call goes through them, and a fresh view per call was a large share of the benchmark's time.
  private viewBuffer: ArrayBufferLike | undefined;
  private u8 = new Uint8Array(0);
  private dv = new DataView(new ArrayBuffer(0));

  /** A view of the current memory.buffer. */
  bytes(): Uint8Array {
    const b = this.memory.buffer;
    if (b !== this.viewBuffer) {
      this.viewBuffer = b;
      this.u8 = new Uint8Array(b);
      this.dv = new DataView(b);
    }
    return this.u8;
  }

  private data(): DataView {
    this.bytes();
    return this.dv;
  }

  /** A copy of [ptr, ptr + len) (callers may keep it across guest calls). */
  read(ptr: number, len: number): Uint8Array | undefined {
    const m = this.bytes();
    ptr >>>= 0;
    len >>>= 0;
    if (ptr + len > m.length) return undefined;
    return m.slice(ptr, ptr + len);
  }

  readString(ptr: number, len: number): string | undefined {
    const m = this.bytes();
    ptr >>>= 0;
    len >>>= 0;
    if (ptr + len > m.length) return undefined;
    return UTF8_DECODER.decode(m.subarray(ptr, ptr + len));
  }

  writeU32(ptr: number, v: number): boolean {
    const d = this.data();
    ptr >>>= 0;
    if (ptr + 4 > d.byteLength) return false; // cpp-host only checks against the memory size
    d.setUint32(ptr, v >>> 0, true);
    return true;
  }

  writeU64(ptr: number, v: bigint): boolean {
    const d = this.data();
    ptr >>>= 0;
    if (ptr + 8 > d.byteLength) return false;
    d.setBigUint64(ptr, BigInt.asUintN(64, v), true);
    return true;
  }

  write(ptr: number, data: Uint8Array): boolean {
    const m = this.bytes();
    ptr >>>= 0;
    if (ptr + data.length > m.length) return false;
    m.set(data, ptr);
    return true;
  }

  /** Guest malloc (or proxy_on_memory_allocate) under the malloc restrictions; 0 on failure. */
  alloc(size: number): number {
    const name = typeof this.exports["malloc"] === "function" ? "malloc" : "proxy_on_memory_allocate";
    const fn = this.exports[name] as (n: number) => number;
    const savedMode = this.mode;
    this.mode = "malloc";
    try {
      return fn(size) >>> 0;
    } catch (e) {
      this.fail(name, e);
      throw e instanceof HostTrap ? e : new HostTrap(`${name} trapped`);
    } finally {
      this.mode = savedMode;
    }
  }

  /** copyToPointerSize: malloc(exact size), copy, write ptr and size; empty ⇒ ptr 0, size 0, no malloc. */
  copyOut(data: Uint8Array, ptrPtr: number, sizePtr: number): boolean {
    let p = 0;
    if (data.length > 0) {
      p = this.alloc(data.length);
      if (p === 0 || !this.write(p, data)) return false;
    }
    if (!this.writeU32(ptrPtr, p)) return false;
    if (!this.writeU32(sizePtr, data.length)) return false;
    return true;
  }

  /** Linear memory size in 64 KiB pages. */
  memoryPages(): number {
    return this.memory.buffer.byteLength / 65536;
  }
}
