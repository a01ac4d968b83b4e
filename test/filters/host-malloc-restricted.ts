// A malloc that calls a host function other than log/fd_write/clock/poll: cpp-host traps "restricted_callback"
// the first time the host hands data to the guest (here: reading the plugin configuration in on_configure).
import "../../assembly/runtime/abort";
import * as abi from "../../assembly/runtime/abi";

export function malloc(size: usize): usize {
  const m = String.UTF8.encode("malloc " + size.toString());
  abi.proxy_log(2, changetype<usize>(m), m.byteLength);
  abi.proxy_set_tick_period_milliseconds(5);
  return heap.alloc(size);
}
export function proxy_abi_version_0_2_1(): void {}
const OUT = memory.data(8);
export function proxy_on_configure(root: u32, size: u32): u32 {
  abi.proxy_get_buffer_bytes(7, 0, size, OUT, OUT + 4);
  return 1;
}
