// The module's context layer: one root context per VM, one HttpContext per stream, looked up by the ids Envoy
// passes. Unlike @solo-io/proxy-runtime 0.1.8's runtime, an unknown id is ignored (never a trap), nothing is
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
let root: RootContext | null = null;
const streams = new Map<u32, HttpContext>();

/** The entry module registers its root context once, at top level (no host calls there: see facts §6.D). */
export function setRootContextFactory(f: RootFactory): void {
  factory = f;
}

export function currentRoot(): RootContext | null {
  return root;
}

export function rootFor(id: u32): RootContext | null {
  const r = root;
  if (r !== null && r.id == id) return r;
  return null;
}

export function streamFor(id: u32): HttpContext | null {
  return streams.has(id) ? streams.get(id) : null;
}

export function createContext(id: u32, parentId: u32): void {
  if (parentId == 0) {
    // One plugin per VM in Envoy; a second root (another root_id on a shared VM) would replace the first.
    const f = factory;
    if (f !== null) root = f(id);
    return;
  }
  const r = root;
  if (r === null || r.id != parentId || streams.has(id)) return;
  const ctx = r.newHttpContext(id);
  if (ctx !== null) streams.set(id, ctx);
}

export function deleteContext(id: u32): void {
  if (streams.has(id)) {
    streams.delete(id);
    return;
  }
  const r = root;
  if (r !== null && r.id == id) {
    r.onDelete();
    root = null;
  }
}

/** Number of live stream contexts: tests use it to prove nothing leaks. */
export function liveStreams(): i32 {
  return streams.size;
}
