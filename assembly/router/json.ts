// The JSON byte cursor: reads JSON over raw memory [p, end) the filter already holds (prompt regions, model lists,
// ORCA load reports). Every function takes a position and returns the next one; none reads at or past `end`,
// none recurses (nesting is counted), none allocates.
//
// Two strengths: the lenient skips (skipString, skipJsonValue) serve bounded scans of bodies, where a truncated
// value simply ends at `end`; the strict readers (stringEnd, valueEnd, numberEnd) serve parsers that must stop at
// the first syntax error, and return BAD there.
//
// Not users of this cursor: scan.ts (the streaming request scanner keeps its own state because it resumes across
// body chunks), and json-check.ts / config-read.ts (config-time, over the decoded config string, with exact error
// messages and UTF-16 offsets).

/** Returned by the strict readers on a syntax error. No JSON text is ever at address 0. */
export const BAD: usize = 0;

// @ts-ignore: decorator
@inline export function isWs(c: u32): bool {
  return c == 0x20 || c == 0x09 || c == 0x0a || c == 0x0d;
}

/** First index at or after p that is not JSON whitespace. */
export function skipWs(p: usize, end: usize): usize {
  while (p < end && isWs(load<u8>(p))) p++;
  return p;
}

/** True when the `len` bytes at p equal the ASCII literal. */
export function eqLit(p: usize, len: i32, lit: string): bool {
  if (len != lit.length) return false;
  return startsLit(p, len, lit);
}

/** True when the `len` bytes at p start with the ASCII literal. */
export function startsLit(p: usize, len: i32, lit: string): bool {
  const n = lit.length;
  if (len < n) return false;
  const l = changetype<usize>(lit);
  for (let i = 0; i < n; i++) {
    if (<u32>load<u8>(p + <usize>i) != <u32>load<u16>(l + (<usize>i << 1))) return false;
  }
  return true;
}

// ---------------------------------------------------------------------------------------------------------
// Lenient skips (bounded body scans)
// ---------------------------------------------------------------------------------------------------------

/** p at an opening quote: index after the closing quote (or end). */
export function skipString(p: usize, end: usize): usize {
  p++;
  while (p < end) {
    const c = load<u8>(p);
    if (c == 0x22) return p + 1;
    p += c == 0x5c ? 2 : 1;
  }
  return end;
}

/** Index after the JSON value at p (after leading whitespace). */
export function skipJsonValue(p: usize, end: usize): usize {
  p = skipWs(p, end);
  if (p >= end) return end;
  const c = load<u8>(p);
  if (c == 0x22) return skipString(p, end);
  if (c == 0x7b || c == 0x5b) {
    let depth = 0;
    while (p < end) {
      const d = load<u8>(p);
      if (d == 0x22) {
        p = skipString(p, end);
        continue;
      }
      if (d == 0x7b || d == 0x5b) depth++;
      else if (d == 0x7d || d == 0x5d) {
        depth--;
        if (depth == 0) return p + 1;
      }
      p++;
    }
    return end;
  }
  while (p < end) {
    const d = load<u8>(p);
    if (d == 0x2c || d == 0x7d || d == 0x5d || d == 0x20 || d == 0x0a || d == 0x0d || d == 0x09) break;
    p++;
  }
  return p;
}

// ---------------------------------------------------------------------------------------------------------
// Strict readers (parsers that stop at the first syntax error)
// ---------------------------------------------------------------------------------------------------------

/** Set by stringEnd: whether the string just read holds a backslash escape. */
export let stringEscaped = false;

/** p at an opening quote: index after the closing quote; BAD when unterminated, holding a raw control
 *  character or a malformed escape. Sets stringEscaped. */
export function stringEnd(p: usize, end: usize): usize {
  p++;
  let escaped = false;
  while (p < end) {
    const c = load<u8>(p);
    if (c == 0x22) {
      stringEscaped = escaped;
      return p + 1;
    }
    if (c == 0x5c) {
      escaped = true;
      if (p + 1 >= end) return BAD;
      const e = <u32>load<u8>(p + 1);
      if (e == 0x75) {
        if (hex4(p + 2, end) < 0) return BAD;
        p += 6;
      } else if (e == 0x22 || e == 0x5c || e == 0x2f || e == 0x62 || e == 0x66 || e == 0x6e || e == 0x72 || e == 0x74) {
        p += 2;
      } else return BAD;
      continue;
    }
    if (c < 0x20) return BAD;
    p++;
  }
  return BAD;
}

function hex4(p: usize, end: usize): i32 {
  if (p + 4 > end) return -1;
  let v = 0;
  for (let k: usize = 0; k < 4; k++) {
    const c = <u32>load<u8>(p + k);
    let d: i32;
    if (c - 0x30 < 10) d = <i32>(c - 0x30);
    else if ((c | 0x20) - 0x61 < 6) d = <i32>((c | 0x20) - 0x61 + 10);
    else return -1;
    v = (v << 4) | d;
  }
  return v;
}

/** Unescapes the string body [a, b) (between the quotes, as checked by stringEnd) into buf (cap bytes). Returns
 *  the byte count, -1 when it does not fit, -2 on a malformed escape. A `\u` escape above ASCII becomes one 0xFF byte: it never equals
 *  an ASCII literal, which is all the callers compare with. */
export function unescapeString(a: usize, b: usize, buf: usize, cap: i32): i32 {
  let k = 0;
  let i = a;
  while (i < b) {
    let c = <u32>load<u8>(i);
    i++;
    if (c == 0x5c) {
      if (i >= b) return -2;
      const e = <u32>load<u8>(i);
      i++;
      if (e == 0x6e) c = 0x0a;
      else if (e == 0x74) c = 0x09;
      else if (e == 0x72) c = 0x0d;
      else if (e == 0x62) c = 0x08;
      else if (e == 0x66) c = 0x0c;
      else if (e == 0x22 || e == 0x5c || e == 0x2f) c = e;
      else if (e == 0x75) {
        const h = hex4(i, b);
        if (h < 0) return -2;
        c = h < 0x80 ? <u32>h : 0xff;
        i += 4;
      } else return -2;
    }
    if (k >= cap) return -1;
    store<u8>(buf + <usize>k, <u8>c);
    k++;
  }
  return k;
}

/** Index after the run of number characters at p (digits, sign, point, exponent); p when there are none. The
 *  run is not validated: the caller parses it. */
export function numberEnd(p: usize, end: usize): usize {
  while (p < end) {
    const d = <u32>load<u8>(p);
    if (d - 0x30 < 10 || d == 0x2d || d == 0x2b || d == 0x2e || (d | 0x20) == 0x65) p++;
    else break;
  }
  return p;
}

/** Index after the JSON value at p (any kind, after leading whitespace); BAD on a syntax error, an unbalanced
 *  bracket or a value that runs into end. Brackets are counted, not matched by kind. */
export function valueEnd(p: usize, end: usize): usize {
  let depth = 0;
  while (p < end) {
    p = skipWs(p, end);
    if (p >= end) break;
    const c = load<u8>(p);
    if (c == 0x22) {
      p = stringEnd(p, end);
      if (p == BAD) return BAD;
    } else if (c == 0x7b || c == 0x5b) {
      depth++;
      p++;
    } else if (c == 0x7d || c == 0x5d) {
      if (depth == 0) return BAD;
      depth--;
      p++;
    } else if (c == 0x2c || c == 0x3a) {
      if (depth == 0) return BAD;
      p++;
    } else {
      const a = p;
      while (p < end) {
        const d = load<u8>(p);
        if (isWs(d) || d == 0x2c || d == 0x7d || d == 0x5d || d == 0x3a || d == 0x22 || d == 0x7b || d == 0x5b) break;
        p++;
      }
      if (p == a) return BAD;
    }
    if (depth == 0) return p;
  }
  return BAD;
}
