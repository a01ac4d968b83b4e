// The callbacks Envoy looks up by name (proxy-wasm ABI 0.2.1). Each one finds its context and delegates;
// a callback for an id we do not know (never created, already deleted, or a stream we chose not to track)
// answers "continue" instead of trapping.
import { DataStatus, HeadersStatus, TrailersStatus } from "./abi";
import { createContext, deleteContext, rootFor, streamFor } from "./context";

export { malloc } from "./memory";
// The abort handler must be compiled in for asconfig's `use abort=routerAbort`.
import "./abort";

// ABI 0.2.1 rather than 0.2.0: it adds only proxy_get_log_level, which lets the filter skip building debug
// strings Envoy would drop. Both keep Envoy's automatic route-cache clearing on request-header writes, which
// steering relies on (Envoy >= 1.33 stops it only for ABI versions above 0.2.1).
export function proxy_abi_version_0_2_1(): void {}

export function proxy_on_context_create(id: u32, parentId: u32): void {
  createContext(id, parentId);
}

export function proxy_on_vm_start(rootId: u32, vmConfigSize: u32): u32 {
  const r = rootFor(rootId);
  return r === null ? 1 : (r.onVmStart(vmConfigSize) ? 1 : 0);
}

export function proxy_validate_configuration(rootId: u32, size: u32): u32 {
  return 1;
}

export function proxy_on_configure(rootId: u32, size: u32): u32 {
  const r = rootFor(rootId);
  const ok = r === null ? 0 : (r.onConfigure(size) ? 1 : 0);
  __collect(); // configure parses a whole document: drop its garbage at once
  return ok;
}

export function proxy_on_tick(rootId: u32): void {
  const r = rootFor(rootId);
  if (r !== null) r.onTick();
  __collect();
}

export function proxy_on_http_call_response(rootId: u32, token: u32, headers: u32, bodySize: u32, trailers: u32): void {
  const r = rootFor(rootId);
  if (r !== null) r.onHttpCallResponse(token, headers, bodySize, trailers);
}

export function proxy_on_queue_ready(rootId: u32, queueId: u32): void {
  const r = rootFor(rootId);
  if (r !== null) r.onQueueReady(queueId);
}

export function proxy_on_request_headers(id: u32, headers: u32, endOfStream: u32): i32 {
  const s = streamFor(id);
  return s === null ? HeadersStatus.Continue : s.onRequestHeaders(headers, endOfStream != 0);
}

export function proxy_on_request_body(id: u32, bodySize: u32, endOfStream: u32): i32 {
  const s = streamFor(id);
  return s === null ? DataStatus.Continue : s.onRequestBody(bodySize, endOfStream != 0);
}

export function proxy_on_request_trailers(id: u32, trailers: u32): i32 {
  const s = streamFor(id);
  return s === null ? TrailersStatus.Continue : s.onRequestTrailers(trailers);
}

export function proxy_on_response_headers(id: u32, headers: u32, endOfStream: u32): i32 {
  const s = streamFor(id);
  return s === null ? HeadersStatus.Continue : s.onResponseHeaders(headers, endOfStream != 0);
}

export function proxy_on_response_body(id: u32, bodySize: u32, endOfStream: u32): i32 {
  const s = streamFor(id);
  return s === null ? DataStatus.Continue : s.onResponseBody(bodySize, endOfStream != 0);
}

export function proxy_on_response_trailers(id: u32, trailers: u32): i32 {
  const s = streamFor(id);
  return s === null ? TrailersStatus.Continue : s.onResponseTrailers(trailers);
}

export function proxy_on_log(id: u32): void {
  const s = streamFor(id);
  if (s !== null) s.onLog();
}

export function proxy_on_done(id: u32): u32 {
  const s = streamFor(id);
  if (s !== null) {
    s.onDone();
    return 1;
  }
  const r = rootFor(id);
  return r === null ? 1 : (r.onDone() ? 1 : 0);
}

export function proxy_on_delete(id: u32): void {
  deleteContext(id);
  if (++deletes >= COLLECT_EVERY) {
    deletes = 0;
    __collect();
  }
}

// The module uses AssemblyScript's minimal runtime: no incremental-GC bookkeeping in every function (half the
// module's size, and cheaper calls), collection only when asked. We ask at the end of a stream every
// COLLECT_EVERY streams and on each tick: at the end of an exported callback no AssemblyScript frame holds a
// reference, which is when the minimal runtime may collect. A collection marks every live object (the catalog,
// stats, configuration: thousands of objects at 1024 endpoints) whatever the garbage, so its cost per request is
// the live heap over COLLECT_EVERY. 128 marks a quarter as often as 32 did, for at most 128 streams' garbage held
// between collections (memory stays flat: test/filter/memory.test.ts).
const COLLECT_EVERY: u32 = 128;
let deletes: u32 = 0;
