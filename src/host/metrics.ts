// Stats the way Envoy keeps proxy-wasm metrics: each name becomes `wasmcustom.<name>` in the plugin scope and is
// shared by every VM of the proxy (canary and workers); ids are per VM with the type in the low 2 bits.
import { WasmResult } from "./types.js";
import { extractTags, type TagSpecifier } from "../observability/tags.js";

export const MetricType = { Counter: 0, Gauge: 1, Histogram: 2 } as const;

/** Envoy's default histogram bucket bounds (stats_config default). */
export const DEFAULT_BUCKETS = [
  0.5, 1, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 30000, 60000, 300000, 600000, 1800000, 3600000,
];

export interface Stat {
  name: string;
  type: 0 | 1 | 2;
  value: bigint;
  samples: number[];
}

export class MetricStore {
  readonly stats = new Map<string, Stat>();

  stat(type: 0 | 1 | 2, name: string): Stat {
    let s = this.stats.get(name);
    if (!s) this.stats.set(name, (s = { name, type, value: 0n, samples: [] }));
    return s;
  }

  /** Raw values keyed by the name the filter defined: numbers for counters/gauges, samples for histograms. */
  snapshot(): Record<string, number | { count: number; sum: number; samples: number[] }> {
    const o: Record<string, number | { count: number; sum: number; samples: number[] }> = {};
    for (const s of this.stats.values()) {
      o[s.name] =
        s.type === MetricType.Histogram
          ? { count: s.samples.length, sum: s.samples.reduce((a, b) => a + b, 0), samples: s.samples.slice() }
          : Number(s.value);
    }
    return o;
  }

  /**
   * /stats/prometheus output for wasmcustom stats: namespace stripped, no envoy_ prefix, invalid chars → '_'.
   * With `tags` (Envoy `stats_config.stats_tags`), each stat's tags are extracted as Envoy does and stats that share
   * a tag-extracted name form one family with labels (one `# TYPE` line per family, as Envoy prints it).
   */
  prometheus(tags: readonly TagSpecifier[] = []): string {
    const families = new Map<string, Array<{ s: Stat; labels: string }>>();
    for (const s of this.stats.values()) {
      // Extraction runs on the full Envoy name (`wasmcustom.<name>`); the namespace is stripped afterwards.
      const x = tags.length ? extractTags(`wasmcustom.${s.name}`, tags) : { name: `wasmcustom.${s.name}`, tags: [] };
      const n = promName(x.name.replace(/^wasmcustom\./, ""));
      const labels = x.tags
        .map(([k, v]) => `${promName(k)}="${v.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n")}"`)
        .join(",");
      let f = families.get(n);
      if (!f) families.set(n, (f = []));
      f.push({ s, labels });
    }
    const lines: string[] = [];
    for (const n of [...families.keys()].sort()) {
      const members = families.get(n)!.sort((a, b) => a.labels.localeCompare(b.labels));
      const type = members[0]!.s.type;
      lines.push(`# TYPE ${n} ${type === MetricType.Counter ? "counter" : type === MetricType.Gauge ? "gauge" : "histogram"}`);
      for (const { s, labels: l } of members) {
        if (s.type === MetricType.Counter) lines.push(`${n}{${l}} ${s.value}`);
        else if (s.type === MetricType.Gauge) lines.push(`${n}{${l}} ${BigInt.asIntN(64, s.value)}`);
        else {
          const c = l ? `${l},` : "";
          for (const b of DEFAULT_BUCKETS) lines.push(`${n}_bucket{${c}le="${b}"} ${s.samples.filter((x) => x <= b).length}`);
          lines.push(`${n}_bucket{${c}le="+Inf"} ${s.samples.length}`);
          lines.push(`${n}_sum{${l}} ${s.samples.reduce((a, b) => a + b, 0)}`);
          lines.push(`${n}_count{${l}} ${s.samples.length}`);
        }
      }
    }
    return lines.length ? lines.join("\n") + "\n" : "";
  }
}

export function promName(name: string): string {
  return name.replace(/[^a-zA-Z0-9_:]/g, "_");
}

/** The per-VM view: ids 4,8,12… (counter), 5,9,… (gauge), 6,10,… (histogram), mapped to proxy-level stats. */
export class VmMetrics {
  private next = [0, 1, 2];
  private ids = new Map<number, Stat>();
  constructor(private readonly store: MetricStore) {}

  define(type: number, name: string): { status: number; id?: number } {
    if (type > 2) return { status: WasmResult.BadArgument };
    const t = type as 0 | 1 | 2;
    const existing = this.store.stats.get(name);
    const stat = existing && existing.type === t ? existing : this.store.stat(t, name);
    this.next[t]! += 4;
    const id = this.next[t]!;
    this.ids.set(id, stat);
    return { status: WasmResult.Ok, id };
  }

  increment(id: number, delta: bigint): number {
    const s = this.ids.get(id);
    if (!s) return WasmResult.NotFound;
    if (s.type === MetricType.Counter) {
      if (delta <= 0n) return WasmResult.BadArgument;
      s.value = BigInt.asUintN(64, s.value + delta);
      return WasmResult.Ok;
    }
    if (s.type === MetricType.Gauge) {
      s.value = BigInt.asUintN(64, s.value + delta);
      return WasmResult.Ok;
    }
    return WasmResult.BadArgument;
  }

  record(id: number, value: bigint): number {
    const s = this.ids.get(id);
    if (!s) return WasmResult.NotFound;
    const v = BigInt.asUintN(64, value);
    if (s.type === MetricType.Counter)
      s.value = BigInt.asUintN(64, s.value + v); // Envoy: counter.add(value)
    else if (s.type === MetricType.Gauge) s.value = v;
    else s.samples.push(Number(v));
    return WasmResult.Ok;
  }

  get(id: number): { status: number; value?: bigint } {
    const s = this.ids.get(id);
    if (!s) return { status: WasmResult.NotFound };
    if (s.type === MetricType.Histogram) return { status: WasmResult.BadArgument };
    return { status: WasmResult.Ok, value: s.value };
  }
}
