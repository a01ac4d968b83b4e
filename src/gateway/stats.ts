// Gateway-side measurements: per-upstream in-flight, requests, errors, latency and TTFT percentiles.

/** Bounded sample list (keeps the most recent `cap` values) with percentiles. */
export class Samples {
  private values: number[] = [];
  private next = 0;
  count = 0;
  constructor(readonly cap = 20_000) {}
  add(v: number): void {
    this.count++;
    if (this.values.length < this.cap) this.values.push(v);
    else {
      this.values[this.next] = v;
      this.next = (this.next + 1) % this.cap;
    }
  }
  percentile(p: number): number | undefined {
    if (this.values.length === 0) return undefined;
    const s = [...this.values].sort((a, b) => a - b);
    return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))];
  }
}

export class UpstreamStats {
  active = 0;
  requests = 0;
  errors = 0;
  readonly latencyMs = new Samples();
  readonly ttftMs = new Samples();
  constructor(
    readonly pool: string,
    readonly address: string,
    readonly gpu: string,
  ) {}
}

export function fmtMs(v: number | undefined): string {
  if (v === undefined) return "-";
  return v >= 10_000 ? `${(v / 1000).toFixed(1)}s` : v >= 1000 ? `${(v / 1000).toFixed(2)}s` : `${Math.round(v)}ms`;
}
