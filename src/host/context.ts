// Host-side context objects, one per proxy-wasm context id of a VM (cpp-host ContextBase / Envoy Context).
import type { TimerHandle } from "./clock.js";
import type { HeaderMap } from "./headers.js";
import type { PluginHandle } from "./plugin.js";
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
  /** Only during proxy_on_configure: Envoy's temp_plugin_ makes that plugin's configuration readable. */
  pluginConfig: Uint8Array | undefined;
  /** Only during proxy_on_http_call_response. */
  httpCallResponse: HttpCallResponseData | undefined;
  /** Root shutdown: on_done returned 0, waiting for proxy_done(). */
  pendingDone = false;
  /** Root contexts: the plugin (root id + configuration) this root serves. */
  plugin: PluginHandle | undefined;
  /** Root contexts: Envoy keeps one timer per root context id (Wasm::setTimerPeriod(context_id, …)). */
  tickPeriodMs = 0;
  tickTimer: TimerHandle | undefined;

  constructor(
    readonly vm: WasmVm,
    readonly id: number,
    readonly kind: "vm" | "root" | "stream",
    readonly stream?: HttpStream,
    /** Stream contexts: the root context of the plugin the stream was created for. */
    readonly parent?: HostContext,
  ) {}

  /** The root context this context belongs to (the VM context answers for the VM's current root). */
  get root(): HostContext | undefined {
    if (this.kind === "root") return this;
    if (this.kind === "stream") return this.parent;
    return this.vm.currentRoot;
  }

  get rootId(): number {
    return this.root?.id ?? 0;
  }
}
