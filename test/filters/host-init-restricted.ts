// Top-level code calling a host function outside the start whitelist: Envoy+V8 traps "restricted_callback"
// during _initialize and the module fails to load.
import "../../assembly/runtime/abort";
import * as abi from "../../assembly/runtime/abi";

export function malloc(size: usize): usize { return heap.alloc(size); }
export function proxy_abi_version_0_2_1(): void {}

abi.proxy_set_tick_period_milliseconds(1000);
