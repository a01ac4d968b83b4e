// One HTTP stream through the Wasm filter, modelled on Envoy's filter manager + wasm Context: lazy context
// creation, status conversion (StopIteration → StopAll unless allowed), StopAll withholding body callbacks until
// proxy_continue_stream, buffering for StopIterationAndBuffer, map availability windows, deferred continue /
// close / local reply, failure policies, and log → done → delete at the end.
import type { PluginHandle } from "./plugin.js";
import { HostContext } from "./context.js";
import { HeaderMap, type HeaderInit } from "./headers.js";
import { concat } from "./imports.js";
import type { Proxy } from "./proxy.js";
import { BufferType, HeadersStatus, MapType, type Pairs } from "./types.js";
import type { WasmVm, CallResult } from "./vm.js";

export interface LocalReply {
  status: number;
  body: string;
  headers: Pairs;
  details: string;
  grpcStatus: number | undefined;
}

type Dir = "request" | "response";
type HeaderState = "idle" | "stopAll" | "stopIter" | "continued" | "done";

/** One direction of the stream (decode = request, encode = response). */
class Side {
  headers: HeaderMap | undefined;
  headersAvail = false;
  headersEos = false;
  trailers: HeaderMap | undefined;
  trailersAvail = false;
  trailersHeld = false;
  pendingTrailers: HeaderMap | undefined;
  state: HeaderState = "idle";
  buffered: Uint8Array = new Uint8Array(0);
  buffering = false;
  curBody: Uint8Array | undefined;
  bodyEos = false;
  eos = false;
  bodyBytes = 0;
  continueRequested = false;
  /** What leaves the filter: towards the router (request) or the client (response). */
  outHeaders: HeaderMap | undefined;
  outBody: Uint8Array[] = [];
  outTrailers: HeaderMap | undefined;
  outEnded = false;
  last: { headers?: number; body?: number; trailers?: number } = {};
  constructor(readonly dir: Dir) {}
}

export class HttpStream {
  readonly id: number;
  readonly ctx: HostContext;
  readonly request = new Side("request");
  readonly response = new Side("response");
  readonly filterState = new Map<string, Uint8Array>();
  created = false;
  completed = false;
  routeCacheClears = 0;
  localReply: LocalReply | undefined;
  localReplyHeld = false;
  resetReason: string | undefined;
  responseCodeDetails = "via_upstream";
  readonly startTimeMs: number;
  endTimeMs = 0;
  readonly connectionId: number;
  protocol = "HTTP/1.1";
  /** The filter failed this stream (fail-closed 503) or is bypassed (fail-open). */
  failed = false;
  /** The downstream mTLS peer's first URI SAN (a SPIFFE id), undefined without a peer certificate. */
  peerUriSan: string | undefined;
  /** Times the buffer limit answered 413 (Envoy's downstream_rq_too_large). */
  tooLarge = 0;
  private accessLogPhase = false;
  private inStep = 0;
  private pendingReply: LocalReply | undefined;
  private closeRequested = false;
  private waiters: Array<() => void> = [];
  /** The plugin this stream was created under (undefined when the filter is skipped or failed). */
  readonly plugin: PluginHandle | undefined;

  constructor(
    readonly proxy: Proxy,
    readonly vm: WasmVm,
    readonly worker: number,
    /** "filter": normal; "skip": FAIL_OPEN on a failed VM (no filter); "fail": FAIL_CLOSED on a failed VM. */
    readonly mode: "filter" | "skip" | "fail",
  ) {
    this.id = mode === "filter" ? vm.newContextId() : 0;
    // The stream holds the worker's current plugin (and so its root context) until it is destroyed.
    this.plugin = mode === "filter" ? vm.currentPlugin : undefined;
    if (this.plugin) this.plugin.streams++;
    this.ctx = new HostContext(vm, this.id, "stream", this, this.plugin?.root);
    this.startTimeMs = proxy.clock.nowMs();
    this.connectionId = proxy.nextConnectionId++;
  }

  // ---------------------------------------------------------------- public state
  get requestHeaders(): HeaderMap | undefined {
    return this.request.headers;
  }
  get responseHeaders(): HeaderMap | undefined {
    return this.response.headers;
  }
  /** Headers as Envoy's router sees them (snapshot when the filter let them through). */
  get routerRequestHeaders(): HeaderMap | undefined {
    return this.request.outHeaders;
  }
  get routerRequestBody(): string {
    return new TextDecoder().decode(concat(...this.request.outBody));
  }
  /** The request body bytes the router received (binary bodies such as gRPC frames). */
  get routerRequestBytes(): Uint8Array {
    return concat(...this.request.outBody);
  }
  get routerRequestTrailers(): HeaderMap | undefined {
    return this.request.outTrailers;
  }
  get reachedRouter(): boolean {
    return this.request.outHeaders !== undefined;
  }
  get requestCompleteAtRouter(): boolean {
    return this.request.outEnded;
  }
  /** What the client receives. */
  get downstreamHeaders(): HeaderMap | undefined {
    return this.response.outHeaders;
  }
  get downstreamBody(): string {
    return new TextDecoder().decode(concat(...this.response.outBody));
  }
  get downstreamTrailers(): HeaderMap | undefined {
    return this.response.outTrailers;
  }
  get responseComplete(): boolean {
    return this.response.outEnded;
  }
  get paused(): { request: boolean; response: boolean } {
    return { request: isPaused(this.request), response: isPaused(this.response) };
  }
  /** Last converted statuses the filter returned (after Envoy's conversion). */
  get statuses(): { request: Side["last"]; response: Side["last"] } {
    return { request: { ...this.request.last }, response: { ...this.response.last } };
  }
  get requestBodyBytes(): number {
    return this.request.bodyBytes;
  }
  get responseBodyBytes(): number {
    return this.response.bodyBytes;
  }
  get responseStarted(): boolean {
    return this.response.headers !== undefined;
  }
  get responseHeadersForProperties(): HeaderMap | undefined {
    return this.response.headers;
  }

  // ---------------------------------------------------------------- driver steps
  sendRequestHeaders(headers: HeaderInit, endOfStream = false): this {
    return this.step(() => this.onHeaders(this.request, new HeaderMap(headers), endOfStream));
  }
  sendRequestBody(body: string | Uint8Array, endOfStream = false): this {
    return this.step(() => this.onBody(this.request, toBytes(body), endOfStream));
  }
  sendRequestTrailers(trailers: HeaderInit): this {
    return this.step(() => this.onTrailers(this.request, new HeaderMap(trailers)));
  }
  sendResponseHeaders(headers: HeaderInit, endOfStream = false): this {
    return this.step(() => this.onHeaders(this.response, new HeaderMap(headers), endOfStream));
  }
  sendResponseBody(body: string | Uint8Array, endOfStream = false): this {
    return this.step(() => this.onBody(this.response, toBytes(body), endOfStream));
  }
  sendResponseTrailers(trailers: HeaderInit): this {
    return this.step(() => this.onTrailers(this.response, new HeaderMap(trailers)));
  }
  /** Stream end (Envoy doDeferredStreamDestroy): proxy_on_log, proxy_on_done (result ignored), proxy_on_delete. */
  complete(): this {
    return this.step(() => this.finish());
  }
  /** Downstream reset: the stream is destroyed the same way (log, done, delete). */
  reset(reason = "downstream_remote_reset"): this {
    return this.step(() => {
      this.resetReason ??= reason;
      this.finish();
    });
  }

  /** Resolves once the request reached the router or was answered locally, or the response left the filter. */
  waitFor(pred: () => boolean): Promise<void> {
    if (pred()) return Promise.resolve();
    return new Promise((resolve) => {
      const check = (): void => {
        if (pred()) resolve();
        else this.waiters.push(check);
      };
      this.waiters.push(check);
    });
  }

  private step(fn: () => void): this {
    this.inStep++;
    try {
      fn();
    } finally {
      this.inStep--;
    }
    if (this.inStep === 0) this.pump();
    this.proxy.drain();
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
    return this;
  }

  // ---------------------------------------------------------------- host-call support (imports.ts)
  noteRouteCacheClear(): void {
    this.routeCacheClears++;
  }

  /** Envoy getMap/getConstMap for this stream; null ⇒ BadArgument, "notfound" in the access-log phase. */
  headerMapFor(type: number, write: boolean): HeaderMap | null | "notfound" {
    if (this.accessLogPhase) {
      if (write) return null;
      const m =
        type === MapType.RequestHeaders
          ? this.request.headers
          : type === MapType.RequestTrailers
            ? this.request.trailers
            : type === MapType.ResponseHeaders
              ? this.response.headers
              : type === MapType.ResponseTrailers
                ? this.response.trailers
                : null;
      return m ?? "notfound";
    }
    switch (type) {
      case MapType.RequestHeaders:
        return this.request.headersAvail ? this.request.headers! : null;
      case MapType.ResponseHeaders:
        return this.response.headersAvail ? this.response.headers! : null;
      case MapType.RequestTrailers:
        return this.trailersFor(this.request, write);
      case MapType.ResponseTrailers:
        return this.trailersFor(this.response, write);
      default:
        return null;
    }
  }

  private trailersFor(side: Side, write: boolean): HeaderMap | null {
    if (side.trailersAvail) return side.trailers!;
    // Envoy addDecodedTrailers/addEncodedTrailers: trailers can be added from the last body callback.
    if (write && side.curBody !== undefined && side.bodyEos) {
      side.trailers = new HeaderMap();
      side.trailersAvail = true;
      side.pendingTrailers = undefined;
      return side.trailers;
    }
    return null;
  }

  bodyBufferFor(type: number): { data: Uint8Array; set: (d: Uint8Array) => void } | null {
    const side = type === BufferType.HttpRequestBody ? this.request : this.response;
    if (side.curBody !== undefined)
      return {
        data: side.curBody,
        set: (d) => {
          side.curBody = d;
        },
      };
    if (side.buffering && !this.accessLogPhase)
      return {
        data: side.buffered,
        set: (d) => {
          side.buffered = d;
        },
      };
    return null;
  }

  /** proxy_continue_stream: Envoy nulls the direction's map/buffer pointers at once, continues after the call. */
  releaseMapsForContinue(dir: Dir): void {
    const side = this.side(dir);
    side.headersAvail = false;
    side.trailersAvail = false;
  }

  continueFromFilter(dir: Dir): void {
    this.side(dir).continueRequested = true;
    if (this.inStep === 0) this.step(() => {});
  }

  closeFromFilter(_dir: Dir): void {
    this.closeRequested = true;
    if (this.inStep === 0) this.step(() => {});
  }

  sendLocalReply(reply: LocalReply): void {
    this.pendingReply = reply;
    if (this.inStep === 0) this.step(() => {});
  }

  // ---------------------------------------------------------------- internals
  private side(dir: Dir): Side {
    return dir === "request" ? this.request : this.response;
  }

  private get filterLive(): boolean {
    return this.mode === "filter" && !this.failed && !this.completed;
  }

  private call(name: string, ...args: number[]): CallResult {
    return this.vm.call(name, this.ctx, ...args);
  }

  private ensureCreated(): boolean {
    if (this.created) return true;
    if (this.vm.failed) return false;
    this.created = true;
    this.vm.contexts.set(this.id, this.ctx);
    const r = this.call("proxy_on_context_create", this.id, this.ctx.rootId);
    return r.ok;
  }

  /** A callback could not run (trap now or VM failed earlier): apply the failure policy once per stream. */
  private failFilter(side: Side): void {
    this.failed = true;
    if (this.proxy.failurePolicy === "FAIL_OPEN") {
      this.passThrough(side);
      if (side.dir === "response" || !this.request.outEnded) this.passThrough(this.request);
      return;
    }
    this.failStream();
  }

  /** Envoy failStream: 503, details wasm_fail_stream, grpc Unavailable; the VM is dead so no encode callbacks. */
  private failStream(): void {
    if (this.localReply || this.response.outHeaders) {
      this.resetReason ??= "wasm_fail_stream";
      return;
    }
    const reply: LocalReply = { status: 503, body: "", headers: [], details: "wasm_fail_stream", grpcStatus: 14 };
    this.localReply = reply;
    this.responseCodeDetails = reply.details;
    this.request.state = "done";
    const h = this.localReplyHeaders(reply);
    this.response.headers = h;
    this.response.outHeaders = h.clone();
    this.response.outEnded = true;
  }

  /**
   * Envoy's filter manager gives the buffered body a high watermark of the stream's buffer limit; going past it
   * while a filter buffers (not streams) ends the request with a local 413, details request_payload_too_large
   * (envoyproxy/envoy source/common/http/filter_manager.cc@00e00299: ActiveStreamDecoderFilter::createBuffer,
   * requestDataTooLarge; WatermarkBuffer fires when the length goes above the mark). StopIterationAndWatermark
   * streams instead (read-disable), so it never answers 413. Response bodies are not limited here.
   */
  private checkBufferLimit(side: Side): boolean {
    const limit = this.proxy.options.bufferLimitBytes ?? 1_048_576;
    if (side.dir !== "request" || limit <= 0 || side.buffered.length <= limit) return false;
    this.tooLarge++;
    side.buffered = new Uint8Array(0);
    side.buffering = false;
    this.doLocalReply({ status: 413, body: "Payload Too Large", headers: [], details: "request_payload_too_large", grpcStatus: undefined });
    return true;
  }

  private passThrough(side: Side): void {
    if (side.state === "done") return;
    if (side.headers && !side.outHeaders) this.forwardHeaders(side);
    if (side.buffered.length) {
      side.outBody.push(side.buffered);
      side.buffered = new Uint8Array(0);
    }
    side.buffering = false;
    const t = side.pendingTrailers ?? (side.trailersHeld ? side.trailers : undefined);
    if (t) {
      side.outTrailers = t.clone();
      side.pendingTrailers = undefined;
      side.trailersHeld = false;
    }
    if (side.eos) side.outEnded = true;
  }

  private forwardHeaders(side: Side): void {
    side.headersAvail = false;
    if (!side.outHeaders) side.outHeaders = side.headers!.clone();
    side.state = "continued";
    if (side.headersEos) side.outEnded = true;
  }

  private onHeaders(side: Side, headers: HeaderMap, eos: boolean): void {
    if (this.completed || side.headers) return;
    side.headers = headers;
    side.headersEos = eos;
    side.eos = eos;
    if (side.dir === "request" && this.mode === "fail") {
      this.failStream();
      return;
    }
    if (side.dir === "response" && this.localReply && this.request.state === "done" && !this.response.outHeaders) {
      // a local reply is being encoded; nothing special
    }
    if (this.mode === "skip" || this.failed) {
      if (this.failed && this.proxy.failurePolicy !== "FAIL_OPEN") {
        this.failStream();
        return;
      }
      this.forwardHeaders(side);
      return;
    }
    if (side.dir === "request" ? !this.ensureCreated() : !this.created) {
      if (side.dir === "response" && !this.created) {
        this.forwardHeaders(side);
        return;
      }
      this.failFilter(side);
      return;
    }
    side.headersAvail = true;
    const cb = side.dir === "request" ? "proxy_on_request_headers" : "proxy_on_response_headers";
    const r = this.vm.abi === "0.1.0" ? this.call(cb, this.id, headers.size) : this.call(cb, this.id, headers.size, eos ? 1 : 0);
    if (!r.ok) {
      side.headersAvail = false;
      this.failFilter(side);
      return;
    }
    const st = this.convertHeaders(r);
    side.last.headers = st;
    if (st === HeadersStatus.Continue || st === HeadersStatus.ContinueAndEndStream) {
      if (side.state === "idle") this.forwardHeaders(side);
    } else if (side.state === "idle") {
      side.state = st === HeadersStatus.StopIteration ? "stopIter" : "stopAll";
    }
  }

  /** cpp-host convertVmCallResultToFilterHeadersStatus + Envoy's switch. */
  private convertHeaders(r: CallResult): number {
    if (r.stopNext) return HeadersStatus.StopAllIterationAndWatermark;
    let v = r.missing ? 0 : r.value;
    if (v > 4) v = 4;
    if (v === HeadersStatus.StopIteration && !this.proxy.options.allowOnHeadersStopIteration)
      v = HeadersStatus.StopAllIterationAndWatermark;
    if (v === HeadersStatus.ContinueAndEndStream) v = HeadersStatus.Continue; // Envoy maps it to Continue
    return v;
  }

  private onBody(side: Side, chunk: Uint8Array, eos: boolean): void {
    if (this.completed || side.state === "done" || side.eos) return;
    side.eos = eos;
    side.bodyBytes += chunk.length;
    if (this.mode === "skip" || (this.failed && this.proxy.failurePolicy === "FAIL_OPEN") || !this.created) {
      side.outBody.push(chunk);
      if (eos) side.outEnded = true;
      return;
    }
    if (this.failed || this.mode === "fail") return;
    if (side.state === "stopAll") {
      // Envoy buffers for the stopped filter and does not call its body callback until it continues.
      side.buffered = concat(side.buffered, chunk);
      // StopAllIterationAndBuffer buffers without watermark streaming: past the limit it is a 413.
      if (side.last.headers === HeadersStatus.StopAllIterationAndBuffer) this.checkBufferLimit(side);
      return;
    }
    this.bodyCallback(side, chunk, eos);
  }

  /**
   * Envoy's wasm Context::decodeData/encodeData (envoyproxy/envoy source/extensions/common/wasm/context.cc,
   * current main): while the filter buffers (its last answer was StopIterationAndBuffer) the new data is first
   * added to the filter manager's buffer — which is where a request past the buffer limit gets its 413, and then
   * the VM is not called — and the callback sees the whole buffer. Otherwise the callback sees only the new
   * chunk; StopIterationAndWatermark still has the filter manager keep it (streaming: backpressure, never 413),
   * StopIterationNoBuffer drops it, Continue forwards what is held plus the chunk.
   */
  private bodyCallback(side: Side, chunk: Uint8Array, eos: boolean): void {
    const wasBuffering = side.buffering;
    let data = chunk;
    if (wasBuffering) {
      side.buffered = concat(side.buffered, chunk);
      if (this.checkBufferLimit(side)) return;
      data = side.buffered;
    }
    // Data the filter manager holds that this callback does not see (after StopIterationAndWatermark).
    const held = wasBuffering ? new Uint8Array(0) : side.buffered;
    side.curBody = data;
    side.bodyEos = eos;
    const cb = side.dir === "request" ? "proxy_on_request_body" : "proxy_on_response_body";
    const r = this.call(cb, this.id, data.length, eos ? 1 : 0);
    const after = side.curBody ?? data;
    side.curBody = undefined;
    if (!r.ok) {
      side.buffered = concat(held, after);
      this.failFilter(side);
      return;
    }
    let st = r.stopNext ? 3 : r.missing ? 0 : Math.min(r.value, 3);
    side.last.body = st;
    if (st === 0) {
      if (side.state === "stopIter") this.forwardHeaders(side); // Continue from body releases held headers
      side.outBody.push(concat(held, after));
      side.buffered = new Uint8Array(0);
      side.buffering = false;
      if (side.trailers && side.trailersAvail && !side.outTrailers) side.outTrailers = side.trailers.clone(); // added in body
      if (eos && side.state !== "stopAll" && side.state !== "stopIter") side.outEnded = true;
    } else if (st === 1) {
      side.buffered = concat(held, after);
      side.buffering = true;
      this.checkBufferLimit(side);
    } else if (st === 2) {
      side.buffered = concat(held, after);
      side.buffering = false;
    } else {
      side.buffered = held; // StopIterationNoBuffer: this chunk is not kept
      side.buffering = false;
    }
  }

  private onTrailers(side: Side, trailers: HeaderMap): void {
    if (this.completed || side.state === "done" || side.eos) return;
    side.eos = true;
    if (this.mode === "skip" || (this.failed && this.proxy.failurePolicy === "FAIL_OPEN") || !this.created) {
      side.trailers = trailers;
      side.outTrailers = trailers.clone();
      side.outEnded = true;
      return;
    }
    if (this.failed || this.mode === "fail") return;
    if (side.state === "stopAll") {
      side.pendingTrailers = trailers;
      return;
    }
    this.trailersCallback(side, trailers);
  }

  private trailersCallback(side: Side, trailers: HeaderMap): void {
    side.trailers = trailers;
    side.trailersAvail = true;
    const cb = side.dir === "request" ? "proxy_on_request_trailers" : "proxy_on_response_trailers";
    const r = this.call(cb, this.id, trailers.size);
    if (!r.ok) {
      side.trailersHeld = true;
      this.failFilter(side);
      return;
    }
    const st = r.stopNext ? 1 : r.missing ? 0 : Math.min(r.value, 1);
    side.last.trailers = st;
    if (st === 0) this.releaseAll(side);
    else side.trailersHeld = true;
  }

  /** Continue after trailers: headers (if held), buffered body and trailers go out, the direction ends. */
  private releaseAll(side: Side): void {
    if (side.state === "stopIter" || side.state === "stopAll") this.forwardHeaders(side);
    if (side.buffered.length) side.outBody.push(side.buffered);
    side.buffered = new Uint8Array(0);
    side.buffering = false;
    side.trailersAvail = false;
    side.trailersHeld = false;
    if (side.trailers) side.outTrailers = side.trailers.clone();
    side.outEnded = true;
  }

  /** Runs deferred actions in Envoy's order once the VM call that requested them returned. */
  private pump(): void {
    // Actions requested while pumping (e.g. a continue from on_response_headers of a local reply) join this loop.
    this.inStep++;
    try {
      this.pumpLoop();
    } finally {
      this.inStep--;
    }
  }

  private pumpLoop(): void {
    for (let guard = 0; guard < 100; guard++) {
      if (this.pendingReply) {
        const r = this.pendingReply;
        this.pendingReply = undefined;
        this.doLocalReply(r);
        continue;
      }
      if (this.closeRequested) {
        this.closeRequested = false;
        this.resetReason ??= "wasm_close_stream";
        this.finish();
        continue;
      }
      const side = this.request.continueRequested ? this.request : this.response.continueRequested ? this.response : undefined;
      if (!side) return;
      side.continueRequested = false;
      this.resume(side);
    }
  }

  /** continueDecoding/continueEncoding: iterate again from this filter. */
  private resume(side: Side): void {
    if (this.completed || side.state === "done" || !side.headers) return;
    const wasStopAll = side.state === "stopAll";
    if (side.state === "stopAll" || side.state === "stopIter" || side.state === "idle") this.forwardHeaders(side);
    if (wasStopAll && (side.buffered.length > 0 || (side.eos && !side.headersEos && !side.pendingTrailers))) {
      // iterate_from_current_filter: buffered data is delivered to this filter's body callback first.
      const data = side.buffered;
      side.buffered = new Uint8Array(0);
      side.buffering = false;
      if (!this.filterLive) {
        side.outBody.push(data);
      } else this.bodyCallback(side, data, side.eos && !side.pendingTrailers);
    } else if (side.buffered.length > 0 && !side.trailersHeld) {
      side.outBody.push(side.buffered);
      side.buffered = new Uint8Array(0);
      side.buffering = false;
    }
    if (side.pendingTrailers && this.filterLive) {
      const t = side.pendingTrailers;
      side.pendingTrailers = undefined;
      this.trailersCallback(side, t);
    } else if (side.trailersHeld) {
      this.releaseAll(side);
    } else if (side.eos && !side.pendingTrailers && side.state === "continued" && (side.headersEos || !side.buffering)) {
      side.outEnded = true;
    }
  }

  private localReplyHeaders(reply: LocalReply): HeaderMap {
    // As Envoy's Utility::prepareLocalReply (source/common/http/utility.cc, envoyproxy/envoy@0075dc33dd44): the
    // filter's headers first; with a body, content-length is set and content-type text/plain only when the filter
    // supplied none; without a body, both are removed.
    const h = new HeaderMap({ ":status": String(reply.status) });
    for (const [k, v] of reply.headers) h.add(k, v);
    if (reply.body.length) {
      h.replace("content-length", String(new TextEncoder().encode(reply.body).length));
      if (!h.has("content-type")) h.add("content-type", "text/plain");
    } else {
      h.remove("content-length");
      h.remove("content-type");
    }
    const ct = this.request.headers?.get("content-type") ?? "";
    if (reply.grpcStatus !== undefined && ct.startsWith("application/grpc")) h.replace("grpc-status", String(reply.grpcStatus));
    return h;
  }

  /** Envoy sendLocalReply: stops decoding and sends the reply through the encoder path (this filter included). */
  private doLocalReply(reply: LocalReply): void {
    if (this.completed) return;
    if (this.response.outHeaders) {
      this.resetReason ??= "local_reply_after_response_started";
      this.finish();
      return;
    }
    this.localReply = reply;
    this.responseCodeDetails = reply.details;
    this.request.state = "done";
    this.request.headersAvail = false;
    if (this.response.headers) {
      // Reply from the encode path: replace what the upstream sent.
      const h = this.localReplyHeaders(reply);
      this.response.headers = h;
      this.response.outHeaders = h.clone();
      this.response.outBody = reply.body ? [new TextEncoder().encode(reply.body)] : [];
      this.response.outEnded = true;
      this.response.state = "done";
      return;
    }
    const body = reply.body;
    this.onHeaders(this.response, this.localReplyHeaders(reply), body.length === 0);
    if (body.length) this.onBody(this.response, new TextEncoder().encode(body), true);
  }

  private finish(): void {
    if (this.completed) return;
    this.completed = true;
    this.endTimeMs = this.proxy.clock.nowMs();
    this.destroyContext();
    // Then the stream's Context drops its plugin handle: the last holder of a replaced plugin shuts its root down.
    if (this.plugin) this.proxy.releasePlugin(this.vm, this.plugin, true);
  }

  private destroyContext(): void {
    if (this.mode !== "filter" || this.vm.failed) return;
    // Context::log creates the VM context first if no callback ran yet (e.g. a local reply before the filter).
    if (!this.created && !this.ensureCreated()) return;
    this.accessLogPhase = true;
    this.call("proxy_on_log", this.id);
    this.accessLogPhase = false;
    this.call("proxy_on_done", this.id);
    this.call("proxy_on_delete", this.id);
    this.vm.contexts.delete(this.id);
  }
}

function isPaused(s: Side): boolean {
  return s.state === "stopAll" || s.state === "stopIter" || s.buffering || s.buffered.length > 0 || s.trailersHeld;
}

function toBytes(b: string | Uint8Array): Uint8Array {
  return typeof b === "string" ? new TextEncoder().encode(b) : b;
}
