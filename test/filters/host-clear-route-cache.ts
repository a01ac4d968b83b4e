// Calls proxy-runtime 0.1.8's clear_route_cache import, which only ABI 0.1.0 hosts register (host-behaviour §0.1).
import "../../assembly/runtime/abort";
import { proxy_clear_route_cache } from "@solo-io/proxy-runtime/assembly/imports";

export function malloc(size: usize): usize { return heap.alloc(size); }
export function proxy_abi_version_0_2_0(): void {}
export function proxy_on_request_headers(id: u32, n: u32, eos: u32): u32 {
  proxy_clear_route_cache();
  return 0;
}
