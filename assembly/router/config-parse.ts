// parseConfig: the plugin configuration JSON (what Envoy hands to proxy_on_configure) to a RouterConfig, with
// exactly the rules of src/config/plugin-config.ts (the zod schema of record): types, integers, ranges, the
// header-name / identifier / model-name / endpoint patterns, strict objects, array bounds, defaults and the
// cross-field rules. The first problem found is returned as "<json path>: <reason>", e.g.
// `pools[1].weight: must be >= 0.01`; when it is not about the schema's cross-field rules, zod reports an issue
// at the same path (tests hold the two to parity).
//
// Hostile input must never trap (an abort kills the VM), so:
//  - the text is first checked by checkJson (iterative, bounded stack) and nothing is interpreted before;
//  - the walk below reads the checked text in place (no tree): values are offsets into it. It recurses only
//    along the schema (at most four levels); values nested deeper than the schema are skipped iteratively, so
//    any nesting the checker admits is fine and is reported as a wrong type at the right path, as zod does;
//  - arrays are scanned only up to their maximum length + 1, strings are decoded only up to the longest valid
//    length + 1, so memory stays bounded by the schema, not by the input;
//  - duplicate keys: the last one wins, as with JSON.parse.
import {
  RouterConfig, PoolConfig, ModelConfig, HeaderNames, BodyConfig, ScoringConfig, SaturationConfig,
  SheddingConfig, OutlierConfig, ConfigResult, STEER_POOL, STEER_ENDPOINT, MetricsConfig, SeriesConfig,
  DiscoveryConfig, PollingConfig, LoadReportsConfig, AffinityConfig, PrefixAffinityConfig,
} from "./config";
import { checkJson } from "./json-check";

/** Nesting the syntax check admits (the walk copes with any depth; this only bounds the checker's stack). */
export const CONFIG_MAX_DEPTH: i32 = 65536;

// ---------------------------------------------------------------------------------------------------------------
// Reading the checked text in place.

let T: string = "";
let N: i32 = 0;
let err: string = "";

// @ts-ignore: decorator
@inline
function ch(i: i32): i32 {
  return i < N ? <i32>T.charCodeAt(i) : -1;
}

function ws(i: i32): i32 {
  while (i < N) {
    const c = <i32>T.charCodeAt(i);
    if (c != 0x20 && c != 0x09 && c != 0x0a && c != 0x0d) break;
    i++;
  }
  return i;
}

/** Index after the string whose opening quote is at i. */
function strEnd(i: i32): i32 {
  i++;
  while (i < N) {
    const c = <i32>T.charCodeAt(i);
    if (c == 0x22) return i + 1;
    i += c == 0x5c ? 2 : 1;
  }
  return N;
}

/** Index after the value starting at i (whitespace skipped); iterative whatever the nesting. */
function skipValue(i: i32): i32 {
  i = ws(i);
  const c = ch(i);
  if (c == 0x22) return strEnd(i);
  if (c == 0x7b || c == 0x5b) {
    let depth = 0;
    while (i < N) {
      const d = <i32>T.charCodeAt(i);
      if (d == 0x22) {
        i = strEnd(i);
        continue;
      }
      if (d == 0x7b || d == 0x5b) depth++;
      else if (d == 0x7d || d == 0x5d) {
        depth--;
        if (depth == 0) return i + 1;
      }
      i++;
    }
    return N;
  }
  // Number or literal: up to the next delimiter.
  while (i < N) {
    const d = <i32>T.charCodeAt(i);
    if (d == 0x2c || d == 0x5d || d == 0x7d || d == 0x20 || d == 0x09 || d == 0x0a || d == 0x0d) break;
    i++;
  }
  return i;
}

function hexVal(c: i32): i32 {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  return (c | 0x20) - 0x61 + 10;
}

/** The string at i (opening quote), unescaped, at most `cap` code units (longer strings are cut at cap). */
function readStr(i: i32, cap: i32): string {
  const parts = new Array<i32>();
  i++;
  while (i < N && parts.length < cap) {
    const c = <i32>T.charCodeAt(i);
    if (c == 0x22) break;
    if (c != 0x5c) {
      parts.push(c);
      i++;
      continue;
    }
    const e = ch(i + 1);
    if (e == 0x75) {
      parts.push((hexVal(ch(i + 2)) << 12) | (hexVal(ch(i + 3)) << 8) | (hexVal(ch(i + 4)) << 4) | hexVal(ch(i + 5)));
      i += 6;
      continue;
    }
    let u = e;
    if (e == 0x62) u = 0x08;
    else if (e == 0x66) u = 0x0c;
    else if (e == 0x6e) u = 0x0a;
    else if (e == 0x72) u = 0x0d;
    else if (e == 0x74) u = 0x09;
    parts.push(u);
    i += 2;
  }
  let out = "";
  // Build in chunks to avoid one allocation per char.
  const m = parts.length;
  for (let k = 0; k < m; k += 256) {
    const end = min(k + 256, m);
    const codes = new Array<i32>(end - k);
    for (let j = k; j < end; j++) codes[j - k] = parts[j];
    out += String.fromCharCodes(codes);
  }
  return out;
}

// JSON number -> f64 as JSON.parse reads it: the significant digits (19 at most, then a sticky digit) and a
// clamped decimal exponent are handed to parseFloat, which is exact on the fast path (<= 2^53, |exp| <= 22).
function readNum(i: i32): f64 {
  let neg = false;
  if (ch(i) == 0x2d) {
    neg = true;
    i++;
  }
  let digits = "";
  let kept = 0;
  let sticky = false;
  let exp: i64 = 0; // decimal exponent applied to `digits`
  let seenNonZero = false;
  let c = ch(i);
  while (c >= 0x30 && c <= 0x39) {
    if (c != 0x30 || seenNonZero) {
      seenNonZero = true;
      if (kept < 19) {
        digits += String.fromCharCode(c);
        kept++;
      } else {
        if (c != 0x30) sticky = true;
        exp++;
      }
    }
    c = ch(++i);
  }
  if (c == 0x2e) {
    c = ch(++i);
    while (c >= 0x30 && c <= 0x39) {
      if (c != 0x30 || seenNonZero) {
        seenNonZero = true;
        if (kept < 19) {
          digits += String.fromCharCode(c);
          kept++;
          exp--;
        } else if (c != 0x30) sticky = true;
      } else exp--;
      c = ch(++i);
    }
  }
  if ((c | 0x20) == 0x65) {
    c = ch(++i);
    let eneg = false;
    if (c == 0x2b || c == 0x2d) {
      eneg = c == 0x2d;
      c = ch(++i);
    }
    let e: i64 = 0;
    while (c >= 0x30 && c <= 0x39) {
      if (e < 100000000) e = e * 10 + (c - 0x30);
      c = ch(++i);
    }
    exp += eneg ? -e : e;
  }
  if (!seenNonZero) return neg ? -0.0 : 0.0;
  if (sticky) {
    digits += "1";
    exp--;
  }
  // Beyond these the value is 0 or Infinity whatever the digits.
  if (exp > 400) exp = 400;
  if (exp < -400) exp = -400;
  const v = parseFloat(digits + "e" + exp.toString());
  return neg ? -v : v;
}

// ---------------------------------------------------------------------------------------------------------------
// Errors and paths.

function fail(path: string, reason: string): bool {
  if (err.length == 0) err = (path.length ? path : "(root)") + ": " + reason;
  return false;
}

function field(path: string, key: string): string {
  return path.length ? path + "." + key : key;
}

function index(path: string, i: i32): string {
  return path + "[" + i.toString() + "]";
}

/** A key as it appears in a path of an error: printable ASCII, at most 64 characters, "" when empty. */
export function displayKey(k: string): string {
  if (k.length == 0) return "\"\"";
  const m = min(k.length, 64);
  const codes = new Array<i32>(m);
  for (let i = 0; i < m; i++) {
    const c = <i32>k.charCodeAt(i);
    codes[i] = c >= 0x20 && c <= 0x7e ? c : 0x3f;
  }
  return String.fromCharCodes(codes) + (k.length > 64 ? "..." : "");
}

function typeName(i: i32): string {
  const c = ch(i);
  if (c == 0x22) return "a string";
  if (c == 0x7b) return "an object";
  if (c == 0x5b) return "an array";
  if (c == 0x74 || c == 0x66) return "a boolean";
  if (c == 0x6e) return "null";
  return "a number";
}

function wrongType(i: i32, path: string, want: string): bool {
  return fail(path, "must be " + want + " (got " + typeName(i) + ")");
}

function fmt(v: f64): string {
  if (v == Math.floor(v) && Math.abs(v) < 1e15) return (<i64>v).toString();
  return v.toString();
}

// ---------------------------------------------------------------------------------------------------------------
// Objects, arrays and leaves.

/**
 * The members of the object at `i` (already positioned on '{'): fills `at` with the value offset of each of
 * `keys` (-1 when absent; the last occurrence wins). Fails on an unknown key.
 */
function members(i: i32, path: string, keys: Array<string>, at: Array<i32>): bool {
  for (let k = 0; k < keys.length; k++) at[k] = -1;
  i = ws(i + 1);
  if (ch(i) == 0x7d) return true;
  while (i < N) {
    // Known keys are short: reading 65 units tells them apart from anything else and names unknown ones.
    const key = readStr(i, 65);
    i = ws(strEnd(i));
    i = ws(i + 1); // ':'
    let found = -1;
    for (let k = 0; k < keys.length; k++) {
      if (keys[k] == key) {
        found = k;
        break;
      }
    }
    if (found < 0) return fail(field(path, displayKey(key)), "unknown field");
    at[found] = i;
    i = ws(skipValue(i));
    if (ch(i) != 0x2c) break;
    i = ws(i + 1);
  }
  return true;
}

/**
 * The element offsets of the array at `i`, or null (error set) if it is not an array or its length is outside
 * [minLen, maxLen]. Scans no further than maxLen + 1 elements.
 */
function items(i: i32, path: string, minLen: i32, maxLen: i32): Array<i32> | null {
  if (ch(i) != 0x5b) {
    wrongType(i, path, "an array");
    return null;
  }
  const out = new Array<i32>();
  i = ws(i + 1);
  if (ch(i) != 0x5d) {
    while (i < N) {
      if (out.length >= maxLen) {
        fail(path, "must have at most " + maxLen.toString() + " items");
        return null;
      }
      out.push(i);
      i = ws(skipValue(i));
      if (ch(i) != 0x2c) break;
      i = ws(i + 1);
    }
  }
  if (out.length < minLen) {
    fail(path, "must have at least " + minLen.toString() + (minLen == 1 ? " item" : " items"));
    return null;
  }
  return out;
}

/** Whether the value at i is an object; fails (wrong type) otherwise. */
function isObj(i: i32, path: string): bool {
  if (ch(i) == 0x7b) return true;
  return wrongType(i, path, "an object");
}

/** A number in [lo, hi] (an integer if `integer`); NaN (error set) otherwise. */
function num(i: i32, path: string, lo: f64, hi: f64, integer: bool): f64 {
  const c = ch(i);
  if (c != 0x2d && !(c >= 0x30 && c <= 0x39)) {
    wrongType(i, path, integer ? "an integer" : "a number");
    return NaN;
  }
  const v = readNum(i);
  if (!isFinite(v)) {
    fail(path, "must be a finite number");
    return NaN;
  }
  if (integer && (v != Math.floor(v) || Math.abs(v) > 9007199254740991)) {
    fail(path, "must be an integer");
    return NaN;
  }
  if (v < lo) {
    fail(path, "must be >= " + fmt(lo));
    return NaN;
  }
  if (v > hi) {
    fail(path, "must be <= " + fmt(hi));
    return NaN;
  }
  return v;
}

function int(i: i32, path: string, lo: i32, hi: i32, dflt: i32): i32 {
  if (i < 0) return dflt;
  const v = num(i, path, <f64>lo, <f64>hi, true);
  return isNaN(v) ? dflt : <i32>v;
}

function dbl(i: i32, path: string, lo: f64, hi: f64, dflt: f64): f64 {
  if (i < 0) return dflt;
  const v = num(i, path, lo, hi, false);
  return isNaN(v) ? dflt : v;
}

function bool_(i: i32, path: string, dflt: bool): bool {
  if (i < 0) return dflt;
  const c = ch(i);
  if (c == 0x74) return true;
  if (c == 0x66) return false;
  wrongType(i, path, "a boolean");
  return dflt;
}

// Patterns of the schema, as character-class checks (the strings are UTF-16; everything allowed is ASCII).

function isAlnum(c: i32): bool {
  return (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a);
}

/** ^[a-z0-9!#$%&'*+.^_`|~-]{1,64}$ */
function isHeaderName(s: string): bool {
  const n = s.length;
  if (n < 1 || n > 64) return false;
  for (let i = 0; i < n; i++) {
    const c = <i32>s.charCodeAt(i);
    if ((c >= 0x61 && c <= 0x7a) || (c >= 0x30 && c <= 0x39)) continue;
    if (c == 0x21 || c == 0x23 || c == 0x24 || c == 0x25 || c == 0x26 || c == 0x27 || c == 0x2a || c == 0x2b ||
        c == 0x2e || c == 0x5e || c == 0x5f || c == 0x60 || c == 0x7c || c == 0x7e || c == 0x2d) continue;
    return false;
  }
  return true;
}

/** ^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$ */
function isIdent(s: string): bool {
  const n = s.length;
  if (n < 1 || n > 63) return false;
  if (!isAlnum(<i32>s.charCodeAt(0))) return false;
  for (let i = 1; i < n; i++) {
    const c = <i32>s.charCodeAt(i);
    if (!(isAlnum(c) || c == 0x2e || c == 0x5f || c == 0x2d)) return false;
  }
  return true;
}

/** ^[A-Za-z0-9._-]{0,32}$ */
function isGpu(s: string): bool {
  const n = s.length;
  if (n > 32) return false;
  for (let i = 0; i < n; i++) {
    const c = <i32>s.charCodeAt(i);
    if (!(isAlnum(c) || c == 0x2e || c == 0x5f || c == 0x2d)) return false;
  }
  return true;
}

/** isModelName of plugin-config.ts: 1-256 bytes of UTF-8 (no lone surrogates), no C0, DEL or C1 controls. */
function isModelName(s: string): bool {
  const n = s.length;
  if (n < 1 || n > 256) return false;
  let bytes = 0;
  for (let i = 0; i < n; i++) {
    const c = <i32>s.charCodeAt(i);
    if (c < 0x20 || (c >= 0x7f && c <= 0x9f)) return false;
    if (c >= 0xd800 && c <= 0xdfff) {
      if (c > 0xdbff || i + 1 >= n) return false;
      const lo = <i32>s.charCodeAt(i + 1);
      if (lo < 0xdc00 || lo > 0xdfff) return false;
      bytes += 4;
      i++;
    } else bytes += c < 0x80 ? 1 : c < 0x800 ? 2 : 3;
  }
  return bytes <= 256;
}

/** ^(?:spiffe://[\x21-\x7e]{1,240}|ns:[a-z0-9](?:[-a-z0-9]{0,61}[a-z0-9])?)$ */
function isTrustedPeer(s: string): bool {
  const n = s.length;
  if (s.startsWith("spiffe://")) {
    if (n < 10 || n > 249) return false;
    for (let i = 9; i < n; i++) {
      const c = <i32>s.charCodeAt(i);
      if (c < 0x21 || c > 0x7e) return false;
    }
    return true;
  }
  if (!s.startsWith("ns:") || n < 4 || n > 66) return false;
  for (let i = 3; i < n; i++) {
    const c = <i32>s.charCodeAt(i);
    const alnum = (c >= 0x61 && c <= 0x7a) || (c >= 0x30 && c <= 0x39);
    if (!alnum && !(c == 0x2d && i > 3 && i < n - 1)) return false;
  }
  return true;
}

/** Decimal digits in s[a, b), no leading zero (a lone "0" only if allowZero), value <= maxV. */
function isDecimal(s: string, a: i32, b: i32, maxLen: i32, minV: i32, maxV: i32): bool {
  const n = b - a;
  if (n < 1 || n > maxLen) return false;
  if (n > 1 && s.charCodeAt(a) == 0x30) return false;
  let v = 0;
  for (let i = a; i < b; i++) {
    const c = <i32>s.charCodeAt(i);
    if (c < 0x30 || c > 0x39) return false;
    v = v * 10 + (c - 0x30);
  }
  return v >= minV && v <= maxV;
}

/** ip:port (IPv4 octets 0-255 without leading zeros) or [2-45 of hex ':' '.']:port, port 1-65535. */
function isEndpoint(s: string): bool {
  const n = s.length;
  let hostEnd: i32;
  if (n > 0 && s.charCodeAt(0) == 0x5b) {
    let j = 1;
    while (j < n && s.charCodeAt(j) != 0x5d) {
      const c = <i32>s.charCodeAt(j);
      if (!((c >= 0x30 && c <= 0x3a) || (c >= 0x41 && c <= 0x46) || (c >= 0x61 && c <= 0x66) || c == 0x2e)) return false;
      j++;
    }
    if (j >= n || j - 1 < 2 || j - 1 > 45) return false;
    hostEnd = j + 1;
  } else {
    let a = 0;
    for (let part = 0; part < 4; part++) {
      let b = a;
      while (b < n && <u32>(s.charCodeAt(b) - 0x30) < 10) b++;
      if (!isDecimal(s, a, b, 3, 0, 255)) return false;
      if (part < 3) {
        if (b >= n || s.charCodeAt(b) != 0x2e) return false;
        a = b + 1;
      } else a = b;
    }
    hostEnd = a;
  }
  if (hostEnd >= n || s.charCodeAt(hostEnd) != 0x3a) return false;
  return isDecimal(s, hostEnd + 1, n, 5, 1, 65535);
}

/** ^[\x21-\x7e]{1,255}$ (cluster names, authorities) */
function isVisible255(s: string): bool {
  const n = s.length;
  if (n < 1 || n > 255) return false;
  for (let i = 0; i < n; i++) {
    const c = <i32>s.charCodeAt(i);
    if (c < 0x21 || c > 0x7e) return false;
  }
  return true;
}

/** ^\/[\x21-\x7e]{0,254}$ */
function isPath(s: string): bool {
  const n = s.length;
  if (n < 1 || n > 255 || s.charCodeAt(0) != 0x2f) return false;
  for (let i = 1; i < n; i++) {
    const c = <i32>s.charCodeAt(i);
    if (c < 0x21 || c > 0x7e) return false;
  }
  return true;
}

/** ^[A-Za-z_:][A-Za-z0-9_:]{0,199}$ */
function isMetricName(s: string): bool {
  const n = s.length;
  if (n < 1 || n > 200) return false;
  for (let i = 0; i < n; i++) {
    const c = <i32>s.charCodeAt(i);
    const letter = (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) || c == 0x5f || c == 0x3a;
    if (!(letter || (i > 0 && c >= 0x30 && c <= 0x39))) return false;
  }
  return true;
}

/** ^[A-Za-z_][A-Za-z0-9_]{0,63}$ */
function isLabelName(s: string): bool {
  const n = s.length;
  if (n < 1 || n > 64) return false;
  for (let i = 0; i < n; i++) {
    const c = <i32>s.charCodeAt(i);
    const letter = (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) || c == 0x5f;
    if (!(letter || (i > 0 && c >= 0x30 && c <= 0x39))) return false;
  }
  return true;
}

/** ^[\x20\x21\x23-\x5b\x5d-\x7e]{0,256}$ */
function isLabelValue(s: string): bool {
  const n = s.length;
  if (n > 256) return false;
  for (let i = 0; i < n; i++) {
    const c = <i32>s.charCodeAt(i);
    if (c < 0x20 || c > 0x7e || c == 0x22 || c == 0x5c) return false;
  }
  return true;
}

const MSG_HEADER = "must be a lower-case HTTP header name of 1-64 token characters";
const MSG_IDENT = "must be 1-63 characters of letters, digits, '.', '_' or '-', starting with a letter or digit";
const MSG_MODEL = "must be 1-256 bytes of UTF-8 without control characters";
const MSG_PEER = "must be spiffe://<trust-domain>/<path> or ns:<namespace>";
const MSG_ENDPOINT = "must be ip:port (IPv4) or [ip]:port (IPv6)";
const MSG_GPU = "must be 0-32 characters of letters, digits, '.', '_' or '-'";
const MSG_VISIBLE = "must be 1-255 visible ASCII characters (no spaces)";
const MSG_PATH = "must be an absolute path such as /metrics";
const MSG_METRIC = "must be a Prometheus metric name";
const MSG_LABEL = "must be a Prometheus label name";
const MSG_LABEL_VALUE = "must be 0-256 printable ASCII characters without '\"' or '\\'";

/** The string at i if it passes `check` (read up to cap + 1 units: longer ones fail every pattern), else null. */
function pattern(i: i32, path: string, cap: i32, check: (s: string) => bool, msg: string): string | null {
  if (ch(i) != 0x22) {
    wrongType(i, path, "a string");
    return null;
  }
  const s = readStr(i, cap + 1);
  if (!check(s)) {
    fail(path, msg);
    return null;
  }
  return s;
}

function patternOr(i: i32, path: string, cap: i32, check: (s: string) => bool, msg: string, dflt: string): string {
  if (i < 0) return dflt;
  const s = pattern(i, path, cap, check, msg);
  return s === null ? dflt : s;
}

function patternList(i: i32, path: string, maxLen: i32, cap: i32, check: (s: string) => bool, msg: string): Array<string> {
  const out = new Array<string>();
  if (i < 0) return out;
  const at = items(i, path, 0, maxLen);
  if (at === null) return out;
  for (let k = 0; k < at.length; k++) {
    const s = pattern(at[k], index(path, k), cap, check, msg);
    if (s === null) return out;
    out.push(s);
  }
  return out;
}

/** The string at i if it is one of `options`, else null. */
function oneOf(i: i32, path: string, options: Array<string>): string | null {
  if (ch(i) == 0x22) {
    const s = readStr(i, 33);
    for (let k = 0; k < options.length; k++) if (options[k] == s) return s;
  }
  fail(path, "must be one of " + options.join(", "));
  return null;
}

/**
 * The members of the record (JSON object with free keys) at `i`: [keyOffset0, valueOffset0, ...], one entry per
 * distinct key (the last occurrence wins, as JSON.parse), in first-occurrence order. Null (error set) if not an
 * object.
 */
function recordEntries(i: i32, path: string): Array<i32> | null {
  if (ch(i) != 0x7b) {
    wrongType(i, path, "an object");
    return null;
  }
  const out = new Array<i32>();
  const keys = new Array<string>();
  i = ws(i + 1);
  if (ch(i) == 0x7d) return out;
  while (i < N) {
    const ko = i;
    const key = readStr(i, N);
    i = ws(strEnd(i));
    i = ws(i + 1); // ':'
    const k = keys.indexOf(key);
    if (k >= 0) {
      out[k * 2] = ko;
      out[k * 2 + 1] = i;
    } else {
      keys.push(key);
      out.push(ko);
      out.push(i);
    }
    i = ws(skipValue(i));
    if (ch(i) != 0x2c) break;
    i = ws(i + 1);
  }
  return out;
}

/**
 * A record of string → string: keys checked with `keyCheck`, values with `valCheck`; [k0, v0, ...]. An invalid
 * key is reported at `path.<key>` as zod's invalid_key.
 */
function stringRecord(i: i32, path: string, keyCheck: (s: string) => bool, keyMsg: string, keyCap: i32,
  valCheck: (s: string) => bool, valMsg: string, valCap: i32): Array<string> {
  const out = new Array<string>();
  const e = recordEntries(i, path);
  if (e === null) return out;
  for (let k = 0; k < e.length; k += 2) {
    const key = readStr(e[k], N);
    const p = field(path, key);
    if (!keyCheck(key)) {
      fail(p, keyMsg);
      return out;
    }
    const v = pattern(e[k + 1], p, valCap, valCheck, valMsg);
    if (v === null) return out;
    out.push(key);
    out.push(v);
  }
  return out;
}

// ---------------------------------------------------------------------------------------------------------------
// The schema.

const ROOT_KEYS: Array<string> = [
  "name", "steering", "headers", "body", "pools", "models", "scoring", "saturation", "shedding", "unknownModel", "outlier",
  "polling", "loadReports", "affinity",
];
const HEADER_KEYS: Array<string> = [
  "protocol", "model", "class", "priority", "pool", "endpoint", "modelOverride", "priorityIn", "version", "label", "stripInbound",
  "trustedPeers",
];
const BODY_KEYS: Array<string> = ["enabled", "maxBytes", "timeoutMs", "bufferLimitBytes"];
const POOL_KEYS: Array<string> = ["name", "models", "modelPrefixes", "weight", "gpu", "endpoints", "fallback", "maxInFlight", "metrics", "discovery"];
const METRICS_KEYS: Array<string> = ["cluster", "path", "engine", "authority", "timeoutMs", "modelLabelFilter", "series", "endpointClusters"];
const SERIES_SET_KEYS: Array<string> = ["queue", "running", "kvCache"];
const SERIES_KEYS: Array<string> = ["name", "labels", "scale"];
const DISCOVERY_KEYS: Array<string> = ["enabled", "path", "intervalMs"];
const POLLING_KEYS: Array<string> = ["intervalMs", "probesPerTick", "subsetAbove", "leaseMs"];
const LOAD_REPORTS_KEYS: Array<string> = ["orca", "queueHeader", "kvCacheHeader"];
const AFFINITY_KEYS: Array<string> = ["prefix", "lora"];
const PREFIX_KEYS: Array<string> = ["enabled", "blockBytes", "blocks", "tableSize", "maxLoadFactor"];
const ENGINES: Array<string> = ["vllm", "sglang", "trtllm", "triton-trtllm", "triton", "tgi", "custom"];
const MODEL_KEYS: Array<string> = ["name", "priority"];
const SCORING_KEYS: Array<string> = ["inFlight", "queue", "kvCache", "sampleAbove", "staleAfterMs"];
const SATURATION_KEYS: Array<string> = ["queue", "kvCache"];
const SHEDDING_KEYS: Array<string> = ["belowPriority", "retryAfterSeconds"];
const OUTLIER_KEYS: Array<string> = ["consecutiveErrors", "baseEjectionMs", "maxEjectionMs", "maxEjectionPercent"];

function parseHeaders(i: i32, path: string, h: HeaderNames): void {
  if (i < 0 || !isObj(i, path)) return;
  const at = new Array<i32>(HEADER_KEYS.length);
  if (!members(i, path, HEADER_KEYS, at)) return;
  h.protocol = patternOr(at[0], field(path, "protocol"), 64, isHeaderName, MSG_HEADER, h.protocol);
  h.model = patternOr(at[1], field(path, "model"), 64, isHeaderName, MSG_HEADER, h.model);
  h.klass = patternOr(at[2], field(path, "class"), 64, isHeaderName, MSG_HEADER, h.klass);
  h.priority = patternOr(at[3], field(path, "priority"), 64, isHeaderName, MSG_HEADER, h.priority);
  h.pool = patternOr(at[4], field(path, "pool"), 64, isHeaderName, MSG_HEADER, h.pool);
  h.endpoint = patternOr(at[5], field(path, "endpoint"), 64, isHeaderName, MSG_HEADER, h.endpoint);
  h.modelOverride = patternOr(at[6], field(path, "modelOverride"), 64, isHeaderName, MSG_HEADER, "");
  h.priorityIn = patternOr(at[7], field(path, "priorityIn"), 64, isHeaderName, MSG_HEADER, "");
  h.version = patternOr(at[8], field(path, "version"), 64, isHeaderName, MSG_HEADER, h.version);
  h.label = patternOr(at[9], field(path, "label"), 64, isHeaderName, MSG_HEADER, h.label);
  if (at[10] >= 0) h.stripInbound = patternList(at[10], field(path, "stripInbound"), 32, 64, isHeaderName, MSG_HEADER);
  h.trustedPeers = patternList(at[11], field(path, "trustedPeers"), 64, 249, isTrustedPeer, MSG_PEER);
}

function parseBody(i: i32, path: string, b: BodyConfig): void {
  if (i < 0 || !isObj(i, path)) return;
  const at = new Array<i32>(BODY_KEYS.length);
  if (!members(i, path, BODY_KEYS, at)) return;
  b.enabled = bool_(at[0], field(path, "enabled"), b.enabled);
  b.maxBytes = int(at[1], field(path, "maxBytes"), 256, 1048576, b.maxBytes);
  b.timeoutMs = int(at[2], field(path, "timeoutMs"), 10, 60000, b.timeoutMs);
  b.bufferLimitBytes = int(at[3], field(path, "bufferLimitBytes"), 16384, 67108864, b.bufferLimitBytes);
}

function parsePool(i: i32, path: string): PoolConfig {
  const p = new PoolConfig();
  if (!isObj(i, path)) return p;
  const at = new Array<i32>(POOL_KEYS.length);
  if (!members(i, path, POOL_KEYS, at)) return p;
  if (at[0] < 0) fail(field(path, "name"), "is required");
  else p.name = patternOr(at[0], field(path, "name"), 63, isIdent, MSG_IDENT, "");
  p.models = patternList(at[1], field(path, "models"), 256, 256, isModelName, MSG_MODEL);
  p.modelPrefixes = patternList(at[2], field(path, "modelPrefixes"), 64, 256, isModelName, MSG_MODEL);
  p.weight = dbl(at[3], field(path, "weight"), 0.01, 1000, p.weight);
  p.gpu = patternOr(at[4], field(path, "gpu"), 32, isGpu, MSG_GPU, "");
  p.endpoints = patternList(at[5], field(path, "endpoints"), 1024, 64, isEndpoint, MSG_ENDPOINT);
  p.fallback = patternOr(at[6], field(path, "fallback"), 63, isIdent, MSG_IDENT, "");
  p.maxInFlight = int(at[7], field(path, "maxInFlight"), 1, 1000000, p.maxInFlight);
  if (at[8] >= 0) p.metrics = parseMetrics(at[8], field(path, "metrics"));
  if (at[9] >= 0) p.discovery = parseDiscovery(at[9], field(path, "discovery"));
  return p;
}

function parseSeries(i: i32, path: string): SeriesConfig {
  const s = new SeriesConfig();
  if (!isObj(i, path)) return s;
  const at = new Array<i32>(SERIES_KEYS.length);
  if (!members(i, path, SERIES_KEYS, at)) return s;
  if (at[0] < 0) fail(field(path, "name"), "is required");
  else s.name = patternOr(at[0], field(path, "name"), 200, isMetricName, MSG_METRIC, "");
  if (at[1] >= 0) {
    s.hasLabels = true;
    s.labels = stringRecord(at[1], field(path, "labels"), isLabelName, MSG_LABEL, 64, isLabelValue, MSG_LABEL_VALUE, 256);
  }
  s.scale = dbl(at[2], field(path, "scale"), -1e9, 1e9, s.scale);
  return s;
}

function parseSeriesList(i: i32, path: string, out: Array<SeriesConfig>): void {
  if (i < 0) return;
  const at = items(i, path, 0, 8);
  if (at === null) return;
  for (let k = 0; k < at.length && err.length == 0; k++) out.push(parseSeries(at[k], index(path, k)));
}

function parseMetrics(i: i32, path: string): MetricsConfig {
  const m = new MetricsConfig();
  if (!isObj(i, path)) return m;
  const at = new Array<i32>(METRICS_KEYS.length);
  if (!members(i, path, METRICS_KEYS, at)) return m;
  if (at[0] < 0) fail(field(path, "cluster"), "is required");
  else m.cluster = patternOr(at[0], field(path, "cluster"), 255, isVisible255, MSG_VISIBLE, "");
  m.path = patternOr(at[1], field(path, "path"), 255, isPath, MSG_PATH, m.path);
  if (at[2] >= 0) {
    const e = oneOf(at[2], field(path, "engine"), ENGINES);
    if (e !== null) m.engine = e;
  }
  m.authority = patternOr(at[3], field(path, "authority"), 255, isVisible255, MSG_VISIBLE, "");
  m.timeoutMs = int(at[4], field(path, "timeoutMs"), 10, 60000, m.timeoutMs);
  m.modelLabelFilter = patternOr(at[5], field(path, "modelLabelFilter"), 256, isModelName, MSG_MODEL, "");
  if (at[6] >= 0) {
    const sp = field(path, "series");
    if (isObj(at[6], sp)) {
      const st = new Array<i32>(SERIES_SET_KEYS.length);
      if (members(at[6], sp, SERIES_SET_KEYS, st)) {
        m.hasSeries = true;
        parseSeriesList(st[0], field(sp, "queue"), m.queue);
        parseSeriesList(st[1], field(sp, "running"), m.running);
        parseSeriesList(st[2], field(sp, "kvCache"), m.kvCache);
      }
    }
  }
  if (at[7] >= 0) {
    m.hasEndpointClusters = true;
    m.endpointClusters = stringRecord(at[7], field(path, "endpointClusters"), isEndpoint, MSG_ENDPOINT, 64, isVisible255, MSG_VISIBLE, 255);
  }
  return m;
}

function parseDiscovery(i: i32, path: string): DiscoveryConfig {
  const d = new DiscoveryConfig();
  if (!isObj(i, path)) return d;
  const at = new Array<i32>(DISCOVERY_KEYS.length);
  if (!members(i, path, DISCOVERY_KEYS, at)) return d;
  d.enabled = bool_(at[0], field(path, "enabled"), d.enabled);
  d.path = patternOr(at[1], field(path, "path"), 255, isPath, MSG_PATH, d.path);
  d.intervalMs = int(at[2], field(path, "intervalMs"), 1000, 3600000, d.intervalMs);
  return d;
}

function parsePolling(i: i32, path: string, p: PollingConfig): void {
  if (i < 0 || !isObj(i, path)) return;
  const at = new Array<i32>(POLLING_KEYS.length);
  if (!members(i, path, POLLING_KEYS, at)) return;
  p.intervalMs = int(at[0], field(path, "intervalMs"), 50, 600000, p.intervalMs);
  p.probesPerTick = int(at[1], field(path, "probesPerTick"), 1, 1024, p.probesPerTick);
  p.subsetAbove = int(at[2], field(path, "subsetAbove"), 1, 65536, p.subsetAbove);
  p.leaseMs = int(at[3], field(path, "leaseMs"), 100, 600000, 0);
}

function parseLoadReports(i: i32, path: string, l: LoadReportsConfig): void {
  if (i < 0 || !isObj(i, path)) return;
  const at = new Array<i32>(LOAD_REPORTS_KEYS.length);
  if (!members(i, path, LOAD_REPORTS_KEYS, at)) return;
  l.orca = bool_(at[0], field(path, "orca"), l.orca);
  l.queueHeader = patternOr(at[1], field(path, "queueHeader"), 64, isHeaderName, MSG_HEADER, "");
  l.kvCacheHeader = patternOr(at[2], field(path, "kvCacheHeader"), 64, isHeaderName, MSG_HEADER, "");
}

function parsePrefix(i: i32, path: string, p: PrefixAffinityConfig): void {
  if (i < 0 || !isObj(i, path)) return;
  const at = new Array<i32>(PREFIX_KEYS.length);
  if (!members(i, path, PREFIX_KEYS, at)) return;
  p.enabled = bool_(at[0], field(path, "enabled"), p.enabled);
  p.blockBytes = int(at[1], field(path, "blockBytes"), 16, 65536, p.blockBytes);
  p.blocks = int(at[2], field(path, "blocks"), 1, 64, p.blocks);
  p.tableSize = int(at[3], field(path, "tableSize"), 64, 1048576, p.tableSize);
  p.maxLoadFactor = dbl(at[4], field(path, "maxLoadFactor"), 1, 100, p.maxLoadFactor);
}

function parseAffinity(i: i32, path: string, a: AffinityConfig): void {
  if (i < 0 || !isObj(i, path)) return;
  const at = new Array<i32>(AFFINITY_KEYS.length);
  if (!members(i, path, AFFINITY_KEYS, at)) return;
  parsePrefix(at[0], field(path, "prefix"), a.prefix);
  a.lora = bool_(at[1], field(path, "lora"), a.lora);
}

function parseModel(i: i32, path: string): ModelConfig {
  const m = new ModelConfig();
  if (!isObj(i, path)) return m;
  const at = new Array<i32>(MODEL_KEYS.length);
  if (!members(i, path, MODEL_KEYS, at)) return m;
  if (at[0] < 0) fail(field(path, "name"), "is required");
  else m.name = patternOr(at[0], field(path, "name"), 256, isModelName, MSG_MODEL, "");
  m.priority = int(at[1], field(path, "priority"), -100, 100, m.priority);
  return m;
}

function parseScoring(i: i32, path: string, s: ScoringConfig): void {
  if (i < 0 || !isObj(i, path)) return;
  const at = new Array<i32>(SCORING_KEYS.length);
  if (!members(i, path, SCORING_KEYS, at)) return;
  s.inFlight = dbl(at[0], field(path, "inFlight"), 0, 100, s.inFlight);
  s.queue = dbl(at[1], field(path, "queue"), 0, 100, s.queue);
  s.kvCache = dbl(at[2], field(path, "kvCache"), 0, 100, s.kvCache);
  s.sampleAbove = int(at[3], field(path, "sampleAbove"), 2, 1024, s.sampleAbove);
  s.staleAfterMs = int(at[4], field(path, "staleAfterMs"), 100, 600000, s.staleAfterMs);
}

function parseSaturation(i: i32, path: string, s: SaturationConfig): void {
  if (i < 0 || !isObj(i, path)) return;
  const at = new Array<i32>(SATURATION_KEYS.length);
  if (!members(i, path, SATURATION_KEYS, at)) return;
  s.queue = dbl(at[0], field(path, "queue"), 0, 1000000, s.queue);
  s.kvCache = dbl(at[1], field(path, "kvCache"), 0, 1, s.kvCache);
}

function parseShedding(i: i32, path: string, s: SheddingConfig): void {
  if (i < 0 || !isObj(i, path)) return;
  const at = new Array<i32>(SHEDDING_KEYS.length);
  if (!members(i, path, SHEDDING_KEYS, at)) return;
  s.belowPriority = int(at[0], field(path, "belowPriority"), -101, 101, s.belowPriority);
  s.retryAfterSeconds = int(at[1], field(path, "retryAfterSeconds"), 1, 3600, s.retryAfterSeconds);
}

function parseOutlier(i: i32, path: string, o: OutlierConfig): void {
  if (i < 0 || !isObj(i, path)) return;
  const at = new Array<i32>(OUTLIER_KEYS.length);
  if (!members(i, path, OUTLIER_KEYS, at)) return;
  o.consecutiveErrors = int(at[0], field(path, "consecutiveErrors"), 1, 1000, o.consecutiveErrors);
  o.baseEjectionMs = int(at[1], field(path, "baseEjectionMs"), 100, 3600000, o.baseEjectionMs);
  o.maxEjectionMs = int(at[2], field(path, "maxEjectionMs"), 100, 3600000, o.maxEjectionMs);
  o.maxEjectionPercent = int(at[3], field(path, "maxEjectionPercent"), 0, 100, o.maxEjectionPercent);
}

function parseRoot(i: i32, c: RouterConfig): void {
  if (!isObj(i, "")) return;
  const at = new Array<i32>(ROOT_KEYS.length);
  if (!members(i, "", ROOT_KEYS, at)) return;
  c.name = patternOr(at[0], "name", 63, isIdent, MSG_IDENT, c.name);
  if (at[1] >= 0) {
    const s = oneOf(at[1], "steering", ["pool", "endpoint"]);
    if (s !== null) c.steering = s == "endpoint" ? STEER_ENDPOINT : STEER_POOL;
  }
  parseHeaders(at[2], "headers", c.headers);
  parseBody(at[3], "body", c.body);
  if (at[4] < 0) fail("pools", "is required");
  else {
    const pools = items(at[4], "pools", 1, 64);
    if (pools !== null) {
      for (let k = 0; k < pools.length && err.length == 0; k++) c.pools.push(parsePool(pools[k], index("pools", k)));
    }
  }
  if (at[5] >= 0) {
    const models = items(at[5], "models", 0, 1024);
    if (models !== null) {
      for (let k = 0; k < models.length && err.length == 0; k++) c.models.push(parseModel(models[k], index("models", k)));
    }
  }
  parseScoring(at[6], "scoring", c.scoring);
  parseSaturation(at[7], "saturation", c.saturation);
  parseShedding(at[8], "shedding", c.shedding);
  if (at[9] >= 0) {
    const s = oneOf(at[9], "unknownModel", ["reject", "passthrough"]);
    if (s !== null) c.unknownModelPassthrough = s == "passthrough";
  }
  parseOutlier(at[10], "outlier", c.outlier);
  parsePolling(at[11], "polling", c.polling);
  parseLoadReports(at[12], "loadReports", c.loadReports);
  parseAffinity(at[13], "affinity", c.affinity);
}

/** The schema's superRefine, in its order; run only on a config that passed every other rule. */
function crossCheck(c: RouterConfig): void {
  const names = new Set<string>();
  const endpoints = new Set<string>();
  for (let i = 0; i < c.pools.length; i++) {
    const p = c.pools[i];
    const path = index("pools", i);
    if (names.has(p.name)) fail(field(path, "name"), "duplicate pool name \"" + p.name + "\"");
    names.add(p.name);
    if (c.steering == STEER_ENDPOINT && p.endpoints.length == 0)
      fail(field(path, "endpoints"), "endpoint steering needs at least one endpoint per pool");
    if (p.models.length == 0 && p.modelPrefixes.length == 0)
      fail(field(path, "models"), "a pool must serve at least one model or model prefix");
    // One load record per endpoint: an endpoint listed twice would split its in-flight count in two.
    for (let j = 0; j < p.endpoints.length; j++) {
      const e = p.endpoints[j];
      if (endpoints.has(e)) fail(index(field(path, "endpoints"), j), "endpoint \"" + e + "\" is listed more than once");
      endpoints.add(e);
    }
  }
  for (let i = 0; i < c.pools.length; i++) {
    const p = c.pools[i];
    const path = index("pools", i);
    if (p.fallback.length && !names.has(p.fallback)) fail(field(path, "fallback"), "unknown pool \"" + p.fallback + "\"");
    if (p.fallback == p.name) fail(field(path, "fallback"), "a pool cannot fall back to itself");
  }
  const h = c.headers;
  const written = [h.protocol, h.model, h.klass, h.priority, h.pool, h.endpoint, h.version, h.label];
  for (let i = 0; i < written.length; i++) {
    for (let j = 0; j < i; j++) if (written[i] == written[j]) fail("headers", "header names must be distinct");
  }
  if (c.outlier.maxEjectionMs < c.outlier.baseEjectionMs) fail("outlier.maxEjectionMs", "must be >= baseEjectionMs");
  for (let i = 0; i < c.pools.length; i++) {
    const p = c.pools[i];
    const path = index("pools", i);
    const m = p.metrics;
    if (m !== null) {
      const custom = m.engine == "custom";
      if (custom && (!m.hasSeries || m.queue.length + m.running.length + m.kvCache.length == 0))
        fail(field(path, "metrics.series"), "engine custom needs at least one series");
      if (!custom && m.hasSeries) fail(field(path, "metrics.series"), "series is only for engine custom");
      for (let k = 0; k < m.endpointClusters.length; k += 2) {
        if (!p.endpoints.includes(m.endpointClusters[k]))
          fail(field(path, "metrics.endpointClusters"), m.endpointClusters[k] + " is not an endpoint of this pool");
      }
    }
    const d = p.discovery;
    if (d !== null && d.enabled && m === null) fail(field(path, "discovery"), "discovery needs metrics (its cluster)");
  }
  if (c.polling.leaseMs != 0 && c.polling.leaseMs <= c.polling.intervalMs) fail("polling.leaseMs", "must be > intervalMs");
  if (c.affinity.prefix.enabled && !c.body.enabled) fail("affinity.prefix.enabled", "needs body.enabled");
}

/**
 * Parses the plugin configuration. Never traps: any input yields either a config (error "") or the first
 * problem as "<json path>: <reason>" (config null).
 */
export function parseConfig(json: string): ConfigResult {
  const r = new ConfigResult();
  if (json.length == 0) {
    r.error = "configuration is empty: pools is required";
    return r;
  }
  const syntax = checkJson(json, CONFIG_MAX_DEPTH);
  if (syntax.length) {
    r.error = "(root): invalid JSON at " + syntax;
    return r;
  }
  T = json;
  N = json.length;
  err = "";
  const c = new RouterConfig();
  parseRoot(ws(0), c);
  if (err.length == 0) crossCheck(c);
  T = "";
  N = 0;
  if (err.length) {
    r.error = err;
    err = "";
    return r;
  }
  r.config = c;
  return r;
}
