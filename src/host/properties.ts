// proxy_get_property as Envoy serves it: NUL-separated paths, Envoy's value encodings, and what is available
// when (request.* once a stream has headers, response.* after response headers, upstream.* after the router
// picked an upstream, xds.* on streams, plugin_* everywhere, unknown names from filter state `wasm.<name>`).
import type { HostContext } from "./context.js";
import { serializePairs } from "./pairs.js";
import type { HttpStream } from "./stream.js";

/** A property value in test-friendly form; see encodeValue for the Envoy wire encoding. */
export type PropertyValue = string | number | bigint | boolean | Uint8Array | Record<string, string>;
export type PropertySource = PropertyValue | ((stream: HttpStream | undefined) => PropertyValue | undefined);

const utf8 = new TextEncoder();

/** Envoy serializeValue: strings/bytes raw, ints 8-byte LE, doubles 8-byte, bool 1 byte, maps as pairs. */
export function encodeValue(v: PropertyValue): Uint8Array {
  if (v instanceof Uint8Array) return v;
  if (typeof v === "string") return utf8.encode(v);
  if (typeof v === "boolean") return new Uint8Array([v ? 1 : 0]);
  if (typeof v === "bigint" || (typeof v === "number" && Number.isInteger(v))) {
    const b = new Uint8Array(8);
    new DataView(b.buffer).setBigInt64(0, BigInt(v), true);
    return b;
  }
  if (typeof v === "number") {
    const b = new Uint8Array(8);
    new DataView(b.buffer).setFloat64(0, v, true);
    return b;
  }
  return serializePairs(Object.entries(v));
}

export interface PropertyOptions {
  pluginName: string;
  rootId: string;
  vmId: string;
  /** Overrides and additions keyed by dotted path ("xds.cluster_name"), optionally computed per stream. */
  extra: Record<string, PropertySource>;
}

/** Defaults an Istio gateway would expose; override through createProxy({ properties }). */
export const DEFAULT_PROPERTIES: Record<string, PropertySource> = {
  "xds.cluster_name": "outbound|80||backend.default.svc.cluster.local",
  "xds.route_name": "default",
  "xds.virtual_host_name": "backend.default.svc.cluster.local:80",
  "xds.listener_direction": 2,
  "xds.filter_chain_name": "",
  "source.address": "10.0.0.2:51234",
  "source.port": 51234,
  "destination.address": "10.0.0.1:8080",
  "destination.port": 8080,
  "connection.mtls": false,
  "connection.requested_server_name": "",
  "upstream.address": "10.0.0.10:8000",
  "upstream.port": 8000,
};

export class Properties {
  constructor(private readonly opts: PropertyOptions) {}

  get(ctx: HostContext, pathBytes: Uint8Array): Uint8Array | undefined {
    const raw = new TextDecoder().decode(pathBytes);
    const segs = raw.split("\0");
    const dotted = segs.join(".");
    const stream = ctx.stream;
    // Test overrides win, but still respect the stream/upstream availability of their namespace.
    const top = segs[0]!;
    const v = this.lookup(top, segs, dotted, stream);
    if (v !== undefined) return encodeValue(v);
    if (stream) {
      const fs = stream.filterState.get(`wasm.${raw}`);
      if (fs) return fs;
    }
    return undefined;
  }

  private extra(dotted: string, stream: HttpStream | undefined): PropertyValue | undefined {
    const src = this.opts.extra[dotted] ?? DEFAULT_PROPERTIES[dotted];
    return typeof src === "function" ? src(stream) : src;
  }

  private lookup(top: string, segs: string[], dotted: string, s: HttpStream | undefined): PropertyValue | undefined {
    switch (top) {
      case "plugin_name":
        return segs.length === 1 ? this.opts.pluginName : undefined;
      case "plugin_root_id":
        return segs.length === 1 ? this.opts.rootId : undefined;
      case "plugin_vm_id":
        return segs.length === 1 ? this.opts.vmId : undefined;
      case "connection_id":
        return s ? s.connectionId : undefined;
    }
    if (!s) return undefined; // everything below needs stream info; root contexts have none
    if (top === "request") return this.request(segs, dotted, s);
    // Envoy reads response.* from the stream info: flags exist from the start (0 until something happens), the
    // code, headers and details only once a response (or a reset) produced them.
    if (top === "response") return this.response(segs, dotted, s);
    if (top === "upstream") return s.reachedRouter ? this.extra(dotted, s) : undefined;
    if (top === "connection" && segs[1] === "id") return s.connectionId;
    // Peer identity (envoyproxy/envoy source/extensions/filters/common/expr/context.cc@00ab8ce9): `mtls` is true
    // when the peer presented a certificate; `uri_san_peer_certificate` is its first URI SAN and is absent
    // without one. Set per request with RequestSpec.peer (test overrides still win).
    if (top === "connection" && segs.length === 2 && (segs[1] === "uri_san_peer_certificate" || segs[1] === "mtls")) {
      const over = this.opts.extra[dotted];
      if (over !== undefined) return typeof over === "function" ? over(s) : over;
      if (segs[1] === "mtls") return s.peerUriSan !== undefined;
      return s.peerUriSan;
    }
    if (["xds", "source", "destination", "connection", "metadata", "filter_state", "node"].includes(top)) return this.extra(dotted, s);
    return this.extra(dotted, s);
  }

  private request(segs: string[], dotted: string, s: HttpStream): PropertyValue | undefined {
    const over = this.extra(dotted, s);
    if (over !== undefined) return over;
    const h = s.requestHeaders;
    if (!h) return undefined;
    const path = h.get(":path") ?? "";
    const q = path.indexOf("?");
    switch (segs[1]) {
      case "path":
        return h.get(":path");
      case "url_path":
        return q >= 0 ? path.slice(0, q) : path;
      case "query":
        return q >= 0 ? path.slice(q + 1) : "";
      case "host":
        return h.get(":authority");
      case "scheme":
        return h.get(":scheme");
      case "method":
        return h.get(":method");
      case "referer":
        return h.get("referer");
      case "useragent":
        return h.get("user-agent");
      case "id":
        return h.get("x-request-id");
      case "protocol":
        return s.protocol;
      case "time":
        return BigInt(Math.round(s.startTimeMs)) * 1_000_000n;
      case "headers":
        if (segs.length === 3) return h.getAll(segs[2]!).join(",") || undefined;
        return h.toObject();
      case "headers_bytes":
        return h.byteSize;
      case "size":
        return s.requestBodyBytes;
      case "total_size":
        return s.requestBodyBytes + h.byteSize;
      case "duration":
        return s.completed ? BigInt(Math.round((s.endTimeMs - s.startTimeMs) * 1e6)) : undefined;
      default:
        return undefined;
    }
  }

  private response(segs: string[], dotted: string, s: HttpStream): PropertyValue | undefined {
    const over = this.extra(dotted, s);
    if (over !== undefined) return over;
    const h = s.responseHeadersForProperties;
    switch (segs[1]) {
      case "code": {
        const c = h?.get(":status");
        return c === undefined ? undefined : Number(c);
      }
      case "code_details":
        return s.responseStarted || s.resetReason !== undefined ? (s.resetReason ?? s.responseCodeDetails) : undefined;
      case "flags":
        return responseFlags(s);
      case "grpc_status": {
        const g = h?.get("grpc-status");
        return g === undefined ? undefined : Number(g);
      }
      case "headers":
        if (!h) return undefined;
        if (segs.length === 3) return h.getAll(segs[2]!).join(",") || undefined;
        return h.toObject();
      case "size":
        return s.responseStarted ? s.responseBodyBytes : undefined;
      default:
        return undefined;
    }
  }
}

/**
 * Envoy's response flags (StreamInfo::ResponseFlag bits) for how a stream without a response ended: an upstream
 * reset (UR, 0x10), an upstream connect failure (UF, 0x20), or the client going away (DC, 0x4000).
 */
function responseFlags(s: HttpStream): number {
  const r = s.resetReason;
  if (r === undefined || s.responseStarted) return 0;
  if (/connect/.test(r)) return 0x20;
  if (/^upstream/.test(r)) return 0x10;
  return 0x4000;
}
