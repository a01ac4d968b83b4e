// A small xorshift PRNG for tie-breaks and sampling. AssemblyScript's Math.random would import `env.seed`,
// which Envoy does not provide (the module would fail to load), so we seed from WASI random_get instead —
// Envoy registers it — and fall back to the clock.

// @ts-ignore: decorator
@external("wasi_snapshot_preview1", "random_get")
declare function random_get(buf: usize, len: usize): u16;

let state: u64 = 0x9e3779b97f4a7c15;

export function seedRandom(fallback: u64): void {
  const buf = memory.data(8);
  store<u64>(buf, 0);
  let s: u64 = 0;
  if (random_get(buf, 8) == 0) s = load<u64>(buf);
  if (s == 0) s = fallback ^ 0x9e3779b97f4a7c15;
  state = s == 0 ? 1 : s;
}

export function nextU32(): u32 {
  let x = state;
  x ^= x << 13;
  x ^= x >> 7;
  x ^= x << 17;
  state = x;
  return <u32>(x >> 32);
}

/** Uniform integer in [0, n). */
export function randomBelow(n: u32): u32 {
  return n <= 1 ? 0 : <u32>((<u64>nextU32() * <u64>n) >> 32);
}
