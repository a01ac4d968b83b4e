// A plugin on one worker VM, as proxy-wasm-cpp-host keeps it (include/proxy-wasm/wasm.h PluginHandleBase, src/wasm.cc
// WasmBase::start/startShutdown; proxy-wasm-cpp-host@52a02917b301c679ff43565064cffd2c3c750f6d):
// - a plugin is keyed by root id AND configuration (PluginBase::makePluginKey hashes root_id||configuration||key), so
//   a new configuration on a reused VM gets a new root context beside the old one (WasmBase::start);
// - the handle is shared by the filter config and every stream created under it (Envoy's FilterConfig::createFilter
//   hands `handle` to each stream Context, source/extensions/filters/http/wasm/wasm_filter.h); when the last holder
//   lets go, ~PluginHandleBase calls startShutdown(plugin key): root proxy_on_done, then proxy_on_delete (or, when
//   on_done returns 0, proxy_on_delete after the guest calls proxy_done).
import type { HostContext } from "./context.js";

export class PluginHandle {
  /** Streams created under this plugin that have not ended yet. */
  streams = 0;
  /** The worker's filter configuration still holds it (it is the current plugin). */
  current = true;
  constructor(
    readonly key: string,
    readonly config: Uint8Array,
    readonly root: HostContext,
  ) {}
  get idle(): boolean {
    return !this.current && this.streams === 0;
  }
}

/** cpp-host's plugin key: the same root id and configuration bytes give the same plugin. */
export function pluginKey(rootId: string, config: Uint8Array): string {
  return `${rootId}||${Buffer.from(config).toString("base64")}`;
}
