// Streaming reader of Prometheus text exposition (format 0.0.4, plus the OpenMetrics 1.0 text additions and
// the quoted-name syntax of Prometheus 3) that pulls out only the series a MetricsSpec asks for.
//
// Called on every poll of a model server, so it is built to be cheap and unbreakable:
// - It walks the bytes once by pointer (`load<u8>`), never reading at or past `ptr + len`. Each byte is looked
//   at a bounded number of times (name/label comparisons stop at the first difference and compare against a
//   fixed, small set of expected strings), so work is O(len) for any input.
// - Nothing is allocated per line. Metric names, label names and label values are compared in place with the
//   expected strings (UTF-16 in the spec, encoded to UTF-8 on the fly; escapes decoded on the fly). The only
//   allocations are the LoRA adapter lists, decoded once per parse from the newest `lora_requests_info`
//   sample, and reused when a later scrape carries the same text: steady-state polling allocates nothing.
// - No input traps: malformed lines are counted in `parseErrors` and skipped up to the next newline.
//
// Rules:
// - A line is a sample when it is `name[{labels}] value [timestamp] [# exemplar]`, or `{"name", labels} value
//   ...` (quoted name). Blank lines and lines starting with `#` are skipped; `# EOF` ends the input. Leading
//   blanks, CRLF and a missing final newline are accepted. Label values are quoted strings with the escapes
//   \" \\ \n (any other backslash pair is kept literally); they may contain `}` `,` `=` `#`. A trailing comma
//   in the label set and an empty set `{}` are accepted.
// - Metric names match exactly (so `x_bucket`, `x_sum`, `x_count` never match `x`). A series matches when every
//   one of its label matchers finds a label with that exact name and (unescaped) value; other labels are free.
// - Values: decimal floats with optional sign and exponent, `NaN`, `Inf`, `+Inf`, `-Inf`, `Infinity` (any
//   case). NaN and ±Inf samples are skipped (they never poison a sum). Anything else is a parse error.
// - Several matching samples of one series (e.g. one per model, one per engine) are SUMMED for queue and
//   running, and the MAXIMUM is taken for the KV-cache fraction (utilisations do not add up; the fullest
//   engine is the one a request may land on). Each sample is multiplied by its series' `scale`.
// - Model filter: when both `spec.modelLabel` and `spec.model` are set, a sample that carries the model label
//   with another value is skipped; samples without the label (server-wide series) still count. The LoRA
//   series is never model-filtered.
// - Candidates: for each signal, the first series in spec order with at least one usable sample wins; a
//   signal with none stays -1. Negative totals are clamped to 0.
// - LoRA: among the samples of `spec.loraInfo` the one with the greatest (finite) value wins; its labels
//   `running_lora_adapters`, `waiting_lora_adapters` (kept as the raw comma-separated text) and `max_lora`
//   (integer, -1 if missing or not a number) are reported. Values longer than LORA_VALUE_CAP bytes are dropped.
// - At most MAX_CANDIDATES series per signal and MAX_MATCHERS matchers per series are used; a series with more
//   matchers is ignored (never matches) rather than matched loosely.
// - Returns false only when no valid sample line was found and at least one line was malformed (garbage,
//   binary, HTML error page...). An empty page or one with only comments returns true with `samples == 0`.
import { MetricsSpec, SeriesSpec, MAX_CANDIDATES, MAX_MATCHERS } from "./presets";

/** Signals read from one scrape. -1 = not present. Reused between calls (`reset()` is done by the parser). */
export class Signals {
  queue: f64 = -1;
  running: f64 = -1;
  kvCache: f64 = -1;
  loraRunning: string = "";
  loraWaiting: string = "";
  loraMax: i32 = -1;
  /** Value (update time) of the chosen lora_requests_info sample; -1 when none was found. */
  loraAt: f64 = -1;
  /** Valid sample lines seen (any metric). */
  samples: i32 = 0;
  /** Samples used for a signal (matched a series, passed the filters, finite). */
  matched: i32 = 0;
  /** Malformed lines skipped. */
  parseErrors: i32 = 0;

  reset(): void {
    this.queue = -1;
    this.running = -1;
    this.kvCache = -1;
    this.loraRunning = "";
    this.loraWaiting = "";
    this.loraMax = -1;
    this.loraAt = -1;
    this.samples = 0;
    this.matched = 0;
    this.parseErrors = 0;
  }
}

/** Longest LoRA label value decoded, in bytes (raw, before unescaping). */
export const LORA_VALUE_CAP: i32 = 4096;

// ---------------------------------------------------------------------------------------------------------
// Per-call tables (static: no allocation per call)
// ---------------------------------------------------------------------------------------------------------

const KIND_QUEUE: u8 = 0;
const KIND_RUNNING: u8 = 1;
const KIND_KV: u8 = 2;
const KIND_LORA: u8 = 3;
const SLOT_CAP: i32 = 32; // 3 * MAX_CANDIDATES + 1 <= 32 (one bit per slot in a u32 mask)

const slotSpec = new StaticArray<SeriesSpec | null>(SLOT_CAP);
const SLOT_KIND: usize = memory.data(SLOT_CAP);
const SLOT_NLEN: usize = memory.data(SLOT_CAP * 4);  // UTF-8 byte length of the series name
const SLOT_FULL: usize = memory.data(SLOT_CAP * 4);  // all matcher bits
const SLOT_SAT: usize = memory.data(SLOT_CAP * 4);   // matcher bits satisfied on the current line
const SLOT_ACC: usize = memory.data(SLOT_CAP * 8);
const SLOT_CNT: usize = memory.data(SLOT_CAP * 4);
const LORA_BUF: usize = memory.data(LORA_VALUE_CAP + 8);
let nSlots: i32 = 0;
let loraSlotMask: u32 = 0;
let lastLoraRunning: string = "";
let bestRunA: usize = 0, bestRunB: usize = 0, bestRunSet = false;
let bestWaitA: usize = 0, bestWaitB: usize = 0, bestWaitSet = false;
let lastLoraWaiting: string = "";

let curSpec: MetricsSpec | null = null;
let modelFilter = false;

// Line state
let lineErr = false;
let lineMask: u32 = 0;
let nameFound = false;
let modelSeen = false;
let modelMatch = false;
let runA: usize = 0, runB: usize = 0, runSet = false;
let waitA: usize = 0, waitB: usize = 0, waitSet = false;
let maxA: usize = 0, maxB: usize = 0, maxSet = false;

// ---------------------------------------------------------------------------------------------------------
// Byte helpers
// ---------------------------------------------------------------------------------------------------------

// @ts-ignore: decorator
@inline function isBlank(c: u32): bool { return c == 0x20 || c == 0x09 || c == 0x0D; }
// @ts-ignore: decorator
@inline function isDigit(c: u32): bool { return c - 0x30 < 10; }
// @ts-ignore: decorator
@inline function isAlpha_(c: u32): bool { return ((c | 0x20) - 0x61 < 26) || c == 0x5F; }
// @ts-ignore: decorator
@inline function isNameStart(c: u32): bool { return isAlpha_(c) || c == 0x3A; }
// @ts-ignore: decorator
@inline function isNameChar(c: u32): bool { return isAlpha_(c) || isDigit(c) || c == 0x3A; }
// @ts-ignore: decorator
@inline function isLabelChar(c: u32): bool { return isAlpha_(c) || isDigit(c); }

// @ts-ignore: decorator
@inline function skipBlanks(p: usize, end: usize): usize {
  while (p < end && isBlank(<u32>load<u8>(p))) p++;
  return p;
}

/** Position just after the next newline at or after p (or end). */
function nextLine(p: usize, end: usize): usize {
  while (p < end) {
    if (load<u8>(p) == 0x0A) return p + 1;
    p++;
  }
  return end;
}

/** True when bytes [p, e) — raw, or the inside of a quoted string when `escaped` — equal the UTF-8 encoding of
 *  s. Escapes \\ \" \n are decoded; any other backslash stands for itself. Stops at the first difference. */
export function eqUtf8(p: usize, e: usize, escaped: bool, s: string): bool {
  const sp = changetype<usize>(s);
  const n = <usize>s.length;
  let i: usize = 0;
  while (i < n) {
    const c = <u32>load<u16>(sp + (i << 1));
    i++;
    let enc: u32;
    let k: i32;
    if (c < 0x80) { enc = c; k = 1; }
    else if (c < 0x800) { enc = (0xC0 | (c >> 6)) | ((0x80 | (c & 0x3F)) << 8); k = 2; }
    else if (c - 0xD800 < 0x800) {
      // Surrogates: a valid pair is one 4-byte sequence, a lone one is U+FFFD (as String.UTF8.encode does).
      const d: u32 = i < n ? <u32>load<u16>(sp + (i << 1)) : 0;
      if (c < 0xDC00 && d - 0xDC00 < 0x400) {
        i++;
        const cp = 0x10000 + ((c - 0xD800) << 10) + (d - 0xDC00);
        enc = (0xF0 | (cp >> 18)) | ((0x80 | ((cp >> 12) & 0x3F)) << 8) |
          ((0x80 | ((cp >> 6) & 0x3F)) << 16) | ((0x80 | (cp & 0x3F)) << 24);
        k = 4;
      } else { enc = 0xBDBFEF; k = 3; }
    } else { enc = (0xE0 | (c >> 12)) | ((0x80 | ((c >> 6) & 0x3F)) << 8) | ((0x80 | (c & 0x3F)) << 16); k = 3; }
    for (let j = 0; j < k; j++) {
      if (p >= e) return false;
      let b = <u32>load<u8>(p);
      p++;
      if (escaped && b == 0x5C && p < e) {
        const x = <u32>load<u8>(p);
        if (x == 0x6E) { b = 0x0A; p++; }
        else if (x == 0x5C || x == 0x22) { b = x; p++; }
      }
      if (b != (enc & 0xFF)) return false;
      enc >>= 8;
    }
  }
  return p == e;
}

/** Decodes the quoted-string content [p, e) into LORA_BUF; returns the byte count, -1 if too long. */
function unescapeToBuf(p: usize, e: usize): i32 {
  if (e - p > <usize>LORA_VALUE_CAP) return -1;
  let n = 0;
  while (p < e) {
    let b = load<u8>(p);
    p++;
    if (b == 0x5C && p < e) {
      const x = load<u8>(p);
      if (x == 0x6E) { b = 0x0A; p++; }
      else if (x == 0x5C || x == 0x22) { b = x; p++; }
    }
    store<u8>(LORA_BUF + n, b);
    n++;
  }
  return n;
}

/** Scans a quoted string whose content starts at p; returns the position of the closing quote, or sets
 *  lineErr and returns where it stopped (newline / end: an unterminated string). */
function scanQuoted(p: usize, end: usize): usize {
  while (p < end) {
    const c = load<u8>(p);
    if (c == 0x22) return p;
    if (c == 0x0A) break;
    if (c == 0x5C) {
      if (p + 1 >= end || load<u8>(p + 1) == 0x0A) { p++; break; }
      p += 2;
      continue;
    }
    p++;
  }
  lineErr = true;
  return p;
}

// ---------------------------------------------------------------------------------------------------------
// Numbers
// ---------------------------------------------------------------------------------------------------------

let numOk = false;
const POW10: StaticArray<f64> = [1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14,
  1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22];

/** Case-insensitive compare of [p, e) with a lower-case ASCII word. */
function wordCI(p: usize, e: usize, w: string): bool {
  if (<i32>(e - p) != w.length) return false;
  for (let i = 0; i < w.length; i++) {
    if ((<u32>load<u8>(p + i) | 0x20) != <u32>w.charCodeAt(i)) return false;
  }
  return true;
}

/** Whether the last parseNumber call read a well-formed number. */
export function lastNumberOk(): bool { return numOk; }

/** Parses [a, b) as a Prometheus sample value (lastNumberOk() tells whether it was well-formed). */
export function parseNumber(a: usize, b: usize): f64 {
  numOk = false;
  if (a >= b) return 0;
  let p = a;
  let neg = false;
  const c0 = <u32>load<u8>(p);
  if (c0 == 0x2B || c0 == 0x2D) { neg = c0 == 0x2D; p++; }
  if (wordCI(p, b, "inf") || wordCI(p, b, "infinity")) { numOk = true; return neg ? -Infinity : Infinity; }
  if (wordCI(p, b, "nan")) { numOk = true; return NaN; }
  let m: u64 = 0;
  let sig = 0;
  let exp10: i32 = 0;
  let any = false;
  while (p < b) {
    const d = <u32>load<u8>(p) - 0x30;
    if (d >= 10) break;
    any = true;
    if (sig < 19) { m = m * 10 + d; if (m != 0) sig++; } else exp10++;
    p++;
  }
  if (p < b && load<u8>(p) == 0x2E) {
    p++;
    while (p < b) {
      const d = <u32>load<u8>(p) - 0x30;
      if (d >= 10) break;
      any = true;
      if (sig < 19) { m = m * 10 + d; if (m != 0) sig++; exp10--; }
      p++;
    }
  }
  if (!any) return 0;
  if (p < b && (load<u8>(p) | 0x20) == 0x65) {
    p++;
    let eneg = false;
    if (p < b && (load<u8>(p) == 0x2B || load<u8>(p) == 0x2D)) { eneg = load<u8>(p) == 0x2D; p++; }
    let ev: i32 = 0;
    let anyE = false;
    while (p < b) {
      const d = <u32>load<u8>(p) - 0x30;
      if (d >= 10) break;
      anyE = true;
      if (ev < 100000) ev = ev * 10 + <i32>d;
      p++;
    }
    if (!anyE) return 0;
    exp10 += eneg ? -ev : ev;
  }
  if (p != b) return 0;
  numOk = true;
  let v = <f64>m;
  if (m != 0 && exp10 != 0) {
    if (exp10 > 0) {
      v = exp10 <= 22 ? v * unchecked(POW10[exp10]) : (exp10 > 400 ? Infinity : v * Math.pow(10, <f64>exp10));
    } else if (exp10 >= -22) {
      v = v / unchecked(POW10[-exp10]);
    } else if (exp10 < -400) {
      v = 0;
    } else {
      if (exp10 < -300) { v = v / 1e300; exp10 += 300; }
      v = v / Math.pow(10, <f64>(-exp10));
    }
  }
  return neg ? -v : v;
}

// ---------------------------------------------------------------------------------------------------------
// Spec → slots
// ---------------------------------------------------------------------------------------------------------

function addSlots(list: Array<SeriesSpec>, kind: u8): void {
  const n = min(list.length, MAX_CANDIDATES);
  for (let i = 0; i < n; i++) addSlot(unchecked(list[i]), kind);
}

function addSlot(s: SeriesSpec | null, kind: u8): void {
  if (s === null || nSlots >= SLOT_CAP) return;
  const nm = s.labels.length >> 1;
  if (nm > MAX_MATCHERS) return;
  const i = nSlots++;
  unchecked(slotSpec[i] = s);
  store<u8>(SLOT_KIND + i, kind);
  store<i32>(SLOT_NLEN + (<usize>i << 2), String.UTF8.byteLength(s.name));
  store<u32>(SLOT_FULL + (<usize>i << 2), nm == 0 ? 0 : (<u32>1 << nm) - 1);
  store<f64>(SLOT_ACC + (<usize>i << 3), 0);
  store<i32>(SLOT_CNT + (<usize>i << 2), 0);
  if (kind == KIND_LORA) loraSlotMask |= <u32>1 << i;
}

function setup(spec: MetricsSpec): void {
  nSlots = 0;
  loraSlotMask = 0;
  curSpec = spec;
  modelFilter = spec.model.length > 0 && spec.modelLabel.length > 0;
  addSlots(spec.queue, KIND_QUEUE);
  addSlots(spec.running, KIND_RUNNING);
  addSlots(spec.kvCache, KIND_KV);
  addSlot(spec.loraInfo, KIND_LORA);
}

function release(): void {
  for (let i = 0; i < nSlots; i++) unchecked(slotSpec[i] = null);
  nSlots = 0;
  curSpec = null;
}

/** Slots whose series name equals [a, b); resets their matcher state. */
function nameMask(a: usize, b: usize, escaped: bool): u32 {
  let m: u32 = 0;
  const n = <i32>(b - a);
  for (let s = 0; s < nSlots; s++) {
    if (!escaped && load<i32>(SLOT_NLEN + (<usize>s << 2)) != n) continue;
    const sp = unchecked(slotSpec[s]);
    if (sp === null) continue;
    if (eqUtf8(a, b, escaped, sp.name)) {
      m |= <u32>1 << s;
      store<u32>(SLOT_SAT + (<usize>s << 2), 0);
    }
  }
  return m;
}

// ---------------------------------------------------------------------------------------------------------
// Lines
// ---------------------------------------------------------------------------------------------------------

function onLabel(ka: usize, kb: usize, kEsc: bool, va: usize, vb: usize): void {
  let m = lineMask;
  while (m != 0) {
    const s = <i32>ctz(m);
    m &= m - 1;
    const full = load<u32>(SLOT_FULL + (<usize>s << 2));
    if (full == 0) continue;
    let sat = load<u32>(SLOT_SAT + (<usize>s << 2));
    if (sat == full) continue;
    const labels = unchecked(slotSpec[s])!.labels;
    const nm = <i32>popcnt(full);
    for (let j = 0; j < nm; j++) {
      if ((sat >> j) & 1) continue;
      const ki = j << 1;
      if (ki + 1 >= labels.length) break;
      if (eqUtf8(ka, kb, kEsc, labels[ki]) && eqUtf8(va, vb, true, labels[ki + 1])) sat |= <u32>1 << j;
    }
    store<u32>(SLOT_SAT + (<usize>s << 2), sat);
  }
  if (modelFilter) {
    const spec = curSpec!;
    if (eqUtf8(ka, kb, kEsc, spec.modelLabel)) {
      modelSeen = true;
      modelMatch = eqUtf8(va, vb, true, spec.model);
    }
  }
  if (lineMask & loraSlotMask) {
    if (eqUtf8(ka, kb, kEsc, "running_lora_adapters")) { runA = va; runB = vb; runSet = true; }
    else if (eqUtf8(ka, kb, kEsc, "waiting_lora_adapters")) { waitA = va; waitB = vb; waitSet = true; }
    else if (eqUtf8(ka, kb, kEsc, "max_lora")) { maxA = va; maxB = vb; maxSet = true; }
  }
}

/** Parses a label set whose content starts at p (just after `{`). Returns the position after `}`. */
function parseLabels(p: usize, end: usize, allowName: bool): usize {
  let first = true;
  while (true) {
    p = skipBlanks(p, end);
    if (p >= end) { lineErr = true; return p; }
    let c = <u32>load<u8>(p);
    if (c == 0x7D) return p + 1;
    let ka: usize, kb: usize;
    let kEsc = false;
    if (c == 0x22) {
      ka = p + 1;
      kb = scanQuoted(ka, end);
      if (lineErr) return kb;
      p = kb + 1;
      kEsc = true;
    } else if (isAlpha_(c)) {
      ka = p;
      while (p < end && isLabelChar(<u32>load<u8>(p))) p++;
      kb = p;
    } else { lineErr = true; return p; }
    p = skipBlanks(p, end);
    c = p < end ? <u32>load<u8>(p) : 0x0A;
    if (kEsc && allowName && first && (c == 0x2C || c == 0x7D)) {
      // `{"metric.name", ...}`: the quoted metric name of the Prometheus 3 / OpenMetrics 2 syntax.
      lineMask = nameMask(ka, kb, true);
      nameFound = true;
    } else {
      if (c != 0x3D) { lineErr = true; return p; }
      p = skipBlanks(p + 1, end);
      if (p >= end || load<u8>(p) != 0x22) { lineErr = true; return p; }
      const va = p + 1;
      const vb = scanQuoted(va, end);
      if (lineErr) return vb;
      p = vb + 1;
      if (lineMask != 0) onLabel(ka, kb, kEsc, va, vb);
    }
    first = false;
    p = skipBlanks(p, end);
    c = p < end ? <u32>load<u8>(p) : 0x0A;
    if (c == 0x2C) { p++; continue; }
    if (c == 0x7D) return p + 1;
    lineErr = true;
    return p;
  }
  return p; // unreachable
}

function parseMaxLora(a: usize, b: usize): i32 {
  if (a >= b || b - a > 9) return -1;
  let v = 0;
  for (let p = a; p < b; p++) {
    const d = <u32>load<u8>(p) - 0x30;
    if (d >= 10) return -1;
    v = v * 10 + <i32>d;
  }
  return v;
}

function record(v: f64, out: Signals): void {
  let m = lineMask;
  let used = false;
  while (m != 0) {
    const s = <i32>ctz(m);
    m &= m - 1;
    if (load<u32>(SLOT_SAT + (<usize>s << 2)) != load<u32>(SLOT_FULL + (<usize>s << 2))) continue;
    if (!isFinite(v)) continue;
    const kind = load<u8>(SLOT_KIND + s);
    if (kind == KIND_LORA) {
      // Remember where the newest sample's labels are; they are decoded once, at the end of the parse.
      if (out.loraAt >= 0 && v <= out.loraAt) continue;
      if ((runSet && runB - runA > <usize>LORA_VALUE_CAP) || (waitSet && waitB - waitA > <usize>LORA_VALUE_CAP)) continue;
      bestRunA = runA; bestRunB = runB; bestRunSet = runSet;
      bestWaitA = waitA; bestWaitB = waitB; bestWaitSet = waitSet;
      out.loraMax = maxSet ? parseMaxLora(maxA, maxB) : -1;
      out.loraAt = v < 0 ? 0 : v;
      used = true;
      continue;
    }
    if (modelFilter && modelSeen && !modelMatch) continue;
    const x = v * unchecked(slotSpec[s])!.scale;
    if (!isFinite(x)) continue;
    const accP = SLOT_ACC + (<usize>s << 3);
    const cntP = SLOT_CNT + (<usize>s << 2);
    const cnt = load<i32>(cntP);
    if (cnt == 0) store<f64>(accP, x);
    else if (kind == KIND_KV) store<f64>(accP, max(load<f64>(accP), x));
    else store<f64>(accP, load<f64>(accP) + x);
    store<i32>(cntP, cnt + 1);
    used = true;
  }
  if (used) out.matched++;
}

/** Parses one sample line starting at p (a non-blank, non-comment byte). Returns where it stopped. */
function parseSample(p: usize, end: usize, out: Signals): usize {
  lineErr = false;
  lineMask = 0;
  nameFound = false;
  modelSeen = false;
  modelMatch = false;
  runSet = false;
  waitSet = false;
  maxSet = false;
  let c = <u32>load<u8>(p);
  if (isNameStart(c)) {
    const a = p;
    while (p < end && isNameChar(<u32>load<u8>(p))) p++;
    lineMask = nameMask(a, p, false);
    c = p < end ? <u32>load<u8>(p) : 0x0A;
    if (c == 0x7B) {
      p = parseLabels(p + 1, end, false);
      if (lineErr) return p;
    } else if (!isBlank(c)) { lineErr = true; return p; }
  } else if (c == 0x7B) {
    p = parseLabels(p + 1, end, true);
    if (lineErr) return p;
    if (!nameFound) { lineErr = true; return p; }
  } else { lineErr = true; return p; }
  // value
  p = skipBlanks(p, end);
  const a = p;
  while (p < end) {
    c = <u32>load<u8>(p);
    if (isBlank(c) || c == 0x0A) break;
    p++;
  }
  const v = parseNumber(a, p);
  if (!numOk) { lineErr = true; return p; }
  // optional timestamp, optional exemplar / comment
  p = skipBlanks(p, end);
  if (p < end && load<u8>(p) != 0x0A && load<u8>(p) != 0x23) {
    const ta = p;
    while (p < end) {
      c = <u32>load<u8>(p);
      if (isBlank(c) || c == 0x0A) break;
      p++;
    }
    const ts = parseNumber(ta, p);
    if (!numOk || !isFinite(ts)) { lineErr = true; return p; }
    p = skipBlanks(p, end);
    if (p < end && load<u8>(p) != 0x0A && load<u8>(p) != 0x23) { lineErr = true; return p; }
  }
  out.samples++;
  if (lineMask != 0) record(v, out);
  return p;
}

/** `# EOF` (OpenMetrics end marker) alone on its line. */
function isEof(p: usize, end: usize): bool {
  if (end - p < 5) return false;
  if (load<u8>(p + 1) != 0x20 || load<u8>(p + 2) != 0x45 || load<u8>(p + 3) != 0x4F || load<u8>(p + 4) != 0x46) return false;
  const q = skipBlanks(p + 5, end);
  return q >= end || load<u8>(q) == 0x0A;
}

/** The text of a LoRA label (raw range of the input), reusing `last` when it is the same text. */
function loraText(set: bool, a: usize, b: usize, last: string): string {
  if (!set || a == b) return "";
  if (eqUtf8(a, b, true, last)) return last;
  const n = unescapeToBuf(a, b);
  return n <= 0 ? "" : String.UTF8.decodeUnsafe(LORA_BUF, <usize>n);
}

function finish(out: Signals): void {
  if (out.loraAt >= 0) {
    // Steady state (same adapters as the last poll): the previous strings are reused, nothing is allocated.
    out.loraRunning = lastLoraRunning = loraText(bestRunSet, bestRunA, bestRunB, lastLoraRunning);
    out.loraWaiting = lastLoraWaiting = loraText(bestWaitSet, bestWaitA, bestWaitB, lastLoraWaiting);
  }
  for (let kind: u8 = KIND_QUEUE; kind <= KIND_KV; kind++) {
    let val: f64 = -1;
    for (let s = 0; s < nSlots; s++) {
      if (load<u8>(SLOT_KIND + s) != kind) continue;
      if (load<i32>(SLOT_CNT + (<usize>s << 2)) == 0) continue;
      val = max(load<f64>(SLOT_ACC + (<usize>s << 3)), 0);
      break;
    }
    if (kind == KIND_QUEUE) out.queue = val;
    else if (kind == KIND_RUNNING) out.running = val;
    else out.kvCache = val;
  }
}

/** Reads the spec's signals from `len` bytes of Prometheus / OpenMetrics text at `ptr` into `out` (reset
 *  first). Returns false only when the input is unusable: no valid sample and at least one malformed line. */
export function parsePrometheus(ptr: usize, len: usize, spec: MetricsSpec, out: Signals): bool {
  out.reset();
  setup(spec);
  const end = ptr + len;
  let p = ptr;
  while (p < end) {
    p = skipBlanks(p, end);
    if (p >= end) break;
    const c = load<u8>(p);
    if (c == 0x0A) { p++; continue; }
    if (c == 0x23) {
      if (isEof(p, end)) break;
      p = nextLine(p, end);
      continue;
    }
    p = parseSample(p, end, out);
    if (lineErr) out.parseErrors++;
    p = nextLine(p, end);
  }
  finish(out);
  release();
  return !(out.samples == 0 && out.parseErrors > 0);
}
