// The local host's /stats/prometheus with Envoy stats tags: tags extracted from the full `wasmcustom.` name, one
// family per tag-extracted name (one # TYPE line), labels in extraction order; without tags, names as before.
import { describe, expect, it } from "vitest";
import { MetricStore, MetricType } from "../../src/host/metrics.js";
import { tagSpecifiers } from "../../src/observability/tags.js";

function store(): MetricStore {
  const s = new MetricStore();
  s.stat(MetricType.Counter, "inference-router.pool=.=a;.;endpoint=.=10.0.0.1:8000;.;picks").value = 3n;
  s.stat(MetricType.Counter, "inference-router.pool=.=a;.;endpoint=.=10.0.0.2:8000;.;picks").value = 1n;
  s.stat(MetricType.Gauge, "inference-router.pool=.=b;.;upstream_queue").value = 7n;
  const h = s.stat(MetricType.Histogram, "inference-router.pool=.=b;.;lat");
  h.samples.push(3, 700);
  s.stat(MetricType.Counter, "inference-router.polls").value = 2n;
  return s;
}

describe("host Prometheus export with stats tags", () => {
  it("groups series into labelled families as Envoy prints them", () => {
    const text = store().prometheus(tagSpecifiers());
    expect(text).toContain(
      [
        "# TYPE inference_router_picks counter",
        'inference_router_picks{pool="a",endpoint="10.0.0.1:8000"} 3',
        'inference_router_picks{pool="a",endpoint="10.0.0.2:8000"} 1',
      ].join("\n"),
    );
    expect(text.match(/# TYPE inference_router_picks /g)).toHaveLength(1);
    expect(text).toContain('inference_router_upstream_queue{pool="b"} 7');
    expect(text).toContain('inference_router_lat_bucket{pool="b",le="5"} 1');
    expect(text).toContain('inference_router_lat_count{pool="b"} 2');
    expect(text).toContain("inference_router_polls{} 2");
  });

  it("without tags every stat keeps its own sanitised name", () => {
    const text = store().prometheus();
    expect(text).toContain("inference_router_pool___a___endpoint___10_0_0_1:8000___picks{} 3");
    expect(text).not.toContain('pool="');
  });
});
