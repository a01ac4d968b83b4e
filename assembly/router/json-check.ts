// A strict RFC 8259 syntax check of a JSON text, run before anything interprets it. It is iterative (no
// recursion: nesting depth costs one byte of a bounded stack, never call frames), never throws and never traps,
// whatever the input: text after the check can be walked by code that assumes well-formed JSON.
//
// The text is the UTF-16 string AssemblyScript holds (the host's UTF-8 already decoded, invalid sequences as
// U+FFFD), so offsets are in UTF-16 code units. Lone surrogates, raw or escaped, are accepted as JSON.parse
// accepts them; whether a value may hold them is the schema's business.
// Not built on the filter's JSON byte cursor (json.ts): config-time only, over the decoded string, and its exact
// error messages give UTF-16 offsets.

/** Default bound on nesting (arrays and objects) for checkJson. */
export const JSON_MAX_DEPTH: i32 = 32;

const OBJ: u8 = 1;
const ARR: u8 = 2;

// @ts-ignore: decorator
@inline
function isWs(c: i32): bool {
  return c == 0x20 || c == 0x09 || c == 0x0a || c == 0x0d;
}

// @ts-ignore: decorator
@inline
function isDigit(c: i32): bool {
  return <u32>(c - 0x30) < 10;
}

// @ts-ignore: decorator
@inline
function isHex(c: i32): bool {
  return <u32>(c - 0x30) < 10 || <u32>((c | 0x20) - 0x61) < 6;
}

let failAt: i32 = 0;
let failWhy: string = "";

function fail(at: i32, why: string): i32 {
  failAt = at;
  failWhy = why;
  return -1;
}

/** Index after the string starting with the quote at `i`, or -1 (failAt/failWhy set). */
function scanString(s: string, i: i32, n: i32): i32 {
  i++;
  while (i < n) {
    const c = <i32>s.charCodeAt(i);
    if (c == 0x22) return i + 1;
    if (c < 0x20) return fail(i, "control character in string");
    if (c == 0x5c) {
      if (i + 1 >= n) return fail(i, "unterminated string");
      const e = <i32>s.charCodeAt(i + 1);
      if (e == 0x75) {
        if (i + 6 > n) return fail(i, "invalid \\u escape");
        for (let k = 2; k < 6; k++) if (!isHex(<i32>s.charCodeAt(i + k))) return fail(i, "invalid \\u escape");
        i += 6;
        continue;
      }
      if (e == 0x22 || e == 0x5c || e == 0x2f || e == 0x62 || e == 0x66 || e == 0x6e || e == 0x72 || e == 0x74) {
        i += 2;
        continue;
      }
      return fail(i, "invalid escape");
    }
    i++;
  }
  return fail(n, "unterminated string");
}

/** Index after the number starting at `i` (RFC 8259 grammar), or -1. */
function scanNumber(s: string, i: i32, n: i32): i32 {
  const start = i;
  if (i < n && s.charCodeAt(i) == 0x2d) i++;
  if (i >= n || !isDigit(<i32>s.charCodeAt(i))) return fail(start, "invalid number");
  if (s.charCodeAt(i) == 0x30) i++;
  else while (i < n && isDigit(<i32>s.charCodeAt(i))) i++;
  if (i < n && s.charCodeAt(i) == 0x2e) {
    i++;
    if (i >= n || !isDigit(<i32>s.charCodeAt(i))) return fail(start, "invalid number");
    while (i < n && isDigit(<i32>s.charCodeAt(i))) i++;
  }
  if (i < n && (s.charCodeAt(i) | 0x20) == 0x65) {
    i++;
    if (i < n && (s.charCodeAt(i) == 0x2b || s.charCodeAt(i) == 0x2d)) i++;
    if (i >= n || !isDigit(<i32>s.charCodeAt(i))) return fail(start, "invalid number");
    while (i < n && isDigit(<i32>s.charCodeAt(i))) i++;
  }
  return i;
}

function scanLiteral(s: string, i: i32, n: i32, lit: string): i32 {
  const m = lit.length;
  if (i + m > n) return fail(i, "invalid literal");
  for (let k = 0; k < m; k++) if (s.charCodeAt(i + k) != lit.charCodeAt(k)) return fail(i, "invalid literal");
  return i + m;
}

/**
 * Checks that `s` is exactly one JSON value (RFC 8259) with surrounding whitespace and nesting at most
 * `maxDepth` deep. Returns "" when it is, else "offset N: reason".
 */
export function checkJson(s: string, maxDepth: i32 = JSON_MAX_DEPTH): string {
  const n = s.length;
  if (maxDepth < 1) maxDepth = 1;
  // One byte per open container; never more than the text could open.
  const stack = new StaticArray<u8>(min(maxDepth, n / 2 + 1));
  let depth = 0;
  let i = 0;
  // State: expecting a value (after start, '[', ',' in array, ':' in object)?
  let wantValue = true;
  // After '{' or '[' the container may close at once.
  let mayClose = false;
  failAt = 0;
  failWhy = "";

  while (true) {
    while (i < n && isWs(<i32>s.charCodeAt(i))) i++;
    if (wantValue) {
      if (i >= n) {
        fail(n, depth == 0 && n == 0 ? "empty text" : "unexpected end of text");
        break;
      }
      const c = <i32>s.charCodeAt(i);
      if (mayClose && ((c == 0x5d && stack[depth - 1] == ARR) || (c == 0x7d && stack[depth - 1] == OBJ))) {
        // Empty container: fall through to the "after a value" state by closing it.
        mayClose = false;
        wantValue = false;
        depth--;
        i++;
        if (depth == 0) break;
        continue;
      }
      mayClose = false;
      if (c == 0x7b || c == 0x5b) {
        if (depth >= stack.length) {
          fail(i, "nesting deeper than " + maxDepth.toString());
          break;
        }
        stack[depth++] = c == 0x7b ? OBJ : ARR;
        i++;
        mayClose = true;
        if (c == 0x7b) {
          // A key (or '}') must follow.
          while (i < n && isWs(<i32>s.charCodeAt(i))) i++;
          if (i < n && s.charCodeAt(i) == 0x7d) {
            mayClose = false;
            depth--;
            i++;
            wantValue = false;
            if (depth == 0) break;
            continue;
          }
          if (i >= n || s.charCodeAt(i) != 0x22) {
            fail(i, "expected a string key or '}'");
            break;
          }
          i = scanString(s, i, n);
          if (i < 0) break;
          while (i < n && isWs(<i32>s.charCodeAt(i))) i++;
          if (i >= n || s.charCodeAt(i) != 0x3a) {
            fail(i, "expected ':'");
            break;
          }
          i++;
          mayClose = false;
        }
        continue;
      }
      if (c == 0x22) i = scanString(s, i, n);
      else if (c == 0x2d || isDigit(c)) i = scanNumber(s, i, n);
      else if (c == 0x74) i = scanLiteral(s, i, n, "true");
      else if (c == 0x66) i = scanLiteral(s, i, n, "false");
      else if (c == 0x6e) i = scanLiteral(s, i, n, "null");
      else i = fail(i, "unexpected character");
      if (i < 0) break;
      wantValue = false;
      if (depth == 0) break;
      continue;
    }
    // After a value inside a container: ',' or the matching close.
    if (i >= n) {
      fail(n, "unexpected end of text");
      break;
    }
    const c = <i32>s.charCodeAt(i);
    const top = stack[depth - 1];
    if (c == 0x2c) {
      i++;
      if (top == OBJ) {
        while (i < n && isWs(<i32>s.charCodeAt(i))) i++;
        if (i >= n || s.charCodeAt(i) != 0x22) {
          fail(i, "expected a string key");
          break;
        }
        i = scanString(s, i, n);
        if (i < 0) break;
        while (i < n && isWs(<i32>s.charCodeAt(i))) i++;
        if (i >= n || s.charCodeAt(i) != 0x3a) {
          fail(i, "expected ':'");
          break;
        }
        i++;
      }
      wantValue = true;
      continue;
    }
    if ((c == 0x5d && top == ARR) || (c == 0x7d && top == OBJ)) {
      depth--;
      i++;
      if (depth == 0) break;
      continue;
    }
    fail(i, top == OBJ ? "expected ',' or '}'" : "expected ',' or ']'");
    break;
  }
  if (failWhy.length == 0) {
    while (i < n && isWs(<i32>s.charCodeAt(i))) i++;
    if (i < n) fail(i, "unexpected text after the value");
  }
  if (failWhy.length == 0) return "";
  return "offset " + failAt.toString() + ": " + failWhy;
}
