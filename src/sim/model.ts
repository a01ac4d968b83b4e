// A pure, clock-agnostic latency model of ONE GPU model server doing continuous batching (vLLM-style).
// No timers, no I/O, no Date.now(): every call takes the time from the caller, so the same model runs in real
// time (src/sim/server.ts drives it from the wall clock) or on a virtual clock (a discrete-event benchmark).
//
// API (all times are milliseconds on the caller's clock; calls must not go back in time):
//   const m = new GpuServerModel({ gpu: "l4", models: ["llama-3.1-8b-instruct"], seed: 1 });
//   m.submit({ id: "r1", promptTokens: 900, maxTokens: 128, prefixId: "sys-a", prefixTokens: 800 }, nowMs);
//   const events = m.advanceTo(nowMs);    // [{ type: "first_token" | "complete" | "error", id, timeMs, ... }]
//   m.nextEventMs();                      // next time the state changes (undefined when idle)
//   m.stats(nowMs);                       // { waiting, running, kvCacheUsage, prefixHits, prefixQueries, preemptions, ... }
//   m.progress("r1");                     // { state, generated, ... } — tokens produced so far (for streaming)
//   m.setSlowdown(3); m.setFailureRate(0.2); m.kill(); m.revive();   // fault switches
//
// Driving it from a virtual clock (discrete-event loop):
//   let t = 0;
//   while (t < end) {
//     const next = Math.min(nextArrivalMs, m.nextEventMs() ?? Infinity);
//     t = next;
//     for (const e of m.advanceTo(t)) handle(e);          // e.timeMs <= t, in time order
//     if (t === nextArrivalMs) m.submit(arrival(), t);    // submit() may make nextEventMs() earlier
//   }
// Events carry their exact times (e.g. a completion at 1234.5 ms) even when advanceTo() is called later, so
// a real-time driver that polls coarsely still measures the model's latencies, not its own polling.
//
// The model (per engine iteration, as vLLM's scheduler does it):
//   * At each iteration boundary the scheduler admits waiting requests FCFS (head-of-line) while the batch has
//     room (maxBatch) and the KV cache can hold the request's uncached prompt tokens (+1). A request that does
//     not fit waits: that is the queue `num_requests_waiting` reports.
//   * Iteration time = (decodeBaseMs + decodeMsPerSeq · running + prefillMsPerToken · newly prefilled tokens)
//                      · slowdown / speed.
//     Newly admitted requests are prefilled in that iteration and get their first token at its end; requests
//     already running decode one token each. So bigger batches decode each token more slowly, long uncached
//     prompts delay everybody's next token, and a slow GPU (speed 0.35) is slower at everything.
//   * KV cache: each running sequence holds (prompt + generated − shared prefix) tokens; a shared prefix that is
//     resident is held once per prefix. When a decode step does not fit, the most recently admitted sequence is
//     preempted (vLLM's recompute preemption): its KV is freed and it goes back to the front of the queue; when
//     re-admitted it prefills prompt + generated tokens again.
//   * Prefix cache: an LRU of blocks keyed by (prefixId, block index), `prefixCacheBlocks` long. A request's
//     shared prefix (prefixTokens, e.g. the system prompt) is looked up block by block; the leading run of hits
//     skips prefill. Hits/queries are counted in tokens, like vllm:prefix_cache_hits/queries.
//   * Faults: setSlowdown(f) multiplies iteration time; setFailureRate(p) fails a share p of submitted requests
//     at once (deterministic PRNG from `seed`); kill() fails everything in flight and every later submit until
//     revive() (which starts with an empty cache).
// Decode-only stretches with nothing to admit are simulated in one jump (k identical iterations), so a virtual
// clock benchmark costs O(events), not O(tokens).
import { mulberry32 } from "./prng.js";

export interface GpuPreset {
  speed: number;
  kvCacheTokens: number;
  maxBatch: number;
}

/** Relative throughput (A100 = 1) and KV capacity (tokens, an ~8B model in fp16) per GPU type. */
export const GPU_PRESETS: Record<string, GpuPreset> = {
  h100: { speed: 1.8, kvCacheTokens: 131_072, maxBatch: 256 },
  a100: { speed: 1.0, kvCacheTokens: 65_536, maxBatch: 128 },
  l40s: { speed: 0.7, kvCacheTokens: 32_768, maxBatch: 96 },
  a10g: { speed: 0.4, kvCacheTokens: 16_384, maxBatch: 48 },
  l4: { speed: 0.35, kvCacheTokens: 16_384, maxBatch: 48 },
  t4: { speed: 0.15, kvCacheTokens: 8_192, maxBatch: 32 },
};

export interface GpuServerSpec {
  /** GPU type: picks defaults from GPU_PRESETS (unknown names get the a100 preset). */
  gpu?: string;
  /** Relative throughput; A100 = 1.0, L4 ≈ 0.35, H100 ≈ 1.8. Overrides the preset. */
  speed?: number;
  /** Model names served. */
  models?: string[];
  /** KV-cache capacity in tokens. */
  kvCacheTokens?: number;
  /** Tokens per KV block (prefix-cache granularity, vllm:cache_config_info block_size). */
  blockSize?: number;
  /** Maximum running sequences (vLLM max_num_seqs). */
  maxBatch?: number;
  /** Prefill cost per uncached prompt token at speed 1 (ms). */
  prefillMsPerToken?: number;
  /** Decode iteration cost with one running sequence at speed 1 (ms). */
  decodeBaseMs?: number;
  /** Extra decode iteration cost per running sequence at speed 1 (ms). */
  decodeMsPerSeq?: number;
  /** Prefix-cache LRU capacity in blocks (default: kvCacheTokens / blockSize). */
  prefixCacheBlocks?: number;
  /** PRNG seed for failure injection. */
  seed?: number;
}

export type ResolvedSpec = Required<GpuServerSpec>;

export const MODEL_DEFAULTS = {
  blockSize: 16,
  prefillMsPerToken: 0.05,
  decodeBaseMs: 10,
  decodeMsPerSeq: 0.25,
} as const;

export function resolveSpec(spec: GpuServerSpec = {}): ResolvedSpec {
  const gpu = (spec.gpu ?? "a100").toLowerCase();
  const preset = GPU_PRESETS[gpu] ?? GPU_PRESETS.a100!;
  const kv = spec.kvCacheTokens ?? preset.kvCacheTokens;
  const blockSize = spec.blockSize ?? MODEL_DEFAULTS.blockSize;
  const r: ResolvedSpec = {
    gpu,
    speed: spec.speed ?? preset.speed,
    models: spec.models ?? [],
    kvCacheTokens: kv,
    blockSize,
    maxBatch: spec.maxBatch ?? preset.maxBatch,
    prefillMsPerToken: spec.prefillMsPerToken ?? MODEL_DEFAULTS.prefillMsPerToken,
    decodeBaseMs: spec.decodeBaseMs ?? MODEL_DEFAULTS.decodeBaseMs,
    decodeMsPerSeq: spec.decodeMsPerSeq ?? MODEL_DEFAULTS.decodeMsPerSeq,
    prefixCacheBlocks: spec.prefixCacheBlocks ?? Math.max(1, Math.floor(kv / blockSize)),
    seed: spec.seed ?? 1,
  };
  if (!(r.speed > 0)) throw new Error("speed must be > 0");
  if (!(r.kvCacheTokens >= 1) || !(r.maxBatch >= 1) || !(r.blockSize >= 1))
    throw new Error("kvCacheTokens, maxBatch and blockSize must be >= 1");
  return r;
}

export interface SimRequest {
  id: string | number;
  model?: string;
  /** Prompt length in tokens (including the shared prefix). */
  promptTokens: number;
  /** Tokens to generate (0 = prefill only, e.g. embeddings). */
  maxTokens: number;
  /** Identity of the shared prefix (e.g. a hash of the system prompt); absent = no prefix caching. */
  prefixId?: string;
  /** Tokens of the prompt that belong to the shared prefix (default: all of promptTokens). */
  prefixTokens?: number;
}

export type SimEvent =
  | { type: "first_token"; id: string | number; timeMs: number; ttftMs: number; cachedTokens: number }
  | {
      type: "complete";
      id: string | number;
      timeMs: number;
      ttftMs: number;
      e2eMs: number;
      queueMs: number;
      promptTokens: number;
      cachedTokens: number;
      outputTokens: number;
      model: string;
    }
  | { type: "error"; id: string | number; timeMs: number; reason: "injected_failure" | "server_dead" | "prompt_too_long"; model: string };

export interface SimStats {
  waiting: number;
  running: number;
  /** KV-cache use, 0..1. */
  kvCacheUsage: number;
  kvUsedTokens: number;
  kvCapacityTokens: number;
  /** Prefix cache hits / queries, in tokens (as vLLM counts them). */
  prefixHits: number;
  prefixQueries: number;
  preemptions: number;
  completed: number;
  failed: number;
  promptTokens: number;
  generationTokens: number;
  /** Waiting/running per served model. */
  perModel: Record<string, { waiting: number; running: number }>;
  dead: boolean;
  slowdown: number;
  failureRate: number;
}

export interface Progress {
  state: "waiting" | "running" | "done" | "failed" | "unknown";
  generated: number;
  maxTokens: number;
  firstTokenMs?: number;
}

interface Seq {
  req: SimRequest;
  model: string;
  arrivedMs: number;
  /** Tokens generated so far (survives preemption). */
  generated: number;
  firstTokenMs: number | undefined;
  /** Prompt tokens served from the prefix cache on the latest admission. */
  cachedTokens: number;
  /** Cached tokens at first admission (reported). */
  reportedCached: number;
  /** KV tokens this sequence holds privately. */
  kvTokens: number;
  admitSeq: number;
  /** Time of the first admission (end of queueing). */
  admittedMs: number | undefined;
}

interface Plan {
  startMs: number;
  stepMs: number;
  steps: number;
  /** Sequences prefilled in this plan's first iteration (prefill plans are one iteration). */
  prefill: Seq[];
}

const prng = mulberry32;

export class GpuServerModel {
  readonly spec: ResolvedSpec;
  private t = 0;
  private lastNow = 0;
  private waiting: Seq[] = [];
  private running: Seq[] = [];
  private plan: Plan | undefined;
  private outbox: SimEvent[] = [];
  private readonly byId = new Map<string | number, Seq>();
  private readonly finished = new Map<string | number, Progress>();
  /** Prefix cache: key "prefixId#block" → true, in LRU order (Map iteration order). */
  private readonly lru = new Map<string, true>();
  /** Resident shared prefixes held by running sequences: prefixId → { refs, tokens }. */
  private readonly shared = new Map<string, { refs: number; tokens: number }>();
  private kvPrivate = 0;
  private admitCounter = 0;
  private rand: () => number;
  private slowdown = 1;
  private failureRate = 0;
  private dead = false;
  private counters = { prefixHits: 0, prefixQueries: 0, preemptions: 0, completed: 0, failed: 0, promptTokens: 0, generationTokens: 0 };

  constructor(spec: GpuServerSpec = {}) {
    this.spec = resolveSpec(spec);
    this.rand = prng(this.spec.seed);
  }

  // ------------------------------------------------------------------ public API
  /** Queues a request at nowMs (advancing the model to nowMs first). Its events come out of advanceTo(). */
  submit(req: SimRequest, nowMs: number): void {
    this.advanceInternal(nowMs);
    const model = req.model ?? this.spec.models[0] ?? "";
    if (this.dead) {
      this.fail(req, model, nowMs, "server_dead");
      return;
    }
    if (this.failureRate > 0 && this.rand() < this.failureRate) {
      this.fail(req, model, nowMs, "injected_failure");
      return;
    }
    if (req.promptTokens + 1 > this.spec.kvCacheTokens) {
      this.fail(req, model, nowMs, "prompt_too_long");
      return;
    }
    const s: Seq = {
      req: { ...req, promptTokens: Math.max(1, Math.round(req.promptTokens)), maxTokens: Math.max(0, Math.round(req.maxTokens)) },
      model,
      arrivedMs: nowMs,
      generated: 0,
      firstTokenMs: undefined,
      cachedTokens: 0,
      reportedCached: -1,
      kvTokens: 0,
      admitSeq: 0,
      admittedMs: undefined,
    };
    this.waiting.push(s);
    this.byId.set(req.id, s);
    // A multi-iteration decode plan must stop at the first iteration boundary after this arrival, so the
    // scheduler can admit it there (continuous batching admits at every iteration).
    this.truncatePlan(nowMs);
  }

  /** Runs the model up to nowMs; returns the events that happened up to then, in time order. */
  advanceTo(nowMs: number): SimEvent[] {
    this.advanceInternal(nowMs);
    const out = this.outbox;
    this.outbox = [];
    return out;
  }

  /** The next time the model's state changes (a first token, a completion, an admission or a preemption). */
  nextEventMs(): number | undefined {
    if (this.outbox.length > 0) return this.lastNow;
    const p = this.plan ?? this.makePlan();
    return p ? p.startMs + p.stepMs * p.steps : undefined;
  }

  /** Load as a model server reports it (advances to nowMs; events produced stay queued for advanceTo()). */
  stats(nowMs?: number): SimStats {
    if (nowMs !== undefined) this.advanceInternal(nowMs);
    const perModel: SimStats["perModel"] = {};
    for (const m of this.spec.models) perModel[m] = { waiting: 0, running: 0 };
    for (const s of this.waiting) (perModel[s.model] ??= { waiting: 0, running: 0 }).waiting++;
    for (const s of this.running) (perModel[s.model] ??= { waiting: 0, running: 0 }).running++;
    const used = this.kvUsed();
    return {
      waiting: this.waiting.length,
      running: this.running.length,
      kvCacheUsage: Math.min(1, used / this.spec.kvCacheTokens),
      kvUsedTokens: used,
      kvCapacityTokens: this.spec.kvCacheTokens,
      ...this.counters,
      perModel,
      dead: this.dead,
      slowdown: this.slowdown,
      failureRate: this.failureRate,
    };
  }

  /** Tokens generated so far for a request (requests are forgotten 10k completions later). */
  progress(id: string | number): Progress {
    const s = this.byId.get(id);
    if (s) {
      const p: Progress = { state: this.running.includes(s) ? "running" : "waiting", generated: s.generated, maxTokens: s.req.maxTokens };
      if (s.firstTokenMs !== undefined) p.firstTokenMs = s.firstTokenMs;
      return p;
    }
    return this.finished.get(id) ?? { state: "unknown", generated: 0, maxTokens: 0 };
  }

  /** Multiplies iteration time from the next iteration on (1 = healthy). */
  setSlowdown(factor: number): void {
    if (!(factor > 0)) throw new Error("slowdown must be > 0");
    this.slowdown = factor;
    this.truncatePlan(this.lastNow);
  }

  /** Share of submitted requests that fail at once (0..1), drawn from the seeded PRNG. */
  setFailureRate(p: number): void {
    this.failureRate = Math.min(1, Math.max(0, p));
  }

  /** The server dies: everything in flight fails now; submits fail until revive(). */
  kill(nowMs?: number): void {
    if (nowMs !== undefined) this.advanceInternal(nowMs);
    const at = nowMs ?? this.lastNow;
    this.dead = true;
    for (const s of [...this.running, ...this.waiting]) {
      this.byId.delete(s.req.id);
      this.fail(s.req, s.model, at, "server_dead", s.generated);
    }
    this.running = [];
    this.waiting = [];
    this.shared.clear();
    this.kvPrivate = 0;
    this.plan = undefined;
  }

  /** Back to life with an empty prefix cache. */
  revive(nowMs?: number): void {
    if (nowMs !== undefined) this.advanceInternal(nowMs);
    this.dead = false;
    this.lru.clear();
    this.t = Math.max(this.t, nowMs ?? this.lastNow);
  }

  get isDead(): boolean {
    return this.dead;
  }

  // ------------------------------------------------------------------ internals
  private fail(
    req: SimRequest,
    model: string,
    at: number,
    reason: "injected_failure" | "server_dead" | "prompt_too_long",
    generated = 0,
  ): void {
    this.counters.failed++;
    this.remember(req.id, { state: "failed", generated, maxTokens: req.maxTokens });
    this.outbox.push({ type: "error", id: req.id, timeMs: at, reason, model });
  }

  private remember(id: string | number, p: Progress): void {
    this.finished.set(id, p);
    if (this.finished.size > 10_000) this.finished.delete(this.finished.keys().next().value!);
  }

  private kvUsed(): number {
    let shared = 0;
    for (const v of this.shared.values()) shared += v.tokens;
    return this.kvPrivate + shared;
  }

  private truncatePlan(atMs: number): void {
    const p = this.plan;
    if (!p || p.steps <= 1) return;
    const k = Math.max(1, Math.ceil((atMs - p.startMs) / p.stepMs));
    if (k < p.steps) p.steps = k;
  }

  private stepMs(running: number, prefillTokens: number): number {
    const s = this.spec;
    return ((s.decodeBaseMs + s.decodeMsPerSeq * running + s.prefillMsPerToken * prefillTokens) * this.slowdown) / s.speed;
  }

  /** Prefix-cache lookup for a sequence: leading run of resident blocks of its prefix (touching them). */
  private lookupPrefix(s: Seq): number {
    const id = s.req.prefixId;
    if (id === undefined) return 0;
    const prefixTokens = Math.min(s.req.prefixTokens ?? s.req.promptTokens, s.req.promptTokens);
    const blocks = Math.floor(prefixTokens / this.spec.blockSize);
    let hit = 0;
    for (let b = 0; b < blocks; b++) {
      const key = `${id}#${b}`;
      if (!this.lru.has(key)) break;
      this.lru.delete(key);
      this.lru.set(key, true);
      hit++;
    }
    const queried = blocks * this.spec.blockSize;
    const hitTokens = hit * this.spec.blockSize;
    this.counters.prefixQueries += queried;
    this.counters.prefixHits += hitTokens;
    return hitTokens;
  }

  private insertPrefix(s: Seq): void {
    const id = s.req.prefixId;
    if (id === undefined) return;
    const prefixTokens = Math.min(s.req.prefixTokens ?? s.req.promptTokens, s.req.promptTokens);
    const blocks = Math.floor(prefixTokens / this.spec.blockSize);
    for (let b = 0; b < blocks; b++) {
      const key = `${id}#${b}`;
      this.lru.delete(key);
      this.lru.set(key, true);
      while (this.lru.size > this.spec.prefixCacheBlocks) this.lru.delete(this.lru.keys().next().value!);
    }
  }

  private sharedTokens(s: Seq): number {
    const id = s.req.prefixId;
    if (id === undefined) return 0;
    const prefixTokens = Math.min(s.req.prefixTokens ?? s.req.promptTokens, s.req.promptTokens);
    return Math.floor(prefixTokens / this.spec.blockSize) * this.spec.blockSize;
  }

  private holdShared(s: Seq): number {
    const tokens = this.sharedTokens(s);
    if (tokens === 0) return 0;
    const e = this.shared.get(s.req.prefixId!);
    if (e) {
      e.refs++;
      e.tokens = Math.max(e.tokens, tokens);
    } else this.shared.set(s.req.prefixId!, { refs: 1, tokens });
    return tokens;
  }

  private releaseShared(s: Seq): void {
    const id = s.req.prefixId;
    if (id === undefined || this.sharedTokens(s) === 0) return;
    const e = this.shared.get(id);
    if (!e) return;
    if (--e.refs <= 0) this.shared.delete(id);
  }

  /** Scheduler at boundary this.t: admissions (committed) and the plan of the next iteration(s). */
  private makePlan(): Plan | undefined {
    if (this.dead) return undefined;
    if (this.running.length === 0) {
      // Idle engine: the next iteration starts when the first queued request arrived.
      const first = this.waiting[0];
      if (!first) return undefined;
      if (first.arrivedMs > this.t) this.t = first.arrivedMs;
    }
    const prefill: Seq[] = [];
    let prefillTokens = 0;
    while (this.waiting.length > 0 && this.running.length < this.spec.maxBatch) {
      const s = this.waiting[0]!;
      if (s.arrivedMs > this.t) break;
      const sharedNeed = s.req.prefixId !== undefined && !this.shared.has(s.req.prefixId) ? this.sharedTokens(s) : 0;
      const privateNeed = s.req.promptTokens + s.generated - this.sharedTokens(s) + 1;
      if (this.kvUsed() + sharedNeed + privateNeed > this.spec.kvCacheTokens && this.running.length > 0) break;
      this.waiting.shift();
      const cached = Math.min(this.lookupPrefix(s), s.req.promptTokens - 1);
      s.cachedTokens = Math.max(0, cached);
      if (s.reportedCached < 0) s.reportedCached = s.cachedTokens;
      const holdsShared = this.holdShared(s);
      s.kvTokens = s.req.promptTokens + s.generated - holdsShared;
      this.kvPrivate += s.kvTokens;
      s.admitSeq = ++this.admitCounter;
      s.admittedMs ??= this.t;
      this.running.push(s);
      prefill.push(s);
      // Recompute after preemption prefills prompt + generated; the cached prefix is skipped.
      prefillTokens += s.req.promptTokens + s.generated - s.cachedTokens;
    }
    if (this.running.length === 0) return undefined;
    const decoding = this.running.length - prefill.length;
    const stepMs = this.stepMs(this.running.length, prefillTokens);
    let steps = 1;
    if (prefill.length === 0) {
      // Decode-only: identical iterations until a completion, a KV overflow, or an arrival to admit.
      let minLeft = Infinity;
      for (const s of this.running) minLeft = Math.min(minLeft, Math.max(1, s.req.maxTokens - s.generated));
      const headroom = Math.floor((this.spec.kvCacheTokens - this.kvUsed()) / Math.max(1, decoding));
      steps = Math.max(1, Math.min(minLeft, headroom));
      const next = this.waiting[0];
      if (next && next.arrivedMs > this.t && this.running.length < this.spec.maxBatch) {
        steps = Math.min(steps, Math.max(1, Math.ceil((next.arrivedMs - this.t) / stepMs)));
      }
    }
    this.plan = { startMs: this.t, stepMs, steps, prefill };
    return this.plan;
  }

  private advanceInternal(nowMs: number): void {
    if (nowMs < this.lastNow) nowMs = this.lastNow; // never back in time
    this.lastNow = nowMs;
    for (let guard = 0; guard < 1_000_000; guard++) {
      const p = this.plan ?? this.makePlan();
      if (!p) {
        if (this.running.length === 0 && this.waiting.length === 0) this.t = Math.max(this.t, nowMs);
        return;
      }
      const fit = Math.floor((nowMs - p.startMs) / p.stepMs + 1e-9);
      if (fit < 1) return;
      const k = Math.min(fit, p.steps);
      this.plan = undefined;
      this.execute(p, k);
    }
  }

  /** Runs k iterations of a plan (k > 1 only for decode-only plans). */
  private execute(p: Plan, k: number): void {
    const prefilled = new Set(p.prefill);
    // Decode tokens for the sequences that were already running (prefill plans have k = 1).
    const decoders = this.running.filter((s) => !prefilled.has(s));
    let tokens = k;
    if (decoders.length > 0) {
      // KV growth; on overflow preempt the most recently admitted sequences (recompute preemption).
      while (decoders.length > 0 && this.kvUsed() + decoders.length * tokens > this.spec.kvCacheTokens) {
        if (tokens > 1) {
          tokens = 1;
          continue;
        }
        const victim = this.running.reduce((a, b) => (b.admitSeq > a.admitSeq ? b : a));
        this.preempt(victim);
        const i = decoders.indexOf(victim);
        if (i >= 0) decoders.splice(i, 1);
        if (prefilled.has(victim)) prefilled.delete(victim);
      }
    }
    const endAt = p.startMs + p.stepMs * (tokens === k ? k : 1);
    for (const s of decoders) {
      s.generated += tokens;
      s.kvTokens += tokens;
      this.kvPrivate += tokens;
      this.counters.generationTokens += tokens;
    }
    for (const s of prefilled) {
      this.insertPrefix(s);
      if (s.firstTokenMs === undefined) {
        s.firstTokenMs = endAt;
        this.counters.promptTokens += s.req.promptTokens;
        this.outbox.push({
          type: "first_token",
          id: s.req.id,
          timeMs: endAt,
          ttftMs: endAt - s.arrivedMs,
          cachedTokens: Math.max(0, s.reportedCached),
        });
      }
      if (s.req.maxTokens > 0 && s.generated === 0) {
        s.generated = 1; // the prefill iteration samples the first token
        s.kvTokens += 1;
        this.kvPrivate += 1;
        this.counters.generationTokens += 1;
      }
    }
    this.t = endAt;
    // Completions at the end of the iteration.
    const done = this.running.filter((s) => s.generated >= s.req.maxTokens);
    for (const s of done) this.complete(s, endAt);
  }

  private preempt(s: Seq): void {
    this.running.splice(this.running.indexOf(s), 1);
    this.kvPrivate -= s.kvTokens;
    s.kvTokens = 0;
    this.releaseShared(s);
    this.waiting.unshift(s);
    this.counters.preemptions++;
  }

  private complete(s: Seq, at: number): void {
    this.running.splice(this.running.indexOf(s), 1);
    this.kvPrivate -= s.kvTokens;
    s.kvTokens = 0;
    this.releaseShared(s);
    this.byId.delete(s.req.id);
    this.counters.completed++;
    const first = s.firstTokenMs ?? at;
    this.remember(s.req.id, { state: "done", generated: s.generated, maxTokens: s.req.maxTokens, firstTokenMs: first });
    this.outbox.push({
      type: "complete",
      id: s.req.id,
      timeMs: at,
      ttftMs: first - s.arrivedMs,
      e2eMs: at - s.arrivedMs,
      queueMs: Math.max(0, (s.admittedMs ?? at) - s.arrivedMs),
      promptTokens: s.req.promptTokens,
      cachedTokens: Math.max(0, s.reportedCached),
      outputTokens: s.generated,
      model: s.model,
    });
  }
}
