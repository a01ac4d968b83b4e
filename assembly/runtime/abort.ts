import { proxy_log } from "./abi";

// The module's abort handler (asconfig `use abort=`). AssemblyScript calls it on a failed bounds check,
// assertion or out-of-memory. It logs at critical without allocating (the heap may be what failed) and traps:
// a trap is the only safe end for a VM whose invariants broke, and Envoy's failure policy then applies.
// @ts-ignore: decorator
@global
export function routerAbort(message: string | null, fileName: string | null, line: u32, column: u32): void {
  if (message !== null) {
    // Strings are UTF-16 in memory; log the ASCII subset byte by byte into a static buffer.
    const buf = memory.data(128);
    const n = min(message.length, 128);
    for (let i = 0; i < n; i++) store<u8>(buf + i, <u8>(message.charCodeAt(i) & 0x7f));
    proxy_log(5, buf, n);
  }
  unreachable();
}
