// The request headers, read once. One proxy_get_header_map_pairs call hands over the whole map; the filter parses
// it in place (no copy, no string but the values it uses), takes the values it reads from it and removes only the
// owned and foreign steering headers that are there — instead of a get per header read and a remove per header
// that might be there (1 + 8 + 7 + 6 calls on every request before).
//
// What the ABI gives (cited, not assumed):
// - Envoy serves proxy_get_header_map_pairs by iterating the header map and listing every entry, pseudo-headers
//   and duplicates included, in map order, keys as stored; a map it does not have is an empty list, not an error
//   (envoyproxy/envoy source/extensions/common/wasm/context.cc@b40935ac07f770581a402ca8a220d251bc02b3a5:
//   headerMapToPairs, Context::getHeaderMapPairs). Keys are stored lower-case: every write goes through
//   Http::LowerCaseString (same file: add/replace/remove/getHeaderMapValue) and the codecs lower-case names.
// - cpp-host serialises the list without a count limit: u32 count, count × (u32 key length, u32 value length),
//   then each key and value followed by a NUL, in a block allocated through our `malloc`
//   (proxy-wasm/proxy-wasm-cpp-host src/exports.cc get_header_map_pairs, src/pairs_util.cc PairsUtil::marshalPairs
//   @52a02917b301c679ff43565064cffd2c3c750f6d). An empty list is ptr 0 / length 0.
// - Envoy's get returns a header's first value (context.cc getHeaderMapValue: entry[0]); remove removes every
//   entry of the name.
// Security does not rest on the lower-casing: names are compared ASCII case-insensitively, and a header present
// in any number of entries is removed (one remove call removes them all). Anything unexpected — the call fails,
// the list is empty, the block is malformed — falls back to the per-header path: a remove for every owned and
// foreign name and a get per value, exactly what ran before.
import { MapType } from "../runtime/abi";
import { decodeStrict, freeRawPairs, getHeader, getHeaderPairsRaw, rawPairsLen, rawPairsPtr, removeHeader, utf8 } from "../runtime/host";
import { HeaderKeys } from "./steer";

const K_AUTHORITY = utf8(":authority");
const K_METHOD = utf8(":method");
const K_PATH = utf8(":path");
const K_CONTENT_TYPE = utf8("content-type");
const K_CONTENT_LENGTH = utf8("content-length");

// Values read, by index into Inbound.values.
export const H_AUTHORITY: i32 = 0;
export const H_METHOD: i32 = 1;
export const H_PATH: i32 = 2;
export const H_CONTENT_TYPE: i32 = 3;
export const H_CONTENT_LENGTH: i32 = 4;
export const H_MODEL_OVERRIDE: i32 = 5;
export const H_PRIORITY_IN: i32 = 6;
const READ_COUNT: i32 = 7;

/** The header values one request's classification reads (null: absent); reused by every request of a router. */
export class Inbound {
  values: StaticArray<string | null> = new StaticArray<string | null>(READ_COUNT);
  /** Whether the pairs were read (false: the per-header fallback ran). For tests and logs. */
  fromPairs: bool = false;

  @inline get(i: i32): string | null { return unchecked(this.values[i]); }
}

/** Reads the request headers once and strips the owned and foreign steering headers; built per configuration. */
export class InboundReader {
  /** Names removed from every request: the owned headers, then the foreign steering headers. */
  private strip: Array<ArrayBuffer> = [];
  /** Names whose first value is read, by H_* index (null: not configured). */
  private reads: StaticArray<ArrayBuffer | null> = new StaticArray<ArrayBuffer | null>(READ_COUNT);
  private seen: StaticArray<bool> = new StaticArray<bool>(0);

  /** `readAuthority`: the scope names hosts (scope.ts); without it :authority is never looked at, so not decoded. */
  constructor(k: HeaderKeys, readAuthority: bool) {
    const s = this.strip;
    s.push(k.pool); s.push(k.endpoint); s.push(k.protocol); s.push(k.model);
    s.push(k.klass); s.push(k.priority); s.push(k.version); s.push(k.label);
    for (let i = 0; i < k.foreign.length; i++) s.push(k.foreign[i]);
    this.seen = new StaticArray<bool>(s.length);
    const r = this.reads;
    r[H_AUTHORITY] = readAuthority ? K_AUTHORITY : null;
    r[H_METHOD] = K_METHOD;
    r[H_PATH] = K_PATH;
    r[H_CONTENT_TYPE] = K_CONTENT_TYPE;
    r[H_CONTENT_LENGTH] = K_CONTENT_LENGTH;
    r[H_MODEL_OVERRIDE] = k.modelOverride;
    r[H_PRIORITY_IN] = k.priorityIn;
    // A name both stripped and read (a trusted-only header listed in stripInbound, say) was never readable: the
    // strip ran first. Keep it so. (:authority was read before the strip.)
    for (let i = H_METHOD; i < READ_COUNT; i++) if (this.stripped(r[i])) r[i] = null;
  }

  private stripped(name: ArrayBuffer | null): bool {
    if (name === null) return false;
    const n = name!;
    for (let i = 0; i < this.strip.length; i++) {
      const s = this.strip[i];
      if (s.byteLength == n.byteLength && memory.compare(changetype<usize>(s), changetype<usize>(n), <usize>n.byteLength) == 0) return true;
    }
    return false;
  }

  /** Fills `out` with the values read and removes every inbound copy of the stripped names. */
  readAndStrip(out: Inbound): void {
    const v = out.values;
    for (let i = 0; i < READ_COUNT; i++) unchecked(v[i] = null);
    const seen = this.seen;
    for (let i = 0; i < seen.length; i++) unchecked(seen[i] = false);
    out.fromPairs = getHeaderPairsRaw(MapType.RequestHeaders) && scanPairs(rawPairsPtr, rawPairsLen, this.reads, v, this.strip, seen);
    freeRawPairs();
    const m = MapType.RequestHeaders;
    const strip = this.strip;
    if (!out.fromPairs) {
      for (let i = 0; i < READ_COUNT; i++) {
        const k = unchecked(this.reads[i]);
        unchecked(v[i] = k === null ? null : getHeader(m, k!));
      }
      for (let i = 0; i < strip.length; i++) removeHeader(m, strip[i]);
      return;
    }
    for (let i = 0; i < strip.length; i++) if (unchecked(seen[i])) removeHeader(m, strip[i]);
  }

}

/** Whether the `n` bytes at `p` are `name` (a lower-case configured name), ASCII letters compared case-insensitively. */
function keyIs(p: usize, n: usize, name: ArrayBuffer): bool {
  if (<usize>name.byteLength != n) return false;
  const q = changetype<usize>(name);
  for (let i: usize = 0; i < n; i++) {
    let c = <u32>load<u8>(p + i);
    if (c - 0x41 < 26) c |= 0x20;
    if (c != <u32>load<u8>(q + i)) return false;
  }
  return true;
}

/**
 * Parses a pairs block in place: marks in `seen` which `strip` names occur and puts the first value of each `reads`
 * name in `values` (strictly decoded, as a get would give it). Returns false when the block is malformed: then
 * nothing it found may be trusted and the caller falls back to per-header calls.
 */
function scanPairs(base: usize, len: usize, reads: StaticArray<ArrayBuffer | null>, values: StaticArray<string | null>,
                   strip: Array<ArrayBuffer>, seen: StaticArray<bool>, bytesIndex: i32 = -1): bool {
  const n = <u64>load<u32>(base);
  const table = <u64>4 + n * 8;
  if (table > <u64>len) return false;
  let data = base + <usize>table;
  const end = base + len;
  for (let i: usize = 0; i < <usize>n; i++) {
    const kl = <usize>load<u32>(base + 4 + i * 8);
    const vl = <usize>load<u32>(base + 8 + i * 8);
    // Key, NUL, value, NUL must fit (64-bit sums: lengths near 2^32 cannot wrap).
    if (<u64>data + <u64>kl + <u64>vl + 2 > <u64>end) return false;
    const kp = data;
    const vp = data + kl + 1;
    if (load<u8>(kp + kl) != 0 || load<u8>(vp + vl) != 0) return false;
    data = vp + vl + 1;
    for (let j = 0; j < strip.length; j++) {
      if (!unchecked(seen[j]) && keyIs(kp, kl, unchecked(strip[j]))) { unchecked(seen[j] = true); break; }
    }
    for (let j = 0; j < reads.length; j++) {
      const k = unchecked(reads[j]);
      if (k !== null && (j == bytesIndex ? rawValueLen == RAW_ABSENT : unchecked(values[j]) === null) && keyIs(kp, kl, k!)) {
        if (j == bytesIndex) {
          // Kept as bytes for a byte parser: copied, not decoded into a string to be encoded back.
          if (vl <= <usize>RAW_VALUE_CAP) {
            memory.copy(RAW_VALUE, vp, vl);
            rawValueLen = <i32>vl;
          } else rawValueLen = RAW_TOO_LONG;
        } else unchecked(values[j] = decodeStrict(vp, vl));
        break;
      }
    }
  }
  return data == end;
}

/** The response value ResponseReads keeps as bytes (bytesIndex): RAW_VALUE holds rawValueLen bytes of it. */
export const RAW_VALUE_CAP: i32 = 4096 * 3;
export const RAW_VALUE: usize = memory.data(RAW_VALUE_CAP);
export const RAW_ABSENT: i32 = -1;
export const RAW_TOO_LONG: i32 = -2;
export let rawValueLen: i32 = RAW_ABSENT;

const NO_STRIP: Array<ArrayBuffer> = [];
const NO_SEEN = new StaticArray<bool>(0);

/**
 * Response headers the filter reads (:status, then the load-report headers configured): with more than one,
 * one pairs read instead of a get each; with one, the get (cheaper than copying the whole map).
 */
export class ResponseReads {
  names: StaticArray<ArrayBuffer | null>;
  values: StaticArray<string | null>;
  private count: i32 = 0;

  /**
   * `bytesIndex`: a name whose value a byte parser reads (the ORCA report). From the pairs it is copied into
   * RAW_VALUE (`rawValueLen`; `get` gives null for it); on the per-header path it comes as a string from `get`.
   */
  constructor(names: Array<ArrayBuffer | null>, private bytesIndex: i32 = -1) {
    this.names = new StaticArray<ArrayBuffer | null>(names.length);
    this.values = new StaticArray<string | null>(names.length);
    for (let i = 0; i < names.length; i++) {
      this.names[i] = names[i];
      if (names[i] !== null) this.count++;
    }
  }

  /** Fills `values` (null: absent or not configured). */
  read(): void {
    const v = this.values;
    for (let i = 0; i < v.length; i++) unchecked(v[i] = null);
    const m = MapType.ResponseHeaders;
    let ok = false;
    if (this.count > 1) {
      rawValueLen = RAW_ABSENT;
      ok = getHeaderPairsRaw(m) && scanPairs(rawPairsPtr, rawPairsLen, this.names, v, NO_STRIP, NO_SEEN, this.bytesIndex);
      freeRawPairs();
    }
    if (ok) return;
    rawValueLen = RAW_ABSENT;
    for (let i = 0; i < v.length; i++) {
      const k = unchecked(this.names[i]);
      unchecked(v[i] = k === null ? null : getHeader(m, k!));
    }
  }

  @inline get(i: i32): string | null { return unchecked(this.values[i]); }
}
