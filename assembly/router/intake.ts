// What the filter takes from a request beyond classification: the trusted-only headers (model override,
// client priority) and how much body it may hold. Kept out of filter.ts so the callbacks stay short.
import { BufferType, MapType } from "../runtime/abi";
import { getHeader, readBufferInto } from "../runtime/host";
import { Classification } from "./classify";
import { BodyConfig } from "./config";
import { MODEL_CAP, validName } from "./scan";
import { HeaderKeys, parsePriority } from "./steer";
import { peerPrincipal, peerTrusted } from "./trust";
import * as S from "./stats";

/**
 * Reads headers.modelOverride and headers.priorityIn — only when the downstream mTLS peer is one of
 * `trustedPeers` (trust.ts). From anyone else they are ignored and counted (`untrusted_headers`); the request
 * is classified as if they were absent. Returns the client priority, or i32.MIN_VALUE for none. A trusted
 * override must be a valid model name (validName: <= 256 bytes of UTF-8, no controls); it settles the model.
 */
export function readTrustedHeaders(k: HeaderKeys, trustedPeers: Array<string>, c: Classification, stats: S.Stats): i32 {
  const mo = k.modelOverride, pin = k.priorityIn;
  if (mo === null && pin === null) return i32.MIN_VALUE;
  const model: string | null = mo === null ? null : getHeader(MapType.RequestHeaders, mo!);
  const prio: string | null = pin === null ? null : getHeader(MapType.RequestHeaders, pin!);
  if (model === null && prio === null) return i32.MIN_VALUE;
  if (!peerTrusted(peerPrincipal(), trustedPeers)) {
    stats.count(S.UNTRUSTED_HEADERS);
    return i32.MIN_VALUE;
  }
  if (model !== null && model.length > 0) {
    const m = model!;
    const b = String.UTF8.encode(m);
    if (validName(changetype<usize>(b), b.byteLength, MODEL_CAP)) {
      c.model = m;
      c.needsBody = false;
    }
  }
  return parsePriority(prio);
}

/**
 * Bytes of body the filter holds at most: body.maxBytes, and never more than Envoy's buffer limit
 * (body.bufferLimitBytes, which the toolkit sets from what it generates). Envoy's filter manager gives the
 * buffered request body a high watermark of the stream's buffer limit (the listener's
 * per_connection_buffer_limit_bytes, 1 MiB by default; Envoy Gateway 32 KiB) and, while a filter buffers with
 * StopIterationAndBuffer, answers 413 once the buffer goes past it — even for the chunk the filter would have
 * continued on, since Envoy's wasm context adds a new chunk to the buffer before calling the VM
 * (envoyproxy/envoy source/common/http/filter_manager.cc@00e00299: ActiveStreamDecoderFilter::createBuffer sets
 * setWatermarks(buffer_limit_), requestDataTooLarge sends Code::PayloadTooLarge unless the filters stream;
 * source/extensions/common/wasm/context.cc: decodeData calls addDecodedData first while buffering). So the
 * filter holds with StopIterationAndWatermark — the filter manager keeps the data and applies backpressure past
 * the mark instead of a 413 — keeps its own copy of what it has seen (BodyHold), and continues once it has
 * this many bytes or the end of the body.
 */
export function scanLimit(b: BodyConfig): u32 {
  return <u32>min(b.maxBytes, b.bufferLimitBytes);
}

/**
 * The body bytes a held stream has seen, up to the scan limit: under StopIterationAndWatermark each body callback
 * sees only its new chunk, so the filter copies them. Allocated only when a body comes in more than one chunk
 * (a single-chunk body is read straight into the router's shared scratch), freed when the stream decides or ends.
 */
export class BodyHold {
  ptr: usize = 0;
  len: u32 = 0;
  /** Body bytes seen in earlier callbacks (including any past the limit). */
  seen: u64 = 0;

  /** Copies this callback's chunk (`bodySize` bytes) after what is held, up to `cap` bytes in all. */
  append(bodySize: u32, cap: u32): void {
    this.seen += <u64>bodySize;
    if (this.len >= cap || bodySize == 0) return;
    if (this.ptr == 0) this.ptr = heap.alloc(<usize>cap);
    const room = cap - this.len;
    const n = readBufferInto(BufferType.HttpRequestBody, 0, bodySize < room ? bodySize : room, this.ptr + <usize>this.len, room);
    if (n > 0) this.len += <u32>n;
  }

  release(): void {
    if (this.ptr != 0) heap.free(this.ptr);
    this.ptr = 0;
    this.len = 0;
    this.seen = 0;
  }
}
