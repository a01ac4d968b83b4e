// The GPU server model the benchmark drives, behind one small interface. The measured model is
// src/sim/model.ts's GpuServerModel (adapted in gpu-adapter.ts); the interface keeps the event loop and the
// policies independent of its exact API.

export interface ServerSpec {
  id: string;
  /** GPU type (a GpuServerModel preset: h100, a100, l40s, a10g, l4, t4). */
  gpu?: string;
  /** Relative speed (1 = reference GPU). */
  speed: number;
  models: string[];
}

export interface BenchRequest {
  id: number;
  model: string;
  promptTokens: number;
  outputTokens: number;
  /** Shared prefix (system prompt) id, -1 for none; its length is prefixTokens (part of promptTokens). */
  prefixId: number;
  prefixTokens: number;
}

export interface ModelEvent {
  kind: "first-token" | "completion" | "failure";
  id: number;
  atMs: number;
}

export interface ModelStats {
  waiting: number;
  running: number;
  kvCacheUsage: number;
  prefixHits: number;
  prefixQueries: number;
}

/** What the benchmark needs from a server model. */
export interface ServerModel {
  readonly speed: number;
  submit(req: BenchRequest, nowMs: number): void;
  advanceTo(nowMs: number): ModelEvent[];
  nextEventMs(): number;
  stats(nowMs: number): ModelStats;
  /** Clairvoyant view (clairvoyant-greedy): estimated ms until `req` would complete here (true queue, batch and prefix-cache state). */
  estimateCompletionMs(req: BenchRequest, nowMs: number): number;
  /** Fault switches. */
  setSpeedFactor(f: number, nowMs: number): void;
  kill(nowMs: number): ModelEvent[];
  readonly dead: boolean;
}

export interface ModelFactory {
  name: string;
  create(spec: ServerSpec): ServerModel;
}
