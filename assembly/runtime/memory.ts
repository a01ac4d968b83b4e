// Memory hand-off between Envoy and the module.
//
// Envoy (proxy-wasm-cpp-host) returns data by calling our exported `malloc(len)` with the exact length, copying the
// bytes in, and writing the pointer and length to out-parameters we pass. Those blocks come from the raw heap
// (heap.alloc), not the garbage collector: the GC does not know them, so they are freed explicitly right after we
// copied or scanned them. Out-parameters live in a static scratch area, so a host call allocates nothing itself.

// Most blocks the host hands over are small and freed before the next host call (a header value, a load record,
// the request's header pairs): one static block serves them, so the request path does not allocate from the heap
// for each. A block asked for while it is taken, or larger, comes from the heap as before; freeHostBlock tells
// the two apart.
const HOST_SCRATCH_BYTES: usize = 4096;
const HOST_SCRATCH: usize = memory.data(<i32>HOST_SCRATCH_BYTES, 16);
let hostScratchTaken = false;

/** Called by the host to hand us data. */
export function malloc(size: usize): usize {
  if (!hostScratchTaken && size <= HOST_SCRATCH_BYTES) {
    hostScratchTaken = true;
    return HOST_SCRATCH;
  }
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
  if (ptr == HOST_SCRATCH) hostScratchTaken = false;
  else if (ptr != 0) heap.free(ptr);
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

/**
 * Decodes the host block at the out-parameters as UTF-8 and frees the block. Input that is not strictly valid
 * UTF-8 (overlong forms, surrogates, truncated sequences...) is decoded byte by byte with every non-ASCII byte
 * as U+FFFD: a lenient decoder would turn `m\xC1\x81` into `mA`, letting two different byte strings compare equal.
 */
export function takeString(): string {
  const ptr = outPtr();
  const len = outLen();
  const s = decodeStrict(ptr, len);
  freeHostBlock(ptr);
  return s;
}

/** `len` bytes at `ptr` as a string, decoded as takeString does (strict UTF-8, else byte by byte with U+FFFD). */
export function decodeStrict(ptr: usize, len: usize): string {
  return len == 0 ? "" : (utf8ErrorOffset(ptr, len) < 0 ? String.UTF8.decodeUnsafe(ptr, len, false) : decodeReplacing(ptr, len));
}

/** Offset of the first byte that breaks strict UTF-8 (RFC 3629), or -1 when the bytes are valid. */
export function utf8ErrorOffset(ptr: usize, len: usize): i32 {
  let i: usize = 0;
  while (i < len) {
    const b = <u32>load<u8>(ptr + i);
    if (b < 0x80) { i++; continue; }
    let n: usize = 0;
    let min: u32 = 0;
    let cp: u32 = 0;
    if (b >= 0xc2 && b <= 0xdf) { n = 1; cp = b & 0x1f; min = 0x80; }
    else if (b >= 0xe0 && b <= 0xef) { n = 2; cp = b & 0x0f; min = 0x800; }
    else if (b >= 0xf0 && b <= 0xf4) { n = 3; cp = b & 0x07; min = 0x10000; }
    else return <i32>i;
    if (i + n >= len) return <i32>i; // truncated sequence
    for (let k: usize = 1; k <= n; k++) {
      const c = <u32>load<u8>(ptr + i + k);
      if ((c & 0xc0) != 0x80) return <i32>i;
      cp = (cp << 6) | (c & 0x3f);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return <i32>i;
    i += n + 1;
  }
  return -1;
}

function decodeReplacing(ptr: usize, len: usize): string {
  let s = "";
  for (let i: usize = 0; i < len; i++) {
    const b = load<u8>(ptr + i);
    s += b < 0x80 ? String.fromCharCode(b) : "\uFFFD";
  }
  return s;
}

/** UTF-8 bytes of a string, for keys that are encoded once (at configure) and reused on every request. */
export function utf8(s: string): ArrayBuffer {
  return String.UTF8.encode(s, false);
}
