// Serialised pairs exactly as cpp-host's pairs_util.cc: u32 count; count × (u32 key_len, u32 val_len);
// then key bytes, NUL, value bytes, NUL for each pair. Parsing is strict and fails *silently* to an empty list
// (cpp-host returns an empty Pairs on any malformation), which callers must treat as "no pairs".
import type { Pairs } from "./types.js";

export const PAIRS_MAX_COUNT = 1024;
export const PAIRS_MAX_BYTES = 1024 * 1024;

const utf8 = new TextEncoder();
const utf8d = new TextDecoder();

export function serializePairs(pairs: Pairs): Uint8Array {
  // Empty map ⇒ zero bytes (the host then hands back ptr 0 / len 0, not a 4-byte count of 0).
  if (pairs.length === 0) return new Uint8Array(0);
  const enc = pairs.map(([k, v]) => [utf8.encode(k), utf8.encode(v)] as const);
  let size = 4 + enc.length * 8;
  for (const [k, v] of enc) size += k.length + 1 + v.length + 1;
  const out = new Uint8Array(size);
  const dv = new DataView(out.buffer);
  dv.setUint32(0, enc.length, true);
  let off = 4;
  for (const [k, v] of enc) {
    dv.setUint32(off, k.length, true);
    dv.setUint32(off + 4, v.length, true);
    off += 8;
  }
  for (const [k, v] of enc) {
    out.set(k, off);
    off += k.length;
    out[off++] = 0;
    out.set(v, off);
    off += v.length;
    out[off++] = 0;
  }
  return out;
}

/** Returns the pairs, or an empty list for anything malformed or over the cpp-host limits. */
export function parsePairs(buf: Uint8Array): Pairs {
  if (buf.length === 0) return [];
  if (buf.length < 4 || buf.length > PAIRS_MAX_BYTES) return [];
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const n = dv.getUint32(0, true);
  if (n > PAIRS_MAX_COUNT) return [];
  let off = 4;
  if (off + n * 8 > buf.length) return [];
  const sizes: Array<[number, number]> = [];
  for (let i = 0; i < n; i++) {
    sizes.push([dv.getUint32(off, true), dv.getUint32(off + 4, true)]);
    off += 8;
  }
  const out: Pairs = [];
  for (const [kl, vl] of sizes) {
    if (off + kl + 1 + vl + 1 > buf.length) return [];
    const k = buf.subarray(off, off + kl);
    off += kl;
    if (buf[off++] !== 0) return [];
    const v = buf.subarray(off, off + vl);
    off += vl;
    if (buf[off++] !== 0) return [];
    out.push([utf8d.decode(k), utf8d.decode(v)]);
  }
  if (off !== buf.length) return [];
  return out;
}
