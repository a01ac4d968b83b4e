// Byte scanners used by the request classifier (assembly/router/classify.ts).
//
// Everything here works on raw memory (`ptr`, `len`) with `load<u8>` and never reads at or past `ptr + len`.
// Nothing allocates: results go into module-level fact objects created once at start-up, and decoded model /
// version bytes go into fixed static buffers; the classifier turns those into strings only at the very end.
// Work is linear in `len` with no recursion, so any input (garbage, binary, truncated, 10k-deep nesting) ends
// in bounded time without trapping.
// Its JSON reading stays separate from the one JSON byte cursor (json.ts): the streaming scanner keeps its state
// between calls so it can resume across partial body chunks, which a position-in, position-out cursor cannot.

// ---------------------------------------------------------------------------------------------------------
// Shared limits and static buffers
// ---------------------------------------------------------------------------------------------------------

import { utf8ErrorOffset } from "../runtime/memory";

/** Longest model name accepted, in UTF-8 bytes after decoding. Longer names are rejected (model unknown),
 *  never truncated: a cut name could match a different model. */
export const MODEL_CAP: i32 = 256;
/** Longest version / label accepted, in UTF-8 bytes after decoding. */
export const VERSION_CAP: i32 = 64;
/** Deepest JSON nesting followed. The top-level object is depth 1; going deeper stops the scan.
 *  At most 64: the scanner's container stack is one bit per level in a u64. */
export const JSON_MAX_DEPTH: i32 = 64;

/** Decoded model name bytes (UTF-8). Valid for `modelLen` bytes after a successful scan. */
export const MODEL_BUF: usize = memory.data(MODEL_CAP + 8);
/** Decoded version bytes (UTF-8 / ASCII digits). */
export const VERSION_BUF: usize = memory.data(VERSION_CAP + 8);
// Small buffer for decoding object keys that contain escapes ("mod\u0065l").
const KEY_BUF: usize = memory.data(40);
const KEY_CAP: i32 = 32;

// Scan outcome codes (shared by the JSON and protobuf scanners).
export const SCAN_NONE: i32 = 0;       // nothing scanned (no body)
export const SCAN_OK: i32 = 1;         // the whole structure was read
export const SCAN_TRUNCATED: i32 = 2;  // input ended early (prefix); findings so far are reported
export const SCAN_TOO_DEEP: i32 = 3;   // JSON nesting beyond JSON_MAX_DEPTH; findings so far are reported
export const SCAN_MALFORMED: i32 = 4;  // not JSON object / bad protobuf; JSON keeps findings, protobuf drops them
export const SCAN_COMPRESSED: i32 = 5; // gRPC frame with the compressed flag set; nothing can be read

// ---------------------------------------------------------------------------------------------------------
// Small byte helpers
// ---------------------------------------------------------------------------------------------------------

// @ts-ignore: decorator
@inline function hexVal(c: u32): i32 {
  if (c >= 0x30 && c <= 0x39) return <i32>(c - 0x30);
  c |= 0x20;
  if (c >= 0x61 && c <= 0x66) return <i32>(c - 0x61 + 10);
  return -1;
}
export function hexValue(c: u32): i32 { return hexVal(c); }

/** True when `len` bytes at `ptr` are well-formed UTF-8 (no overlongs, no surrogates, max U+10FFFF): the
 *  runtime's one strict check. */
export function utf8Valid(ptr: usize, len: i32): bool {
  return len <= 0 || utf8ErrorOffset(ptr, <usize>len) < 0;
}

/** Basic acceptance for any model/version value: 1..cap bytes, valid UTF-8, no C0 control bytes or DEL
 *  (they could smuggle header syntax). Callers sanitise further for their own uses. */
export function validName(ptr: usize, len: i32, cap: i32): bool {
  if (len <= 0 || len > cap) return false;
  for (let i = 0; i < len; i++) {
    const b = load<u8>(ptr + i);
    if (b < 0x20 || b == 0x7F) return false;
  }
  return utf8Valid(ptr, len);
}

// Writes code point `cp` as UTF-8 at dst+n when it fits in `cap`; returns the new length or -1.
function putUtf8(dst: usize, n: i32, cap: i32, cp: u32): i32 {
  if (cp < 0x80) {
    if (n + 1 > cap) return -1;
    store<u8>(dst + n, <u8>cp);
    return n + 1;
  }
  if (cp < 0x800) {
    if (n + 2 > cap) return -1;
    store<u8>(dst + n, <u8>(0xC0 | (cp >> 6)));
    store<u8>(dst + n + 1, <u8>(0x80 | (cp & 0x3F)));
    return n + 2;
  }
  if (cp < 0x10000) {
    if (n + 3 > cap) return -1;
    store<u8>(dst + n, <u8>(0xE0 | (cp >> 12)));
    store<u8>(dst + n + 1, <u8>(0x80 | ((cp >> 6) & 0x3F)));
    store<u8>(dst + n + 2, <u8>(0x80 | (cp & 0x3F)));
    return n + 3;
  }
  if (n + 4 > cap) return -1;
  store<u8>(dst + n, <u8>(0xF0 | (cp >> 18)));
  store<u8>(dst + n + 1, <u8>(0x80 | ((cp >> 12) & 0x3F)));
  store<u8>(dst + n + 2, <u8>(0x80 | ((cp >> 6) & 0x3F)));
  store<u8>(dst + n + 3, <u8>(0x80 | (cp & 0x3F)));
  return n + 4;
}
export function putUtf8At(dst: usize, n: i32, cap: i32, cp: u32): i32 { return putUtf8(dst, n, cap, cp); }

// Reads 4 hex digits at p (caller checked p+4 <= end); returns the value or -1.
function hex4(p: usize): i32 {
  const a = hexVal(load<u8>(p)), b = hexVal(load<u8>(p + 1)), c = hexVal(load<u8>(p + 2)), d = hexVal(load<u8>(p + 3));
  if ((a | b | c | d) < 0) return -1;
  return (a << 12) | (b << 8) | (c << 4) | d;
}

/** Decodes the body of a JSON string (bytes between the quotes, [start, end)) into UTF-8 at dst.
 *  Handles \" \\ \/ \b \f \n \r \t and \uXXXX including surrogate pairs. Returns the decoded length, or -1
 *  for an invalid escape, a lone surrogate, a raw control byte (invalid JSON) or output longer than cap.
 *  Raw non-escape bytes are copied as they are; validate UTF-8 afterwards. */
export function decodeJsonString(start: usize, end: usize, dst: usize, cap: i32): i32 {
  let n = 0;
  let p = start;
  while (p < end) {
    const c = <u32>load<u8>(p);
    if (c != 0x5C) { // not a backslash
      if (c < 0x20) return -1;
      if (n >= cap) return -1;
      store<u8>(dst + n, <u8>c);
      n++; p++;
      continue;
    }
    if (p + 1 >= end) return -1;
    const e = <u32>load<u8>(p + 1);
    let out: u32 = 0;
    p += 2;
    if (e == 0x22 || e == 0x5C || e == 0x2F) out = e;
    else if (e == 0x62) out = 0x08;
    else if (e == 0x66) out = 0x0C;
    else if (e == 0x6E) out = 0x0A;
    else if (e == 0x72) out = 0x0D;
    else if (e == 0x74) out = 0x09;
    else if (e == 0x75) { // \uXXXX
      if (p + 4 > end) return -1;
      const u = hex4(p);
      if (u < 0) return -1;
      p += 4;
      if (u >= 0xD800 && u <= 0xDBFF) {
        // High surrogate: a \uDC00-\uDFFF must follow.
        if (p + 6 > end || load<u8>(p) != 0x5C || load<u8>(p + 1) != 0x75) return -1;
        const lo = hex4(p + 2);
        if (lo < 0xDC00 || lo > 0xDFFF) return -1;
        p += 6;
        out = 0x10000 + ((<u32>(u - 0xD800)) << 10) + <u32>(lo - 0xDC00);
      } else if (u >= 0xDC00 && u <= 0xDFFF) {
        return -1;
      } else {
        out = <u32>u;
      }
    } else return -1;
    n = putUtf8(dst, n, cap, out);
    if (n < 0) return -1;
  }
  return n;
}

// True when the `len` bytes at ptr equal the ASCII literal `lit`.
function bytesEq(ptr: usize, len: i32, lit: string): bool {
  if (len != lit.length) return false;
  const l = changetype<usize>(lit);
  for (let i = 0; i < len; i++) {
    if (<u32>load<u8>(ptr + i) != <u32>load<u16>(l + (<usize>i << 1))) return false;
  }
  return true;
}

// Parses a JSON number token [p, end) as a non-negative integer. Returns -1 for anything else (sign,
// fraction, exponent, junk); values above i32.MAX_VALUE clamp to i32.MAX_VALUE.
function parseCount(p: usize, end: usize): i32 {
  if (p >= end) return -1;
  let v: i64 = 0;
  while (p < end) {
    const c = <u32>load<u8>(p);
    if (c < 0x30 || c > 0x39) return -1;
    if (v < 0x7FFFFFFF) v = v * 10 + <i64>(c - 0x30);
    p++;
  }
  return v > 0x7FFFFFFF ? i32.MAX_VALUE : <i32>v;
}

// ---------------------------------------------------------------------------------------------------------
// JSON: top-level facts of a request body
// ---------------------------------------------------------------------------------------------------------

// Top-level keys we recognise (bit positions in JsonFacts.keys).
export const KEY_MODEL: u32 = 1 << 0;
export const KEY_STREAM: u32 = 1 << 1;
export const KEY_MAX_TOKENS: u32 = 1 << 2;
export const KEY_MAX_COMPLETION_TOKENS: u32 = 1 << 3;
export const KEY_MAX_OUTPUT_TOKENS: u32 = 1 << 4;
export const KEY_PARAMETERS: u32 = 1 << 5;
export const KEY_SAMPLING_PARAMS: u32 = 1 << 6;
export const KEY_PROMPT: u32 = 1 << 7;
export const KEY_INPUTS: u32 = 1 << 8;
export const KEY_TEXT: u32 = 1 << 9;
export const KEY_INPUT_IDS: u32 = 1 << 10;
export const KEY_INPUT_EMBEDS: u32 = 1 << 11;
export const KEY_MESSAGES: u32 = 1 << 12;
export const KEY_INPUT: u32 = 1 << 13;

// Keys recognised inside the `parameters` / `sampling_params` objects (depth 2).
const NKEY_MAX_NEW_TOKENS: u32 = 1;
const NKEY_MAX_TOKENS: u32 = 2;

// Which object the scanner is in at depth 2.
const IN_OTHER: i32 = 0;
const IN_PARAMETERS: i32 = 1;
const IN_SAMPLING: i32 = 2;

/** What one JSON scan found. A recognised key repeated at the same level counts at its LAST occurrence, as
 *  Python's json (dict: last key wins) and Go's encoding/json do; serde-based servers refuse such bodies. */
export class JsonFacts {
  status: i32 = SCAN_NONE;
  keys: u32 = 0;              // KEY_* bits of top-level keys seen (any value type)
  modelLen: i32 = -1;         // >= 0: decoded model in MODEL_BUF
  modelRejected: bool = false;// first "model" had a string value that failed decoding/validation
  modelDuplicate: bool = false;// more than one top-level "model" key
  stream: i32 = -1;           // -1 absent/not a boolean, 0 false, 1 true
  maxTokens: i32 = -1;        // top-level max_tokens
  maxCompletionTokens: i32 = -1;
  maxOutputTokens: i32 = -1;
  paramsMaxNewTokens: i32 = -1;   // parameters.max_new_tokens (TGI)
  paramsMaxTokens: i32 = -1;      // parameters.max_tokens (OIP generate)
  samplingMaxNewTokens: i32 = -1; // sampling_params.max_new_tokens (SGLang)
  samplingMaxTokens: i32 = -1;    // sampling_params.max_tokens (vLLM /inference/v1/generate)
  trailing: bool = false;         // bytes other than whitespace after the top-level object

  reset(): void {
    this.samplingMaxTokens = -1; this.trailing = false;
    this.status = SCAN_NONE; this.keys = 0; this.modelLen = -1; this.modelRejected = false;
    this.modelDuplicate = false; this.stream = -1; this.maxTokens = -1; this.maxCompletionTokens = -1;
    this.maxOutputTokens = -1; this.paramsMaxNewTokens = -1; this.paramsMaxTokens = -1; this.samplingMaxNewTokens = -1;
  }
}

export const jsonFacts = new JsonFacts();

// Identifies a key string [s, e) (raw bytes between quotes; `esc` when it contains a backslash).
function topKey(s: usize, e: usize, esc: bool): u32 {
  let p = s;
  let n = <i32>(e - s);
  if (esc) {
    n = decodeJsonString(s, e, KEY_BUF, KEY_CAP);
    if (n < 0) return 0;
    p = KEY_BUF;
  }
  if (n < 4 || n > 21) return 0;
  switch (load<u8>(p)) {
    case 0x6D: // m
      if (bytesEq(p, n, "model")) return KEY_MODEL;
      if (bytesEq(p, n, "max_tokens")) return KEY_MAX_TOKENS;
      if (bytesEq(p, n, "max_completion_tokens")) return KEY_MAX_COMPLETION_TOKENS;
      if (bytesEq(p, n, "max_output_tokens")) return KEY_MAX_OUTPUT_TOKENS;
      if (bytesEq(p, n, "messages")) return KEY_MESSAGES;
      return 0;
    case 0x73: // s
      if (bytesEq(p, n, "stream")) return KEY_STREAM;
      if (bytesEq(p, n, "sampling_params")) return KEY_SAMPLING_PARAMS;
      return 0;
    case 0x70: // p
      if (bytesEq(p, n, "parameters")) return KEY_PARAMETERS;
      if (bytesEq(p, n, "prompt")) return KEY_PROMPT;
      return 0;
    case 0x69: // i
      if (bytesEq(p, n, "inputs")) return KEY_INPUTS;
      if (bytesEq(p, n, "input_ids")) return KEY_INPUT_IDS;
      if (bytesEq(p, n, "input_embeds")) return KEY_INPUT_EMBEDS;
      if (bytesEq(p, n, "input")) return KEY_INPUT;
      return 0;
    case 0x74: // t
      if (bytesEq(p, n, "text")) return KEY_TEXT;
      return 0;
  }
  return 0;
}

function nestedKey(s: usize, e: usize, esc: bool): u32 {
  let p = s;
  let n = <i32>(e - s);
  if (esc) {
    n = decodeJsonString(s, e, KEY_BUF, KEY_CAP);
    if (n < 0) return 0;
    p = KEY_BUF;
  }
  if (bytesEq(p, n, "max_new_tokens")) return NKEY_MAX_NEW_TOKENS;
  if (bytesEq(p, n, "max_tokens")) return NKEY_MAX_TOKENS;
  return 0;
}

// @ts-ignore: decorator
@inline function isWs(c: u32): bool { return c == 0x20 || c == 0x0A || c == 0x0D || c == 0x09; }

// Bytes that end a bare JSON token (number or literal).
// @ts-ignore: decorator
@inline function endsToken(c: u32): bool {
  return isWs(c) || c == 0x2C || c == 0x7D || c == 0x5D || c == 0x3A || c == 0x22 || c == 0x7B || c == 0x5B;
}

/**
 * Scans a JSON request body for the top-level facts the router needs, in one forward pass with an explicit
 * container stack (a 64-bit mask: bit d-1 set when depth d is an object), so nesting costs no AS stack.
 *
 * Rules:
 * - The body must be a JSON object (leading whitespace and a UTF-8 BOM are skipped); anything else is
 *   SCAN_MALFORMED with nothing found.
 * - Only keys of the top-level object count ("model" inside messages[] or any nested object is ignored),
 *   plus `max_new_tokens` / `max_tokens` directly inside a top-level `parameters` or `sampling_params` object.
 * - The LAST occurrence of each recognised key wins (Python json / Go encoding/json); a second top-level
 *   "model" also sets modelDuplicate. A prefix cannot see a later duplicate: see the README's Security notes.
 * - After the top-level object only whitespace may follow; anything else sets `trailing` (the caller never
 *   routes on such a body: the server refuses it).
 * - Strings are skipped honouring backslash escapes; the model value is decoded (all JSON escapes, incl.
 *   \uXXXX and surrogate pairs) into MODEL_BUF and must pass validName (<= MODEL_CAP bytes, valid UTF-8, no
 *   control characters), otherwise modelRejected is set and no model is reported.
 * - Counts must be non-negative integer literals (no sign, fraction or exponent); they clamp to i32.MAX_VALUE.
 * - "stream" counts only as the literal true or false.
 * - Nesting deeper than JSON_MAX_DEPTH stops the scan (SCAN_TOO_DEEP); a prefix that ends mid-way stops it
 *   (SCAN_TRUNCATED). Findings completed before the stop are kept; a string, number or literal cut by the
 *   end of a prefix is never used. When `complete` is true a number/literal ending exactly at `len` is whole.
 * - Syntax is not validated beyond what the walk needs; junk is skipped byte by byte. Work is O(len).
 */
export function scanJson(ptr: usize, len: usize, complete: bool, f: JsonFacts): void {
  f.reset();
  if (ptr == 0 || len == 0) { f.status = complete ? SCAN_MALFORMED : SCAN_TRUNCATED; return; }
  const end = ptr + len;
  let p = ptr;
  // UTF-8 BOM
  if (len >= 3 && load<u8>(p) == 0xEF && load<u8>(p + 1) == 0xBB && load<u8>(p + 2) == 0xBF) p += 3;
  while (p < end && isWs(<u32>load<u8>(p))) p++;
  if (p >= end) { f.status = complete ? SCAN_MALFORMED : SCAN_TRUNCATED; return; }
  if (load<u8>(p) != 0x7B) { f.status = SCAN_MALFORMED; return; }
  p++;

  let depth = 1;
  let objMask: u64 = 1;      // bit (d-1): depth d is an object
  let expectKey = true;      // in an object, the next string is a key
  let key1: u32 = 0;         // current top-level key (KEY_* bit, 0 for others)
  let first1 = false;        // current top-level key is that key's first occurrence
  let in2 = IN_OTHER;        // kind of the depth-2 container we are in
  let key2: u32 = 0;         // current key inside a depth-2 params object
  let status = SCAN_TRUNCATED;

  while (p < end) {
    const c = <u32>load<u8>(p);
    if (isWs(c)) { p++; continue; }
    const inObj = ((objMask >> <u64>(depth - 1)) & 1) != 0;

    if (c == 0x22) { // string
      let q = p + 1;
      let esc = false;
      while (q < end) {
        const b = load<u8>(q);
        if (b == 0x5C) { esc = true; q += 2; continue; }
        if (b == 0x22) break;
        q++;
      }
      if (q >= end) break; // string cut by the end of the input
      const s = p + 1;
      p = q + 1;
      if (inObj && expectKey) {
        expectKey = false;
        if (depth == 1) {
          key1 = topKey(s, q, esc);
          // Last occurrence wins: a repeated key forgets what the earlier one said.
          first1 = key1 != 0;
          if (key1 == KEY_MODEL) {
            if ((f.keys & KEY_MODEL) != 0) f.modelDuplicate = true;
            f.modelLen = -1; f.modelRejected = false;
          } else if (key1 == KEY_STREAM) f.stream = -1;
          else if (key1 == KEY_MAX_TOKENS) f.maxTokens = -1;
          else if (key1 == KEY_MAX_COMPLETION_TOKENS) f.maxCompletionTokens = -1;
          else if (key1 == KEY_MAX_OUTPUT_TOKENS) f.maxOutputTokens = -1;
          else if (key1 == KEY_PARAMETERS) { f.paramsMaxNewTokens = -1; f.paramsMaxTokens = -1; }
          else if (key1 == KEY_SAMPLING_PARAMS) { f.samplingMaxNewTokens = -1; f.samplingMaxTokens = -1; }
          f.keys |= key1;
        } else if (depth == 2 && in2 != IN_OTHER) {
          key2 = nestedKey(s, q, esc);
        }
        continue;
      }
      // A string value.
      if (depth == 1 && key1 == KEY_MODEL && first1) {
        const n = esc ? decodeJsonString(s, q, MODEL_BUF, MODEL_CAP) : copyRaw(s, q, MODEL_BUF, MODEL_CAP);
        if (n >= 0 && validName(MODEL_BUF, n, MODEL_CAP)) f.modelLen = n;
        else f.modelRejected = true;
      }
      if (depth == 1) key1 = 0; else if (depth == 2) key2 = 0;
      continue;
    }

    if (c == 0x3A) { p++; continue; } // ':'
    if (c == 0x2C) { // ','
      if (inObj) expectKey = true;
      p++;
      continue;
    }
    if (c == 0x7B || c == 0x5B) { // '{' '['
      if (depth >= JSON_MAX_DEPTH) { status = SCAN_TOO_DEEP; break; }
      if (depth == 2) key2 = 0;
      if (depth == 1) {
        in2 = IN_OTHER;
        if (c == 0x7B && first1) {
          if (key1 == KEY_PARAMETERS) in2 = IN_PARAMETERS;
          else if (key1 == KEY_SAMPLING_PARAMS) in2 = IN_SAMPLING;
        }
        key1 = 0;
        key2 = 0;
      }
      depth++;
      if (c == 0x7B) objMask |= (<u64>1) << <u64>(depth - 1);
      else objMask &= ~((<u64>1) << <u64>(depth - 1));
      expectKey = c == 0x7B;
      p++;
      continue;
    }
    if (c == 0x7D || c == 0x5D) { // '}' ']'
      p++;
      if (depth == 1) {
        status = SCAN_OK;
        // Exactly one JSON document: only whitespace may follow (Python's json.loads: "Extra data").
        while (p < end && isWs(<u32>load<u8>(p))) p++;
        if (p < end) f.trailing = true;
        break;
      }
      depth--;
      expectKey = false;
      if (depth == 1) in2 = IN_OTHER;
      continue;
    }

    // A bare token: number, true/false/null, or junk. Runs to the next delimiter.
    let q = p + 1;
    while (q < end && !endsToken(<u32>load<u8>(q))) q++;
    if (q >= end && !complete) break; // may continue past the prefix
    if (!(inObj && expectKey)) {
      if (depth == 1 && first1) {
        if (key1 == KEY_STREAM) {
          if (bytesEq(p, <i32>(q - p), "true")) f.stream = 1;
          else if (bytesEq(p, <i32>(q - p), "false")) f.stream = 0;
        } else if (key1 == KEY_MAX_TOKENS) f.maxTokens = parseCount(p, q);
        else if (key1 == KEY_MAX_COMPLETION_TOKENS) f.maxCompletionTokens = parseCount(p, q);
        else if (key1 == KEY_MAX_OUTPUT_TOKENS) f.maxOutputTokens = parseCount(p, q);
      } else if (depth == 2 && key2 != 0) {
        // Last occurrence wins inside params objects too.
        if (in2 == IN_PARAMETERS) {
          if (key2 == NKEY_MAX_NEW_TOKENS) f.paramsMaxNewTokens = parseCount(p, q);
          else if (key2 == NKEY_MAX_TOKENS) f.paramsMaxTokens = parseCount(p, q);
        } else if (in2 == IN_SAMPLING) {
          if (key2 == NKEY_MAX_NEW_TOKENS) f.samplingMaxNewTokens = parseCount(p, q);
          else if (key2 == NKEY_MAX_TOKENS) f.samplingMaxTokens = parseCount(p, q);
        }
      }
    }
    if (depth == 1) key1 = 0; else if (depth == 2) key2 = 0;
    p = q;
  }
  // Running out of bytes is a truncation for a prefix, and broken JSON for a complete body.
  f.status = status == SCAN_TRUNCATED && complete ? SCAN_MALFORMED : status;
}

function copyRaw(s: usize, e: usize, dst: usize, cap: i32): i32 {
  const n = <i32>(e - s);
  if (n > cap) return -1;
  memory.copy(dst, s, <usize>n);
  return n;
}

// ---------------------------------------------------------------------------------------------------------
// Protobuf / gRPC
// ---------------------------------------------------------------------------------------------------------

// Iterator state for pbNext (module globals: no allocation, no tuples).
let pbPos: usize = 0;
let pbEnd: usize = 0;
let pbField: u32 = 0;
let pbWire: u32 = 0;
let pbVarint: u64 = 0;
let pbValStart: usize = 0;
let pbValEnd: usize = 0;

const PB_FIELD: i32 = 1;      // a field was read
const PB_END: i32 = 0;        // clean end of the range
const PB_TRUNCATED: i32 = -1; // the range ended inside a field (for wire type 2, pbVal* holds the clipped value)
const PB_MALFORMED: i32 = -2; // invalid encoding

// Reads a varint at pbPos into pbVarint. 1 ok, -1 ran out of bytes, -2 more than 10 bytes.
function pbReadVarint(): i32 {
  let v: u64 = 0;
  let shift: u64 = 0;
  for (let k = 0; k < 10; k++) {
    if (pbPos >= pbEnd) return PB_TRUNCATED;
    const b = <u64>load<u8>(pbPos);
    pbPos++;
    v |= (b & 0x7F) << shift;
    if ((b & 0x80) == 0) { pbVarint = v; return 1; }
    shift += 7;
  }
  return PB_MALFORMED;
}

// Reads the next field in [pbPos, pbEnd), skipping its payload by the wire rules.
function pbNext(): i32 {
  pbField = 0; pbWire = 7; pbValStart = pbPos; pbValEnd = pbPos;
  if (pbPos >= pbEnd) return PB_END;
  let r = pbReadVarint();
  if (r != 1) return r;
  const tag = pbVarint;
  pbField = <u32>(tag >> 3) ;
  pbWire = <u32>(tag & 7);
  if ((tag >> 3) == 0 || (tag >> 3) > 0x1FFFFFFF) return PB_MALFORMED;
  switch (pbWire) {
    case 0: return pbReadVarint() == 1 ? PB_FIELD : (pbPos >= pbEnd ? PB_TRUNCATED : PB_MALFORMED);
    case 1: if (pbEnd - pbPos < 8) { pbPos = pbEnd; return PB_TRUNCATED; } pbPos += 8; return PB_FIELD;
    case 5: if (pbEnd - pbPos < 4) { pbPos = pbEnd; return PB_TRUNCATED; } pbPos += 4; return PB_FIELD;
    case 2: {
      r = pbReadVarint();
      if (r != 1) { pbValStart = pbValEnd = pbPos; return r; }
      pbValStart = pbPos;
      if (pbVarint > <u64>(pbEnd - pbPos)) { pbValEnd = pbEnd; pbPos = pbEnd; return PB_TRUNCATED; }
      pbValEnd = pbPos + <usize>pbVarint;
      pbPos = pbValEnd;
      return PB_FIELD;
    }
    case 3: case 4: return PB_FIELD; // group start / end: caller tracks depth
  }
  return PB_MALFORMED;
}

/** What one gRPC request scan found. */
export class PbFacts {
  status: i32 = SCAN_NONE;
  modelLen: i32 = -1;     // >= 0: model in MODEL_BUF
  versionLen: i32 = -1;   // >= 0: version in VERSION_BUF
  modelRejected: bool = false;
  /** The version bytes are a TF Serving version_label, not a number. */
  versionIsLabel: bool = false;
  reset(): void { this.status = SCAN_NONE; this.modelLen = -1; this.versionLen = -1; this.modelRejected = false; this.versionIsLabel = false; }
}

export const pbFacts = new PbFacts();

// Frame header check. Returns the message range in pbPos/pbEnd and whether the whole message is present,
// or sets a final status in f and returns false.
let frameWhole = false;
function openFrame(ptr: usize, len: usize, complete: bool, f: PbFacts): bool {
  if (ptr == 0 || len < 5) { f.status = complete ? SCAN_MALFORMED : SCAN_TRUNCATED; return false; }
  const flag = load<u8>(ptr);
  if (flag == 1) { f.status = SCAN_COMPRESSED; return false; }
  if (flag != 0) { f.status = SCAN_MALFORMED; return false; }
  const mlen: u64 = (<u64>load<u8>(ptr + 1) << 24) | (<u64>load<u8>(ptr + 2) << 16) | (<u64>load<u8>(ptr + 3) << 8) | <u64>load<u8>(ptr + 4);
  const avail = <u64>(len - 5);
  pbPos = ptr + 5;
  if (mlen <= avail) { pbEnd = pbPos + <usize>mlen; frameWhole = true; return true; }
  // The declared length does not fit in what we have: fine for a prefix, a lie for a complete body.
  if (complete) { f.status = SCAN_MALFORMED; return false; }
  pbEnd = ptr + len;
  frameWhole = false;
  return true;
}

/**
 * How many body bytes the first gRPC frame needs before a scan of it is final: the flag byte alone when it is not 0
 * (compressed, or not a gRPC flag at all: nothing after it can be read), else the 5-byte header plus the declared
 * message length (u64, so a length near 4 GiB cannot wrap). u64.MAX_VALUE while the header is still incomplete.
 * A bidirectional stream (ModelStreamInfer) keeps the request open, so the filter decides on this many bytes instead
 * of waiting for the end of the body; protobuf's "last model_name wins" is settled once the whole message is in.
 */
export function grpcFrameNeed(ptr: usize, len: usize): u64 {
  if (ptr == 0 || len < 1) return u64.MAX_VALUE;
  if (load<u8>(ptr) != 0) return 1;
  if (len < 5) return u64.MAX_VALUE;
  const mlen: u64 = (<u64>load<u8>(ptr + 1) << 24) | (<u64>load<u8>(ptr + 2) << 16) | (<u64>load<u8>(ptr + 3) << 8) | <u64>load<u8>(ptr + 4);
  return 5 + mlen;
}

// Copies [s, e) into dst when it is a valid name of at most cap bytes; returns its length or -1.
function takeName(s: usize, e: usize, dst: usize, cap: i32): i32 {
  const n = e - s;
  if (n > <usize>cap) return -1;
  if (!validName(s, <i32>n, cap)) return -1;
  memory.copy(dst, s, n);
  return <i32>n;
}

// Records a model_name / ModelSpec.name value; an empty string is proto3's "unset", not a rejection.
function setModel(f: PbFacts, s: usize, e: usize): void {
  if (e == s) { f.modelLen = -1; f.modelRejected = false; return; }
  f.modelLen = takeName(s, e, MODEL_BUF, MODEL_CAP);
  f.modelRejected = f.modelLen < 0;
}

// Ends a protobuf walk: a malformed message (or a complete one that ends inside a field) reports nothing.
function finishPb(r: i32, f: PbFacts): void {
  if (r == PB_END) { f.status = frameWhole ? SCAN_OK : SCAN_TRUNCATED; return; }
  if (r == PB_TRUNCATED && !frameWhole) { f.status = SCAN_TRUNCATED; return; }
  f.status = SCAN_MALFORMED;
  f.modelLen = -1; f.versionLen = -1; f.modelRejected = false;
}

/**
 * inference.ModelInferRequest inside one gRPC frame (1-byte compressed flag, u32 big-endian length,
 * message). Field 1 model_name and field 2 model_version (both strings, wire type 2); every other field
 * of any wire type is skipped, including groups (tracked by depth; fields inside groups are ignored).
 * As in protobuf, a repeated field 1/2 means the last one wins. Compressed frames → SCAN_COMPRESSED;
 * a declared length larger than a complete body, a field 1/2 with the wrong wire type, or any invalid
 * encoding → SCAN_MALFORMED and nothing reported. In a prefix (complete=false) fields cut by the end are
 * ignored and earlier findings kept. Invalid names (not UTF-8, control bytes, > MODEL_CAP) are rejected.
 */
export function scanModelInfer(ptr: usize, len: usize, complete: bool, f: PbFacts): void {
  f.reset();
  if (!openFrame(ptr, len, complete, f)) return;
  let group = 0;
  let r = 0;
  while ((r = pbNext()) == PB_FIELD) {
    if (pbWire == 3) { group++; continue; }
    if (pbWire == 4) { if (group == 0) { r = PB_MALFORMED; break; } group--; continue; }
    if (group > 0) continue;
    if (pbField == 1 || pbField == 2) {
      if (pbWire != 2) { r = PB_MALFORMED; break; }
      if (pbField == 1) {
        setModel(f, pbValStart, pbValEnd);
      } else {
        f.versionLen = pbValEnd == pbValStart ? -1 : takeName(pbValStart, pbValEnd, VERSION_BUF, VERSION_CAP);
      }
    }
  }
  finishPb(r, f);
}

// Writes a signed decimal into VERSION_BUF; returns its length.
function putI64(v: i64): i32 {
  let u: u64 = v < 0 ? <u64>(-(v + 1)) + 1 : <u64>v;
  const tmp = VERSION_BUF + 32; // scratch tail; VERSION_CAP >= 40
  let n = 0;
  do { store<u8>(tmp + n, <u8>(0x30 + <u32>(u % 10))); u /= 10; n++; } while (u != 0);
  let o = 0;
  if (v < 0) { store<u8>(VERSION_BUF, 0x2D); o = 1; }
  for (let k = n - 1; k >= 0; k--) { store<u8>(VERSION_BUF + o, load<u8>(tmp + k)); o++; }
  return o;
}

/**
 * tensorflow.serving Predict/Classify/RegressionRequest inside one gRPC frame: field 1 ModelSpec
 * { name = 1 string, version = 2 google.protobuf.Int64Value { value = 1 varint }, signature_name = 3,
 * version_label = 4 string }. Several model_spec occurrences merge (later fields win), and version /
 * version_label form a oneof (the last one read wins). A ModelSpec cut by the end of a prefix is read as
 * far as it goes. Framing and error rules as for scanModelInfer.
 */
export function scanTfServing(ptr: usize, len: usize, complete: bool, f: PbFacts): void {
  f.reset();
  if (!openFrame(ptr, len, complete, f)) return;
  let group = 0;
  let r = 0;
  while (true) {
    r = pbNext();
    const cut = r == PB_TRUNCATED && pbWire == 2 && !frameWhole;
    if (r != PB_FIELD && !cut) break;
    if (pbWire == 3) { group++; continue; }
    if (pbWire == 4) { if (group == 0) { r = PB_MALFORMED; break; } group--; continue; }
    if (group > 0 || pbField != 1) { if (cut) break; continue; }
    if (pbWire != 2) { r = PB_MALFORMED; break; }
    // Walk the ModelSpec (one nested level) with the same iterator, then resume the outer one.
    const outerPos = pbPos, outerEnd = pbEnd;
    pbPos = pbValStart; pbEnd = pbValEnd;
    let ir = 0;
    while ((ir = pbNext()) == PB_FIELD) {
      if (pbWire == 3 || pbWire == 4) { ir = PB_MALFORMED; break; } // no groups in a ModelSpec
      if (pbField != 1 && pbField != 2 && pbField != 4) continue;
      if (pbWire != 2) { ir = PB_MALFORMED; break; }
      if (pbField == 1) {
        setModel(f, pbValStart, pbValEnd);
      } else if (pbField == 4) {
        f.versionLen = pbValEnd == pbValStart ? -1 : takeName(pbValStart, pbValEnd, VERSION_BUF, VERSION_CAP);
        f.versionIsLabel = true;
      } else {
        // Int64Value { int64 value = 1; }: absent value means 0. pbNext leaves a varint's value in pbVarint.
        const specPos = pbPos, specEnd = pbEnd;
        pbPos = pbValStart; pbEnd = pbValEnd;
        let value: i64 = 0;
        let vr = 0;
        while ((vr = pbNext()) == PB_FIELD) {
          if (pbWire == 3 || pbWire == 4) { vr = PB_MALFORMED; break; }
          if (pbField == 1) {
            if (pbWire != 0) { vr = PB_MALFORMED; break; }
            value = <i64>pbVarint;
          }
        }
        pbPos = specPos; pbEnd = specEnd;
        if (vr != PB_END) { ir = PB_MALFORMED; break; }
        f.versionLen = putI64(value);
        f.versionIsLabel = false;
      }
    }
    pbPos = outerPos; pbEnd = outerEnd;
    if (ir == PB_MALFORMED) { r = PB_MALFORMED; break; }
    if (ir == PB_TRUNCATED && !cut) { r = PB_MALFORMED; break; } // a whole ModelSpec must parse fully
    if (cut) { r = PB_TRUNCATED; break; }
  }
  finishPb(r, f);
}

// ---------------------------------------------------------------------------------------------------------
// multipart/form-data (OpenAI audio transcriptions / translations)
// ---------------------------------------------------------------------------------------------------------

/** What one multipart scan found: the `model` and `stream` form fields. */
export class FormFacts {
  status: i32 = SCAN_NONE;
  modelLen: i32 = -1;          // >= 0: model in MODEL_BUF
  modelRejected: bool = false; // a model field failed validation, or a part name we cannot read like the server
  stream: i32 = -1;
  reset(): void { this.status = SCAN_NONE; this.modelLen = -1; this.modelRejected = false; this.stream = -1; }
}

export const formFacts = new FormFacts();

// "\r\n--" + boundary (<= 70 bytes).
const DELIM_BUF: usize = memory.data(80);
let delimLen: i32 = 0;

// First index >= p where the delimiter "\r\n--boundary" starts, or `end` when it does not (fully) occur.
function findDelim(p: usize, end: usize): usize {
  const first = load<u8>(DELIM_BUF);
  while (p + <usize>delimLen <= end) {
    if (load<u8>(p) == first && memory.compare(p, DELIM_BUF, <usize>delimLen) == 0) return p;
    p++;
  }
  return end;
}

// @ts-ignore: decorator
@inline function lower(c: u32): u32 { return c >= 0x41 && c <= 0x5A ? c | 0x20 : c; }

// True when [p, p+lit.length) equals the ASCII literal, case-insensitively.
function bytesEqCi(p: usize, end: usize, lit: string): bool {
  const n = lit.length;
  if (p + <usize>n > end) return false;
  for (let i = 0; i < n; i++) if (lower(<u32>load<u8>(p + i)) != <u32>lit.charCodeAt(i)) return false;
  return true;
}

const PART_OTHER: i32 = 0;
const PART_MODEL: i32 = 1;
const PART_STREAM: i32 = 2;
const PART_AMBIGUOUS: i32 = 3;

// Kind of part from one Content-Disposition value [p, e): the `name` parameter, as python-multipart /
// Starlette read it. A name given as name* (RFC 2231) or with backslash escapes is AMBIGUOUS: we refuse to
// guess what the server makes of it.
function dispositionKind(p: usize, e: usize): i32 {
  let kind = PART_OTHER;
  while (p < e) {
    // Next parameter after ';'
    while (p < e && load<u8>(p) != 0x3B) {
      if (load<u8>(p) == 0x22) { p++; while (p < e && load<u8>(p) != 0x22) { if (load<u8>(p) == 0x5C) p++; p++; } }
      p++;
    }
    if (p >= e) break;
    p++;
    while (p < e && (load<u8>(p) == 0x20 || load<u8>(p) == 0x09)) p++;
    if (bytesEqCi(p, e, "name*")) return PART_AMBIGUOUS;
    if (!bytesEqCi(p, e, "name")) continue;
    let q = p + 4;
    while (q < e && (load<u8>(q) == 0x20 || load<u8>(q) == 0x09)) q++;
    if (q >= e || load<u8>(q) != 0x3D) continue;
    q++;
    while (q < e && (load<u8>(q) == 0x20 || load<u8>(q) == 0x09)) q++;
    let a = q, b = q;
    if (q < e && load<u8>(q) == 0x22) {
      a = q + 1; b = a;
      while (b < e && load<u8>(b) != 0x22) { if (load<u8>(b) == 0x5C) return PART_AMBIGUOUS; b++; }
      if (b >= e) return PART_AMBIGUOUS;
    } else {
      while (b < e && load<u8>(b) != 0x3B && load<u8>(b) != 0x20 && load<u8>(b) != 0x09) b++;
    }
    const n = <i32>(b - a);
    if (bytesEq(a, n, "model")) kind = PART_MODEL;
    else if (bytesEq(a, n, "stream")) kind = PART_STREAM;
    else kind = PART_OTHER;
    p = b;
  }
  return kind;
}

/**
 * Scans a multipart/form-data body (RFC 7578) for the `model` and `stream` fields, part by part, never reading
 * at or past ptr+len and never copying a file part. Rules:
 * - The body starts with "--boundary" (a preamble before it is skipped); parts end at "\r\n--boundary";
 *   "--boundary--" ends the body.
 * - A part's name comes from its Content-Disposition header (name="model" or name=model); name* (RFC 2231)
 *   or an escaped quoted name makes the request ambiguous (modelRejected, no model).
 * - Repeated fields: the LAST wins (Starlette's FormData.get, used by vLLM's Form models).
 * - A model value must pass validName (<= MODEL_CAP bytes of UTF-8, no controls).
 * - Ending before the closing delimiter: SCAN_TRUNCATED for a prefix, SCAN_MALFORMED for a whole body
 *   (then nothing is reported). An empty or invalid boundary is SCAN_MALFORMED.
 */
export function scanMultipart(ptr: usize, len: usize, complete: bool, boundary: string, f: FormFacts): void {
  f.reset();
  const bl = boundary.length;
  if (bl < 1 || bl > 70) { f.status = SCAN_MALFORMED; return; }
  store<u8>(DELIM_BUF, 0x0D); store<u8>(DELIM_BUF + 1, 0x0A); store<u8>(DELIM_BUF + 2, 0x2D); store<u8>(DELIM_BUF + 3, 0x2D);
  for (let i = 0; i < bl; i++) store<u8>(DELIM_BUF + 4 + i, <u8>boundary.charCodeAt(i));
  delimLen = bl + 4;
  if (ptr == 0 || len == 0) { f.status = complete ? SCAN_MALFORMED : SCAN_TRUNCATED; return; }
  const end = ptr + len;
  // The first delimiter may start the body without the leading CRLF.
  let p: usize;
  if (len >= <usize>(bl + 2) && memory.compare(ptr, DELIM_BUF + 2, <usize>(bl + 2)) == 0) p = ptr + <usize>(bl + 2);
  else {
    const d = findDelim(ptr, end);
    if (d >= end) { f.status = complete ? SCAN_MALFORMED : SCAN_TRUNCATED; return; }
    p = d + <usize>delimLen;
  }
  let status = SCAN_TRUNCATED;
  while (true) {
    // After a delimiter: "--" closes the body, otherwise CRLF starts a part's headers.
    if (p + 2 > end) break;
    if (load<u8>(p) == 0x2D && load<u8>(p + 1) == 0x2D) { status = SCAN_OK; break; }
    // Transport padding (spaces/tabs) may precede the CRLF.
    while (p < end && (load<u8>(p) == 0x20 || load<u8>(p) == 0x09)) p++;
    if (p + 2 > end) break;
    if (load<u8>(p) != 0x0D || load<u8>(p + 1) != 0x0A) { status = SCAN_MALFORMED; break; }
    p += 2;
    // Headers up to an empty line.
    let kind = PART_OTHER;
    let headersDone = false;
    while (p < end) {
      let e = p;
      while (e + 1 < end && !(load<u8>(e) == 0x0D && load<u8>(e + 1) == 0x0A)) e++;
      if (e + 1 >= end) break; // header line cut by the end
      if (e == p) { p = e + 2; headersDone = true; break; }
      if (bytesEqCi(p, e, "content-disposition:")) kind = dispositionKind(p + 20, e);
      p = e + 2;
    }
    if (!headersDone) break;
    if (kind == PART_AMBIGUOUS) { f.modelRejected = true; f.modelLen = -1; }
    const d = findDelim(p, end);
    if (d >= end) break; // part body cut by the end (a file part larger than what we hold)
    if (kind == PART_MODEL && !f.modelRejected) {
      const n = <i32>(d - p);
      if (validName(p, n, MODEL_CAP)) { memory.copy(MODEL_BUF, p, <usize>n); f.modelLen = n; }
      else { f.modelLen = -1; f.modelRejected = true; }
    } else if (kind == PART_STREAM) {
      const n = <i32>(d - p);
      f.stream = bytesEq(p, n, "true") ? 1 : bytesEq(p, n, "false") ? 0 : -1;
    }
    p = d + <usize>delimLen;
  }
  if (status == SCAN_TRUNCATED && complete) status = SCAN_MALFORMED;
  f.status = status;
  if (status == SCAN_MALFORMED) { f.modelLen = -1; }
}
