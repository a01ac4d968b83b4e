// Typed helpers over the proxy-wasm ABI. Rules every helper follows:
//  - a non-Ok status is returned or mapped to an empty result, never thrown: in Envoy a trap kills the VM and,
//    with Istio's default FAIL_CLOSE, every later request on that worker;
//  - keys are passed as UTF-8 ArrayBuffers encoded once (see `utf8`), so a per-request call allocates only its
//    result;
//  - blocks handed over by the host are freed as soon as they are copied.
import * as abi from "./abi";
import { OUT_LEN, OUT_PTR, OUT_U64, outLen, outPtr, resetOut, takeBuffer, takeString, freeHostBlock, utf8, utf8ErrorOffset, decodeStrict } from "./memory";

export { utf8, decodeStrict };

const Ok = abi.WasmResult.Ok;

// ---------------------------------------------------------------------------------------------- logging

let cachedLogLevel: u32 = abi.LogLevel.Info;

/** Re-reads Envoy's log level (0.2.1 `proxy_get_log_level`); called from configure and each tick. */
export function refreshLogLevel(): void {
  if (abi.proxy_get_log_level(OUT_U64) == Ok) cachedLogLevel = load<u32>(OUT_U64);
}

/** True when Envoy would print a message of this level: lets callers skip building the string at all. */
export function logEnabled(level: u32): bool {
  return level >= cachedLogLevel;
}

export function log(level: u32, message: string): void {
  if (level < cachedLogLevel) return;
  const buf = String.UTF8.encode(message, false);
  abi.proxy_log(level, changetype<usize>(buf), buf.byteLength);
}

/** Logs `len` bytes at `ptr` (a message built in a reused buffer: nothing allocated). */
export function logBytes(level: u32, ptr: usize, len: usize): void {
  if (level < cachedLogLevel) return;
  abi.proxy_log(level, ptr, len);
}

// ---------------------------------------------------------------------------------------------- time

/** Wall-clock time in milliseconds as Envoy sees it (0 if the host refuses). */
export function nowMs(): i64 {
  store<u64>(OUT_U64, 0);
  if (abi.proxy_get_current_time_nanoseconds(OUT_U64) != Ok) return 0;
  return <i64>(load<u64>(OUT_U64) / 1_000_000);
}

export function setTickPeriodMs(ms: u32): u32 {
  return abi.proxy_set_tick_period_milliseconds(ms);
}

// ---------------------------------------------------------------------------------------------- header maps

/** First value of a header, or null when absent or the map is not available now. */
export function getHeader(map: u32, key: ArrayBuffer): string | null {
  resetOut();
  const r = abi.proxy_get_header_map_value(map, changetype<usize>(key), key.byteLength, OUT_PTR, OUT_LEN);
  if (r != Ok) return null;
  return takeString();
}

// Header values up to this many UTF-16 units are encoded into a static area instead of a new buffer (UTF-8 takes
// at most 3 bytes per unit): the request path writes 5 headers, none of them long.
const VALUE_UNITS: i32 = 1024;
const VALUE_SCRATCH: usize = memory.data(VALUE_UNITS * 3);

/** Replaces every value of a header (Envoy setCopy). */
export function replaceHeader(map: u32, key: ArrayBuffer, value: string): u32 {
  if (value.length <= VALUE_UNITS) {
    const n = String.UTF8.encodeUnsafe(changetype<usize>(value), value.length, VALUE_SCRATCH, false);
    return abi.proxy_replace_header_map_value(map, changetype<usize>(key), key.byteLength, VALUE_SCRATCH, n);
  }
  const v = String.UTF8.encode(value, false);
  return abi.proxy_replace_header_map_value(map, changetype<usize>(key), key.byteLength, changetype<usize>(v), v.byteLength);
}

/** Replaces every value of a header with `len` bytes at `ptr` (built in a reused buffer). */
export function replaceHeaderBytes(map: u32, key: ArrayBuffer, ptr: usize, len: usize): u32 {
  return abi.proxy_replace_header_map_value(map, changetype<usize>(key), key.byteLength, ptr, len);
}

/** Removes every value of a header; Ok when it was absent. */
export function removeHeader(map: u32, key: ArrayBuffer): u32 {
  return abi.proxy_remove_header_map_value(map, changetype<usize>(key), key.byteLength);
}

/**
 * The serialised pairs of a map as the host handed them over, for parsing in place (the hot path's one read of
 * the request headers): sets `rawPairsPtr` / `rawPairsLen` and returns true, or false when the host refused or the
 * map is empty or unavailable (Envoy returns an empty list for a map it does not have). The caller frees the block
 * with `freeRawPairs` once parsed.
 */
export function getHeaderPairsRaw(map: u32): bool {
  resetOut();
  rawPairsPtr = 0;
  rawPairsLen = 0;
  if (abi.proxy_get_header_map_pairs(map, OUT_PTR, OUT_LEN) != Ok) return false;
  rawPairsPtr = outPtr();
  rawPairsLen = outLen();
  return rawPairsPtr != 0 && rawPairsLen >= 4;
}
export let rawPairsPtr: usize = 0;
export let rawPairsLen: usize = 0;
export function freeRawPairs(): void {
  freeHostBlock(rawPairsPtr);
  rawPairsPtr = 0;
  rawPairsLen = 0;
}

/** Encodes [k0, v0, k1, v1, ...] in proxy-wasm's pairs format. */
export function encodePairs(kv: Array<string>): ArrayBuffer {
  const n = kv.length >> 1;
  const parts = new Array<ArrayBuffer>(n * 2);
  let size = 4 + n * 8;
  for (let i = 0; i < n * 2; i++) {
    parts[i] = String.UTF8.encode(kv[i], false);
    size += parts[i].byteLength + 1;
  }
  const buf = new ArrayBuffer(size);
  const base = changetype<usize>(buf);
  store<u32>(base, n);
  let data = base + 4 + n * 8;
  for (let i = 0; i < n; i++) {
    const k = parts[i * 2];
    const v = parts[i * 2 + 1];
    store<u32>(base + 4 + i * 8, k.byteLength);
    store<u32>(base + 8 + i * 8, v.byteLength);
    memory.copy(data, changetype<usize>(k), k.byteLength);
    data += k.byteLength;
    store<u8>(data++, 0);
    memory.copy(data, changetype<usize>(v), v.byteLength);
    data += v.byteLength;
    store<u8>(data++, 0);
  }
  return buf;
}

// ---------------------------------------------------------------------------------------------- buffers

/**
 * Copies up to `max` bytes from `start` of a buffer into `dst` (capacity `cap`), without any allocation beyond
 * the host's block. Returns the number of bytes copied, or -1 when the buffer is unavailable.
 */
export function readBufferInto(type: u32, start: u32, max: u32, dst: usize, cap: u32): i32 {
  resetOut();
  const want = max < cap ? max : cap;
  const r = abi.proxy_get_buffer_bytes(type, start, want, OUT_PTR, OUT_LEN);
  if (r != Ok) return -1;
  const ptr = outPtr();
  let len = <u32>outLen();
  if (len > want) len = want;
  if (len > 0) memory.copy(dst, ptr, len);
  freeHostBlock(ptr);
  return <i32>len;
}

/** Offset of the first invalid UTF-8 byte seen by the last `getBufferStringStrict` (-1 when valid). */
export let lastUtf8Error: i32 = -1;

/** Whole or partial buffer as a string; null when unavailable or not strictly valid UTF-8 (see `lastUtf8Error`). */
export function getBufferStringStrict(type: u32, start: u32, max: u32): string | null {
  resetOut();
  lastUtf8Error = -1;
  if (abi.proxy_get_buffer_bytes(type, start, max, OUT_PTR, OUT_LEN) != Ok) return null;
  const bad = utf8ErrorOffset(outPtr(), outLen());
  if (bad >= 0) {
    lastUtf8Error = bad;
    freeHostBlock(outPtr());
    return null;
  }
  return takeString();
}

// ---------------------------------------------------------------------------------------------- properties

/** A property path: segments joined by NUL, as Envoy splits them. Build once, reuse. */
export function propertyPath(segments: Array<string>): ArrayBuffer {
  return utf8(segments.join("\0"));
}

export function getProperty(path: ArrayBuffer): ArrayBuffer | null {
  resetOut();
  if (abi.proxy_get_property(changetype<usize>(path), path.byteLength, OUT_PTR, OUT_LEN) != Ok) return null;
  return takeBuffer();
}

export function getPropertyString(path: ArrayBuffer): string | null {
  resetOut();
  if (abi.proxy_get_property(changetype<usize>(path), path.byteLength, OUT_PTR, OUT_LEN) != Ok) return null;
  return takeString();
}

// ---------------------------------------------------------------------------------------------- shared data

/** CAS of the last successful `getShared*` call (0 when absent). */
export let sharedCas: u32 = 0;

/** Reads a shared value into `dst` (capacity `cap`); returns its full length, or -1 when absent. */
export function getSharedInto(key: ArrayBuffer, dst: usize, cap: u32): i32 {
  resetOut();
  store<u32>(OUT_U64, 0);
  sharedCas = 0;
  const r = abi.proxy_get_shared_data(changetype<usize>(key), key.byteLength, OUT_PTR, OUT_LEN, OUT_U64);
  if (r != Ok) return -1;
  sharedCas = load<u32>(OUT_U64);
  const ptr = outPtr();
  const len = <u32>outLen();
  const n = len < cap ? len : cap;
  if (n > 0) memory.copy(dst, ptr, n);
  freeHostBlock(ptr);
  return <i32>len;
}

/** Stores a value if `cas` is 0 or still current; returns Ok or CasMismatch (or another host status). */
export function setSharedRaw(key: ArrayBuffer, ptr: usize, len: u32, cas: u32): u32 {
  return abi.proxy_set_shared_data(changetype<usize>(key), key.byteLength, ptr, len, cas);
}

// ---------------------------------------------------------------------------------------------- metrics

/** Defines a metric; returns its id, or 0 if the host refused (later updates on id 0 are no-ops). */
export function defineMetric(type: u32, name: string): u32 {
  const n = utf8(name);
  store<u32>(OUT_U64, 0);
  if (abi.proxy_define_metric(type, changetype<usize>(n), n.byteLength, OUT_U64) != Ok) return 0;
  return load<u32>(OUT_U64);
}

export function incrementMetric(id: u32, delta: i64): void {
  if (id != 0) abi.proxy_increment_metric(id, delta);
}

export function recordMetric(id: u32, value: u64): void {
  if (id != 0) abi.proxy_record_metric(id, value);
}

// ---------------------------------------------------------------------------------------------- http callouts

/**
 * Dispatches an HTTP call to an Envoy cluster. `headers` are [k, v, ...] and must include :method, :path and
 * :authority (Envoy rejects the call otherwise). Returns the token, or 0 when Envoy refused (unknown cluster...).
 */
export function httpCall(cluster: string, headers: Array<string>, body: ArrayBuffer | null, timeoutMs: u32): u32 {
  const c = utf8(cluster);
  const h = encodePairs(headers);
  const bptr = body === null ? 0 : changetype<usize>(body);
  const blen = body === null ? 0 : body.byteLength;
  store<u32>(OUT_U64, 0);
  const r = abi.proxy_http_call(changetype<usize>(c), c.byteLength, changetype<usize>(h), h.byteLength, bptr, blen, 0, 0, timeoutMs, OUT_U64);
  if (r != Ok) return 0;
  return load<u32>(OUT_U64);
}

// ---------------------------------------------------------------------------------------------- stream control

export function continueRequest(): u32 {
  return abi.proxy_continue_stream(abi.StreamType.Request);
}

export function setEffectiveContext(id: u32): u32 {
  return abi.proxy_set_effective_context(id);
}

/**
 * Sends a local reply. Envoy sends it after the current callback returns and reports that callback as
 * StopAllIteration whatever it returns. grpcStatus -1 means none.
 */
export function sendLocalResponse(status: u32, details: string, body: string, headers: Array<string>, grpcStatus: i32): u32 {
  const d = utf8(details);
  const b = utf8(body);
  const h = encodePairs(headers);
  return abi.proxy_send_local_response(
    status, changetype<usize>(d), d.byteLength, changetype<usize>(b), b.byteLength,
    changetype<usize>(h), h.byteLength, <u32>grpcStatus,
  );
}
