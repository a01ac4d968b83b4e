// The load view: what this proxy knows about each upstream's load, shared by all of its worker VMs through
// Envoy shared data (one process-wide table per vm_id; keys prefixed with the plugin name).
//
// Each upstream has one record (layout and codec: load-record.ts, generated from src/shared/load-record.ts),
// updated with compare-and-swap. In-flight counts are kept per worker VM: a VM that traps takes its streams'
// on_done with it, so its slots must not be trusted forever. Every VM heartbeats in a registry record on each
// tick (the VM registry, same codec); a VM silent for longer than deadAfterMs is marked dead there, readers skip
// its slots and writers drop them.
import { getSharedInto, setSharedRaw, sharedCas } from "../runtime/host";
import { WasmResult } from "../runtime/abi";
import { Upstream } from "./catalog";
import { advanceCapacity } from "./pick/capacity";
import { LOAD_HEADER_BYTES as HEADER_BYTES, LOAD_MAX_SLOTS as MAX_SLOTS, LOAD_RECORD_CAP as RECORD_CAP, LOAD_SLOT_BYTES, LoadRecord as R, LoadSlot } from "./load-record";
import { VM_ENTRY_BYTES, VM_REGISTRY_CAP as REGISTRY_CAP, VM_REGISTRY_HEADER_BYTES, VM_REGISTRY_MAX_ENTRIES as MAX_VMS, VmEntry, VmRegistry } from "./load-record";
const CAS_TRIES: i32 = 8;

/** A decoded load record (one reused instance per caller: no allocation per read). */
export class Load {
  present: bool = false;
  inFlight: i32 = 0;
  ejectedUntilMs: i64 = 0;
  consecutiveErrors: i32 = 0;
  ejections: i32 = 0;
  queue: f64 = 0;
  kvCache: f64 = 0;
  reportedAtMs: i64 = 0;
  sentSinceReport: i32 = 0;
  /** Server-reported running requests; -1 when never reported. */
  running: f64 = -1;
  /** Learned capacity (pick/capacity.ts): forgotten sums of 2xx completions and of in-flight × ms, and their time. */
  capacityCompletions: f64 = 0;
  capacityExposureMs: f64 = 0;
  capacityAtMs: i64 = 0;
}

/**
 * Records read most recently, with their CAS versions: an update of one of them right after (the in-flight slot
 * taken for the upstream just picked) starts from the copy instead of reading again. A copy whose version is no
 * longer current costs nothing wrong — the write is refused (CasMismatch) and the update reads afresh — since the
 * host stores a value only when the version passed is still the key's (proxy-wasm/proxy-wasm-cpp-host
 * src/shared_data.cc@52a02917b301c679ff43565064cffd2c3c750f6d SharedData::set: cas != 0 and != current ⇒
 * CasMismatch; every store takes a new version). Our own writes drop the copy (set_shared_data does not return
 * the new version).
 */
const RECENT: i32 = 16;
// One cache per worker VM (every router's views share it; entries are tagged with their view): nothing allocated
// per configuration.
const recentBuf: usize = memory.data(RECENT * RECORD_CAP, 8);
const recentView = new StaticArray<u32>(RECENT);
const recentIdx = new StaticArray<i32>(RECENT);
const recentCas = new StaticArray<u32>(RECENT);
const recentLen = new StaticArray<i32>(RECENT);
let recentNext: i32 = 0;
let recalledCas: u32 = 0;
let viewIds: u32 = 0;

export class LoadView {
  private buf: usize = heap.alloc(<usize>RECORD_CAP);
  /** Tags this view's entries in the recent-records cache. */
  private id: u32 = ++viewIds;
  /**
   * Per upstream index: whether the record, when this VM last saw it, had an error run or an ejection backoff to
   * clear. A success on an upstream seen clean writes nothing (and reads nothing): see knownClean.
   */
  private dirty: Array<bool> = [];
  private scratchLoad: Load = new Load();
  private reg: usize = heap.alloc(<usize>REGISTRY_CAP);
  private dead: StaticArray<u32> = new StaticArray<u32>(MAX_VMS);
  private deadCount: i32 = 0;
  private registryKey: ArrayBuffer;
  /** Live in-flight count of the record compactAndAdd last rewrote, before its delta. */
  private liveBefore: i32 = 0;
  /** capacity.halfLifeMs (set by the owner after configure). */
  capacityHalfLifeMs: i32 = 10_000;

  constructor(prefix: string, public vmId: u32, private deadAfterMs: i64) {
    this.registryKey = String.UTF8.encode(prefix + "/vms", false);
  }

  /** Keeps a copy of the record just read into `buf` (`n` bytes, version `cas`) for an update that may follow. */
  private remember(u: Upstream, n: i32, cas: u32): void {
    this.see(u);
    let k = this.find(u);
    // A free entry first (given back by forget), else round robin: a pick of up to RECENT candidates keeps them all.
    for (let i = 0; i < RECENT && k < 0; i++) if (unchecked(recentView[i]) == 0) k = i;
    if (k < 0) {
      k = recentNext;
      recentNext = (k + 1) % RECENT;
    }
    unchecked(recentView[k] = this.id);
    unchecked(recentIdx[k] = u.index);
    unchecked(recentCas[k] = cas);
    unchecked(recentLen[k] = n);
    memory.copy(recentBuf + <usize>(k * RECORD_CAP), this.buf, <usize>min(n, RECORD_CAP));
  }

  /** Puts the remembered copy of `u`'s record into `buf` and returns its length (its version in `recalledCas`), or -1. */
  private recall(u: Upstream): i32 {
    const k = this.find(u);
    if (k < 0) return -1;
    const n = unchecked(recentLen[k]);
    recalledCas = unchecked(recentCas[k]);
    memory.copy(this.buf, recentBuf + <usize>(k * RECORD_CAP), <usize>min(n, RECORD_CAP));
    return n;
  }

  private find(u: Upstream): i32 {
    for (let i = 0; i < RECENT; i++) if (unchecked(recentIdx[i]) == u.index && unchecked(recentView[i]) == this.id) return i;
    return -1;
  }

  /** Drops the copy of `u`'s record (we wrote it, or tried: its version is gone either way). */
  private forget(u: Upstream): void {
    const k = this.find(u);
    if (k >= 0) unchecked(recentView[k] = 0);
  }

  /** Notes whether the record in `buf` has an error run or backoff a success would clear. */
  private see(u: Upstream): void {
    const i = u.index;
    if (i < 0) return;
    while (this.dirty.length <= i) this.dirty.push(true);
    unchecked(this.dirty[i] = R.consecutiveErrors(this.buf) != 0 || R.ejections(this.buf) != 0);
  }

  /**
   * True when this VM last saw `u`'s record with no error run and no ejection backoff: a success has nothing to
   * clear, so recording it needs no shared-data operation. The record is read on every pick that considers `u`
   * (this request's pick included), so "last saw" is at most one request of this worker old; an error run another
   * worker started since is left for a later success to clear (or, at the threshold, ejects as it would have).
   */
  knownClean(u: Upstream): bool {
    const i = u.index;
    return i >= 0 && i < this.dirty.length && !unchecked(this.dirty[i]);
  }

  /** Frees the raw-heap buffers (the root context that owned this view is being deleted). */
  dispose(): void {
    heap.free(this.buf);
    heap.free(this.reg);
    this.buf = 0;
    this.reg = 0;
  }

  /** Creates the record of an upstream if it does not exist yet (never resets a live one). */
  ensure(u: Upstream): void {
    if (getSharedInto(u.key, this.buf, <u32>RECORD_CAP) >= 0) return;
    memory.fill(this.buf, 0, <usize>HEADER_BYTES);
    R.setRunning(this.buf, -1);
    setSharedRaw(u.key, this.buf, <u32>HEADER_BYTES, 0);
  }

  /** Reads an upstream's record into `out`; in-flight summed over live VMs. */
  read(u: Upstream, out: Load): void {
    const n = getSharedInto(u.key, this.buf, <u32>RECORD_CAP);
    if (n < HEADER_BYTES) {
      out.present = false;
      out.inFlight = 0;
      out.ejectedUntilMs = 0;
      out.consecutiveErrors = 0;
      out.ejections = 0;
      out.queue = 0;
      out.kvCache = 0;
      out.reportedAtMs = 0;
      out.sentSinceReport = 0;
      out.running = -1;
      out.capacityCompletions = 0;
      out.capacityExposureMs = 0;
      out.capacityAtMs = 0;
      return;
    }
    this.remember(u, n, sharedCas);
    const b = this.buf;
    out.present = true;
    out.ejectedUntilMs = R.ejectedUntilMs(b);
    out.consecutiveErrors = R.consecutiveErrors(b);
    out.ejections = R.ejections(b);
    out.queue = <f64>R.queue(b);
    out.kvCache = <f64>R.kvCache(b);
    out.reportedAtMs = R.reportedAtMs(b);
    out.sentSinceReport = R.sentSinceReport(b);
    out.running = <f64>R.running(b);
    out.capacityCompletions = <f64>R.capacityCompletions(b);
    out.capacityExposureMs = <f64>R.capacityExposureMs(b);
    out.capacityAtMs = R.capacityAtMs(b);
    out.inFlight = this.sumSlots(n);
  }

  private sumSlots(n: i32): i32 {
    const b = this.buf;
    let slots = R.slotCount(b);
    const fit = (n - HEADER_BYTES) / LOAD_SLOT_BYTES;
    if (slots > fit) slots = fit;
    if (slots > MAX_SLOTS) slots = MAX_SLOTS;
    let sum = 0;
    for (let i = 0; i < slots; i++) {
      const p = R.slot(b, i);
      if (this.isAlive(LoadSlot.vmId(p))) {
        const c = LoadSlot.inFlight(p);
        if (c > 0) sum += c;
      }
    }
    return sum;
  }

  private isAlive(id: u32): bool {
    if (id == this.vmId) return true;
    for (let i = 0; i < this.deadCount; i++) if (unchecked(this.dead[i]) == id) return false;
    return true;
  }

  /**
   * Adds `delta` to this VM's in-flight slot of `u` (and counts a send since the last report when positive); with
   * `nowMs`, brings the learned-capacity sums up to date on the way (pick/capacity.ts).
   * Returns false when the record could not be updated (absent, or CAS lost every try): callers treat the
   * count as best effort, never as a reason to fail the request.
   */
  addInFlight(u: Upstream, delta: i32, nowMs: i64 = 0, completed: bool = false): bool {
    for (let t = 0; t < CAS_TRIES; t++) {
      // First try from the copy read moments ago (the pick's), if any: one write instead of a read and a write.
      let n = t == 0 ? this.recall(u) : -1;
      let cas = recalledCas;
      if (n < HEADER_BYTES) {
        n = getSharedInto(u.key, this.buf, <u32>RECORD_CAP);
        if (n < HEADER_BYTES) return false;
        cas = sharedCas;
        this.see(u);
      }
      this.forget(u);
      const len = this.compactAndAdd(n, delta);
      // Learned capacity: the exposure since the last change is the in-flight count before this one.
      if (u.learned && nowMs > 0) advanceCapacity(this.buf, this.liveBefore, nowMs, completed, this.capacityHalfLifeMs);
      if (delta > 0) R.setSentSinceReport(this.buf, R.sentSinceReport(this.buf) + delta);
      const r = setSharedRaw(u.key, this.buf, <u32>len, cas);
      if (r == WasmResult.Ok) return true;
      if (r != WasmResult.CasMismatch) return false;
    }
    return false;
  }

  /**
   * A request on `u` is over: releases this VM's in-flight slot and, where capacity is learned, brings its sums up
   * to date, counting a completion when `completed` (a 2xx answer) — one compare-and-swap write for both.
   * It reads the record first unless a later pick left a copy: the take's own write cannot be reused, because a
   * store answers only Ok or CasMismatch and gives the value a version from one counter shared by every key and
   * thread (proxy-wasm/proxy-wasm-cpp-host src/shared_data.cc@52a02917b301c679ff43565064cffd2c3c750f6d
   * SharedData::set, nextCas in src/shared_data.h), so the version after our write is unknown until a get.
   */
  release(u: Upstream, completed: bool, nowMs: i64): bool {
    return this.addInFlight(u, -1, nowMs, completed);
  }

  /** Drops dead VMs' slots, applies delta to ours; returns the new record length. */
  private compactAndAdd(n: i32, delta: i32): i32 {
    const b = this.buf;
    let slots = R.slotCount(b);
    const fit = (n - HEADER_BYTES) / LOAD_SLOT_BYTES;
    if (slots > fit) slots = fit;
    if (slots > MAX_SLOTS) slots = MAX_SLOTS;
    if (slots < 0) slots = 0;
    let w = 0;
    let found = false;
    let live = 0;
    for (let i = 0; i < slots; i++) {
      const p = R.slot(b, i);
      const id = LoadSlot.vmId(p);
      let c = LoadSlot.inFlight(p);
      if (c > 0 && this.isAlive(id)) live += c;
      if (id == this.vmId) {
        c += delta;
        found = true;
      } else if (!this.isAlive(id)) {
        continue;
      }
      if (c <= 0 && id != this.vmId) continue;
      if (c < 0) c = 0;
      const q = R.slot(b, w);
      LoadSlot.setVmId(q, id);
      LoadSlot.setInFlight(q, c);
      w++;
    }
    if (!found && w < MAX_SLOTS) {
      const q = R.slot(b, w);
      LoadSlot.setVmId(q, this.vmId);
      LoadSlot.setInFlight(q, delta > 0 ? delta : 0);
      w++;
    }
    R.setSlotCount(b, w);
    this.liveBefore = live;
    return HEADER_BYTES + w * LOAD_SLOT_BYTES;
  }

  /**
   * Records the outcome of a request on `u`. An error extends consecutiveErrors and, at the threshold, ejects
   * the upstream for base × 2^ejections (capped) — unless `mayEject` is false (the pool's ejection budget is
   * spent). A success clears the error run and the backoff. Returns true when this call ejected it.
   */
  recordOutcome(u: Upstream, ok: bool, nowMs: i64, threshold: i32, baseMs: i64, maxMs: i64, mayEject: bool): bool {
    for (let t = 0; t < CAS_TRIES; t++) {
      const n = getSharedInto(u.key, this.buf, <u32>RECORD_CAP);
      if (n < HEADER_BYTES) return false;
      const cas = sharedCas;
      const b = this.buf;
      this.see(u);
      let ejected = false;
      if (ok) {
        if (R.consecutiveErrors(b) == 0 && R.ejections(b) == 0) return false;
        R.setConsecutiveErrors(b, 0);
        if (R.ejectedUntilMs(b) <= nowMs) R.setEjections(b, 0);
      } else {
        const errs = R.consecutiveErrors(b) + 1;
        R.setConsecutiveErrors(b, errs);
        if (errs >= threshold && R.ejectedUntilMs(b) <= nowMs && mayEject) {
          const k = min(R.ejections(b), 20);
          let d = baseMs << k;
          if (d > maxMs || d <= 0) d = maxMs;
          R.setEjectedUntilMs(b, nowMs + d);
          R.setEjections(b, k + 1);
          R.setConsecutiveErrors(b, 0);
          ejected = true;
        }
      }
      this.forget(u);
      const r = setSharedRaw(u.key, b, <u32>n, cas);
      if (r == WasmResult.Ok) this.see(u);
      if (r == WasmResult.Ok) return ejected;
      if (r != WasmResult.CasMismatch) return false;
    }
    return false;
  }

  /**
   * Ejects `u` until `untilMs` (or keeps a later ejection already there). Used by the poller when a server stops
   * answering its metrics polls. Returns the ejection end actually stored, 0 when the record could not be updated.
   */
  ejectUntil(u: Upstream, untilMs: i64): i64 {
    for (let t = 0; t < CAS_TRIES; t++) {
      const n = getSharedInto(u.key, this.buf, <u32>RECORD_CAP);
      if (n < HEADER_BYTES) return 0;
      const cas = sharedCas;
      const cur = R.ejectedUntilMs(this.buf);
      if (cur >= untilMs) return cur;
      R.setEjectedUntilMs(this.buf, untilMs);
      this.forget(u);
      const r = setSharedRaw(u.key, this.buf, <u32>n, cas);
      if (r == WasmResult.Ok) return untilMs;
      if (r != WasmResult.CasMismatch) return 0;
    }
    return 0;
  }

  /** Lifts an ejection, but only the one ending at `untilMs` (a later passive ejection stays). */
  liftEjection(u: Upstream, untilMs: i64): void {
    for (let t = 0; t < CAS_TRIES; t++) {
      const n = getSharedInto(u.key, this.buf, <u32>RECORD_CAP);
      if (n < HEADER_BYTES || R.ejectedUntilMs(this.buf) != untilMs) return;
      const cas = sharedCas;
      R.setEjectedUntilMs(this.buf, 0);
      this.forget(u);
      const r = setSharedRaw(u.key, this.buf, <u32>n, cas);
      if (r != WasmResult.CasMismatch) return;
    }
  }

  /**
   * True while ejecting one more member of `members` keeps them within `percent` ejected. Like Envoy's outlier
   * detection, one member may always be ejected (unless the percentage is 0), so one-member pools can eject.
   */
  ejectionBudgetLeft(members: Array<Upstream>, percent: i32, nowMs: i64): bool {
    if (percent <= 0) return false;
    const limit = max(1, <i32>Math.floor(<f64>members.length * <f64>percent / 100));
    let ejected = 0;
    const l = this.scratchLoad;
    for (let i = 0; i < members.length; i++) {
      this.read(members[i], l);
      if (l.ejectedUntilMs > nowMs) ejected++;
    }
    return ejected + 1 <= limit;
  }

  /**
   * Stores a server-reported load (queue depth, KV-cache use, running requests) with its time and resets the
   * sends since the last report. A negative queue or KV use keeps the stored one (a source that reports only some
   * signals). A report without a running count (vLLM's ORCA report carries only waiting requests and KV use) leaves
   * it unknown: kept, a poll's count would ride on every later report's time and read as fresh for as long as reports
   * keep coming (polls skip reported upstreams), while the servers' batches have long changed.
   * A report older than the stored one is ignored: sources merge by freshness.
   */
  report(u: Upstream, queue: f64, kvCache: f64, running: f64, atMs: i64): bool {
    for (let t = 0; t < CAS_TRIES; t++) {
      const n = getSharedInto(u.key, this.buf, <u32>RECORD_CAP);
      if (n < HEADER_BYTES) return false;
      const cas = sharedCas;
      const b = this.buf;
      if (R.reportedAtMs(b) > atMs) return true; // a fresher report already landed
      if (queue >= 0) R.setQueue(b, <f32>queue);
      if (kvCache >= 0) R.setKvCache(b, <f32>kvCache);
      // A running count the report does not carry is unknown from now on, not as fresh as the report.
      R.setRunning(b, running >= 0 ? <f32>running : -1);
      R.setReportedAtMs(b, atMs);
      R.setSentSinceReport(b, 0);
      this.forget(u);
      const r = setSharedRaw(u.key, b, <u32>n, cas);
      if (r == WasmResult.Ok) return true;
      if (r != WasmResult.CasMismatch) return false;
    }
    return false;
  }

  /**
   * Tick: refresh this VM's heartbeat, mark VMs silent for deadAfterMs as dead, and cache the dead set. Dead
   * entries stay as tombstones (until the table is full) so their slots are never mistaken for a new VM's:
   * an id absent from the registry is presumed alive (it may have started after our last look).
   */
  heartbeat(nowMs: i64): void {
    for (let t = 0; t < CAS_TRIES; t++) {
      const n = getSharedInto(this.registryKey, this.reg, <u32>REGISTRY_CAP);
      const cas = n < 0 ? 0 : sharedCas;
      const r = this.reg;
      let count = n >= VM_REGISTRY_HEADER_BYTES ? VmRegistry.count(r) : 0;
      const fit = n >= VM_REGISTRY_HEADER_BYTES ? (n - VM_REGISTRY_HEADER_BYTES) / VM_ENTRY_BYTES : 0;
      if (count > fit) count = fit;
      if (count > MAX_VMS) count = MAX_VMS;
      if (count < 0) count = 0;
      let mine = -1;
      for (let i = 0; i < count; i++) {
        const p = VmRegistry.entry(r, i);
        if (VmEntry.vmId(p) == this.vmId) { mine = i; continue; }
        if (VmEntry.dead(p) == 0 && nowMs - VmEntry.lastSeenMs(p) > this.deadAfterMs) VmEntry.setDead(p, 1);
      }
      if (mine < 0) {
        if (count < MAX_VMS) {
          mine = count++;
        } else {
          // Full: reuse the oldest tombstone (or, failing that, the oldest entry).
          let oldest = 0;
          for (let i = 1; i < count; i++) {
            const pi = VmRegistry.entry(r, i);
            const po = VmRegistry.entry(r, oldest);
            const di = VmEntry.dead(pi);
            const dO = VmEntry.dead(po);
            if (di > dO || (di == dO && VmEntry.lastSeenMs(pi) < VmEntry.lastSeenMs(po))) oldest = i;
          }
          mine = oldest;
        }
      }
      const q = VmRegistry.entry(r, mine);
      VmEntry.setVmId(q, this.vmId);
      VmEntry.setDead(q, 0);
      VmEntry.setLastSeenMs(q, nowMs);
      memory.fill(r, 0, <usize>VM_REGISTRY_HEADER_BYTES); // header padding is zero
      VmRegistry.setCount(r, count);
      const res = setSharedRaw(this.registryKey, r, <u32>(VM_REGISTRY_HEADER_BYTES + count * VM_ENTRY_BYTES), cas);
      if (res == WasmResult.Ok || res != WasmResult.CasMismatch) {
        this.deadCount = 0;
        for (let i = 0; i < count; i++) {
          const p = VmRegistry.entry(r, i);
          if (VmEntry.dead(p) != 0) this.dead[this.deadCount++] = VmEntry.vmId(p);
        }
        return;
      }
    }
  }
}
