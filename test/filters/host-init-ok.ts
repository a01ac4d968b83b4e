// _initialize (top-level code) may use the host calls Envoy's V8 backend allows during start: proxy_log and WASI
// clock/random. The host must run it with context 0 and let the module load.
import "../../assembly/runtime/abort";
import * as abi from "../../assembly/runtime/abi";
// @ts-ignore: decorator
@external("wasi_snapshot_preview1", "clock_time_get")
declare function clock_time_get(id: u32, precision: u64, out: usize): u32;

export function malloc(size: usize): usize { return heap.alloc(size); }
export function proxy_abi_version_0_2_1(): void {}

const scratch = memory.data(16);
const msg = String.UTF8.encode("init ran");
abi.proxy_log(2, changetype<usize>(msg), msg.byteLength);
const c = clock_time_get(0, 0, scratch);
const m2 = String.UTF8.encode("clock status " + c.toString());
abi.proxy_log(2, changetype<usize>(m2), m2.byteLength);
