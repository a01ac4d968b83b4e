// The host functions, registered exactly as cpp-host's registerCallbacks does for each ABI: the common proxy_*
// set, continue/close_stream for 0.2.x, get_log_level for 0.2.1 only, the 0.1.0-only calls for 0.1.0, WASI under
// both module names and two emscripten helpers. Linking is strict: a missing import or a signature mismatch
// fails the load, as in Envoy.
import type { HostContext } from "./context.js";
import { HeaderMap } from "./headers.js";
import type { ModuleInfo } from "./module-info.js";
import { sigString } from "./module-info.js";
import { parsePairs, serializePairs } from "./pairs.js";
import { realtimeNs } from "./clock.js";
import {
  BufferType,
  HostError,
  HostTrap,
  LOG_LEVELS,
  MapType,
  MAX_BUFFER_TYPE,
  MAX_MAP_TYPE,
  StreamType,
  WasiErrno,
  WasmResult,
  type AbiVersion,
} from "./types.js";
import type { WasmVm } from "./vm.js";

const i = "i",
  I = "I";
type Sig = [string, string];
const s = (params: string, results = i): Sig => [params, results];

const COMMON: Record<string, Sig> = {
  proxy_log: s("iii"),
  proxy_get_status: s("iii"),
  proxy_set_property: s("iiii"),
  proxy_get_property: s("iiii"),
  proxy_send_local_response: s("iiiiiiii"),
  proxy_get_shared_data: s("iiiii"),
  proxy_set_shared_data: s("iiiii"),
  proxy_register_shared_queue: s("iii"),
  proxy_resolve_shared_queue: s("iiiii"),
  proxy_dequeue_shared_queue: s("iii"),
  proxy_enqueue_shared_queue: s("iii"),
  proxy_get_header_map_value: s("iiiii"),
  proxy_add_header_map_value: s("iiiii"),
  proxy_replace_header_map_value: s("iiiii"),
  proxy_remove_header_map_value: s("iii"),
  proxy_get_header_map_pairs: s("iii"),
  proxy_set_header_map_pairs: s("iii"),
  proxy_get_header_map_size: s("ii"),
  proxy_get_buffer_status: s("iii"),
  proxy_get_buffer_bytes: s("iiiii"),
  proxy_set_buffer_bytes: s("iiiii"),
  proxy_http_call: s("iiiiiiiiii"),
  proxy_grpc_call: s("iiiiiiiiiiii"),
  proxy_grpc_stream: s("iiiiiiiii"),
  proxy_grpc_close: s("i"),
  proxy_grpc_cancel: s("i"),
  proxy_grpc_send: s("iiii"),
  proxy_set_tick_period_milliseconds: s("i"),
  proxy_get_current_time_nanoseconds: s("i"),
  proxy_define_metric: s("iiii"),
  proxy_increment_metric: s("iI"),
  proxy_record_metric: s("iI"),
  proxy_get_metric: s("ii"),
  proxy_set_effective_context: s("i"),
  proxy_done: s(""),
  proxy_call_foreign_function: s("iiiiii"),
};
const ABI_01: Record<string, Sig> = {
  proxy_get_configuration: s("ii"),
  proxy_continue_request: s(""),
  proxy_continue_response: s(""),
  proxy_clear_route_cache: s(""),
};
const ABI_02: Record<string, Sig> = { proxy_continue_stream: s("i"), proxy_close_stream: s("i") };
const ABI_021: Record<string, Sig> = { proxy_get_log_level: s("i") };
const WASI: Record<string, Sig> = {
  fd_write: s("iiii"),
  fd_read: s("iiii"),
  fd_seek: s("iIii"),
  fd_close: s("i"),
  fd_fdstat_get: s("ii"),
  fd_fdstat_set_flags: s("ii"),
  fd_prestat_get: s("ii"),
  fd_prestat_dir_name: s("iii"),
  environ_get: s("ii"),
  environ_sizes_get: s("ii"),
  args_get: s("ii"),
  args_sizes_get: s("ii"),
  clock_time_get: s("iIi"),
  clock_res_get: s("ii"),
  random_get: s("ii"),
  sched_yield: s(""),
  poll_oneoff: s("iiii"),
  proc_exit: s("i", ""),
  path_open: s("iiiiiIIii"),
  fd_filestat_get: s("ii"),
};
const EMSCRIPTEN: Record<string, Sig> = { pthread_equal: s("ii"), emscripten_notify_memory_growth: s("i", "") };

/** Host calls allowed while _initialize/_start run (V8 backend's restricted callbacks). */
const INIT_ALLOWED = new Set([
  "proxy_log",
  "fd_write",
  "args_get",
  "args_sizes_get",
  "environ_get",
  "environ_sizes_get",
  "clock_time_get",
  "clock_res_get",
  "random_get",
  "poll_oneoff",
  "fd_fdstat_get",
  "fd_fdstat_set_flags",
]);
/** Host calls allowed while the host runs the guest's malloc. */
const MALLOC_ALLOWED = new Set(["proxy_log", "fd_write", "clock_time_get", "poll_oneoff"]);

export function importSignatures(abi: AbiVersion): Map<string, Sig> {
  const m = new Map<string, Sig>();
  const env = { ...COMMON, ...(abi === "0.1.0" ? ABI_01 : ABI_02), ...(abi === "0.2.1" ? ABI_021 : {}), ...EMSCRIPTEN };
  for (const [k, v] of Object.entries(env)) m.set(`env.${k}`, v);
  for (const [k, v] of Object.entries(WASI)) {
    m.set(`wasi_unstable.${k}`, v);
    m.set(`wasi_snapshot_preview1.${k}`, v);
  }
  return m;
}

const sigText = ([p, r]: Sig): string => `(${p})->(${r})`;

/** Guest export signatures cpp-host checks ("Bad function signature"). */
export function EXPORT_SIGNATURES(abi: AbiVersion): Record<string, string> {
  const t: Record<string, Sig> = {
    malloc: s("i"),
    proxy_on_memory_allocate: s("i"),
    _initialize: s("", ""),
    _start: s("", ""),
    main: s("ii"),
    __main_void: s(""),
    proxy_validate_configuration: s("ii"),
    proxy_on_vm_start: s("ii"),
    proxy_on_configure: s("ii"),
    proxy_on_tick: s("i", ""),
    proxy_on_context_create: s("ii", ""),
    proxy_on_new_connection: s("i"),
    proxy_on_downstream_data: s("iii"),
    proxy_on_upstream_data: s("iii"),
    proxy_on_downstream_connection_close: s("ii", ""),
    proxy_on_upstream_connection_close: s("ii", ""),
    proxy_on_request_headers: abi === "0.1.0" ? s("ii") : s("iii"),
    proxy_on_request_body: s("iii"),
    proxy_on_request_trailers: s("ii"),
    proxy_on_request_metadata: s("ii"),
    proxy_on_response_headers: abi === "0.1.0" ? s("ii") : s("iii"),
    proxy_on_response_body: s("iii"),
    proxy_on_response_trailers: s("ii"),
    proxy_on_response_metadata: s("ii"),
    proxy_on_http_call_response: s("iiiii", ""),
    proxy_on_grpc_receive_initial_metadata: s("iii", ""),
    proxy_on_grpc_receive: s("iii", ""),
    proxy_on_grpc_receive_trailing_metadata: s("iii", ""),
    proxy_on_grpc_close: s("iii", ""),
    proxy_on_queue_ready: s("ii", ""),
    proxy_on_done: s("i"),
    proxy_on_log: s("i", ""),
    proxy_on_delete: s("i", ""),
  };
  if (abi !== "0.1.0") t["proxy_on_foreign_function"] = s("iii", ""); // void in cpp-host (proxy-runtime 0.1.8 loads)
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(t)) out[k] = sigText(v);
  return out;
}

const utf8 = new TextEncoder();
const utf8d = new TextDecoder();

interface BufferRef {
  data: Uint8Array;
  set?: (d: Uint8Array) => void;
}

export function buildImports(vm: WasmVm, info: ModuleInfo): WebAssembly.Imports {
  const proxy = vm.proxy;
  const sigs = importSignatures(vm.abi);
  // Strict link (src/v8/v8.cc link): every import must be provided, with the same signature.
  for (const imp of info.imports) {
    const key = `${imp.module}.${imp.name}`;
    const want = sigs.get(key);
    if (imp.kind !== 0 || !want) {
      throw new HostError("MissingImport", `Failed to load Wasm module due to a missing import: ${key}`, proxy.logs.slice());
    }
    if (sigString(imp.sig) !== sigText(want)) {
      throw new HostError(
        "BadImportSignature",
        `Failed to load Wasm module due to an import type mismatch: ${key} ${sigString(imp.sig)} (host ${sigText(want)})`,
        proxy.logs.slice(),
      );
    }
  }

  const ctx = (): HostContext => vm.effective ?? vm.vmContext;
  const str = (p: number, n: number): string | undefined => vm.readString(p, n);
  const bytes = (p: number, n: number): Uint8Array | undefined => vm.read(p, n);
  const out = (data: Uint8Array, pp: number, sp: number): number =>
    vm.copyOut(data, pp, sp) ? WasmResult.Ok : WasmResult.InvalidMemoryAccess;
  const u32out = (p: number, v: number): number => (vm.writeU32(p, v) ? WasmResult.Ok : WasmResult.InvalidMemoryAccess);

  const headerMap = (c: HostContext, type: number, write: boolean): HeaderMap | null | "notfound" => {
    if (type === MapType.HttpCallResponseHeaders || type === MapType.HttpCallResponseTrailers) {
      if (write || !c.httpCallResponse) return null;
      return type === MapType.HttpCallResponseHeaders ? c.httpCallResponse.headers : c.httpCallResponse.trailers;
    }
    if (!c.stream) return null;
    return c.stream.headerMapFor(type, write);
  };
  const modified = (c: HostContext, type: number): void => {
    if (type === MapType.RequestHeaders && c.stream && vm.abi !== "0.1.0") c.stream.noteRouteCacheClear();
  };
  const buffer = (c: HostContext, type: number): BufferRef | null => {
    switch (type) {
      case BufferType.VmConfiguration:
        return { data: proxy.vmConfig };
      case BufferType.PluginConfiguration:
        return c.pluginConfig ? { data: c.pluginConfig } : null;
      case BufferType.HttpCallResponseBody:
        return c.httpCallResponse ? { data: c.httpCallResponse.body } : null;
      case BufferType.HttpRequestBody:
      case BufferType.HttpResponseBody:
        return c.stream ? c.stream.bodyBufferFor(type) : null;
      default:
        return null;
    }
  };

  const H: Record<string, (...a: any[]) => any> = {
    // ---- logging / time ----
    proxy_log(level: number, p: number, n: number) {
      if (level >>> 0 > 5) return WasmResult.BadArgument;
      const msg = str(p, n);
      if (msg === undefined) return WasmResult.InvalidMemoryAccess;
      proxy.guestLog(vm, level, msg, ctx().id, "proxy_log");
      return WasmResult.Ok;
    },
    proxy_get_log_level(p: number) {
      return u32out(p, proxy.logLevelNum);
    },
    proxy_get_current_time_nanoseconds(p: number) {
      return vm.writeU64(p, realtimeNs(proxy.clock)) ? WasmResult.Ok : WasmResult.InvalidMemoryAccess;
    },
    proxy_set_tick_period_milliseconds(ms: number) {
      const root = ctx().root;
      if (root) proxy.setTickPeriod(root, ms >>> 0);
      return WasmResult.Ok;
    },
    // ---- properties ----
    proxy_get_property(pp: number, pn: number, rp: number, rn: number) {
      const path = bytes(pp, pn);
      if (!path) return WasmResult.InvalidMemoryAccess;
      const v = proxy.properties.get(ctx(), path);
      if (v === undefined) return WasmResult.NotFound;
      return out(v, rp, rn);
    },
    proxy_set_property(pp: number, pn: number, vp: number, vn: number) {
      const path = bytes(pp, pn),
        val = bytes(vp, vn);
      if (!path || !val) return WasmResult.InvalidMemoryAccess;
      const st = ctx().stream;
      if (!st) return WasmResult.NotFound; // no stream info on root contexts
      st.filterState.set(`wasm.${utf8d.decode(path)}`, val);
      return WasmResult.Ok;
    },
    // ---- buffers ----
    proxy_get_buffer_bytes(type: number, start: number, len: number, pp: number, sp: number) {
      type >>>= 0;
      start >>>= 0;
      len >>>= 0;
      if (type > MAX_BUFFER_TYPE) return WasmResult.BadArgument;
      const b = buffer(ctx(), type);
      if (!b) return WasmResult.NotFound;
      if (start + len > 0xffffffff) return WasmResult.BadArgument;
      const n = Math.max(0, Math.min(len, b.data.length - start));
      return out(n > 0 ? b.data.slice(start, start + n) : new Uint8Array(0), pp, sp);
    },
    proxy_get_buffer_status(type: number, lp: number, fp: number) {
      type >>>= 0;
      if (type > MAX_BUFFER_TYPE) return WasmResult.BadArgument;
      const b = buffer(ctx(), type);
      if (!b) return WasmResult.NotFound;
      if (!vm.writeU32(lp, b.data.length) || !vm.writeU32(fp, 0)) return WasmResult.InvalidMemoryAccess;
      return WasmResult.Ok;
    },
    proxy_set_buffer_bytes(type: number, start: number, len: number, dp: number, dn: number) {
      type >>>= 0;
      start >>>= 0;
      len >>>= 0;
      if (type > MAX_BUFFER_TYPE) return WasmResult.BadArgument;
      const data = bytes(dp, dn);
      if (!data) return WasmResult.InvalidMemoryAccess;
      const b = buffer(ctx(), type);
      if (!b) return WasmResult.NotFound;
      if (!b.set) return WasmResult.BadArgument; // const buffers (configuration, call response)
      const cur = b.data;
      // Envoy Buffer::copyFrom: start 0 ⇒ drain(len) + prepend; start ≥ size ⇒ append; else BadArgument.
      if (start === 0) b.set(concat(data, cur.subarray(Math.min(len, cur.length))));
      else if (start >= cur.length) b.set(concat(cur, data));
      else return WasmResult.BadArgument;
      return WasmResult.Ok;
    },
    // ---- header maps ----
    proxy_get_header_map_pairs(type: number, pp: number, sp: number) {
      type >>>= 0;
      if (type > MAX_MAP_TYPE) return WasmResult.BadArgument;
      const m = headerMap(ctx(), type, false);
      if (m === "notfound") return WasmResult.NotFound;
      if (!m) return WasmResult.BadArgument;
      return out(serializePairs(m.entries()), pp, sp);
    },
    proxy_set_header_map_pairs(type: number, p: number, n: number) {
      type >>>= 0;
      if (type > MAX_MAP_TYPE) return WasmResult.BadArgument;
      const raw = bytes(p, n);
      if (!raw) return WasmResult.InvalidMemoryAccess;
      const c = ctx();
      const m = headerMap(c, type, true);
      if (!m || m === "notfound") return WasmResult.BadArgument;
      m.setPairs(parsePairs(raw)); // malformed ⇒ empty list ⇒ every header removed
      modified(c, type);
      return WasmResult.Ok;
    },
    proxy_get_header_map_value(type: number, kp: number, kn: number, pp: number, sp: number) {
      type >>>= 0;
      if (type > MAX_MAP_TYPE) return WasmResult.BadArgument;
      const key = str(kp, kn);
      if (key === undefined) return WasmResult.InvalidMemoryAccess;
      const m = headerMap(ctx(), type, false);
      if (m === "notfound") return WasmResult.NotFound;
      if (!m) return WasmResult.BadArgument;
      const v = m.get(key);
      if (v === undefined) return vm.abi === "0.1.0" ? out(new Uint8Array(0), pp, sp) : WasmResult.NotFound;
      return out(utf8.encode(v), pp, sp);
    },
    proxy_add_header_map_value(type: number, kp: number, kn: number, vp: number, vn: number) {
      return writeHeader(type, kp, kn, vp, vn, (m, k, v) => m.add(k, v));
    },
    proxy_replace_header_map_value(type: number, kp: number, kn: number, vp: number, vn: number) {
      return writeHeader(type, kp, kn, vp, vn, (m, k, v) => m.replace(k, v));
    },
    proxy_remove_header_map_value(type: number, kp: number, kn: number) {
      return writeHeader(type, kp, kn, 0, 0, (m, k) => m.remove(k));
    },
    proxy_get_header_map_size(type: number, p: number) {
      type >>>= 0;
      if (type > MAX_MAP_TYPE) return WasmResult.BadArgument;
      const m = headerMap(ctx(), type, false);
      if (!m || m === "notfound") return WasmResult.BadArgument;
      return u32out(p, m.byteSize);
    },
    // ---- stream control ----
    proxy_continue_stream(type: number) {
      return streamControl(type >>> 0, "continue");
    },
    proxy_close_stream(type: number) {
      return streamControl(type >>> 0, "close");
    },
    proxy_continue_request() {
      return streamControl(StreamType.Request, "continue");
    },
    proxy_continue_response() {
      return streamControl(StreamType.Response, "continue");
    },
    proxy_clear_route_cache() {
      ctx().stream?.noteRouteCacheClear();
      return WasmResult.Ok;
    },
    proxy_get_configuration(pp: number, sp: number) {
      const c = ctx();
      return c.pluginConfig ? out(c.pluginConfig, pp, sp) : WasmResult.NotFound;
    },
    proxy_send_local_response(code: number, dp: number, dn: number, bp: number, bn: number, hp: number, hn: number, grpc: number) {
      const details = str(dp, dn),
        body = bytes(bp, bn),
        hdr = bytes(hp, hn);
      if (details === undefined || !body || !hdr) return WasmResult.InvalidMemoryAccess;
      const c = ctx();
      const st = c.stream;
      if (st) {
        if (st.localReplyHeld) return WasmResult.BadArgument; // Envoy local_reply_hold_: one reply per stream
        st.localReplyHeld = true;
        const g = grpc >>> 0;
        const reply = {
          status: code >>> 0,
          body: utf8d.decode(body),
          headers: parsePairs(hdr),
          details: details.replace(/\s/g, "_"),
          grpcStatus: g <= 16 ? g : undefined,
        };
        vm.defer(() => st.sendLocalReply(reply));
      }
      vm.setStopNext();
      return WasmResult.Ok;
    },
    // ---- http / grpc ----
    proxy_http_call(
      up: number,
      un: number,
      hp: number,
      hn: number,
      bp: number,
      bn: number,
      tp: number,
      tn: number,
      timeout: number,
      tokp: number,
    ) {
      const cluster = str(up, un),
        hdr = bytes(hp, hn),
        body = bytes(bp, bn),
        trl = bytes(tp, tn);
      if (cluster === undefined || !hdr || !body || !trl) return WasmResult.InvalidMemoryAccess;
      const r = proxy.callouts.dispatch(vm, ctx().rootId, cluster, parsePairs(hdr), body, parsePairs(trl), timeout | 0);
      if (r.status !== WasmResult.Ok) return r.status;
      return u32out(tokp, r.token!);
    },
    proxy_grpc_call() {
      return WasmResult.BadArgument;
    }, // no gRPC services are configured on this host
    proxy_grpc_stream() {
      return WasmResult.BadArgument;
    },
    proxy_grpc_send() {
      return WasmResult.NotFound;
    },
    proxy_grpc_cancel() {
      return WasmResult.NotFound;
    },
    proxy_grpc_close() {
      return WasmResult.NotFound;
    },
    proxy_get_status(cp: number, mp: number, mn: number) {
      const st = ctx().status;
      if (!vm.writeU32(cp, st.code)) return WasmResult.InvalidMemoryAccess;
      return out(utf8.encode(st.message), mp, mn);
    },
    // ---- shared data / queues ----
    proxy_get_shared_data(kp: number, kn: number, vp: number, vn: number, cp: number) {
      const key = str(kp, kn);
      if (key === undefined) return WasmResult.InvalidMemoryAccess;
      const e = proxy.sharedData.get(proxy.vmId, key);
      if (!e) return WasmResult.NotFound;
      const r = out(e.value, vp, vn);
      if (r !== WasmResult.Ok) return r;
      return u32out(cp, e.cas);
    },
    proxy_set_shared_data(kp: number, kn: number, vp: number, vn: number, cas: number) {
      const key = str(kp, kn),
        val = bytes(vp, vn);
      if (key === undefined || !val) return WasmResult.InvalidMemoryAccess;
      return proxy.sharedData.set(proxy.vmId, key, val, cas >>> 0);
    },
    proxy_register_shared_queue(np: number, nn: number, tp: number) {
      const name = str(np, nn);
      if (name === undefined) return WasmResult.InvalidMemoryAccess;
      const rootId = ctx().rootId;
      const id = proxy.sharedData.registerQueue(proxy.vmId, name, {
        notify: (q) => proxy.post(() => proxy.deliverQueueReady(vm, rootId, q)),
      });
      return u32out(tp, id);
    },
    proxy_resolve_shared_queue(vp: number, vn: number, np: number, nn: number, tp: number) {
      const vmId = str(vp, vn),
        name = str(np, nn);
      if (vmId === undefined || name === undefined) return WasmResult.InvalidMemoryAccess;
      const id = proxy.sharedData.resolveQueue(vmId === "" ? proxy.vmId : vmId, name);
      if (id === undefined) return WasmResult.NotFound;
      return u32out(tp, id);
    },
    proxy_enqueue_shared_queue(q: number, vp: number, vn: number) {
      const val = bytes(vp, vn);
      if (!val) return WasmResult.InvalidMemoryAccess;
      return proxy.sharedData.enqueue(q >>> 0, val);
    },
    proxy_dequeue_shared_queue(q: number, pp: number, sp: number) {
      const r = proxy.sharedData.dequeue(q >>> 0);
      if (r.status !== WasmResult.Ok) return r.status;
      return out(r.value!, pp, sp);
    },
    // ---- metrics ----
    proxy_define_metric(type: number, np: number, nn: number, ip: number) {
      const name = str(np, nn);
      if (name === undefined) return WasmResult.InvalidMemoryAccess;
      const r = vm.metrics.define(type >>> 0, name);
      if (r.status !== WasmResult.Ok) return r.status;
      return u32out(ip, r.id!);
    },
    proxy_increment_metric(id: number, delta: bigint) {
      return vm.metrics.increment(id >>> 0, BigInt(delta));
    },
    proxy_record_metric(id: number, value: bigint) {
      return vm.metrics.record(id >>> 0, BigInt(value));
    },
    proxy_get_metric(id: number, p: number) {
      const r = vm.metrics.get(id >>> 0);
      if (r.status !== WasmResult.Ok) return r.status;
      return vm.writeU64(p, r.value!) ? WasmResult.Ok : WasmResult.InvalidMemoryAccess;
    },
    // ---- misc ----
    proxy_set_effective_context(id: number) {
      const c = vm.contexts.get(id >>> 0);
      if (!c) return WasmResult.BadArgument;
      vm.effective = c;
      return WasmResult.Ok;
    },
    proxy_done() {
      return proxy.rootDone(vm, ctx());
    },
    proxy_call_foreign_function(np: number, nn: number, ap: number, an: number, rp: number, rn: number) {
      const name = str(np, nn),
        args = bytes(ap, an);
      if (name === undefined || !args) return WasmResult.InvalidMemoryAccess;
      const c = ctx();
      if (name === "clear_route_cache") {
        c.stream?.noteRouteCacheClear();
        return out(new Uint8Array(0), rp, rn);
      }
      const f = proxy.options.foreignFunctions?.[name];
      if (!f) return WasmResult.NotFound;
      return out(f(args), rp, rn);
    },
    // ---- emscripten ----
    pthread_equal(a: number, b: number) {
      return a === b ? 1 : 0;
    },
    emscripten_notify_memory_growth() {
      /* nothing to do: views are re-created on every access */
    },
  };

  function writeHeader(
    type: number,
    kp: number,
    kn: number,
    vp: number,
    vn: number,
    op: (m: HeaderMap, k: string, v: string) => void,
  ): number {
    type >>>= 0;
    if (type > MAX_MAP_TYPE) return WasmResult.BadArgument;
    const k = str(kp, kn),
      v = str(vp, vn);
    if (k === undefined || v === undefined) return WasmResult.InvalidMemoryAccess;
    const c = ctx();
    const m = headerMap(c, type, true);
    if (!m || m === "notfound") return WasmResult.BadArgument;
    op(m, k, v);
    modified(c, type);
    return WasmResult.Ok;
  }

  function streamControl(type: number, what: "continue" | "close"): number {
    if (type > StreamType.Upstream) return WasmResult.BadArgument;
    if (type === StreamType.Upstream) return WasmResult.Unimplemented;
    if (type === StreamType.Downstream) return WasmResult.Ok; // no network filter callbacks on an HTTP context
    const st = ctx().stream;
    if (!st) return WasmResult.Ok; // root context: no decoder/encoder callbacks, nothing to do
    const dir = type === StreamType.Request ? "request" : "response";
    if (what === "continue") {
      st.releaseMapsForContinue(dir); // Envoy nulls the header/body/trailer pointers immediately
      vm.defer(() => st.continueFromFilter(dir));
    } else vm.defer(() => st.closeFromFilter(dir));
    return WasmResult.Ok;
  }

  const W: Record<string, (...a: any[]) => any> = {
    fd_write(fd: number, iovs: number, n: number, wp: number) {
      if (fd !== 1 && fd !== 2) return WasiErrno.BADF;
      const parts: Uint8Array[] = [];
      for (let k = 0; k < n; k++) {
        const iov = bytes(iovs + k * 8, 8);
        if (!iov) return WasiErrno.FAULT;
        const dv = new DataView(iov.buffer);
        const chunk = bytes(dv.getUint32(0, true), dv.getUint32(4, true));
        if (!chunk) return WasiErrno.FAULT;
        parts.push(chunk);
      }
      const all = concat(...parts);
      let msg = utf8d.decode(all);
      if (msg.endsWith("\n")) msg = msg.slice(0, -1);
      proxy.guestLog(vm, fd === 1 ? 2 : 4, msg, ctx().id, "fd_write");
      return vm.writeU32(wp, all.length) ? WasiErrno.SUCCESS : WasiErrno.FAULT;
    },
    fd_read() {
      return WasiErrno.NOSYS;
    },
    fd_seek() {
      return WasiErrno.NOSYS;
    },
    fd_close() {
      return WasiErrno.NOSYS;
    },
    fd_fdstat_get(fd: number, p: number) {
      if (fd !== 1 && fd !== 2) return WasiErrno.BADF;
      const stat = new Uint8Array(24);
      stat[0] = 2; // character device
      return vm.write(p, stat) ? WasiErrno.SUCCESS : WasiErrno.FAULT;
    },
    fd_fdstat_set_flags() {
      return WasiErrno.NOSYS;
    },
    fd_prestat_get() {
      return WasiErrno.BADF;
    },
    fd_prestat_dir_name() {
      return WasiErrno.NOSYS;
    },
    fd_filestat_get() {
      return WasiErrno.BADF;
    },
    path_open() {
      return WasiErrno.NOSYS;
    },
    environ_sizes_get(cp: number, sp: number) {
      const env = envStrings();
      const size = env.reduce((a, e) => a + e.length + 1, 0);
      return vm.writeU32(cp, env.length) && vm.writeU32(sp, size) ? WasiErrno.SUCCESS : WasiErrno.FAULT;
    },
    environ_get(ptrs: number, buf: number) {
      let off = buf;
      for (const [k, e] of envStrings().entries()) {
        const z = concat(e, new Uint8Array(1));
        if (!vm.writeU32(ptrs + 4 * k, off) || !vm.write(off, z)) return WasiErrno.FAULT;
        off += z.length;
      }
      return WasiErrno.SUCCESS;
    },
    args_sizes_get(cp: number, sp: number) {
      return vm.writeU32(cp, 0) && vm.writeU32(sp, 0) ? WasiErrno.SUCCESS : WasiErrno.FAULT;
    },
    args_get() {
      return WasiErrno.SUCCESS;
    },
    clock_time_get(id: number, _precision: bigint, p: number) {
      let t: bigint;
      if (id === 0) t = realtimeNs(proxy.clock);
      else if (id === 1) t = proxy.clock.monotonicNs();
      else return WasiErrno.NOTSUP;
      return vm.writeU64(p, t) ? WasiErrno.SUCCESS : WasiErrno.FAULT;
    },
    clock_res_get(_id: number, p: number) {
      return vm.writeU64(p, 1n) ? WasiErrno.SUCCESS : WasiErrno.FAULT;
    },
    random_get(p: number, n: number) {
      if (n >>> 0 > 65536) return WasiErrno.INVAL;
      const b = new Uint8Array(n >>> 0);
      for (let k = 0; k < b.length; k++) b[k] = Math.floor(proxy.random() * 256) & 0xff;
      return vm.write(p, b) ? WasiErrno.SUCCESS : WasiErrno.FAULT;
    },
    sched_yield() {
      return WasiErrno.SUCCESS;
    },
    poll_oneoff(_in: number, _out: number, _n: number, np: number) {
      return vm.writeU32(np, 0) ? WasiErrno.SUCCESS : WasiErrno.FAULT;
    },
    proc_exit() {
      // cpp-host: context->error("wasi_unstable proc_exit"); Envoy logs it and the call returns (no trap).
      proxy.hostLog(vm, "trace", "wasi_unstable proc_exit", ctx().id);
    },
  };

  function envStrings(): Uint8Array[] {
    return Object.entries(proxy.options.env ?? {}).map(([k, v]) => utf8.encode(`${k}=${v}`));
  }

  const wrap =
    (name: string, fn: (...a: any[]) => any) =>
    (...args: any[]) => {
      if (vm.mode === "instantiate") {
        vm.startSectionViolation = name;
        throw new HostTrap(`host call ${name} with no context`);
      }
      if (vm.mode === "init" && !INIT_ALLOWED.has(name)) throw new HostTrap(`restricted_callback: ${name} during _initialize/_start`);
      if (vm.mode === "malloc" && !MALLOC_ALLOWED.has(name)) throw new HostTrap(`restricted_callback: ${name} during malloc`);
      if (proxy.options.traceHostCalls) vm.hostCalls.push({ name, args });
      return fn(...args);
    };

  const env: Record<string, unknown> = {};
  const wasiU: Record<string, unknown> = {};
  const wasiP: Record<string, unknown> = {};
  for (const [key] of sigs) {
    const [mod, name] = key.split(".") as [string, string];
    if (mod === "env") env[name] = wrap(name, H[name]!);
    else if (mod === "wasi_unstable") wasiU[name] = wrap(name, W[name]!);
    else wasiP[name] = wrap(name, W[name]!);
  }
  return {
    env: env as WebAssembly.ModuleImports,
    wasi_unstable: wasiU as WebAssembly.ModuleImports,
    wasi_snapshot_preview1: wasiP as WebAssembly.ModuleImports,
  };
}

export function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((a, p) => a + p.length, 0));
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.length;
  }
  return out;
}

export const levelName = (n: number) => LOG_LEVELS[Math.min(5, Math.max(0, n))]!;
