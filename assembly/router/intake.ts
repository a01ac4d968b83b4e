// What the filter takes from a request beyond classification: the trusted-only headers (model override,
// client priority) and how much body it may hold. Kept out of filter.ts so the callbacks stay short.
import { BufferType } from "../runtime/abi";
import { readBufferInto } from "../runtime/host";
import { Classification } from "./classify";
import { BodyConfig } from "./config";
import { MODEL_CAP, validName } from "./scan";
import { parsePriority } from "./steer";
import { H_MODEL_OVERRIDE, H_PRIORITY_IN, Inbound } from "./inbound";
import { peerPrincipal, peerTrusted } from "./trust";
import * as S from "./stats";

/**
 * Takes headers.modelOverride and headers.priorityIn (read with the other request headers, inbound.ts) — only
 * when the downstream mTLS peer is one of `trustedPeers` (trust.ts). From anyone else they are ignored and counted (`untrusted_headers`); the request
 * is classified as if they were absent. Returns the client priority, or i32.MIN_VALUE for none. A trusted
 * override must be a valid model name (validName: <= 256 bytes of UTF-8, no controls); it settles the model.
 */
export function readTrustedHeaders(h: Inbound, trustedPeers: Array<string>, c: Classification, stats: S.Stats): i32 {
  const model = h.get(H_MODEL_OVERRIDE);
  const prio = h.get(H_PRIORITY_IN);
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

/** Copy buffers per worker VM for bodies held in several chunks (allocated once per configuration). */
export const HOLD_SLOTS: i32 = 4;

/**
 * The copy buffers (scan-limit bytes each), taken by a held stream when its body comes in more than one chunk and
 * given back when it decides or ends: memory is fixed at configure time, however many requests come and go.
 */
export class HoldPool {
  private free: Array<usize> = [];
  private disposed: bool = false;
  constructor(readonly cap: u32, enabled: bool) {
    if (enabled) for (let i = 0; i < HOLD_SLOTS; i++) this.free.push(heap.alloc(<usize>cap));
  }
  take(): usize { return this.free.length > 0 ? this.free.pop() : 0; }
  give(p: usize): void {
    if (this.disposed) heap.free(p);
    else this.free.push(p);
  }
  /** On reconfigure: frees the idle buffers now, the others when their streams give them back. */
  dispose(): void {
    this.disposed = true;
    while (this.free.length > 0) heap.free(this.free.pop());
  }
}

export const HOLD_NONE: u8 = 0;
/** The filter copies the chunks (StopIterationAndWatermark: Envoy never answers 413). */
export const HOLD_COPY: u8 = 1;
/** No copy buffer was free: Envoy buffers and shows the whole buffer (StopIterationAndBuffer, the pre-1.35 way). */
export const HOLD_ENVOY: u8 = 2;

/**
 * The body bytes a held stream has seen, up to the scan limit: under StopIterationAndWatermark each body callback
 * sees only its new chunk, so the filter copies them into a HoldPool buffer. A single-chunk body needs none (it is
 * read straight into the router's scratch). With all HOLD_SLOTS buffers busy, a stream falls back to Envoy's own
 * buffering (HOLD_ENVOY), where a chunk that takes the buffer past Envoy's limit would be a 413 — only possible
 * when more than HOLD_SLOTS requests per worker are held at once and the limit is near the scan limit.
 */
export class BodyHold {
  mode: u8 = HOLD_NONE;
  ptr: usize = 0;
  len: u32 = 0;
  /** Body bytes seen in earlier callbacks (including any past the limit). */
  seen: u64 = 0;

  begin(pool: HoldPool): void {
    this.ptr = pool.take();
    this.mode = this.ptr != 0 ? HOLD_COPY : HOLD_ENVOY;
  }

  /** Copies this callback's chunk (`bodySize` bytes) after what is held, up to `cap` bytes in all. */
  append(bodySize: u32, cap: u32): void {
    this.seen += <u64>bodySize;
    if (this.ptr == 0 || this.len >= cap || bodySize == 0) return;
    const room = cap - this.len;
    const n = readBufferInto(BufferType.HttpRequestBody, 0, bodySize < room ? bodySize : room, this.ptr + <usize>this.len, room);
    if (n > 0) this.len += <u32>n;
  }

  release(pool: HoldPool): void {
    if (this.ptr != 0) pool.give(this.ptr);
    this.ptr = 0;
    this.len = 0;
    this.seen = 0;
    this.mode = HOLD_NONE;
  }
}
