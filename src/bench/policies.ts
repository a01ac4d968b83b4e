// Routing policies compared by the benchmark. The filter itself ("inference-router") is driven through the real
// .wasm by WasmRouter (wasm-router.ts); the baselines here see the same arrivals and sidecar assignment.
import type { Arrival } from "./scenarios.js";
import type { ServerModel } from "./model.js";
import { rng } from "./rng.js";
import { START_MS } from "./sim-clock.js";

export interface Route {
  /** Server index, or -1 when the request was answered locally (status says how). */
  server: number;
  status?: number;
  /** The filter left the request unsteered (Envoy's own load balancing routes it). */
  unsteered?: boolean;
}

export interface Policy {
  readonly name: string;
  route(a: Arrival, nowMs: number): Route;
  /** The response for `a` came back (ok = 2xx). */
  done(a: Arrival, server: number, ok: boolean, nowMs: number): void;
  close?(): Promise<void>;
}

/** Servers serving each model, in server order. */
export function servingMap(serverModels: string[][]): Map<string, number[]> {
  const m = new Map<string, number[]>();
  serverModels.forEach((ms, i) => { for (const x of ms) { if (!m.has(x)) m.set(x, []); m.get(x)!.push(i); } });
  return m;
}

/** Envoy ROUND_ROBIN: each sidecar keeps its own rotation per cluster (model). */
export class RoundRobin implements Policy {
  readonly name = "round-robin";
  private next = new Map<string, number>();
  constructor(private serving: Map<string, number[]>, seed: number) { this.r = rng(seed); }
  private r: () => number;
  route(a: Arrival): Route {
    const c = this.serving.get(a.model)!;
    const key = `${a.sidecar}/${a.model}`;
    // Envoy starts each proxy's rotation at a random offset.
    const i = this.next.get(key) ?? Math.floor(this.r() * c.length);
    this.next.set(key, i + 1);
    return { server: c[i % c.length]! };
  }
  done(): void {}
}

/** Envoy RANDOM. */
export class RandomPolicy implements Policy {
  readonly name = "random";
  private r: () => number;
  constructor(private serving: Map<string, number[]>, seed: number) { this.r = rng(seed); }
  route(a: Arrival): Route {
    const c = this.serving.get(a.model)!;
    return { server: c[Math.floor(this.r() * c.length)]! };
  }
  done(): void {}
}

/** Envoy LEAST_REQUEST (equal weights): power of two choices on this sidecar's own active requests per host. */
export class LeastRequest implements Policy {
  readonly name = "least-request";
  private r: () => number;
  private active: Int32Array[];
  constructor(private serving: Map<string, number[]>, sidecars: number, servers: number, seed: number) {
    this.r = rng(seed);
    this.active = Array.from({ length: sidecars }, () => new Int32Array(servers));
  }
  route(a: Arrival): Route {
    const c = this.serving.get(a.model)!;
    const act = this.active[a.sidecar]!;
    let best = c[Math.floor(this.r() * c.length)]!;
    // choice_count 2: a second independent draw, fewer active wins (ties keep the first).
    const other = c[Math.floor(this.r() * c.length)]!;
    if (act[other]! < act[best]!) best = other;
    act[best]!++;
    return { server: best };
  }
  done(a: Arrival, server: number): void { this.active[a.sidecar]![server]!--; }
}

/** Centralised perfect-information oracle: least expected completion time from every model's true state. */
export class Oracle implements Policy {
  readonly name = "oracle";
  constructor(private serving: Map<string, number[]>, private servers: ServerModel[]) {}
  route(a: Arrival, nowMs: number): Route {
    const c = this.serving.get(a.model)!;
    let best = c[0]!, bestT = Infinity;
    for (const s of c) {
      const t = this.servers[s]!.estimateCompletionMs(a, nowMs - START_MS);
      if (t < bestT) { bestT = t; best = s; }
    }
    return { server: best };
  }
  done(): void {}
}
