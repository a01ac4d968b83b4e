// proxy_http_call as Envoy's Context::httpCall: validation, tokens 4, 8, 12… per VM, responses delivered to the
// root context that made the call (the caller's root, cpp-host attributes it to root_context()) through proxy_on_http_call_response, never re-entrantly. The transport is pluggable:
// by default callouts wait in `proxy.callouts.pending` for the test to respond() or fail() them; a transport
// function (e.g. real HTTP) returns a Promise of the response.
import { HeaderMap } from "./headers.js";
import type { Proxy } from "./proxy.js";
import { WasmResult, type Pairs } from "./types.js";
import type { WasmVm } from "./vm.js";

export interface CalloutRequest {
  token: number;
  worker: number;
  cluster: string;
  /** Request headers as sent (pseudo-headers included, content-length added for a non-empty body). */
  headers: Pairs;
  method: string;
  path: string;
  authority: string;
  body: Uint8Array;
  trailers: Pairs;
  timeoutMs: number;
}

export interface CalloutResponse {
  status?: number;
  headers?: Pairs | Record<string, string>;
  body?: string | Uint8Array;
  trailers?: Pairs | Record<string, string>;
}

export type CalloutTransport = (req: CalloutRequest) => Promise<CalloutResponse>;

export class PendingCallout {
  settled = false;
  outcome: "response" | "failure" | "timeout" | undefined;
  constructor(
    readonly request: CalloutRequest,
    private readonly owner: Callouts,
    private readonly vm: WasmVm,
    readonly rootId: number,
  ) {}
  get token(): number {
    return this.request.token;
  }
  get cluster(): string {
    return this.request.cluster;
  }
  get headers(): Record<string, string> {
    return new HeaderMap(this.request.headers).toObject();
  }
  get bodyText(): string {
    return new TextDecoder().decode(this.request.body);
  }

  /** Completes the callout with a response (delivered to the root context outside any other VM call). */
  respond(r: CalloutResponse = {}): void {
    this.owner.settle(this, this.vm, "response", r);
  }
  /** Completes it as a reset/connection failure: n_headers 0 and get_status (11, "reset"). */
  fail(): void {
    this.owner.settle(this, this.vm, "failure");
  }
}

export class Callouts {
  /** Every callout dispatched, in order. */
  readonly all: PendingCallout[] = [];
  constructor(private readonly proxy: Proxy) {}

  get pending(): PendingCallout[] {
    return this.all.filter((c) => !c.settled);
  }

  dispatch(
    vm: WasmVm,
    rootId: number,
    cluster: string,
    headers: Pairs,
    body: Uint8Array,
    trailers: Pairs,
    timeoutMs: number,
  ): { status: number; token?: number } {
    if (timeoutMs < 0) return { status: WasmResult.BadArgument };
    if (!this.proxy.clusters.has(cluster)) return { status: WasmResult.BadArgument };
    const h = new HeaderMap(headers);
    const method = h.get(":method"),
      path = h.get(":path"),
      authority = h.get(":authority");
    if (method === undefined || path === undefined || authority === undefined) return { status: WasmResult.BadArgument };
    if (body.length > 0) h.replace("content-length", String(body.length));
    vm.nextHttpCallId += 4;
    const token = vm.nextHttpCallId;
    const req: CalloutRequest = {
      token,
      worker: vm.worker,
      cluster,
      headers: h.entries(),
      method,
      path,
      authority,
      body: body.slice(),
      trailers,
      timeoutMs,
    };
    const c = new PendingCallout(req, this, vm, rootId);
    this.all.push(c);
    if (timeoutMs > 0) {
      // Envoy's async client times out through the router: a 504 response, not a failure (documented choice).
      this.proxy.clock.setTimer(timeoutMs, () =>
        this.settle(c, vm, "timeout", {
          status: 504,
          headers: { "content-length": "24", "content-type": "text/plain" },
          body: "upstream request timeout",
        }),
      );
    }
    const transport = this.proxy.options.transport;
    if (transport) {
      Promise.resolve()
        .then(() => transport(req))
        .then(
          (r) => this.settle(c, vm, "response", r),
          () => this.settle(c, vm, "failure"),
        );
    }
    return { status: WasmResult.Ok, token };
  }

  settle(c: PendingCallout, vm: WasmVm, outcome: "response" | "failure" | "timeout", r?: CalloutResponse): void {
    if (c.settled) return;
    c.settled = true;
    c.outcome = outcome;
    const data =
      outcome === "failure"
        ? undefined
        : {
            headers: toHeaders(r?.headers, r?.status ?? 200),
            body: typeof r?.body === "string" ? new TextEncoder().encode(r.body) : (r?.body ?? new Uint8Array(0)),
            trailers: new HeaderMap(Array.isArray(r?.trailers) ? r!.trailers : (r?.trailers ?? {})),
          };
    this.proxy.post(() => this.proxy.deliverHttpCallResponse(vm, c.rootId, c.token, data));
    this.proxy.drain();
  }
}

function toHeaders(h: Pairs | Record<string, string> | undefined, status: number): HeaderMap {
  const m = new HeaderMap(Array.isArray(h) ? h : (h ?? {}));
  if (!m.has(":status")) m.add(":status", String(status));
  return m;
}
