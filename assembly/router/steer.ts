// Header rewriting: the only place the filter writes request headers. Inbound copies of every header the
// filter owns, and of the headers other routing systems steer on (headers.stripInbound), are removed first, on
// every request (inbound.ts), so a client can neither pick an upstream nor fake a classification; values written come from
// the catalog (steering) or are encoded losslessly (classification, see encodeHeaderValue).
// Each write clears Envoy's route cache (ABI 0.2.x), so the router re-matches on the new headers.
import { MapType } from "../runtime/abi";
import { replaceHeader, utf8 } from "../runtime/host";
import { HeaderNames } from "./config";

export class HeaderKeys {
  protocol: ArrayBuffer;
  model: ArrayBuffer;
  klass: ArrayBuffer;
  priority: ArrayBuffer;
  pool: ArrayBuffer;
  endpoint: ArrayBuffer;
  version: ArrayBuffer;
  label: ArrayBuffer;
  modelOverride: ArrayBuffer | null;
  priorityIn: ArrayBuffer | null;
  /** Foreign steering headers (headers.stripInbound). */
  foreign: Array<ArrayBuffer> = [];

  constructor(h: HeaderNames) {
    this.protocol = utf8(h.protocol);
    this.model = utf8(h.model);
    this.klass = utf8(h.klass);
    this.priority = utf8(h.priority);
    this.pool = utf8(h.pool);
    this.endpoint = utf8(h.endpoint);
    this.version = utf8(h.version);
    this.label = utf8(h.label);
    for (let i = 0; i < h.stripInbound.length; i++) this.foreign.push(utf8(h.stripInbound[i]));
    this.modelOverride = h.modelOverride.length > 0 ? utf8(h.modelOverride) : null;
    this.priorityIn = h.priorityIn.length > 0 ? utf8(h.priorityIn) : null;
  }
}

// @ts-ignore: decorator
@inline function headerSafe(b: u32): bool {
  return b >= 0x21 && b <= 0x7e && b != 0x25 && b != 0x22 && b != 0x5c && b != 0x2c;
}

/**
 * The lossless, header-safe form of a name (model, version, label): its UTF-8 bytes, with every byte outside
 * visible ASCII (0x21-0x7E) and each of `%` `"` `\` `,` written as %XX (upper-case hex). Percent-decoding
 * gives the exact name back, so two different names never share a header value and a look-alike (homoglyph,
 * full-width form) stays visibly different. Names are at most 256 bytes, so values at most 768 chars.
 */
export function encodeHeaderValue(v: string): string {
  let clean = true;
  for (let i = 0; i < v.length; i++) {
    if (!headerSafe(<u32>v.charCodeAt(i))) { clean = false; break; }
  }
  if (clean) return v;
  const bytes = String.UTF8.encode(v);
  const p = changetype<usize>(bytes);
  const n = bytes.byteLength;
  let out = "";
  for (let i = 0; i < n; i++) {
    const b = <u32>load<u8>(p + i);
    if (headerSafe(b)) out += String.fromCharCode(b);
    else out += "%" + HEX.charAt(b >> 4) + HEX.charAt(b & 15);
  }
  return out;
}
const HEX = "0123456789ABCDEF";

/** For logs and local-reply messages: the same encoding (never a raw client byte in a log line). */
export function sanitize(v: string): string { return encodeHeaderValue(v); }

export function writeClassification(k: HeaderKeys, protocol: string, model: string, klass: string, priority: i32,
                                    version: string, label: string): void {
  const m = MapType.RequestHeaders;
  replaceHeader(m, k.protocol, protocol);
  if (model.length > 0) replaceHeader(m, k.model, encodeHeaderValue(model));
  replaceHeader(m, k.klass, klass);
  replaceHeader(m, k.priority, priorityText(priority));
  if (version.length > 0) replaceHeader(m, k.version, encodeHeaderValue(version));
  if (label.length > 0) replaceHeader(m, k.label, encodeHeaderValue(label));
}

/** Priorities are -100..100 (config and parsePriority bound them): their text is made once, not per request. */
const PRIORITY_TEXT = new StaticArray<string | null>(201);
function priorityText(p: i32): string {
  if (p < -100 || p > 100) return p.toString();
  let t = unchecked(PRIORITY_TEXT[p + 100]);
  if (t === null) {
    t = p.toString();
    unchecked(PRIORITY_TEXT[p + 100] = t);
  }
  return t!;
}

export function writePool(k: HeaderKeys, pool: string): void {
  replaceHeader(MapType.RequestHeaders, k.pool, pool);
}

/** `ip:port[,ip:port...]`: the pick first, then fallbacks for Envoy's retries (GIE convention). */
export function writeEndpoints(k: HeaderKeys, value: string): void {
  replaceHeader(MapType.RequestHeaders, k.endpoint, value);
}

// ORCA per-response load reports. A server that supports them (vLLM, Triton TRT-LLM) attaches
// `endpoint-load-metrics` only when the request carries `endpoint-load-metrics-format` (see
// signals/presets.ts engineAnswersOrca). JSON, not TEXT: vLLM writes its TEXT form with `=` between name and value
// (vllm/entrypoints/openai/orca_metrics.py create_orca_header @ 08408b80ee411889401fb304deeac22cf2cdafc6), which
// Envoy's own ORCA parser rejects (it splits on `:`, source/common/orca/orca_parser.cc tryParseNativeHttpEncoded @
// envoyproxy/envoy 977c287b70c9c51f34597ea13b289d28fb114a41), while the JSON form is read by both this filter and
// Envoy (protobuf JSON), so an Envoy ORCA consumer on the same proxy can use the report too.
const K_ORCA_FORMAT = utf8("endpoint-load-metrics-format");

/** Asks the picked server for an ORCA load report in its response, replacing any value the client sent. */
export function askLoadReport(): void {
  replaceHeader(MapType.RequestHeaders, K_ORCA_FORMAT, "JSON");
}

/** Strict integer in [-100, 100] (optional sign, digits only); null otherwise. */
export function parsePriority(s: string | null): i32 {
  if (s === null) return i32.MIN_VALUE;
  const v = s;
  let i = 0;
  let neg = false;
  if (v.length > 0 && (v.charCodeAt(0) == 45 || v.charCodeAt(0) == 43)) {
    neg = v.charCodeAt(0) == 45;
    i = 1;
  }
  if (i >= v.length || v.length - i > 3) return i32.MIN_VALUE;
  let n = 0;
  for (; i < v.length; i++) {
    const c = v.charCodeAt(i);
    if (c < 48 || c > 57) return i32.MIN_VALUE;
    n = n * 10 + (c - 48);
  }
  if (n > 100) return i32.MIN_VALUE;
  return neg ? -n : n;
}
