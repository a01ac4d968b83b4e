// Adapts src/sim/model.ts's GpuServerModel to the benchmark's ServerModel interface.
// The clairvoyant-greedy policy's estimate reads the model's true state — its queue, running batch and prefix-cache
// contents — which is exactly the information no real router has.
import { GpuServerModel } from "../sim/model.js";
import type { BenchRequest, ModelEvent, ModelFactory, ModelStats, ServerModel, ServerSpec } from "./model.js";

interface SimEventLike {
  type: "first_token" | "complete" | "error";
  id: string | number;
  timeMs: number;
}
interface GpuLike {
  spec: { speed: number; maxBatch: number; prefillMsPerToken: number; decodeBaseMs: number; decodeMsPerSeq: number; blockSize: number };
  submit(
    req: { id: number; model?: string; promptTokens: number; maxTokens: number; prefixId?: string; prefixTokens?: number },
    nowMs: number,
  ): void;
  advanceTo(nowMs: number): SimEventLike[];
  nextEventMs(): number | undefined;
  stats(nowMs?: number): {
    waiting: number;
    running: number;
    kvCacheUsage: number;
    prefixHits: number;
    prefixQueries: number;
    slowdown: number;
  };
  setSlowdown(f: number): void;
  kill(nowMs?: number): void;
  readonly isDead: boolean;
}
interface SeqLike {
  req: { promptTokens: number; maxTokens: number; prefixId?: string; prefixTokens?: number };
  generated: number;
}

const KIND = { first_token: "first-token", complete: "completion", error: "failure" } as const;

class Adapted implements ServerModel {
  constructor(private m: GpuLike) {}
  get speed(): number {
    return this.m.spec.speed;
  }
  get dead(): boolean {
    return this.m.isDead;
  }
  submit(r: BenchRequest, nowMs: number): void {
    this.m.submit(
      {
        id: r.id,
        model: r.model,
        promptTokens: r.promptTokens,
        maxTokens: r.outputTokens,
        ...(r.prefixId >= 0 ? { prefixId: `sys-${r.prefixId}`, prefixTokens: r.prefixTokens } : {}),
      },
      nowMs,
    );
  }
  advanceTo(nowMs: number): ModelEvent[] {
    return this.m.advanceTo(nowMs).map((e) => ({ kind: KIND[e.type], id: Number(e.id), atMs: e.timeMs }));
  }
  nextEventMs(): number {
    return this.m.nextEventMs() ?? Infinity;
  }
  stats(nowMs: number): ModelStats {
    const s = this.m.stats(nowMs);
    return {
      waiting: s.waiting,
      running: s.running,
      kvCacheUsage: s.kvCacheUsage,
      prefixHits: s.prefixHits,
      prefixQueries: s.prefixQueries,
    };
  }
  estimateCompletionMs(r: BenchRequest, nowMs: number): number {
    if (this.m.isDead) return Infinity;
    const inner = this.m as unknown as { waiting?: SeqLike[]; running?: SeqLike[]; lru?: Map<string, true> };
    const sp = this.m.spec;
    const slow = this.m.stats(nowMs).slowdown;
    const waiting = inner.waiting ?? [],
      running = inner.running ?? [];
    // Prefill ahead of us: every waiting request's prompt (FCFS), then our own uncached prompt.
    let prefill = 0;
    for (const s of waiting) prefill += s.req.promptTokens + s.generated;
    let own = r.promptTokens;
    if (r.prefixId >= 0 && inner.lru) {
      const blocks = Math.floor(r.prefixTokens / sp.blockSize);
      let hit = 0;
      while (hit < blocks && inner.lru.has(`sys-${r.prefixId}#${hit}`)) hit++;
      own -= hit * sp.blockSize;
    }
    const batch = Math.min(sp.maxBatch, running.length + waiting.length + 1);
    const step = sp.decodeBaseMs + sp.decodeMsPerSeq * batch;
    // Admission: when the batch is full, we wait for the running sequences that finish first to make room.
    let wait = 0;
    const over = running.length + waiting.length + 1 - sp.maxBatch;
    if (over > 0) {
      const left = running.map((s) => s.req.maxTokens - s.generated).sort((a, b) => a - b);
      wait = (left[Math.min(left.length - 1, over - 1)] ?? 0) * step;
    }
    // Our completion: admission wait, prefill ahead and ours, then our own decode at the resulting batch size.
    return ((wait + (prefill + own) * sp.prefillMsPerToken + r.outputTokens * step) * slow) / sp.speed;
  }
  setSpeedFactor(f: number): void {
    this.m.setSlowdown(1 / f);
  }
  kill(nowMs: number): ModelEvent[] {
    this.m.kill(nowMs);
    return this.advanceTo(nowMs);
  }
}

export function gpuModelFactory(): ModelFactory {
  const Ctor = GpuServerModel as unknown as new (spec: Record<string, unknown>) => GpuLike;
  return {
    name: "GpuServerModel (src/sim/model.ts)",
    create: (spec: ServerSpec) =>
      new Adapted(
        new Ctor({
          ...(spec.gpu ? { gpu: spec.gpu } : { speed: spec.speed }),
          models: spec.models,
          seed: 1,
        }),
      ),
  };
}

/** The model every benchmark run uses. */
export async function loadModelFactory(): Promise<ModelFactory> {
  return gpuModelFactory();
}
