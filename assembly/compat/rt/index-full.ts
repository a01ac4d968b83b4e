// Compat shim so @solo-io/proxy-runtime 0.1.8 (written for AssemblyScript 0.14's ARC runtime) builds on
// AssemblyScript 0.28: ARC's retain/release become the incremental GC's pin/unpin. Only test filters that
// exercise the SDK's own context runtime use this; the product filter uses its own layer (assembly/runtime).
export function __retain(ptr: usize): usize {
  if (ptr != 0) __pin(ptr);
  return ptr;
}

export function __release(ptr: usize): void {
  if (ptr != 0) __unpin(ptr);
}
