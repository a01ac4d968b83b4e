// The decision trace (format fixed in docs/observability.md): why a request went where it went, as a response
// header and as one log line. Both are built byte by byte into one buffer per worker VM, so tracing allocates
// nothing per request; when neither is on, nothing here runs at all.
//
// Every value written comes from the catalog (pool, endpoint), the fixed lists (reason, protocol) or numbers;
// the only client-derived values — the model and the request id, log line only — are escaped: bytes outside
// visible ASCII and each of % " \ , = ; as %XX of their UTF-8 bytes, the `x-inference-model` encoding plus `=`
// and `;`, so a value can never fake a field of either format.
import { Catalog } from "./catalog";
import { PickResult, REASON_UNDETERMINED, REASON_UNKNOWN_MODEL } from "./pick/request";

export const TRACE_VERSION = "1";

/** Reason names, indexed by the REASON_* constants of pick/request.ts. */
export const REASON_NAMES: StaticArray<string> = [
  "least_loaded", "prefix_affinity", "lora_affinity", "fallback_pool", "stale_fallback", "saturated", "shed",
  "no_healthy", "unknown_model", "undetermined",
];

const REQUEST_ID_MAX: usize = 64;
const CAPACITY: usize = 4096; // a model name escapes to at most 768 bytes; the rest is short and bounded
const HEX = "0123456789ABCDEF";

/** One request's decision, kept on the stream until its response (only when the header is on). */
export class Decision {
  reason: i32 = -1;
  upstream: i32 = -1;
  score: f64 = 0;
  runnerUp: i32 = -1;
  runnerUpScore: f64 = 0;
  candidates: i32 = -1;
  stale: i32 = -1;

  set(reason: i32, res: PickResult | null): void {
    this.reason = reason;
    const picked = res !== null && reason != REASON_UNKNOWN_MODEL && reason != REASON_UNDETERMINED;
    this.upstream = picked ? res!.upstream : -1;
    this.score = picked ? res!.score : 0;
    this.runnerUp = picked ? res!.runnerUp : -1;
    this.runnerUpScore = picked ? res!.runnerUpScore : 0;
    this.candidates = picked ? res!.candidates : -1;
    this.stale = picked ? res!.stale : -1;
  }
}

// @ts-ignore: decorator
@inline function plain(b: u32): bool {
  return b >= 0x21 && b <= 0x7e && b != 0x25 && b != 0x22 && b != 0x5c && b != 0x2c && b != 0x3d && b != 0x3b;
}

/** A fixed byte buffer written front to back; writes past its end are dropped (never a trap). */
export class TraceBuffer {
  readonly ptr: usize = heap.alloc(CAPACITY);
  len: usize = 0;

  reset(): TraceBuffer {
    this.len = 0;
    return this;
  }

  private byte(b: u32): void {
    if (this.len < CAPACITY) store<u8>(this.ptr + this.len++, <u8>b);
  }

  /** A fixed ASCII word of this file or a catalog name (already plain). */
  text(s: string): TraceBuffer {
    for (let i = 0; i < s.length; i++) this.byte(<u32>s.charCodeAt(i) & 0x7f);
    return this;
  }

  /** A value that may hold any character, escaped; at most `limit` bytes (an escape is never cut). */
  escaped(s: string, limit: usize = CAPACITY): TraceBuffer {
    const end = min(CAPACITY, this.len + limit);
    for (let i = 0; i < s.length; i++) {
      let cp = <u32>s.charCodeAt(i);
      if (cp < 0x80 && plain(cp)) {
        if (this.len + 1 > end) return this;
        this.byte(cp);
        continue;
      }
      // The code point's UTF-8 bytes (a lone surrogate becomes U+FFFD, as String.UTF8.encode does).
      if (cp >= 0xd800 && cp < 0xdc00 && i + 1 < s.length) {
        const lo = <u32>s.charCodeAt(i + 1);
        if (lo >= 0xdc00 && lo < 0xe000) {
          cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
          i++;
        }
      }
      if (cp >= 0xd800 && cp < 0xe000) cp = 0xfffd;
      const n: usize = cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4;
      if (this.len + 3 * n > end) return this;
      if (n == 1) this.hex(cp);
      else if (n == 2) { this.hex(0xc0 | (cp >> 6)); this.hex(0x80 | (cp & 63)); }
      else if (n == 3) { this.hex(0xe0 | (cp >> 12)); this.hex(0x80 | ((cp >> 6) & 63)); this.hex(0x80 | (cp & 63)); }
      else {
        this.hex(0xf0 | (cp >> 18)); this.hex(0x80 | ((cp >> 12) & 63));
        this.hex(0x80 | ((cp >> 6) & 63)); this.hex(0x80 | (cp & 63));
      }
    }
    return this;
  }

  private hex(b: u32): void {
    this.byte(0x25);
    this.byte(<u32>HEX.charCodeAt(<i32>(b >> 4) & 15));
    this.byte(<u32>HEX.charCodeAt(<i32>b & 15));
  }

  int(v: i64): TraceBuffer {
    if (v < 0) {
      this.byte(0x2d);
      v = v == i64.MIN_VALUE ? i64.MAX_VALUE : -v;
    }
    let div: i64 = 1;
    while (v / div >= 10) div *= 10;
    for (; div > 0; div /= 10) this.byte(48 + <u32>((v / div) % 10));
    return this;
  }

  /** A score with 4 decimals (scores are finite and >= 0; anything else is written clamped). */
  score(x: f64): TraceBuffer {
    if (!(x > 0)) x = 0;
    if (x > 1e12) x = 1e12;
    const n = <i64>Math.round(x * 10000);
    this.int(n / 10000);
    this.byte(0x2e);
    const f = n % 10000;
    this.byte(48 + <u32>(f / 1000));
    this.byte(48 + <u32>(f / 100 % 10));
    this.byte(48 + <u32>(f / 10 % 10));
    this.byte(48 + <u32>(f % 10));
    return this;
  }
}

/** The per-VM buffer both formats are built in (a request's trace is written and handed over in one callback). */
export const traceBuffer = new TraceBuffer();

/** Steering values of a decision: the picked upstream's pool, its endpoint (endpoint mode), the runner-up. */
function poolName(cat: Catalog, u: i32): string {
  return cat.pools[cat.upstreams[u].pool].cfg.name;
}

/**
 * `v=1; reason=…; pool=…; endpoint=…; score=…; runner_up=…; runner_up_score=…` (absent values omitted) into
 * `b`; returns it.
 */
export function writeHeader(b: TraceBuffer, d: Decision, cat: Catalog, endpointMode: bool): TraceBuffer {
  b.reset().text("v=").text(TRACE_VERSION).text("; reason=").text(REASON_NAMES[d.reason]);
  if (d.upstream < 0) return b;
  b.text("; pool=").escaped(poolName(cat, d.upstream));
  if (endpointMode) b.text("; endpoint=").escaped(cat.upstreams[d.upstream].name);
  b.text("; score=").score(d.score);
  if (d.runnerUp >= 0) b.text("; runner_up=").escaped(cat.upstreams[d.runnerUp].name).text("; runner_up_score=").score(d.runnerUpScore);
  return b;
}

/**
 * `<plugin> decision v=1 reason=… protocol=… model=… priority=… pool=… endpoint=… score=… runner_up=…
 * runner_up_score=… candidates=… stale=… request_id=…`, every key always present, `-` when absent.
 */
export function writeLogLine(b: TraceBuffer, plugin: string, d: Decision, cat: Catalog, endpointMode: bool,
  protocol: string, model: string, priority: i32, requestId: string | null): TraceBuffer {
  b.reset().escaped(plugin).text(" decision v=").text(TRACE_VERSION).text(" reason=").text(REASON_NAMES[d.reason]);
  b.text(" protocol=").escaped(protocol).text(" model=");
  if (model.length > 0) b.escaped(model); else b.text("-");
  b.text(" priority=").int(priority);
  const u = d.upstream;
  b.text(" pool=");
  if (u >= 0) b.escaped(poolName(cat, u)); else b.text("-");
  b.text(" endpoint=");
  if (u >= 0 && endpointMode) b.escaped(cat.upstreams[u].name); else b.text("-");
  b.text(" score=");
  if (u >= 0) b.score(d.score); else b.text("-");
  b.text(" runner_up=");
  if (d.runnerUp >= 0) b.escaped(cat.upstreams[d.runnerUp].name).text(" runner_up_score=").score(d.runnerUpScore);
  else b.text("- runner_up_score=-");
  b.text(" candidates=");
  if (d.candidates >= 0) b.int(d.candidates); else b.text("-");
  b.text(" stale=");
  if (d.stale >= 0) b.int(d.stale); else b.text("-");
  b.text(" request_id=");
  if (requestId !== null && requestId.length > 0) b.escaped(requestId, REQUEST_ID_MAX); else b.text("-");
  return b;
}
