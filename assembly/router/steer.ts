// Header rewriting: the only place the filter writes request headers. Inbound copies of every header the
// filter owns are removed first, on every request, so a client can neither pick an upstream nor fake a
// classification; values written come from the catalog (steering) or are sanitised (classification).
// Each write clears Envoy's route cache (ABI 0.2.x), so the router re-matches on the new headers.
import { MapType } from "../runtime/abi";
import { removeHeader, replaceHeader, utf8 } from "../runtime/host";
import { HeaderNames } from "./config";

const MAX_VALUE: i32 = 128;

export class HeaderKeys {
  protocol: ArrayBuffer;
  model: ArrayBuffer;
  klass: ArrayBuffer;
  priority: ArrayBuffer;
  pool: ArrayBuffer;
  endpoint: ArrayBuffer;
  modelOverride: ArrayBuffer | null;
  priorityIn: ArrayBuffer | null;

  constructor(h: HeaderNames) {
    this.protocol = utf8(h.protocol);
    this.model = utf8(h.model);
    this.klass = utf8(h.klass);
    this.priority = utf8(h.priority);
    this.pool = utf8(h.pool);
    this.endpoint = utf8(h.endpoint);
    this.modelOverride = h.modelOverride.length > 0 ? utf8(h.modelOverride) : null;
    this.priorityIn = h.priorityIn.length > 0 ? utf8(h.priorityIn) : null;
  }
}

/** Removes every inbound copy of the headers the filter owns. */
export function stripOwned(k: HeaderKeys): void {
  const m = MapType.RequestHeaders;
  removeHeader(m, k.pool);
  removeHeader(m, k.endpoint);
  removeHeader(m, k.protocol);
  removeHeader(m, k.model);
  removeHeader(m, k.klass);
  removeHeader(m, k.priority);
}

/**
 * A header value safe to forward: visible ASCII except `"`, `\` and `,` (list separator), at most 128 chars;
 * anything else becomes '_'. Empty stays empty.
 */
export function sanitize(v: string): string {
  const n = min(v.length, MAX_VALUE);
  let clean = v.length <= MAX_VALUE;
  for (let i = 0; i < n && clean; i++) {
    const c = v.charCodeAt(i);
    if (c < 0x21 || c > 0x7e || c == 0x22 || c == 0x5c || c == 0x2c) clean = false;
  }
  if (clean) return v;
  let out = "";
  for (let i = 0; i < n; i++) {
    const c = v.charCodeAt(i);
    out += c < 0x21 || c > 0x7e || c == 0x22 || c == 0x5c || c == 0x2c ? "_" : String.fromCharCode(c);
  }
  return out;
}

export function writeClassification(k: HeaderKeys, protocol: string, model: string, klass: string, priority: i32): void {
  const m = MapType.RequestHeaders;
  replaceHeader(m, k.protocol, protocol);
  if (model.length > 0) replaceHeader(m, k.model, sanitize(model));
  replaceHeader(m, k.klass, klass);
  replaceHeader(m, k.priority, priority.toString());
}

export function writePool(k: HeaderKeys, pool: string): void {
  replaceHeader(MapType.RequestHeaders, k.pool, pool);
}

/** `ip:port[,ip:port...]`: the pick first, then fallbacks for Envoy's retries (GIE convention). */
export function writeEndpoints(k: HeaderKeys, value: string): void {
  replaceHeader(MapType.RequestHeaders, k.endpoint, value);
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
