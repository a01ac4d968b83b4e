// What the filter takes from a request beyond classification: the trusted-only headers (model override,
// client priority) and how much body it may hold. Kept out of filter.ts so the callbacks stay short.
import { MapType } from "../runtime/abi";
import { getHeader } from "../runtime/host";
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
 * Bytes of body the filter holds at most: body.maxBytes, and never more than Envoy's buffer limit. Envoy's
 * filter manager gives the buffered request body a high watermark of the stream's buffer limit (the listener's
 * per_connection_buffer_limit_bytes, 1 MiB by default) and, for a filter that stopped with
 * StopIterationAndBuffer, answers 413 once the buffer grows past it (envoyproxy/envoy
 * source/common/http/filter_manager.cc@00e00299: ActiveStreamDecoderFilter::createBuffer sets
 * setWatermarks(buffer_limit_); requestDataTooLarge sends Code::PayloadTooLarge unless the filters stream).
 * The body callback sees the buffered bytes plus the new chunk, and the filter continues as soon as that reaches
 * this limit, so the buffer never holds more than the limit.
 */
export function scanLimit(b: BodyConfig): u32 {
  return <u32>min(b.maxBytes, b.bufferLimitBytes);
}
