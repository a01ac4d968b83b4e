// The router filter: one root context per plugin configuration on a worker VM (configuration, catalog, load view,
// ticks) and one small stream context per HTTP request, which stays with the root it was created under. A request goes: strip owned headers → classify (headers, then optionally the
// first bytes of the body) → pick → write headers and take an in-flight slot → on the response, record the
// outcome → at the end of the stream, give the slot back. Anything unexpected routes the request untouched.
import { BufferType, DataStatus, HeadersStatus, LogLevel, MapType } from "../runtime/abi";
import { HttpContext, liveRoots, RootContext } from "../runtime/context";
import {
  continueRequest, getBufferStringStrict, getHeader, lastUtf8Error, getProperty, log, logBytes, logEnabled, nowMs, propertyPath,
  readBufferInto, refreshLogLevel, removeHeader, replaceHeaderBytes, sendLocalResponse, setEffectiveContext, setTickPeriodMs, utf8,
} from "../runtime/host";
import { Catalog } from "./catalog";
import { Classification, classifyBody, classifyHeaders, estimatedCost, PROTOCOL_COUNT, Protocol, protocolName, requestClass } from "./classify";
import { BodyHold, HOLD_ENVOY, HOLD_NONE, HoldPool, readTrustedHeaders, scanLimit } from "./intake";
import { grpcFrameNeed } from "./scan";
import { RouterConfig, STEER_ENDPOINT } from "./config";
import { Scope } from "./scope";
import { parseConfig } from "./config-parse";
import { Load, LoadView } from "./loadview";
import { AFFINITY_HIT, AFFINITY_OVERRIDE, NO_HEALTHY, PickRequest, PickResult, Picker, SHED } from "./picker";
import { REASON_UNDETERMINED, REASON_UNKNOWN_MODEL } from "./pick/request";
import { Decision, traceBuffer, writeHeader, writeLogLine } from "./decision";
import { Affinity } from "./affinity";
import { Poller } from "./poller";
import { OrcaReport, parseOrca, parseOrcaValue } from "./signals/orca";
import { poolAsksOrca } from "./signals/presets";
import { nextU32, seedRandom } from "./rng";
import * as S from "./stats";
import { Gauges } from "./gauges";
import { askLoadReport, HeaderKeys, sanitize, writeClassification, writeEndpoints, writePool } from "./steer";
import { H_AUTHORITY, H_CONTENT_LENGTH, H_CONTENT_TYPE, H_METHOD, H_PATH, Inbound, InboundReader, ResponseReads, RAW_ABSENT, RAW_VALUE, rawValueLen } from "./inbound";

const MAX_CONFIG_BYTES: u32 = 1 << 20;
const HEARTBEAT_MS: u32 = 1000;

const K_STATUS = utf8(":status");
const K_ORCA = utf8("endpoint-load-metrics");
const K_REQUEST_ID = utf8("x-request-id");
const P_RESPONSE_FLAGS = propertyPath(["response", "flags"]);
const R_STATUS = 0;
const R_ORCA = 1;
const R_QUEUE = 2;
const R_KV_CACHE = 3;

// Envoy response flags that mean the upstream failed us (timeout, remote reset, connect failure, termination).
const UPSTREAM_FAILURE_FLAGS: u64 = 0x4 | 0x10 | 0x20 | 0x40;

/** Everything built from one configuration; replaced whole on reconfigure. */
class Router {
  catalog: Catalog;
  keys: HeaderKeys;
  inbound: InboundReader;
  view: LoadView;
  picker: Picker;
  stats: S.Stats;
  scratch: usize;
  /** Copy buffers for bodies held in several chunks (intake.ts). */
  holds: HoldPool;
  poller: Poller;
  affinity: Affinity;
  gauges: Gauges;
  scope: Scope;
  /** Response headers read for load reports ("" when not configured). */
  queueHeader: ArrayBuffer | null;
  kvCacheHeader: ArrayBuffer | null;
  /** decisionTrace.headerName when decisionTrace.header is on. */
  traceHeader: ArrayBuffer | null;
  responseReads: ResponseReads;
  /** Per pool: whether steered requests ask for an ORCA report (poolAsksOrca). */
  asksOrca: StaticArray<bool>;
  constructor(public cfg: RouterConfig, vmId: u32) {
    const catalog = new Catalog(cfg);
    // A VM missing heartbeats for 5 periods (or 3 s) is presumed dead: its in-flight slots stop counting.
    const view = new LoadView(cfg.name, vmId, <i64>max(3000, 5 * HEARTBEAT_MS));
    view.capacityHalfLifeMs = cfg.capacity.halfLifeMs;
    this.catalog = catalog;
    const scope = new Scope(cfg);
    this.scope = scope;
    const keys = new HeaderKeys(cfg.headers);
    this.keys = keys;
    this.inbound = new InboundReader(keys, scope.limited);
    const stats = new S.Stats(cfg.name, catalog, PROTOCOL_COUNT, (p: i32): string => protocolName(<Protocol>p));
    const poller = new Poller(cfg, catalog, view, stats, vmId);
    const affinity = new Affinity(cfg, catalog, poller.loraPossible);
    this.view = view;
    this.stats = stats;
    this.poller = poller;
    this.affinity = affinity;
    this.picker = new Picker(catalog, view, cfg, affinity);
    this.gauges = new Gauges(cfg.name, catalog, <i64>cfg.scoring.staleAfterMs);
    const lr = cfg.loadReports;
    const qh = lr.queueHeader.length > 0 ? utf8(lr.queueHeader) : null;
    const kh = lr.kvCacheHeader.length > 0 ? utf8(lr.kvCacheHeader) : null;
    this.queueHeader = qh;
    this.kvCacheHeader = kh;
    this.traceHeader = cfg.decisionTrace.header ? utf8(cfg.decisionTrace.headerName) : null;
    const asks = new StaticArray<bool>(cfg.pools.length);
    for (let p = 0; p < cfg.pools.length; p++) asks[p] = lr.orca && poolAsksOrca(cfg.pools[p]);
    this.asksOrca = asks;
    this.scratch = cfg.body.enabled ? heap.alloc(<usize>cfg.body.maxBytes) : 0;
    this.holds = new HoldPool(scanLimit(cfg.body), cfg.body.enabled);
    // Indexed by R_STATUS, R_ORCA, R_QUEUE, R_KV_CACHE.
    this.responseReads = new ResponseReads(responseNames(lr.orca, qh, kh), R_ORCA);
  }

  /** Gives back what the router took from the raw heap (the garbage collector does not know those blocks). */
  dispose(): void {
    if (this.scratch != 0) heap.free(this.scratch);
    this.scratch = 0;
    this.holds.dispose();
    this.poller.dispose();
    this.view.dispose();
    this.affinity.dispose();
  }
}

/**
 * The worker VM's identity in shared data (in-flight slots, heartbeats, poller lease). One per VM, not per root:
 * a config push adds a root to the same VM, and the slots its old root's open requests hold must keep counting
 * (the new root's heartbeat keeps them alive) and be given back to the same slot.
 */
let vmId: u32 = 0;

export class RouterRoot extends RootContext {
  router: Router | null = null;
  lastHeartbeatMs: i64 = 0;
  /** A newer root of the same router (same `name`) took over this VM: this one only serves its open streams. */
  superseded: bool = false;
  /** Streams paused for their body, oldest first; the tick releases those past their deadline. */
  held: Array<RouterStream> = [];
  /** Streams created under this root that have not ended: the router's memory is theirs too. */
  openStreams: i32 = 0;
  deleted: bool = false;

  onVmStart(vmConfigSize: u32): bool {
    // cpp-host calls on_vm_start for every new root context (ContextBase::onStart); the VM is started once.
    if (vmId == 0) {
      seedRandom(<u64>nowMs() * 2654435761 + <u64>this.id);
      vmId = nextU32() | 1;
    }
    return true;
  }

  onConfigure(size: u32): bool {
    refreshLogLevel();
    if (vmId == 0) this.onVmStart(0);
    if (size > MAX_CONFIG_BYTES) {
      log(LogLevel.Error, "inference-router: configuration rejected: larger than 1 MiB");
      return false;
    }
    const text = size == 0 ? "" : getBufferStringStrict(BufferType.PluginConfiguration, 0, size);
    if (text === null && lastUtf8Error >= 0) {
      log(LogLevel.Error, "inference-router: configuration rejected: (root): invalid UTF-8 at byte " + lastUtf8Error.toString());
      return false;
    }
    const res = parseConfig(text === null ? "" : text);
    const cfg = res.config;
    if (cfg === null) {
      log(LogLevel.Error, "inference-router: configuration rejected: " + res.error);
      return false;
    }
    const r = new Router(cfg, vmId);
    // Records are keyed by pool and upstream: upstreams that remain keep their load, new ones start empty.
    for (let i = 0; i < r.catalog.upstreams.length; i++) r.view.ensure(r.catalog.upstreams[i]);
    r.view.heartbeat(nowMs());
    const prev = this.router;
    if (prev !== null) {
      prev.gauges.retireMissing(r.gauges);
      prev.dispose();
    }
    this.router = r;
    this.supersedeOlder(r);
    setTickPeriodMs(tickPeriod(cfg, r.poller.active));
    log(LogLevel.Info, "inference-router: configured " + cfg.pools.length.toString() + " pool(s), " +
      r.catalog.upstreams.length.toString() + " upstream(s), steering " + (cfg.steering == STEER_ENDPOINT ? "endpoint" : "pool"));
    return true;
  }

  /**
   * Older roots of the same router on this VM (a config push) stop polling: one poller per VM, the newest
   * config's. They keep ticking — heartbeats for the VM's slots, releasing their own held requests — until their
   * last stream ends and Envoy deletes them.
   */
  private supersedeOlder(r: Router): void {
    const name = r.cfg.name;
    const all = liveRoots();
    for (let i = 0; i < all.length; i++) {
      const other = all[i];
      if (other === this || !(other instanceof RouterRoot)) continue;
      const o = <RouterRoot>other;
      const or = o.router;
      if (or !== null && or.cfg.name == name && !o.superseded) {
        o.superseded = true;
        // Only the newest root publishes gauges; upstreams the new config dropped are zeroed once here.
        or.gauges.retireMissing(r.gauges);
      }
    }
    this.superseded = false;
  }

  onTick(): void {
    refreshLogLevel();
    const r = this.router;
    if (r === null) return;
    const now = nowMs();
    // Ticks may come faster than heartbeats are needed (body timeouts, short poll intervals).
    if (now - this.lastHeartbeatMs >= <i64>HEARTBEAT_MS / 2) {
      r.view.heartbeat(now);
      this.lastHeartbeatMs = now;
      if (!this.superseded) publishGauges(r, now);
    }
    if (!this.superseded) r.poller.tick(now);
    // Release held streams whose body did not come in time (or never will: Envoy without
    // allow_on_headers_stop_iteration withholds body callbacks while headers are paused).
    while (this.held.length > 0 && this.held[0].deadlineMs <= now) {
      const s = this.held.shift();
      s.held = false;
      if (setEffectiveContext(s.id) != 0) continue;
      r.stats.bodyTimeout();
      if (s.decide()) continueRequest();
    }
  }

  onHttpCallResponse(token: u32, headerCount: u32, bodySize: u32, trailerCount: u32): void {
    const r = this.router;
    if (r === null) return;
    r.poller.onResponse(token, headerCount, bodySize, nowMs());
  }

  /**
   * Plugin shutdown. Envoy ends a replaced root only after its streams, but a VM shutdown does not wait: never leave
   * a request paused. The current root's series stop here (a superseded root's were handed to its successor).
   */
  onDone(): bool {
    while (this.held.length > 0) {
      const s = this.held.shift();
      s.held = false;
      if (setEffectiveContext(s.id) == 0) continueRequest();
    }
    const r = this.router;
    if (r !== null && !this.superseded) r.gauges.retireMissing(null);
    return true;
  }

  /** The root is gone: stop its timer and free its router's memory (after its last stream, on a VM shutdown). */
  onDelete(): void {
    setTickPeriodMs(0);
    this.deleted = true;
    const r = this.router;
    // A push back to a configuration whose root is still alive makes that root current again without a configure
    // call, and deletes the newer one: the surviving root of this router takes the polling back.
    if (!this.superseded && r !== null) this.handOver(r.cfg.name);
    if (this.openStreams == 0) this.release();
  }

  private handOver(name: string): void {
    const all = liveRoots();
    for (let i = all.length - 1; i >= 0; i--) {
      const other = all[i];
      if (other === this || !(other instanceof RouterRoot)) continue;
      const o = <RouterRoot>other;
      const or = o.router;
      if (or !== null && or.cfg.name == name) { o.superseded = false; return; }
    }
  }

  release(): void {
    const r = this.router;
    if (r !== null) r.dispose();
    this.router = null;
  }

  newHttpContext(id: u32): HttpContext | null {
    const r = this.router;
    if (r === null) return null;
    this.openStreams++;
    return new RouterStream(id, this, r);
  }

  unhold(s: RouterStream): void {
    const i = this.held.indexOf(s);
    if (i >= 0) this.held.splice(i, 1);
    s.held = false;
  }
}

export class RouterStream extends HttpContext {
  c: Classification = new Classification();
  held: bool = false;
  /**
   * Body chunks seen while held (Envoy shows each callback only its new chunk under watermark holding). Made by
   * the first body callback of a held request: a request routed on its headers allocates none.
   */
  hold: BodyHold | null = null;
  deadlineMs: i64 = 0;
  priority: i32 = 0;
  /** Upstream holding our in-flight slot, -1 when none. */
  upstream: i32 = -1;
  outcomeRecorded: bool = false;
  sawResponse: bool = false;
  /** This request's decision, kept for the response header (decisionTrace.header only). */
  decision: Decision | null = null;
  /** The upstream answered 2xx: a completion for learned capacity. */
  answered2xx: bool = false;

  constructor(id: u32, public rootCtx: RouterRoot, public r: Router) {
    super(id, rootCtx);
  }

  onRequestHeaders(headerCount: u32, endOfStream: bool): i32 {
    const r = this.r;
    // One read of the request headers (inbound.ts); the owned and foreign steering headers present are removed on
    // every request, in scope or not, so a client can never steer or fake a classification even on a request that
    // reaches the inference service by a name outside the scope (its cluster IP, say). Requests to other services
    // then pass unsteered: nothing classified, written, held or counted.
    const h = inbound;
    r.inbound.readAndStrip(h);
    if (r.scope.limited && !r.scope.covers(h.get(H_AUTHORITY))) return HeadersStatus.Continue;
    const method = h.get(H_METHOD);
    const path = h.get(H_PATH);
    const ctype = h.get(H_CONTENT_TYPE);
    const clen = h.get(H_CONTENT_LENGTH);
    const c = this.c;
    classifyHeaders(method === null ? "" : method, path === null ? "" : path, ctype === null ? "" : ctype, clen === null ? "" : clen, c);
    if (!c.inference) {
      r.stats.request(<i32>c.protocol, S.OUTCOME_PASSTHROUGH);
      return HeadersStatus.Continue;
    }
    // modelOverride / priorityIn count only from a trusted mTLS peer (intake.ts).
    this.priority = readTrustedHeaders(h, r.cfg.headers.trustedPeers, c, r.stats);
    if (r.cfg.body.enabled && c.needsBody && !endOfStream) {
      // Hold the headers for the body. With allow_on_headers_stop_iteration Envoy keeps delivering the body;
      // without it, the tick releases the request after body.timeoutMs, routed on headers alone.
      this.held = true;
      this.deadlineMs = nowMs() + <i64>r.cfg.body.timeoutMs;
      this.rootCtx.held.push(this);
      return HeadersStatus.StopIteration;
    }
    this.decide();
    return HeadersStatus.Continue;
  }

  onRequestBody(bodySize: u32, endOfStream: bool): i32 {
    if (!this.held) return DataStatus.Continue;
    const r = this.r;
    // Never hold more than Envoy's buffer limit, and hold with watermark semantics, so Envoy never answers 413
    // for us; the filter keeps its own copy of the chunks it has seen (intake.ts).
    const cap = scanLimit(r.cfg.body);
    let hold = this.hold;
    if (hold === null) this.hold = hold = new BodyHold();
    // Under Envoy's own buffering the callback sees the whole buffer; under watermark holding only the new chunk.
    const total = hold.mode == HOLD_ENVOY ? <u64>bodySize : hold.seen + <u64>bodySize;
    if (!endOfStream && total < <u64>cap) {
      if (hold.mode == HOLD_NONE) hold.begin(r.holds);
      // gRPC decides on its first complete frame: a ModelStreamInfer client keeps the request open and waits for
      // answers, so the end of the body or the scan limit may never come (scan.ts grpcFrameNeed).
      if (hold.mode == HOLD_ENVOY) {
        if (!this.c.grpc || !this.envoyFrameWhole(bodySize, cap)) return DataStatus.StopIterationAndBuffer;
        return this.settle(r.scratch, readBufferInto(BufferType.HttpRequestBody, 0, bodySize, r.scratch, cap), true, false);
      }
      hold.append(bodySize, cap);
      if (!this.c.grpc || grpcFrameNeed(hold.ptr, <usize>hold.len) > <u64>hold.len) return DataStatus.StopIterationAndWatermark;
      return this.settle(hold.ptr, <i32>hold.len, true, false);
    }
    let ptr = r.scratch;
    let n = 0;
    if (hold.len == 0) n = readBufferInto(BufferType.HttpRequestBody, 0, bodySize < cap ? bodySize : cap, ptr, cap);
    else { hold.append(bodySize, cap); ptr = hold.ptr; n = <i32>hold.len; }
    const whole = endOfStream && <u64>n == total;
    return this.settle(ptr, n, whole, !whole);
  }

  /** Under Envoy's own buffering (all copy buffers busy): true once the whole buffer holds the first gRPC frame. */
  private envoyFrameWhole(bodySize: u32, cap: u32): bool {
    const head = readBufferInto(BufferType.HttpRequestBody, 0, bodySize < 5 ? bodySize : 5, this.r.scratch, cap);
    return head > 0 && grpcFrameNeed(this.r.scratch, <usize>head) <= <u64>bodySize;
  }

  /**
   * Classifies the held body bytes [ptr, ptr+n), decides and releases the hold. `complete`: the scan may treat the
   * bytes as whole (end of body, or a whole first gRPC frame); `atLimit`: the scan limit cut the body.
   */
  private settle(ptr: usize, n: i32, complete: bool, atLimit: bool): i32 {
    const r = this.r;
    const hold = this.hold;
    if (n > 0) classifyBody(ptr, <usize>n, complete, this.c);
    if (atLimit && this.c.needsBody && this.c.model.length == 0) r.stats.count(S.MODEL_AFTER_SCAN_LIMIT);
    this.rootCtx.unhold(this);
    // Prefix affinity hashes the prompt while the body bytes are at hand.
    if (n > 0 && r.affinity.prefixEnabled) r.affinity.hashPrompt(ptr, <usize>n, this.c.model);
    const ok = this.decide();
    r.affinity.count = 0;
    if (hold !== null) hold.release(r.holds);
    return ok ? DataStatus.Continue : DataStatus.StopIterationNoBuffer;
  }

  /**
   * Classification is final: pick and write headers, or reply locally. Returns false when a local reply was
   * sent (the request must not be continued).
   */
  decide(): bool {
    const r = this.r;
    const c = this.c;
    const proto = protocolName(c.protocol);
    const model = c.model;
    const prio = this.priority != i32.MIN_VALUE ? this.priority : r.catalog.priorityOf(model);
    writeClassification(r.keys, proto, model, requestClass(c), prio, c.version, c.label);
    if (model.length == 0) {
      // The model could not be read (no body mode, or not in the first bytes): fail open, Envoy routes as usual.
      r.stats.request(<i32>c.protocol, S.OUTCOME_UNDETERMINED);
      this.trace(REASON_UNDETERMINED, null, proto, model, prio);
      return true;
    }
    const pools = r.catalog.poolsFor(model);
    if (pools.length == 0) {
      r.stats.request(<i32>c.protocol, S.OUTCOME_UNKNOWN_MODEL);
      this.trace(REASON_UNKNOWN_MODEL, null, proto, model, prio);
      if (r.cfg.unknownModelPassthrough) return true;
      this.reply(404, "model_not_found", "model \"" + sanitize(model) + "\" is not served here", 5);
      return false;
    }
    const res = pickResult;
    const now = nowMs();
    const aff = r.affinity;
    const preferred = aff.count > 0 ? aff.lookup(r.catalog.upstreams.length) : -1;
    if (aff.loraEnabled) aff.setLoraModel(model, now);
    const req = pickRequest;
    req.pools = pools;
    req.priority = prio;
    req.nowMs = now;
    req.preferred = preferred;
    req.lora = aff.loraEnabled;
    req.prefixKey = aff.count > 0 ? aff.firstBlock() : 0;
    r.picker.pick(req, res);
    this.trace(res.reason(), res, proto, model, prio);
    if (res.outcome == NO_HEALTHY) {
      r.stats.request(<i32>c.protocol, S.OUTCOME_NO_HEALTHY);
      this.reply(503, "no_healthy_upstream", "no healthy upstream serves model \"" + sanitize(model) + "\"", 14);
      return false;
    }
    if (res.outcome == SHED) {
      r.stats.request(<i32>c.protocol, S.OUTCOME_SHED);
      this.reply(429, "shed", "all upstreams serving \"" + sanitize(model) + "\" are saturated; retry later", 8);
      return false;
    }
    const u = r.catalog.upstreams[res.upstream];
    if (r.cfg.steering == STEER_ENDPOINT) {
      let v = u.name;
      for (let i = 0; i < res.alternates.length; i++) v += "," + r.catalog.upstreams[res.alternates[i]].name;
      writeEndpoints(r.keys, v);
    } else {
      writePool(r.keys, u.name);
    }
    if (r.asksOrca[u.pool]) askLoadReport();
    r.poller.steered();
    if (r.view.addInFlight(u, 1, now)) this.upstream = res.upstream;
    else r.stats.inFlightUpdateLost();
    r.stats.request(<i32>c.protocol, S.OUTCOME_ROUTED);
    r.stats.pick(res.upstream);
    if (res.staleFallback) r.stats.staleFallback();
    if (res.viaFallback) r.stats.fallbackPick();
    if (res.saturated) r.stats.saturatedPick();
    if (res.affinity == AFFINITY_HIT) r.stats.count(S.AFFINITY_HITS);
    else if (res.affinity == AFFINITY_OVERRIDE) r.stats.count(S.AFFINITY_OVERRIDES);
    if (res.loraHit) r.stats.count(S.LORA_AFFINITY_HITS);
    if (aff.count > 0) aff.remember(res.upstream, now);
    return true;
  }

  /**
   * The decision trace (decision.ts): kept for the response header when it is on; the log line at info level
   * with decisionTrace.log, else only when Envoy logs at debug. Off, it costs two comparisons.
   */
  private trace(reason: i32, res: PickResult | null, proto: string, model: string, prio: i32): void {
    const r = this.r;
    const t = r.cfg.decisionTrace;
    const level = t.log ? LogLevel.Info : LogLevel.Debug;
    const logging = logEnabled(level);
    if (!t.header && !logging) return;
    let d: Decision = scratchDecision;
    if (t.header) {
      const kept = this.decision;
      if (kept !== null) d = kept;
      else this.decision = d = new Decision();
    }
    d.set(reason, res);
    if (!logging) return;
    const rid = getHeader(MapType.RequestHeaders, K_REQUEST_ID);
    const b = writeLogLine(traceBuffer, r.cfg.name, d, r.catalog, r.cfg.steering == STEER_ENDPOINT, proto, model, prio, rid);
    logBytes(level, b.ptr, b.len);
  }

  /**
   * With decisionTrace.header on, every response of this filter's streams carries only the filter's own header:
   * an upstream's copy is replaced (or removed when nothing was decided), so an upstream cannot forge it.
   */
  private decisionHeader(): void {
    const key = this.r.traceHeader;
    if (key === null) return;
    const d = this.decision;
    if (d === null) {
      removeHeader(MapType.ResponseHeaders, key);
      return;
    }
    const b = writeHeader(traceBuffer, d, this.r.catalog, this.r.cfg.steering == STEER_ENDPOINT);
    replaceHeaderBytes(MapType.ResponseHeaders, key, b.ptr, b.len);
  }

  // `kind` is the error type and response detail (inference_router_<kind>): `shed` is the outcome label of the
  // requests metric; 404's `model_not_found` is OpenAI's code for it; 503 keeps Envoy's own `no_healthy_upstream`.
  private reply(status: u32, kind: string, message: string, grpcStatus: i32): void {
    const grpc = this.c.grpc;
    const headers: Array<string> = ["content-type", "application/json"];
    if (status == 429) {
      headers.push("retry-after");
      headers.push(this.r.cfg.shedding.retryAfterSeconds.toString());
    }
    const d = this.decision;
    if (d !== null && this.r.traceHeader !== null) {
      const b = writeHeader(traceBuffer, d, this.r.catalog, this.r.cfg.steering == STEER_ENDPOINT);
      headers.push(this.r.cfg.decisionTrace.headerName);
      headers.push(String.UTF8.decodeUnsafe(b.ptr, b.len));
    }
    const body = "{\"error\":{\"message\":\"" + message.replaceAll("\"", "'") + "\",\"type\":\"" + kind + "\",\"code\":" + status.toString() + "}}";
    sendLocalResponse(status, "inference_router_" + kind, grpc ? "" : body, headers, grpc ? grpcStatus : -1);
  }

  onResponseHeaders(headerCount: u32, endOfStream: bool): i32 {
    this.sawResponse = true;
    // Whether or not the host runs this callback for the filter's own local reply, the header written is the same.
    this.decisionHeader();
    if (this.upstream < 0 || this.outcomeRecorded) return HeadersStatus.Continue;
    const h = this.r.responseReads;
    h.read();
    const st = h.get(R_STATUS);
    if (st !== null) this.recordOutcome(!(st.length == 3 && st.charCodeAt(0) == 53)); // 5xx is an upstream error
    // Only a 2xx answer is a completion for learned capacity: a fast error says nothing about throughput (its time
    // in flight still counts as exposure, so a failing upstream looks slow, not fast).
    this.answered2xx = st !== null && st.length == 3 && st.charCodeAt(0) == 50;
    this.readLoadReport(h);
    return HeadersStatus.Continue;
  }

  /**
   * Load reports in the response (ORCA `endpoint-load-metrics`, TEXT or JSON; or the configured plain headers)
   * update the picked upstream's record, merged by freshness. Headers are left in the response. In pool mode a
   * member's queue/running stand for the pool's by scaling with the member count.
   */
  private readLoadReport(h: ResponseReads): void {
    const r = this.r;
    const lr = r.cfg.loadReports;
    let queue = -1.0, kv = -1.0, running = -1.0;
    if (lr.orca) {
      const o = orca;
      o.reset();
      let parsed = false;
      if (rawValueLen >= 0) parsed = parseOrcaValue(RAW_VALUE, rawValueLen, o); // from the pairs, as bytes
      else if (rawValueLen == RAW_ABSENT) {
        const v = h.get(R_ORCA); // the per-header path
        parsed = v !== null && v.length > 0 && v.length <= 4096 && parseOrca(v, o);
      }
      if (parsed && o.present) {
        queue = o.queue;
        kv = o.kvCache;
        running = o.running;
      }
    }
    {
      const v = h.get(R_QUEUE);
      if (v !== null) {
        const x = parseFloat(v);
        if (isFinite(x) && x >= 0) queue = x;
      }
    }
    {
      const v = h.get(R_KV_CACHE);
      if (v !== null) {
        const x = parseFloat(v);
        if (isFinite(x) && x >= 0) kv = x > 1 ? 1 : x;
      }
    }
    if (queue < 0 && kv < 0 && running < 0) return;
    const u = r.catalog.upstreams[this.upstream];
    if (r.cfg.steering != STEER_ENDPOINT) {
      const members = <f64>max(1, r.catalog.pools[u.pool].cfg.endpoints.length);
      if (queue > 0) queue *= members;
      if (running > 0) running *= members;
    }
    if (kv > 1) kv = 1;
    r.view.report(u, queue, kv, running, nowMs());
    r.stats.count(S.ORCA_REPORTS);
  }

  onLog(): void {
    if (this.upstream < 0 || this.outcomeRecorded || this.sawResponse) return;
    // No response headers: find out from Envoy's response flags whether the upstream failed us
    // (a client that went away is not the upstream's fault).
    const b = getProperty(P_RESPONSE_FLAGS); // a u64, little-endian: raw bytes, not text
    if (b === null || b.byteLength < 8) return;
    const flags = load<u64>(changetype<usize>(b));
    if ((flags & UPSTREAM_FAILURE_FLAGS) != 0) this.recordOutcome(false);
  }

  onDone(): void {
    const root = this.rootCtx;
    if (this.held) root.unhold(this);
    const hold = this.hold;
    if (hold !== null) hold.release(this.r.holds);
    if (this.upstream >= 0) {
      const r = this.r;
      const u = r.catalog.upstreams[this.upstream];
      // The end time matters only where capacity is learned (one host call); weighted upstreams skip it.
      if (!r.view.release(u, this.answered2xx, u.learned ? nowMs() : 0)) r.stats.inFlightUpdateLost();
      this.upstream = -1;
    }
    if (--root.openStreams == 0 && root.deleted) root.release();
  }

  private recordOutcome(ok: bool): void {
    this.outcomeRecorded = true;
    const r = this.r;
    const u = r.catalog.upstreams[this.upstream];
    // The usual case — a success on an upstream with no error run to clear — costs no host call (loadview.ts).
    if (ok && r.view.knownClean(u)) return;
    const o = r.cfg.outlier;
    const mayEject = ok ? true : ejectionBudgetLeft(r, u.pool);
    if (r.view.recordOutcome(u, ok, nowMs(), o.consecutiveErrors, <i64>o.baseEjectionMs, <i64>o.maxEjectionMs, mayEject)) {
      r.stats.ejection(this.upstream);
      log(LogLevel.Warn, "inference-router: ejected upstream " + u.name + " after " + o.consecutiveErrors.toString() + " consecutive errors");
    }
  }
}

const inbound = new Inbound();
const pickRequest = new PickRequest();
const pickResult = new PickResult();
const orca = new OrcaReport();
/** The decision of a request traced only in the log (no header to keep it for). */
const scratchDecision = new Decision();

function responseNames(orca: bool, queue: ArrayBuffer | null, kv: ArrayBuffer | null): Array<ArrayBuffer | null> {
  const names = new Array<ArrayBuffer | null>(4);
  names[R_STATUS] = K_STATUS;
  names[R_ORCA] = orca ? K_ORCA : null;
  names[R_QUEUE] = queue;
  names[R_KV_CACHE] = kv;
  return names;
}

/** Per-upstream gauges from the load view, at heartbeat pace; capacity as the picker uses it (pick/capacity.ts). */
function publishGauges(r: Router, now: i64): void {
  const l = gaugeLoad;
  const ups = r.catalog.upstreams;
  r.gauges.beginRound();
  for (let i = 0; i < ups.length; i++) {
    const u = ups[i];
    r.view.read(u, l);
    r.gauges.record(i, l.queue, l.running, l.kvCache, l.inFlight, l.reportedAtMs, now, l.ejectedUntilMs > now, r.picker.capacityOf(i, l, now));
  }
}
const gaugeLoad = new Load();

/** True while ejecting one more member keeps the pool within outlier.maxEjectionPercent. */
function ejectionBudgetLeft(r: Router, pool: i32): bool {
  return r.view.ejectionBudgetLeft(r.catalog.membersOf(pool), r.cfg.outlier.maxEjectionPercent, nowMs());
}

/**
 * The tick period: ticks drive heartbeats, release requests held for a body that does not come (a quarter of
 * body.timeoutMs) and pace polling. The period divides polling.intervalMs when it can (>= 10 ms), so polls
 * really run every intervalMs rather than at the next multiple of the tick.
 */
function tickPeriod(cfg: RouterConfig, polling: bool): u32 {
  let limit = cfg.body.enabled ? max(10, min(<i32>HEARTBEAT_MS, cfg.body.timeoutMs / 4)) : <i32>HEARTBEAT_MS;
  if (!polling) return <u32>limit;
  const interval = cfg.polling.intervalMs;
  if (interval <= limit) return <u32>interval;
  for (let d = limit; d >= 10; d--) if (interval % d == 0) return <u32>d;
  return <u32>limit;
}
