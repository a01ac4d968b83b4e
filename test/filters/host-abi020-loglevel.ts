// ABI 0.2.0 module importing proxy_get_log_level (0.2.1 only): Envoy fails the load with a missing import.
import "../../assembly/runtime/abort";
import * as abi from "../../assembly/runtime/abi";

export function malloc(size: usize): usize { return heap.alloc(size); }
export function proxy_abi_version_0_2_0(): void {}
const OUT = memory.data(8);
export function proxy_on_vm_start(root: u32, size: u32): u32 {
  abi.proxy_get_log_level(OUT);
  return 1;
}
