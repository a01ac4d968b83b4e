// Host-side context objects, one per proxy-wasm context id of a VM (cpp-host ContextBase / Envoy Context).
import type { HeaderMap } from "./headers.js";
import type { HttpStream } from "./stream.js";
import type { WasmVm } from "./vm.js";

export interface HttpCallResponseData {
  headers: HeaderMap;
  body: Uint8Array;
  trailers: HeaderMap;
}

export class HostContext {
  /** get_status result (Envoy status_code_/status_message_, set by http call completion). */
  status = { code: 0, message: "" };
  /** Only during proxy_on_configure: Envoy's temp_plugin_ makes PluginConfiguration readable. */
  pluginConfigAvailable = false;
  /** Only during proxy_on_http_call_response. */
  httpCallResponse: HttpCallResponseData | undefined;
  /** Root shutdown: on_done returned 0, waiting for proxy_done(). */
  pendingDone = false;

  constructor(
    readonly vm: WasmVm,
    readonly id: number,
    readonly kind: "vm" | "root" | "stream",
    readonly stream?: HttpStream,
  ) {}

  get rootId(): number { return this.kind === "stream" ? this.vm.rootId : this.id; }
}
