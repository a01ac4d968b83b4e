// Memory hand-off between Envoy and the module.
//
// Envoy (proxy-wasm-cpp-host) returns data by calling our exported `malloc(len)` with the exact length, copying the
// bytes in, and writing the pointer and length to out-parameters we pass. Those blocks come from the raw heap
// (heap.alloc), not the garbage collector: the GC does not know them, so they are freed explicitly right after we
// copied or scanned them. Out-parameters live in a static scratch area, so a host call allocates nothing itself.

/** Called by the host to hand us data. */
export function malloc(size: usize): usize {
  return heap.alloc(size);
}

// Two u32 out-parameters (pointer, length) plus a u32/u64 spare, reused by every host call. Host calls never
// nest (the host does not call back into us during one), so one area suffices.
export const OUT_PTR: usize = memory.data(8);
export const OUT_LEN: usize = memory.data(8);
export const OUT_U64: usize = memory.data(8);

export function outPtr(): usize {
  return <usize>load<u32>(OUT_PTR);
}

export function outLen(): usize {
  return <usize>load<u32>(OUT_LEN);
}

export function resetOut(): void {
  store<u32>(OUT_PTR, 0);
  store<u32>(OUT_LEN, 0);
}

/** Frees a block the host handed us (ptr 0 means nothing was allocated: zero-length results). */
export function freeHostBlock(ptr: usize): void {
  if (ptr != 0) heap.free(ptr);
}

/** Copies the host block at the out-parameters into a new ArrayBuffer and frees the block. */
export function takeBuffer(): ArrayBuffer {
  const ptr = outPtr();
  const len = <i32>outLen();
  const buf = new ArrayBuffer(len);
  if (len > 0) memory.copy(changetype<usize>(buf), ptr, len);
  freeHostBlock(ptr);
  return buf;
}

/** Decodes the host block at the out-parameters as UTF-8 and frees the block. Invalid bytes become U+FFFD. */
export function takeString(): string {
  const ptr = outPtr();
  const len = outLen();
  const s = len > 0 ? String.UTF8.decodeUnsafe(ptr, len, false) : "";
  freeHostBlock(ptr);
  return s;
}

/** UTF-8 bytes of a string, for keys that are encoded once (at configure) and reused on every request. */
export function utf8(s: string): ArrayBuffer {
  return String.UTF8.encode(s, false);
}
