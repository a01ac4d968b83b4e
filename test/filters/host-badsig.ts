// proxy_on_request_headers with the 0.1.0 two-argument shape under ABI 0.2.1 ⇒ "Bad function signature".
import "../../assembly/runtime/abort";
export function malloc(size: usize): usize { return heap.alloc(size); }
export function proxy_abi_version_0_2_1(): void {}
export function proxy_on_request_headers(id: u32, n: u32): u32 { return 0; }
