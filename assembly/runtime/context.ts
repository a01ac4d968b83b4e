// The module's context layer: root contexts and one HttpContext per stream, looked up by the ids Envoy passes.
// A VM can hold several root contexts at once: Envoy keys a plugin by root id AND configuration, so a config push
// on a reused VM starts a new root beside the old one, and the old one gets on_done/on_delete only when its last
// stream has ended (proxy-wasm-cpp-host src/wasm.cc WasmBase::start / startShutdown,
// @52a02917b301c679ff43565064cffd2c3c750f6d). Each stream belongs to the root it was created under. Unlike @solo-io/proxy-runtime 0.1.8's runtime, an unknown id is ignored (never a trap), nothing is
// logged per context, and a stream the filter does not want costs no object at all.
import { DataStatus, HeadersStatus, TrailersStatus } from "./abi";

export class HttpContext {
  constructor(public id: u32, public root: RootContext) {}
  onRequestHeaders(headerCount: u32, endOfStream: bool): i32 { return HeadersStatus.Continue; }
  onRequestBody(bodySize: u32, endOfStream: bool): i32 { return DataStatus.Continue; }
  onRequestTrailers(trailerCount: u32): i32 { return TrailersStatus.Continue; }
  onResponseHeaders(headerCount: u32, endOfStream: bool): i32 { return HeadersStatus.Continue; }
  onResponseBody(bodySize: u32, endOfStream: bool): i32 { return DataStatus.Continue; }
  onResponseTrailers(trailerCount: u32): i32 { return TrailersStatus.Continue; }
  /** Access-log time: Envoy calls it before onDone for HTTP streams. */
  onLog(): void {}
  /** The stream is over, however it ended (complete, reset, local reply). */
  onDone(): void {}
}

export class RootContext {
  constructor(public id: u32) {}
  onVmStart(vmConfigSize: u32): bool { return true; }
  /** Read the plugin configuration (available only during this call); false rejects the config. */
  onConfigure(pluginConfigSize: u32): bool { return true; }
  onTick(): void {}
  onHttpCallResponse(token: u32, headerCount: u32, bodySize: u32, trailerCount: u32): void {}
  onQueueReady(queueId: u32): void {}
  /** Returning null lets the stream pass with no filter state. */
  newHttpContext(id: u32): HttpContext | null { return null; }
  /** Plugin shutdown; return false to finish later with proxy_done. */
  onDone(): bool { return true; }
  onDelete(): void {}
}

type RootFactory = (id: u32) => RootContext;

let factory: RootFactory | null = null;
const roots = new Map<u32, RootContext>();
/** The newest root (the VM's current configuration); null before the first. */
let newest: RootContext | null = null;
const streams = new Map<u32, HttpContext>();

/** The entry module registers its root context once, at top level (no host calls there: see host-behaviour §6.D). */
export function setRootContextFactory(f: RootFactory): void {
  factory = f;
}

export function rootFor(id: u32): RootContext | null {
  const r = newest;
  if (r !== null && r.id == id) return r; // the common case, without a map lookup
  return roots.has(id) ? roots.get(id) : null;
}

/** The live root contexts, oldest first (insertion order). */
export function liveRoots(): Array<RootContext> {
  return roots.values();
}

export function streamFor(id: u32): HttpContext | null {
  return streams.has(id) ? streams.get(id) : null;
}

export function createContext(id: u32, parentId: u32): void {
  if (parentId == 0) {
    const f = factory;
    if (f === null || roots.has(id)) return;
    const r = f(id);
    roots.set(id, r);
    newest = r;
    return;
  }
  const r = rootFor(parentId);
  if (r === null || streams.has(id)) return;
  const ctx = r.newHttpContext(id);
  if (ctx !== null) streams.set(id, ctx);
}

export function deleteContext(id: u32): void {
  if (streams.has(id)) {
    streams.delete(id);
    return;
  }
  if (!roots.has(id)) return;
  const r = roots.get(id);
  roots.delete(id);
  if (newest === r) newest = null;
  r.onDelete();
}
