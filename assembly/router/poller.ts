// The poller: reads model servers' Prometheus metrics (and, optionally, their model lists) from the root
// context's tick and writes what it learns into the shared load view.
//
// One poller per proxy. Envoy ticks every worker VM's root context, so N workers would poll N times; instead
// the workers elect one through shared data: `<name>/poller` = holder vmId u32 | pad u32 | expiresAtMs i64.
// On each tick a worker reads the lease; if it is free, expired or its own, it writes {self, now + leaseMs}
// with the CAS it read (so two workers cannot both renew from the same version). Shared data has no
// create-if-absent, so when the record did not exist the writer reads it back and polls only if its id stuck.
// A holder that stops ticking (trapped VM, stuck worker) lets the lease expire and the next worker to tick
// takes over. Only the holder polls; responses come back to the VM that made the call.
//
// Targets. A pool with `metrics` contributes one target per upstream it steers to: in endpoint mode each
// endpoint (a call to the pool's cluster carrying the endpoint steering header, so an override_host cluster
// sends it to that very endpoint; or to `endpointClusters[ip:port]` when one cluster per endpoint exists);
// in pool mode each listed endpoint likewise, aggregated into the pool's record (queue and running summed and
// scaled up for members without a fresh poll, KV use averaged), or the pool's cluster itself when the pool
// lists no endpoints.
//
// Probing. Every `polling.intervalMs` the holder polls every target that has no call outstanding, unless
// there are more than `polling.subsetAbove` targets: then probing follows traffic (Prequal's probes are triggered
// by queries): every worker VM — not only the holder, since each sees only its own requests — earns
// `probesPerRequest` probes per request it steers, and each interval spends what it earned, at most
// `probesPerTick`, on targets each chosen as the older (by last attempt) of two random targets — random so
// sidecars do not synchronise, aged so no target starves. The mesh-wide probe rate per server is then
// probesPerRequest × the requests each server gets, whatever the number of sidecars (a fixed budget per sidecar
// was 40 probes per server per second at 1000 sidecars × 200 servers); a sidecar without traffic does not probe
// (its first requests fail open on local counts). Scores of targets not probed recently age into staleness.
//
// Piggybacked reports first. An upstream whose load record got a report (an ORCA report read from a response,
// or another poll) less than REPORT_FRESH_FRACTION of a poll interval ago is not polled on this tick: a poll
// would only repeat what the record already says. So polls cover the upstreams this proxy sent no traffic to
// recently, and an upstream that answers every request with a report costs no polls at all. Applies to targets
// that are an upstream of their own (endpoint mode, a pool without listed members); the members of a pool polled
// member by member are all polled (a response's report describes one member, the pool's record aggregates all).
// A skipped target counts as attempted at the report's time, so the oldest-first probe pool moves on to others.
// Still, each target is polled at least every max(intervalMs, REPOLL_FRACTION × scoring.staleAfterMs) by this
// poller: a response's report may not carry every signal a poll does (vLLM's has no running count, and signals a
// report does not carry keep their last value in the record), so those stay at most that old.
//
// What is written: queue = waiting requests, running = running requests (both reported separately: the picker
// uses running as a floor under its own in-flight count and queue for saturation), kvCache = KV use 0..1.
// A failed, timed-out, non-200 or unparsable poll writes nothing: the target's last report simply ages.
//
// Health. A server that does not answer at all — connection failure or reset (no response headers) or a
// timeout (504) — POLL_FAILURES_TO_EJECT times in a row is ejected (within the pool's maxEjectionPercent) until a
// poll succeeds again, so a dead server leaves the rotation within two poll intervals even without traffic, and
// comes back on its first good poll. A server that answers with an error status or garbage metrics is up: only
// its signals age.
import { BufferType, LogLevel, MapType, WasmResult } from "../runtime/abi";
import { getHeader, getSharedInto, httpCall, log, logEnabled, readBufferInto, setSharedRaw, sharedCas, utf8 } from "../runtime/host";
import { Catalog, Upstream } from "./catalog";
import { MetricsConfig, RouterConfig, SeriesConfig, STEER_ENDPOINT } from "./config";
import { Load, LoadView } from "./loadview";
import { nextU32, randomBelow } from "./rng";
import * as S from "./stats";
import { LORA_RECORD_CAP, loraKey, writeLora } from "./affinity";
import { MetricsSpec, SeriesSpec, presetSpec, engineFromName, ENGINE_VLLM } from "./signals/presets";
import { parsePrometheus, Signals } from "./signals/prometheus";
import { skipJsonValue, skipString, skipWs } from "./json";

/** Largest metrics / model-list body read (bytes); longer bodies are cut at the last full line. */
export const POLL_BODY_CAP: i32 = 256 * 1024;
const DISCOVERY_CAP: i32 = 8192;
const MAX_DISCOVERED: i32 = 64;
const K_STATUS = utf8(":status");

/** A report younger than this fraction of polling.intervalMs makes a poll of its upstream redundant. */
export const REPORT_FRESH_FRACTION: f64 = 0.5;

/** Fraction of scoring.staleAfterMs after which a target is polled even while responses keep its record fresh. */
export const REPOLL_FRACTION: f64 = 0.5;

/** Consecutive unanswered polls that eject a target's upstream. */
export const POLL_FAILURES_TO_EJECT: i32 = 2;

class Target {
  /** Consecutive polls the server did not answer (connection failure, reset, timeout). */
  unanswered: i32 = 0;
  /** End of the ejection this poller set, 0 when none. */
  ejectedUntilMs: i64 = 0;
  lastAttemptMs: i64 = 0;
  lastOkMs: i64 = 0;
  /** Last successful poll of this target by this poller (lastOkMs also counts reports from responses). */
  polledOkMs: i64 = 0;
  pending: bool = false;
  stale: bool = false;
  queue: f64 = -1;
  running: f64 = -1;
  kvCache: f64 = -1;
  constructor(
    public upstream: i32,
    /** True when several targets feed one upstream (pool mode with listed endpoints). */
    public member: bool,
    public cluster: string,
    public headers: Array<string>,
    public spec: MetricsSpec,
    public timeoutMs: u32,
  ) {}
}

class DiscoveryTarget {
  nextMs: i64 = 0;
  pending: bool = false;
  constructor(public pool: i32, public cluster: string, public headers: Array<string>, public intervalMs: i64, public key: ArrayBuffer) {}
}

/** `:authority` for calls to a cluster: Istio's `outbound|port|subset|fqdn` gives fqdn; otherwise the name. */
export function authorityOf(cluster: string): string {
  const parts = cluster.split("|");
  if (parts.length == 4 && parts[3].length > 0) return parts[3];
  return cluster;
}

function toSpecs(list: Array<SeriesConfig>): Array<SeriesSpec> {
  const out = new Array<SeriesSpec>();
  for (let i = 0; i < list.length; i++) out.push(new SeriesSpec(list[i].name, list[i].labels, list[i].scale));
  return out;
}

function specFor(m: MetricsConfig): MetricsSpec {
  const engine = engineFromName(m.engine);
  const spec = presetSpec(engine, m.modelLabelFilter);
  if (m.engine == "custom") {
    spec.queue = toSpecs(m.queue);
    spec.running = toSpecs(m.running);
    spec.kvCache = toSpecs(m.kvCache);
  }
  return spec;
}

export class Poller {
  targets: Array<Target> = [];
  discovery: Array<DiscoveryTarget> = [];
  /** Pools' discovered model lists, as last read from shared data (every worker keeps them). */
  private discoveryCas: Array<u32> = [];
  private tokens: Map<u32, i32> = new Map();
  private leaseKey: ArrayBuffer;
  private leaseBuf: usize = heap.alloc(16);
  private body: usize = 0;
  private loraScratch: usize = 0;
  private loraKeys: Array<ArrayBuffer> = [];
  private signals: Signals = new Signals();
  private nextPollMs: i64 = 0;
  private leaseMs: i64;
  /** Reports younger than this make a poll redundant (REPORT_FRESH_FRACTION × intervalMs). */
  private freshMs: i64;
  /** A target is polled at least this often even while responses report on it (REPOLL_FRACTION). */
  private repollMs: i64;
  private load: Load = new Load();
  /** Subset probing: probes earned by requests this VM steered, not spent yet (at most probesPerTick). */
  private probeTokens: f64 = 0;
  holding: bool = false;
  /** Whether any target can report LoRA state (a vLLM preset). */
  loraPossible: bool = false;

  constructor(private cfg: RouterConfig, private catalog: Catalog, private view: LoadView, private stats: S.Stats, private vmId: u32) {
    this.leaseKey = utf8(cfg.name + "/poller");
    const pl = cfg.polling;
    this.leaseMs = pl.leaseMs > 0 ? <i64>pl.leaseMs : <i64>max(1000, 3 * pl.intervalMs);
    this.freshMs = <i64>(REPORT_FRESH_FRACTION * <f64>pl.intervalMs);
    this.repollMs = max(<i64>pl.intervalMs, <i64>(REPOLL_FRACTION * <f64>cfg.scoring.staleAfterMs));
    const endpointMode = cfg.steering == STEER_ENDPOINT;
    for (let p = 0; p < catalog.pools.length; p++) {
      const pool = catalog.pools[p];
      const m = pool.cfg.metrics;
      if (m === null) continue;
      const spec = specFor(m);
      if (m.engine == "vllm" || engineFromName(m.engine) == ENGINE_VLLM) this.loraPossible = true;
      const authority = m.authority.length > 0 ? m.authority : authorityOf(m.cluster);
      const eps = pool.cfg.endpoints;
      if (endpointMode || eps.length > 0) {
        for (let e = 0; e < eps.length; e++) {
          const ep = eps[e];
          const upstream = endpointMode ? pool.members[e] : pool.members[0];
          let cluster = m.cluster;
          const h: Array<string> = [":method", "GET", ":path", m.path, ":authority", authority, "accept", "text/plain"];
          let own = false;
          for (let k = 0; k + 1 < m.endpointClusters.length; k += 2) {
            if (m.endpointClusters[k] == ep) {
              cluster = m.endpointClusters[k + 1];
              own = true;
              break;
            }
          }
          if (!own) {
            h.push(cfg.headers.endpoint);
            h.push(ep);
          }
          this.targets.push(new Target(upstream, !endpointMode, cluster, h, spec, <u32>m.timeoutMs));
        }
      } else {
        const h: Array<string> = [":method", "GET", ":path", m.path, ":authority", authority, "accept", "text/plain"];
        this.targets.push(new Target(pool.members[0], false, m.cluster, h, spec, <u32>m.timeoutMs));
      }
      const d = pool.cfg.discovery;
      if (d !== null && d.enabled) {
        // Model lists are per pool: one member's answer (the pool's cluster, any endpoint) is enough.
        const h: Array<string> = [":method", "GET", ":path", d.path, ":authority", authority, "accept", "application/json"];
        this.discovery.push(new DiscoveryTarget(p, m.cluster, h, <i64>d.intervalMs, modelsKey(cfg, catalog, p)));
      }
    }
    for (let i = 0; i < this.discovery.length; i++) this.discoveryCas.push(0);
    if (this.targets.length > 0 || this.discovery.length > 0) this.body = heap.alloc(<usize>POLL_BODY_CAP);
    if (this.loraPossible) {
      this.loraScratch = heap.alloc(<usize>LORA_RECORD_CAP);
      for (let i = 0; i < catalog.upstreams.length; i++) this.loraKeys.push(loraKey(cfg, catalog, catalog.upstreams[i]));
    }
  }

  get active(): bool {
    return this.targets.length > 0 || this.discovery.length > 0;
  }

  /** Frees what the constructor took from the raw heap (on reconfigure). */
  dispose(): void {
    heap.free(this.leaseBuf);
    if (this.body != 0) heap.free(this.body);
    if (this.loraScratch != 0) heap.free(this.loraScratch);
    this.body = 0;
    this.loraScratch = 0;
  }

  // ------------------------------------------------------------------------------------------------ lease

  /** Takes or renews the poller lease; true while this VM holds it. */
  private lease(now: i64): bool {
    const b = this.leaseBuf;
    const n = getSharedInto(this.leaseKey, b, 16);
    const cas = n < 0 ? 0 : sharedCas;
    const holder = n >= 16 ? load<u32>(b) : 0;
    const expires = n >= 16 ? load<i64>(b + 8) : 0;
    if (holder != this.vmId && expires > now) {
      this.holding = false;
      return false;
    }
    store<u32>(b, this.vmId);
    store<u32>(b + 4, 0);
    store<i64>(b + 8, now + this.leaseMs);
    if (setSharedRaw(this.leaseKey, b, 16, cas) != WasmResult.Ok) {
      this.holding = false;
      return false;
    }
    if (n < 0 && (getSharedInto(this.leaseKey, b, 16) < 16 || load<u32>(b) != this.vmId)) {
      this.holding = false;
      return false;
    }
    if (!this.holding) {
      this.holding = true;
      this.stats.count(S.POLLER_LEASE_CHANGES);
      log(LogLevel.Info, "inference-router: this worker VM now polls " + this.targets.length.toString() + " metrics target(s)");
    }
    return true;
  }

  // ------------------------------------------------------------------------------------------------ tick

  /** A request this VM steered: in subset mode it earns probesPerRequest probes (see Probing above). */
  steered(): void {
    const pl = this.cfg.polling;
    if (this.targets.length <= pl.subsetAbove) return;
    const t = this.probeTokens + pl.probesPerRequest;
    this.probeTokens = t < <f64>pl.probesPerTick ? t : <f64>pl.probesPerTick;
  }

  tick(now: i64): void {
    if (!this.active) return;
    this.refreshDiscovered();
    const holding = this.lease(now);
    const ts = this.targets;
    const n = ts.length;
    const subset = n > this.cfg.polling.subsetAbove;
    if (!holding && !subset) return;
    if (now < this.nextPollMs) return;
    this.nextPollMs = now + <i64>this.cfg.polling.intervalMs;
    if (subset) this.probe(now);
    if (!holding) return;
    const staleAfter = <i64>this.cfg.scoring.staleAfterMs;
    for (let i = 0; i < ts.length; i++) {
      const t = ts[i];
      if (!t.stale && t.lastOkMs > 0 && now - t.lastOkMs > staleAfter) {
        t.stale = true;
        this.stats.count(S.STALE_REPORTS);
      }
    }
    if (!subset) {
      for (let i = 0; i < n; i++) if (!ts[i].pending && !this.reportedRecently(ts[i], now)) this.dispatch(i, now);
    }
    this.pollDiscovery(now);
  }

  /** Subset mode, every VM: spends the probes its requests earned (at most probesPerTick) on aged random targets. */
  private probe(now: i64): void {
    const ts = this.targets;
    const n = ts.length;
    const k = min(min(this.cfg.polling.probesPerTick, n), <i32>this.probeTokens);
    let sent = 0;
    for (let j = 0; j < k; j++) {
      // Older of two random targets (by last attempt), skipping ones with a call outstanding.
      let pick = -1;
      for (let tries = 0; tries < 4 && pick < 0; tries++) {
        const a = <i32>randomBelow(<u32>n);
        const b = <i32>randomBelow(<u32>n);
        const ta = ts[a];
        const tb = ts[b];
        if (ta.pending && tb.pending) continue;
        if (ta.pending) pick = b;
        else if (tb.pending) pick = a;
        else pick = ta.lastAttemptMs <= tb.lastAttemptMs ? a : b;
      }
      if (pick >= 0 && !this.reportedRecently(ts[pick], now)) {
        this.dispatch(pick, now);
        sent++;
      }
    }
    this.probeTokens -= <f64>sent;
  }

  private pollDiscovery(now: i64): void {
    for (let i = 0; i < this.discovery.length; i++) {
      const d = this.discovery[i];
      if (d.pending || now < d.nextMs) continue;
      d.nextMs = now + d.intervalMs;
      const tok = httpCall(d.cluster, d.headers, null, 5000);
      this.stats.count(S.DISCOVERY_POLLS);
      if (tok == 0) {
        this.stats.count(S.DISCOVERY_FAILURES);
        continue;
      }
      d.pending = true;
      this.tokens.set(tok, -1 - i);
    }
  }

  /** The target's upstream got a report (response or poll) within freshMs: skip its poll, and count the report
   *  as the target's last attempt (the probe pool then prefers targets with older news). */
  private reportedRecently(t: Target, now: i64): bool {
    if (t.member || now - t.polledOkMs >= this.repollMs) return false;
    const l = this.load;
    this.view.read(this.catalog.upstreams[t.upstream], l);
    const at = l.reportedAtMs;
    if (!l.present || at <= 0 || now - at >= this.freshMs) return false;
    if (at > t.lastAttemptMs) t.lastAttemptMs = at;
    if (at > t.lastOkMs) t.lastOkMs = at;
    t.stale = false;
    return true;
  }

  private dispatch(i: i32, now: i64): void {
    const t = this.targets[i];
    t.lastAttemptMs = now;
    this.stats.count(S.POLLS);
    const tok = httpCall(t.cluster, t.headers, null, t.timeoutMs);
    if (tok == 0) {
      // Envoy refused the call (unknown cluster, bad headers): the target's signals age.
      this.stats.count(S.POLL_FAILURES);
      return;
    }
    t.pending = true;
    this.tokens.set(tok, i);
  }

  // ------------------------------------------------------------------------------------------------ responses

  /** proxy_on_http_call_response: true when the token was ours. */
  onResponse(token: u32, headerCount: u32, bodySize: u32, now: i64): bool {
    if (!this.tokens.has(token)) return false;
    const idx = this.tokens.get(token);
    this.tokens.delete(token);
    if (idx < 0) {
      this.onDiscovery(-1 - idx, headerCount, bodySize);
      return true;
    }
    if (idx >= this.targets.length) return true;
    const t = this.targets[idx];
    t.pending = false;
    const n = this.readBody(headerCount, bodySize, POLL_BODY_CAP);
    if (this.lastUnanswered) this.unanswered(t, now);
    else this.answered(t);
    if (n < 0) {
      this.stats.count(S.POLL_FAILURES);
      return true;
    }
    const sg = this.signals;
    const ok = parsePrometheus(this.body, <usize>n, t.spec, sg);
    if (sg.parseErrors > 0) this.stats.count(S.PARSE_ERRORS, <i64>sg.parseErrors);
    if (!ok || (sg.queue < 0 && sg.running < 0 && sg.kvCache < 0)) {
      if (ok) this.stats.count(S.PARSE_ERRORS);
      return true;
    }
    t.lastOkMs = now;
    t.polledOkMs = now;
    t.stale = false;
    t.queue = sg.queue;
    t.running = sg.running;
    t.kvCache = sg.kvCache > 1 ? 1 : sg.kvCache;
    const u = this.catalog.upstreams[t.upstream];
    if (t.member) this.reportPool(u, now);
    else this.view.report(u, t.queue, t.kvCache, t.running, now);
    if (this.loraScratch != 0 && sg.loraAt >= 0 && t.upstream < this.loraKeys.length) {
      writeLora(this.loraKeys[t.upstream], this.loraScratch, now, sg.loraRunning);
    }
    if (logEnabled(LogLevel.Debug)) {
      log(LogLevel.Debug, "inference-router: polled " + u.name + " queue=" + sg.queue.toString() + " running=" +
        sg.running.toString() + " kv_cache=" + sg.kvCache.toString());
    }
    return true;
  }

  /** The server did not answer the target's poll: eject its upstream once it has missed enough in a row. */
  private unanswered(t: Target, now: i64): void {
    t.unanswered++;
    if (t.unanswered < POLL_FAILURES_TO_EJECT) return;
    // A pool polled member by member is down only when none of its members answers.
    if (t.member && !this.allMembersDown(t.upstream)) return;
    const h = this.ejectionHolder(t);
    const u = this.catalog.upstreams[t.upstream];
    // Held until a poll succeeds; the end is renewed on every miss so it never lapses while the server is down.
    const until = now + max(<i64>this.cfg.outlier.baseEjectionMs, 3 * <i64>this.cfg.polling.intervalMs);
    if (h.ejectedUntilMs == 0) {
      if (!this.view.ejectionBudgetLeft(this.catalog.membersOf(u.pool), this.cfg.outlier.maxEjectionPercent, now)) return;
      this.stats.ejection(t.upstream);
      log(LogLevel.Warn, "inference-router: ejected upstream " + u.name + " after " + t.unanswered.toString() + " unanswered metrics polls");
    }
    const stored = this.view.ejectUntil(u, until);
    h.ejectedUntilMs = stored == until ? until : 0;
  }

  /** The server answered: it is up. Lift the ejection this poller set, if it is still the one in force. */
  private answered(t: Target): void {
    t.unanswered = 0;
    const h = this.ejectionHolder(t);
    if (h.ejectedUntilMs == 0) return;
    const u = this.catalog.upstreams[t.upstream];
    this.view.liftEjection(u, h.ejectedUntilMs);
    h.ejectedUntilMs = 0;
    log(LogLevel.Info, "inference-router: upstream " + u.name + " answers its metrics polls again");
  }

  private allMembersDown(upstream: i32): bool {
    for (let i = 0; i < this.targets.length; i++) {
      const o = this.targets[i];
      if (o.upstream == upstream && o.unanswered < POLL_FAILURES_TO_EJECT) return false;
    }
    return true;
  }

  /** Where the ejection of a target's upstream is tracked: the target itself, or a pool's first member target. */
  private ejectionHolder(t: Target): Target {
    if (!t.member) return t;
    for (let i = 0; i < this.targets.length; i++) if (this.targets[i].upstream == t.upstream) return this.targets[i];
    return t;
  }

  /** Set by readBody: the call got no answer from the server (reset, connection failure, timeout). */
  private lastUnanswered: bool = false;

  /** Status 200 and a readable body: its length in `this.body` (cut at the last newline when over cap); -1 otherwise. */
  private readBody(headerCount: u32, bodySize: u32, cap: i32): i32 {
    this.lastUnanswered = headerCount == 0;
    if (headerCount == 0) return -1; // reset / connection failure
    const st = getHeader(MapType.HttpCallResponseHeaders, K_STATUS);
    // Envoy answers a callout that timed out with a 504 of its own: the server did not answer.
    this.lastUnanswered = st === null || st == "504";
    if (st === null || st != "200") return -1;
    if (bodySize == 0) return 0;
    let n = readBufferInto(BufferType.HttpCallResponseBody, 0, bodySize < <u32>cap ? bodySize : <u32>cap, this.body, <u32>cap);
    if (n < 0) return -1;
    if (<u32>n < bodySize) {
      while (n > 0 && load<u8>(this.body + <usize>(n - 1)) != 0x0a) n--;
    }
    return n;
  }

  /** Pool mode with listed members: the pool's report aggregates its members' fresh polls. */
  private reportPool(u: Upstream, now: i64): void {
    const staleAfter = <i64>this.cfg.scoring.staleAfterMs;
    let members = 0;
    let fresh = 0;
    let q = 0.0, qn = 0, r = 0.0, rn = 0, kv = 0.0, kn = 0;
    for (let i = 0; i < this.targets.length; i++) {
      const t = this.targets[i];
      if (t.upstream != u.index) continue;
      members++;
      if (t.lastOkMs == 0 || now - t.lastOkMs > staleAfter) continue;
      fresh++;
      if (t.queue >= 0) { q += t.queue; qn++; }
      if (t.running >= 0) { r += t.running; rn++; }
      if (t.kvCache >= 0) { kv += t.kvCache; kn++; }
    }
    if (fresh == 0) return;
    const queue = qn > 0 ? q * <f64>members / <f64>qn : -1;
    const running = rn > 0 ? r * <f64>members / <f64>rn : -1;
    const kvc = kn > 0 ? kv / <f64>kn : -1;
    this.view.report(u, queue, kvc, running, now);
  }

  // ------------------------------------------------------------------------------------------------ discovery

  private onDiscovery(i: i32, headerCount: u32, bodySize: u32): void {
    if (i >= this.discovery.length) return;
    const d = this.discovery[i];
    d.pending = false;
    const n = this.readBody(headerCount, bodySize, POLL_BODY_CAP);
    if (n <= 0) {
      this.stats.count(S.DISCOVERY_FAILURES);
      return;
    }
    const names = parseModelList(this.body, <usize>n);
    if (names === null) {
      this.stats.count(S.DISCOVERY_FAILURES);
      return;
    }
    const text = String.UTF8.encode(names.join("\n"), false);
    const len = min(text.byteLength, DISCOVERY_CAP);
    setSharedRaw(d.key, changetype<usize>(text), <u32>len, 0);
  }

  /** Every worker: re-reads the pools' discovered model lists when they changed. */
  private refreshDiscovered(): void {
    if (this.discovery.length == 0) return;
    let changed = false;
    for (let i = 0; i < this.discovery.length; i++) {
      const n = getSharedInto(this.discovery[i].key, this.body, <u32>DISCOVERY_CAP);
      if (n < 0 || sharedCas == this.discoveryCas[i]) continue;
      this.discoveryCas[i] = sharedCas;
      const len = min(n, DISCOVERY_CAP);
      const s = String.UTF8.decodeUnsafe(this.body, <usize>len, false);
      this.catalog.setDiscovered(this.discovery[i].pool, s.length > 0 ? s.split("\n") : new Array<string>());
      changed = true;
    }
    if (changed) this.catalog.rebuildDiscovered();
  }
}

export function modelsKey(cfg: RouterConfig, catalog: Catalog, pool: i32): ArrayBuffer {
  return utf8(cfg.name + "/models/" + catalog.pools[pool].cfg.name);
}

// ------------------------------------------------------------------------------------------------ model lists

/**
 * Model names from an OpenAI `/v1/models` body ({"data":[{"id":...}]}) or a KServe v2 `/v2/repository/index`
 * body ([{"name":..., "state":...}], READY or stateless entries only). Only objects that are direct elements of
 * that list count (vLLM's nested `permission` objects also have ids). At most MAX_DISCOVERED names of valid
 * model-name characters; null when the body is neither shape.
 */
export function parseModelList(ptr: usize, len: usize): Array<string> | null {
  const end = ptr + len;
  let p = skipWs(ptr, end);
  if (p >= end) return null;
  let listAt: usize = 0;
  if (load<u8>(p) == 0x5b) listAt = p;
  else if (load<u8>(p) == 0x7b) {
    // Find top-level "data".
    p = skipWs(p + 1, end);
    while (p < end && load<u8>(p) == 0x22) {
      const k = p;
      p = skipWs(skipString(p, end), end);
      if (p >= end || load<u8>(p) != 0x3a) return null;
      p = skipWs(p + 1, end);
      if (isKey(k, end, "data")) {
        if (p < end && load<u8>(p) == 0x5b) listAt = p;
        break;
      }
      p = skipWs(skipJsonValue(p, end), end);
      if (p >= end || load<u8>(p) != 0x2c) break;
      p = skipWs(p + 1, end);
    }
  }
  if (listAt == 0) return null;
  const out = new Array<string>();
  p = skipWs(listAt + 1, end);
  while (p < end && load<u8>(p) != 0x5d && out.length < MAX_DISCOVERED) {
    if (load<u8>(p) == 0x7b) {
      let name = "";
      let ready = true;
      let q = skipWs(p + 1, end);
      while (q < end && load<u8>(q) == 0x22) {
        const k = q;
        q = skipWs(skipString(q, end), end);
        if (q >= end || load<u8>(q) != 0x3a) break;
        q = skipWs(q + 1, end);
        const v = q;
        q = skipJsonValue(q, end);
        if (load<u8>(v) == 0x22 && (isKey(k, end, "id") || isKey(k, end, "name"))) {
          if (name.length == 0 || isKey(k, end, "id")) name = plainString(v, q);
        } else if (load<u8>(v) == 0x22 && isKey(k, end, "state")) {
          ready = plainString(v, q) == "READY";
        }
        q = skipWs(q, end);
        if (q >= end || load<u8>(q) != 0x2c) break;
        q = skipWs(q + 1, end);
      }
      if (ready && name.length > 0 && !out.includes(name)) out.push(name);
    }
    p = skipWs(skipJsonValue(p, end), end);
    if (p >= end || load<u8>(p) != 0x2c) break;
    p = skipWs(p + 1, end);
  }
  return out;
}


function isKey(p: usize, end: usize, s: string): bool {
  const n = <usize>s.length;
  if (p + n + 2 > end) return false;
  for (let i: usize = 0; i < n; i++) if (<u32>load<u8>(p + 1 + i) != <u32>s.charCodeAt(<i32>i)) return false;
  return load<u8>(p + 1 + n) == 0x22;
}

/** The string [v, q) (quotes included) when it is 1-128 visible ASCII characters without escapes, else "". */
function plainString(v: usize, q: usize): string {
  if (q < v + 2) return "";
  const n = q - v - 2;
  if (n < 1 || n > 128) return "";
  for (let i: usize = 0; i < n; i++) {
    const c = load<u8>(v + 1 + i);
    if (c < 0x21 || c > 0x7e || c == 0x5c || c == 0x22) return "";
  }
  return String.UTF8.decodeUnsafe(v + 1, n, false);
}
