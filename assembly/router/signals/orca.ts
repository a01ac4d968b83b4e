// Reader of ORCA per-response load reports: the `endpoint-load-metrics` response header (xds.data.orca.v3
// OrcaLoadReport, as Envoy and vLLM write it).
//
// Forms (the prefix is case-sensitive and followed by one space, as in Envoy's parser):
//   TEXT cpu_utilization:0.3, mem_utilization:0.8, named_metrics.queue:3   (Envoy's form)
//   TEXT cpu_utilization=0.3, mem_utilization=0.8, named_metrics.queue=3   (vLLM's and Triton's form)
//   JSON {"cpu_utilization": 0.3, "named_metrics": {"queue": 3, "kv_cache_utilization": 0.4}}
//   BIN <base64 of the serialized proto>                               (Envoy's binary form)
// TEXT pairs are separated by commas with optional blanks around each pair. Envoy splits a pair at its first
// `:` (blanks around name and value skipped: source/common/orca/orca_parser.cc tryParseNativeHttpEncoded, header
// prefixes in orca_parser.h, envoyproxy/envoy@977c287b70c9c51f34597ea13b289d28fb114a41); vLLM writes `=`
// (vllm/entrypoints/openai/orca_metrics.py create_orca_header, vllm-project/vllm@08408b80ee411889401fb304deeac22cf2cdafc6).
// Both are read: a pair holding `=` splits at its first `=` (so an engine-prefixed key such as
// `named_metrics.vllm:num_requests_waiting=3` stays whole), any other at its first `:`.
// Leading/trailing blanks around the whole value are ignored; a value without one of these prefixes is not a
// report.
//
// Fields: cpu_utilization, mem_utilization, application_utilization, rps_fractional (also the deprecated
// integer `rps`, and `qps`), eps; the maps named_metrics, request_cost and utilization (TEXT: `map.key=value`;
// JSON: nested object; in JSON also protobuf's lowerCamelCase names cpuUtilization, memUtilization,
// applicationUtilization, rpsFractional, namedMetrics, requestCost). From the maps, keys "queue", "queue_depth", "queue_size", "num_requests_waiting" give
// `queue`; "running", "num_requests_running" give `running`; "kv_cache_utilization", "kv_cache_usage",
// "kv_cache_usage_perc" give `kvCache`. Each of these map keys may carry an engine prefix "vllm:" / "sglang:".
// Other keys are ignored.
//
// BIN: standard base64 (padding optional) of the protobuf encoding, at most BIN_CAP bytes decoded; fields by
// number as in xds/data/orca/v3/orca_load_report.proto (cncf/xds@006306971edc85a646b0888eba1992e4f57f38c9):
// 1 cpu_utilization, 2 mem_utilization, 6 rps_fractional, 7 eps, 9 application_utilization (doubles), 3 rps
// (varint), 4 request_cost, 5 utilization, 8 named_metrics (map<string, double> entries: key 1, value 2). Unknown
// fields are skipped by wire type; a truncated or malformed encoding ends the read (what was read counts). The
// legacy `endpoint-load-metrics-bin` header (gRPC) is not read: one more header lookup on every response.
// Values must be finite and >= 0 (proto validation of the report); JSON values may also be numbers written as
// strings (proto3 JSON mapping). A malformed or out-of-range pair is counted in `errors` and skipped; the rest
// of a TEXT report still counts. A JSON report is read up to the first syntax error. `present` is true when at
// least one well-formed field (known or not) was read. Work is linear in the header length; no allocation.
// The value is read as UTF-8 bytes (parseOrcaBytes); JSON goes through the filter's one JSON cursor (../json.ts).
import { parseNumber, lastNumberOk } from "./prometheus";
import { decodeStrict, utf8ErrorOffset } from "../../runtime/memory";
import {
  BAD, eqLit, isWs, numberEnd, skipWs as wsEnd, startsLit, stringEnd, stringEscaped, unescapeString, valueEnd,
} from "../json";

export class OrcaReport {
  present: bool = false;
  cpu: f64 = -1;
  mem: f64 = -1;
  app: f64 = -1;
  rps: f64 = -1;
  eps: f64 = -1;
  queue: f64 = -1;
  running: f64 = -1;
  kvCache: f64 = -1;
  /** Malformed or out-of-range fields skipped. */
  errors: i32 = 0;

  reset(): void {
    this.present = false;
    this.cpu = -1;
    this.mem = -1;
    this.app = -1;
    this.rps = -1;
    this.eps = -1;
    this.queue = -1;
    this.running = -1;
    this.kvCache = -1;
    this.errors = 0;
  }
}

const NUM_CAP: i32 = 64;
const KEY_CAP: i32 = 96;
const KEY_BUF: usize = memory.data(KEY_CAP);

const GROUP_TOP: i32 = 0;
const GROUP_MAP: i32 = 1;

// The header value: bytes [base, base + n); TEXT and BIN walk it by index.
let base: usize = 0;
let n: i32 = 0;
let numOk = false;

// @ts-ignore: decorator
@inline function ch(i: i32): u32 { return <u32>load<u8>(base + <usize>i); }

/** Parses the bytes [a, b) as a number. Sets numOk. */
function numAt(a: usize, b: usize): f64 {
  numOk = false;
  const len = <i32>(b - a);
  if (len <= 0 || len > NUM_CAP) return 0;
  for (let p = a; p < b; p++) if (load<u8>(p) > 0x7E) return 0;
  const v = parseNumber(a, b);
  // ORCA values are finite and non-negative.
  numOk = lastNumberOk() && isFinite(v) && v >= 0;
  return v;
}

// @ts-ignore: decorator
@inline function num(a: i32, b: i32): f64 { return numAt(base + <usize>a, base + <usize>b); }

function mapKey(kp: usize, len: i32, v: f64, out: OrcaReport): void {
  // Optional engine prefix.
  if (startsLit(kp, len, "vllm:")) { kp += 5; len -= 5; }
  else if (startsLit(kp, len, "sglang:")) { kp += 7; len -= 7; }
  if (eqLit(kp, len, "queue") || eqLit(kp, len, "queue_depth") || eqLit(kp, len, "queue_size") ||
      eqLit(kp, len, "num_requests_waiting")) out.queue = v;
  else if (eqLit(kp, len, "running") || eqLit(kp, len, "num_requests_running")) out.running = v;
  else if (eqLit(kp, len, "kv_cache_utilization") || eqLit(kp, len, "kv_cache_usage") ||
           eqLit(kp, len, "kv_cache_usage_perc")) out.kvCache = v;
}

// Field names: the proto's own (snake_case) and, in JSON, also protobuf's JSON names (lowerCamelCase), since
// Envoy reads the JSON form with protobuf's JSON parser, which accepts both (source/common/orca/orca_parser.cc:
// MessageUtil::loadFromJsonNoThrow, envoyproxy/envoy@977c287b70c9c51f34597ea13b289d28fb114a41).
function isMapName(kp: usize, len: i32): bool {
  return eqLit(kp, len, "named_metrics") || eqLit(kp, len, "request_cost") || eqLit(kp, len, "utilization") ||
    eqLit(kp, len, "namedMetrics") || eqLit(kp, len, "requestCost");
}

function topKey(kp: usize, len: i32, v: f64, out: OrcaReport): void {
  if (eqLit(kp, len, "cpu_utilization") || eqLit(kp, len, "cpuUtilization")) out.cpu = v;
  else if (eqLit(kp, len, "mem_utilization") || eqLit(kp, len, "memUtilization")) out.mem = v;
  else if (eqLit(kp, len, "application_utilization") || eqLit(kp, len, "applicationUtilization")) out.app = v;
  else if (eqLit(kp, len, "rps_fractional") || eqLit(kp, len, "rpsFractional") || eqLit(kp, len, "rps") ||
           eqLit(kp, len, "qps")) out.rps = v;
  else if (eqLit(kp, len, "eps")) out.eps = v;
}

// ---------------------------------------------------------------------------------------------------------
// TEXT
// ---------------------------------------------------------------------------------------------------------

function parseText(i: i32, end: i32, out: OrcaReport): void {
  while (i < end) {
    // one pair: [i, j) up to the next comma
    let j = i;
    while (j < end && ch(j) != 0x2C) j++;
    let a = i, b = j;
    while (a < b && isWs(ch(a))) a++;
    while (b > a && isWs(ch(b - 1))) b--;
    i = j + 1;
    if (a == b) continue; // empty item (", ,")
    let eq = a;
    while (eq < b && ch(eq) != 0x3D) eq++;
    if (eq == b) {
      // Envoy's form: name and value split at the first `:`.
      eq = a;
      while (eq < b && ch(eq) != 0x3A) eq++;
      if (eq == b) { out.errors++; continue; }
    }
    let ke = eq;
    while (ke > a && isWs(ch(ke - 1))) ke--;
    let va = eq + 1;
    while (va < b && isWs(ch(va))) va++;
    const v = num(va, b);
    if (ke == a || !numOk) { out.errors++; continue; }
    out.present = true;
    const kp = base + <usize>a;
    const klen = ke - a;
    let dot = 0;
    while (dot < klen && ch(a + dot) != 0x2E) dot++;
    if (dot < klen) {
      if (isMapName(kp, dot)) mapKey(kp + <usize>(dot + 1), klen - dot - 1, v, out);
    } else topKey(kp, klen, v, out);
  }
}

// ---------------------------------------------------------------------------------------------------------
// JSON (over the byte cursor in ../json.ts; pos and jend are addresses)
// ---------------------------------------------------------------------------------------------------------

let pos: usize = 0;
let jend: usize = 0;
let jsonErr = false;
let keyPtr: usize = 0;
let keyLen: i32 = 0;

function skipWs(): void { pos = wsEnd(pos, jend); }

/** Reads a JSON string at pos (on the opening quote). Sets keyPtr/keyLen to its decoded bytes: in place when it
 *  has no escapes, else in KEY_BUF (keyLen = -1 when it does not fit: compares as no known key). */
function readString(): void {
  const start = pos + 1;
  const after = stringEnd(pos, jend);
  if (after == BAD) { jsonErr = true; return; }
  pos = after;
  if (!stringEscaped) { keyPtr = start; keyLen = <i32>(after - 1 - start); return; }
  const k = unescapeString(start, after - 1, KEY_BUF, KEY_CAP);
  if (k == -2) { jsonErr = true; return; }
  keyPtr = KEY_BUF;
  keyLen = k;
}

/** Reads a number or a numeric string at pos. Sets numOk; jsonErr on a syntax error. */
function readValueNumber(): f64 {
  numOk = false;
  if (load<u8>(pos) == 0x22) {
    // proto3 JSON: a number may be written as a string.
    const a = pos + 1;
    readString();
    if (jsonErr) return 0;
    if (keyPtr != a) return 0; // had escapes: not a number
    return numAt(a, pos - 1);
  }
  const a = pos;
  pos = numberEnd(pos, jend);
  if (pos == a) { jsonErr = true; return 0; }
  return numAt(a, pos);
}

/** Skips one JSON value at pos (any kind), without recursion. */
function skipValue(): void {
  const after = valueEnd(pos, jend);
  if (after == BAD) { jsonErr = true; return; }
  pos = after;
}

/** Reads an object at pos ({...}). group TOP: report fields; group MAP: a named_metrics-style map. */
function readObject(group: i32, out: OrcaReport): void {
  if (pos >= jend || load<u8>(pos) != 0x7B) { jsonErr = true; return; }
  pos++;
  skipWs();
  if (pos < jend && load<u8>(pos) == 0x7D) { pos++; return; }
  while (pos < jend) {
    skipWs();
    if (pos >= jend || load<u8>(pos) != 0x22) { jsonErr = true; return; }
    readString();
    if (jsonErr) return;
    const kp = keyPtr;
    let klen = keyLen;
    // A key decoded into KEY_BUF must be compared before the value (a string value reuses KEY_BUF).
    let isMap = false;
    if (group == GROUP_TOP && klen >= 0) isMap = isMapName(kp, klen);
    skipWs();
    if (pos >= jend || load<u8>(pos) != 0x3A) { jsonErr = true; return; }
    pos++;
    skipWs();
    if (pos >= jend) { jsonErr = true; return; }
    const c = <u32>load<u8>(pos);
    if (isMap && c == 0x7B) {
      readObject(GROUP_MAP, out);
      if (jsonErr) return;
      out.present = true;
    } else if (c == 0x22 || c == 0x2D || (c - 0x30 < 10)) {
      const escapedKey = kp == KEY_BUF;
      if (escapedKey && c == 0x22) {
        // Rare: escaped key with a string value. Skip it (cannot hold both without another buffer).
        skipValue();
        if (jsonErr) return;
      } else {
        const v = readValueNumber();
        if (jsonErr) return;
        if (!numOk) out.errors++;
        else {
          out.present = true;
          if (klen >= 0) {
            if (group == GROUP_TOP) topKey(kp, klen, v, out);
            else mapKey(kp, klen, v, out);
          }
        }
      }
    } else {
      skipValue();
      if (jsonErr) return;
    }
    skipWs();
    if (pos >= jend) { jsonErr = true; return; }
    const d = load<u8>(pos);
    pos++;
    if (d == 0x2C) continue;
    if (d == 0x7D) return;
    jsonErr = true;
    return;
  }
  jsonErr = true;
}

// A header value as UTF-8: at most 3 bytes per UTF-16 unit, so values up to 4096 units (the filter's bound)
// are encoded into this static buffer instead of a fresh allocation.
const UTF8_UNITS: i32 = 4096;
const UTF8_BUF: usize = memory.data(UTF8_UNITS * 3);

/**
 * The header value as the host handed it over (bytes, not yet a string), with the string path's rules: empty or
 * more than 4096 UTF-16 units is no report. Valid UTF-8 is parsed in place (decoding and encoding it back would
 * give the same bytes); anything else takes the string path, which decodes it strictly (U+FFFD per bad byte).
 */
export function parseOrcaValue(ptr: usize, len: i32, out: OrcaReport): bool {
  out.reset();
  if (len <= 0) return false;
  if (utf8ErrorOffset(ptr, <usize>len) >= 0) {
    const s = decodeStrict(ptr, <usize>len);
    return s.length <= UTF8_UNITS && parseOrca(s, out);
  }
  let units = 0;
  for (let i = 0; i < len; i++) {
    const b = load<u8>(ptr + <usize>i);
    if ((b & 0xc0) != 0x80) units += b >= 0xf0 ? 2 : 1; // a 4-byte sequence is a surrogate pair
  }
  return units <= UTF8_UNITS && parseOrcaBytes(ptr, len, out);
}

/** Parses an `endpoint-load-metrics` header value into `out` (reset first). Returns out.present. */
export function parseOrca(value: string, out: OrcaReport): bool {
  const len = value.length;
  if (len <= UTF8_UNITS) {
    const bytes = <i32>String.UTF8.encodeUnsafe(changetype<usize>(value), len, UTF8_BUF);
    return parseOrcaBytes(UTF8_BUF, bytes, out);
  }
  const b = String.UTF8.encode(value);
  return parseOrcaBytes(changetype<usize>(b), b.byteLength, out);
}

/** Parses the header value held as the UTF-8 bytes [ptr, ptr + len) into `out` (reset first). Returns
 *  out.present. */
export function parseOrcaBytes(ptr: usize, len: i32, out: OrcaReport): bool {
  out.reset();
  base = ptr;
  n = len;
  let i = 0;
  let end = n;
  while (i < end && isWs(ch(i))) i++;
  while (end > i && isWs(ch(end - 1))) end--;
  const hp = base + <usize>i;
  const hl = end - i;
  if (startsLit(hp, hl, "TEXT ")) {
    parseText(i + 5, end, out);
  } else if (startsLit(hp, hl, "JSON ")) {
    jend = base + <usize>end;
    pos = base + <usize>(i + 5);
    jsonErr = false;
    skipWs();
    readObject(GROUP_TOP, out);
    if (!jsonErr) {
      skipWs();
      if (pos < jend) jsonErr = true;
    }
    if (jsonErr) out.errors++;
  } else if (startsLit(hp, hl, "BIN ")) {
    parseBin(i + 4, end, out);
  }
  // Anything else: not a report.
  return out.present;
}

// ---------------------------------------------------------------------------------------------------------
// BIN
// ---------------------------------------------------------------------------------------------------------

const BIN_CAP: i32 = 3072;
const BIN_BUF: usize = memory.data(BIN_CAP);

// @ts-ignore: decorator
@inline function b64(c: u32): i32 {
  if (c - 0x41 < 26) return <i32>(c - 0x41);
  if (c - 0x61 < 26) return <i32>(c - 0x61 + 26);
  if (c - 0x30 < 10) return <i32>(c - 0x30 + 52);
  if (c == 0x2B) return 62;
  if (c == 0x2F) return 63;
  return -1;
}

/** Decodes the base64 units [a, b) into BIN_BUF; the byte count, or -1 when malformed or too long. */
function unbase64(a: i32, b: i32): i32 {
  while (b > a && ch(b - 1) == 0x3D) b--; // padding
  let acc: u32 = 0, bits = 0, k = 0;
  for (let i = a; i < b; i++) {
    const d = b64(ch(i));
    if (d < 0) return -1;
    acc = (acc << 6) | <u32>d;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      if (k >= BIN_CAP) return -1;
      store<u8>(BIN_BUF + <usize>k, <u8>(acc >> <u32>bits));
      k++;
    }
  }
  return bits >= 6 ? -1 : k; // a lone trailing character is not base64
}

let bp: usize = 0;
let bend: usize = 0;
let binErr = false;

function varint(): u64 {
  let v: u64 = 0;
  for (let shift: u64 = 0; shift < 64; shift += 7) {
    if (bp >= bend) { binErr = true; return 0; }
    const c = <u64>load<u8>(bp);
    bp++;
    v |= (c & 0x7F) << shift;
    if ((c & 0x80) == 0) return v;
  }
  binErr = true;
  return 0;
}

function fixed64(): f64 {
  if (bp + 8 > bend) { binErr = true; return 0; }
  const v = load<f64>(bp);
  bp += 8;
  return v;
}

// @ts-ignore: decorator
@inline function okValue(v: f64): bool { return isFinite(v) && v >= 0; }

/** One map entry (key string 1, value double 2) in [bp, stop); the key is compared in place. */
function binMapEntry(stop: usize, out: OrcaReport): void {
  let kp: usize = 0;
  let klen = -1;
  let v: f64 = -1;
  let haveV = false;
  const saveEnd = bend;
  bend = stop;
  while (bp < bend && !binErr) {
    const key = varint();
    if (binErr) break;
    const f = <i32>(key >> 3), wt = <i32>(key & 7);
    if (f == 1 && wt == 2) {
      const n = varint();
      if (binErr || n > <u64>(bend - bp)) { binErr = true; break; }
      kp = bp;
      klen = n <= <u64>KEY_CAP ? <i32>n : -1;
      bp += <usize>n;
    } else if (f == 2 && wt == 1) {
      v = fixed64();
      haveV = true;
    } else skipBin(wt);
  }
  bend = saveEnd;
  bp = stop;
  if (binErr) return;
  if (!haveV) v = 0; // proto3: an absent value is 0
  if (!okValue(v)) { out.errors++; return; }
  out.present = true;
  if (klen > 0) mapKey(kp, klen, v, out);
}

function skipBin(wt: i32): void {
  if (wt == 0) varint();
  else if (wt == 1) { if (bp + 8 > bend) binErr = true; else bp += 8; }
  else if (wt == 5) { if (bp + 4 > bend) binErr = true; else bp += 4; }
  else if (wt == 2) {
    const n = varint();
    if (binErr || n > <u64>(bend - bp)) binErr = true;
    else bp += <usize>n;
  } else binErr = true; // groups (3, 4) and unknown wire types
}

function parseBin(a: i32, end: i32, out: OrcaReport): void {
  while (a < end && isWs(ch(a))) a++;
  const len = unbase64(a, end);
  if (len < 0) { out.errors++; return; }
  bp = BIN_BUF;
  bend = BIN_BUF + <usize>len;
  binErr = false;
  while (bp < bend && !binErr) {
    const key = varint();
    if (binErr) break;
    const f = <i32>(key >> 3), wt = <i32>(key & 7);
    if (wt == 1 && (f == 1 || f == 2 || f == 6 || f == 7 || f == 9)) {
      const v = fixed64();
      if (binErr) break;
      if (!okValue(v)) { out.errors++; continue; }
      out.present = true;
      if (f == 1) out.cpu = v;
      else if (f == 2) out.mem = v;
      else if (f == 6) out.rps = v;
      else if (f == 7) out.eps = v;
      else out.app = v;
    } else if (wt == 0 && f == 3) {
      const v = <f64>varint();
      if (binErr) break;
      out.present = true;
      if (out.rps < 0) out.rps = v; // rps_fractional wins
    } else if (wt == 2 && (f == 4 || f == 5 || f == 8)) {
      const n = varint();
      if (binErr || n > <u64>(bend - bp)) { binErr = true; break; }
      binMapEntry(bp + <usize>n, out);
    } else skipBin(wt);
  }
  if (binErr) out.errors++;
}
