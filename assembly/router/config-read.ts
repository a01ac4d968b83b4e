// The config parser's readers: they read the JSON text of the plugin configuration in place (no tree; values are
// offsets into the text) and never trap, whatever the input. The walk over the schema that calls them is generated
// (config-schema.ts); the entry point and the cross-field rules are in config-parse.ts.
//
// Hostile input must never trap (an abort kills the VM), so:
//  - the text is first checked by checkJson (iterative, bounded stack) and nothing is interpreted before;
//  - values nested deeper than the schema are skipped iteratively, so any nesting the checker admits is fine and
//    is reported as a wrong type at the right path, as zod does;
//  - arrays are scanned only up to their maximum length + 1, strings are decoded only up to the longest valid
//    length + 1, so memory stays bounded by the schema, not by the input;
//  - duplicate keys: the last one wins, as with JSON.parse.
// Not built on the filter's JSON byte cursor (json.ts): config-time only, reading the decoded string that
// checkJson validated, with exact error messages.
// ---------------------------------------------------------------------------------------------------------------
// Reading the checked text in place.

let T: string = "";
let N: i32 = 0;
let err: string = "";

/** Starts reading `json` (already checked by checkJson). */
export function begin(json: string): void {
  T = json;
  N = json.length;
  err = "";
}

/** Ends reading: the first problem found ("" if none); the text is released. */
export function end(): string {
  const e = err;
  T = "";
  N = 0;
  err = "";
  return e;
}

/** No problem found so far. */
export function ok(): bool {
  return err.length == 0;
}

/** Index of the first non-blank character at or after i. */
export function skipBlank(i: i32): i32 {
  return ws(i);
}

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

export function fail(path: string, reason: string): bool {
  if (err.length == 0) err = (path.length ? path : "(root)") + ": " + reason;
  return false;
}

export function field(path: string, key: string): string {
  return path.length ? path + "." + key : key;
}

export function index(path: string, i: i32): string {
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
export function items(i: i32, path: string, minLen: i32, maxLen: i32): Array<i32> | null {
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

/** The members of one object of the schema, by key: value offsets (-1 when absent; the last occurrence wins). */
export class Members {
  base: string;
  keys: Array<string>;
  offsets: Array<i32>;

  constructor(base: string, keys: Array<string>, offsets: Array<i32>) {
    this.base = base;
    this.keys = keys;
    this.offsets = offsets;
  }

  /** Offset of the value of `key` (one of the object's keys), -1 when absent. */
  at(key: string): i32 {
    const k = this.keys.indexOf(key);
    return k < 0 ? -1 : this.offsets[k];
  }

  /** JSON path of `key`, for errors. */
  path(key: string): string {
    return field(this.base, key);
  }
}

/** The object at `i` with the given keys, or null (error set) if it is not an object or has an unknown key. */
export function object(i: i32, path: string, keys: Array<string>): Members | null {
  if (!isObj(i, path)) return null;
  const at = new Array<i32>(keys.length);
  if (!members(i, path, keys, at)) return null;
  return new Members(path, keys, at);
}

/** Whether the value at i is an object; fails (wrong type) otherwise. */
export function isObj(i: i32, path: string): bool {
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

export function int(i: i32, path: string, lo: i32, hi: i32, dflt: i32): i32 {
  if (i < 0) return dflt;
  const v = num(i, path, <f64>lo, <f64>hi, true);
  return isNaN(v) ? dflt : <i32>v;
}

export function dbl(i: i32, path: string, lo: f64, hi: f64, dflt: f64): f64 {
  if (i < 0) return dflt;
  const v = num(i, path, lo, hi, false);
  return isNaN(v) ? dflt : v;
}

export function bool_(i: i32, path: string, dflt: bool): bool {
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
export function isHeaderName(s: string): bool {
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
export function isIdent(s: string): bool {
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
export function isGpu(s: string): bool {
  const n = s.length;
  if (n > 32) return false;
  for (let i = 0; i < n; i++) {
    const c = <i32>s.charCodeAt(i);
    if (!(isAlnum(c) || c == 0x2e || c == 0x5f || c == 0x2d)) return false;
  }
  return true;
}

/** 1-256 bytes of UTF-8 without control characters (C0, DEL, C1) or lone surrogates: matched byte for byte. */
export function isModelName(s: string): bool {
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
export function isTrustedPeer(s: string): bool {
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
export function isEndpoint(s: string): bool {
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
export function isVisible255(s: string): bool {
  const n = s.length;
  if (n < 1 || n > 255) return false;
  for (let i = 0; i < n; i++) {
    const c = <i32>s.charCodeAt(i);
    if (c < 0x21 || c > 0x7e) return false;
  }
  return true;
}

/** ^\/[\x21-\x7e]{0,254}$ */
export function isPath(s: string): bool {
  const n = s.length;
  if (n < 1 || n > 255 || s.charCodeAt(0) != 0x2f) return false;
  for (let i = 1; i < n; i++) {
    const c = <i32>s.charCodeAt(i);
    if (c < 0x21 || c > 0x7e) return false;
  }
  return true;
}

/** ^[A-Za-z_:][A-Za-z0-9_:]{0,199}$ */
export function isMetricName(s: string): bool {
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
export function isLabelName(s: string): bool {
  const n = s.length;
  if (n < 1 || n > 64) return false;
  for (let i = 0; i < n; i++) {
    const c = <i32>s.charCodeAt(i);
    const letter = (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) || c == 0x5f;
    if (!(letter || (i > 0 && c >= 0x30 && c <= 0x39))) return false;
  }
  return true;
}

/**
 * A lower-case host name with an optional port (1..65535, no leading zero), 1-259 characters: an `:authority` as
 * Istio names a service (short name, name.namespace, FQDN).
 */
export function isAuthority(s: string): bool {
  const n = s.length;
  if (n < 1 || n > 259) return false;
  let end = n;
  const colon = s.lastIndexOf(":");
  if (colon >= 0) {
    if (!isDecimal(s, colon + 1, n, 5, 1, 65535)) return false;
    end = colon;
  }
  if (end == 0) return false;
  let prev = 0x2e; // a label starts after a dot
  for (let i = 0; i < end; i++) {
    const c = <i32>s.charCodeAt(i);
    const lowerAlnum = (c >= 0x61 && c <= 0x7a) || (c >= 0x30 && c <= 0x39);
    if (c == 0x2e) {
      if (prev == 0x2e || prev == 0x2d) return false;
    } else if (c == 0x2d) {
      if (prev == 0x2e) return false;
    } else if (!lowerAlnum) return false;
    prev = c;
  }
  return prev != 0x2e && prev != 0x2d;
}

/** A Prometheus label value as a server may emit it: 1-256 characters (code points) of any text, spaces, quotes,
 *  backslashes and newlines included; only lone surrogates (no UTF-8 form, never on a page) are refused. The
 *  metrics parser compares it with the exposition's escaped form (\" \\ \n decoded). */
export function isLabelText(s: string): bool {
  const n = s.length;
  let cps = 0;
  for (let i = 0; i < n; i++) {
    const c = <i32>s.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdfff) {
      if (c > 0xdbff || i + 1 >= n) return false;
      const d = <i32>s.charCodeAt(i + 1);
      if (d < 0xdc00 || d > 0xdfff) return false;
      i++;
    }
    cps++;
  }
  return cps >= 1 && cps <= 256;
}

/** ^[\x20\x21\x23-\x5b\x5d-\x7e]{0,256}$ */
export function isLabelValue(s: string): bool {
  const n = s.length;
  if (n > 256) return false;
  for (let i = 0; i < n; i++) {
    const c = <i32>s.charCodeAt(i);
    if (c < 0x20 || c > 0x7e || c == 0x22 || c == 0x5c) return false;
  }
  return true;
}


/** The string at i if it passes `check` (read up to cap + 1 units: longer ones fail every pattern), else null. */
export function pattern(i: i32, path: string, cap: i32, check: (s: string) => bool, msg: string): string | null {
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

export function patternOr(i: i32, path: string, cap: i32, check: (s: string) => bool, msg: string, dflt: string): string {
  if (i < 0) return dflt;
  const s = pattern(i, path, cap, check, msg);
  return s === null ? dflt : s;
}

export function patternList(i: i32, path: string, minLen: i32, maxLen: i32, cap: i32, check: (s: string) => bool, msg: string): Array<string> {
  const out = new Array<string>();
  if (i < 0) return out;
  const at = items(i, path, minLen, maxLen);
  if (at === null) return out;
  for (let k = 0; k < at.length; k++) {
    const s = pattern(at[k], index(path, k), cap, check, msg);
    if (s === null) return out;
    out.push(s);
  }
  return out;
}

/** The string at i if it is one of `options`, else null. */
export function oneOf(i: i32, path: string, options: Array<string>): string | null {
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
export function stringRecord(i: i32, path: string, keyCheck: (s: string) => bool, keyMsg: string, keyCap: i32,
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
