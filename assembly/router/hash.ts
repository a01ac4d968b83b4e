// The filter's one hash: 32-bit FNV-1a over bytes (http://www.isthe.com/chongo/tech/comp/fnv/), plus the murmur3
// finaliser that spreads rendezvous weights. Every sidecar must compute the same values (prefix-table keys in
// shared data, rendezvous placement across proxies), so there is exactly one implementation, here.
// A string is hashed as the bytes of its in-memory form (UTF-16LE in AssemblyScript): no copy, no allocation.

export const FNV_OFFSET: u32 = 0x811c9dc5;
const FNV_PRIME: u32 = 0x01000193;

/** FNV-1a over the bytes [p, p + n), continuing from h (start with FNV_OFFSET). */
export function fnv(h: u32, p: usize, n: usize): u32 {
  for (let i: usize = 0; i < n; i++) {
    h ^= <u32>load<u8>(p + i);
    h *= FNV_PRIME;
  }
  return h;
}

/** FNV-1a over a string's UTF-16LE bytes, continuing from h. */
export function fnvString(h: u32, s: string): u32 {
  return fnv(h, changetype<usize>(s), <usize>s.length << 1);
}

/** A 32-bit finaliser (murmur3 fmix32): spreads rendezvous weights evenly. */
export function mix32(x: u32): u32 {
  x ^= x >> 16;
  x *= 0x85ebca6b;
  x ^= x >> 13;
  x *= 0xc2b2ae35;
  x ^= x >> 16;
  return x;
}
