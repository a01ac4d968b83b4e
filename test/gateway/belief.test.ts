// The live view's belief table, from a Prometheus export the test writes: what it reads from the gauges, what it
// skips, and how it lays belief next to truth.
import { describe, expect, it } from "vitest";
import { beliefLines, readBeliefs } from "../../src/gateway/belief.js";

const EXPORT = [
  "# TYPE inference_router_upstream_queue gauge",
  'inference_router_upstream_queue{pool="a100",endpoint="10.0.0.1:8000"} 3',
  'inference_router_upstream_running{pool="a100",endpoint="10.0.0.1:8000"} 12',
  'inference_router_upstream_kv_cache_permille{pool="a100",endpoint="10.0.0.1:8000"} 415',
  'inference_router_upstream_in_flight{pool="a100",endpoint="10.0.0.1:8000"} 5',
  'inference_router_upstream_report_age_ms{pool="a100",endpoint="10.0.0.1:8000"} 1250',
  'inference_router_upstream_stale{pool="a100",endpoint="10.0.0.1:8000"} 0',
  'inference_router_upstream_ejected{pool="a100",endpoint="10.0.0.1:8000"} 0',
  'inference_router_upstream_capacity_milli{pool="a100",endpoint="10.0.0.1:8000"} 3000',
  // Never reported, ejected.
  'inference_router_upstream_queue{pool="l4",endpoint="10.0.1.1:8000"} 0',
  'inference_router_upstream_stale{pool="l4",endpoint="10.0.1.1:8000"} 1',
  'inference_router_upstream_ejected{pool="l4",endpoint="10.0.1.1:8000"} 1',
  'inference_router_upstream_capacity_milli{pool="l4",endpoint="10.0.1.1:8000"} 1000',
  // Left the catalog: frozen at capacity 0, not shown.
  'inference_router_upstream_queue{pool="l4",endpoint="10.0.1.9:8000"} 0',
  'inference_router_upstream_capacity_milli{pool="l4",endpoint="10.0.1.9:8000"} 0',
  'inference_router_picks{pool="a100",endpoint="10.0.0.1:8000"} 7',
  "",
].join("\n");

describe("live view: the filter's belief next to the truth", () => {
  it("reads every gauge of the catalog upstreams and skips retired series", () => {
    const b = readBeliefs(EXPORT);
    expect(b).toEqual([
      {
        pool: "a100",
        endpoint: "10.0.0.1:8000",
        queue: 3,
        running: 12,
        kvCache: 0.415,
        inFlight: 5,
        reportAgeMs: 1250,
        stale: false,
        ejected: false,
        capacity: 3,
      },
      {
        pool: "l4",
        endpoint: "10.0.1.1:8000",
        queue: 0,
        running: 0,
        kvCache: 0,
        inFlight: 0,
        reportAgeMs: undefined,
        stale: true,
        ejected: true,
        capacity: 1,
      },
    ]);
  });

  it("renders one plain-text line per upstream: belief, report age and state, then the truth", () => {
    const lines = beliefLines(readBeliefs(EXPORT), (b) => (b.pool === "a100" ? { queue: 6, running: 14, kvCache: 0.5 } : undefined));
    expect(lines[1]).toMatch(/^upstream +queue +run +kv +in-fl +report age +state +cap +\| queue +run +kv$/);
    expect(lines[2]!.split(/ +/)).toEqual(["a100/10.0.0.1:8000", "3", "12", "42%", "5", "1.3s", "fresh", "3", "|", "6", "14", "50%"]);
    expect(lines[3]!.split(/ +/)).toEqual(["l4/10.0.1.1:8000", "0", "0", "0%", "0", "never", "ejected", "1", "|", "-"]);
    // Columns line up: the truth starts at the same offset on every line.
    expect(new Set(lines.map((l) => l.indexOf("|"))).size).toBe(1);
  });
});
