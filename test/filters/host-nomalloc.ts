// No malloc and no proxy_on_memory_allocate: cpp-host refuses the module (MissingFunction).
import "../../assembly/runtime/abort";
export function proxy_abi_version_0_2_1(): void {}
export function proxy_on_vm_start(root: u32, size: u32): u32 { return 1; }
