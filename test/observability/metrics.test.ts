// The metrics table is the one definition: the README shows it verbatim, and Envoy's tag extraction (as the host
// applies it) turns the filter's names into exactly the table's metric and labels.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { METRICS, metricsTableMarkdown, promMetric, statName } from "../../src/observability/metrics.js";
import { extractTags, STAT_TAGS, tagSpecifiers } from "../../src/observability/tags.js";

const README = join(import.meta.dirname, "..", "..", "README.md");

describe("metrics table", () => {
  it("the README's table is the one generated from src/observability/metrics.ts", () => {
    const text = readFileSync(README, "utf8");
    const m = /<!-- metrics-table:start[^>]*-->\n([\s\S]*?)\n<!-- metrics-table:end -->/.exec(text);
    expect(m, "README needs the metrics-table markers").not.toBeNull();
    expect(m![1], "stale: run `npm run build:ts && node scripts/metrics-table.mjs`").toBe(metricsTableMarkdown());
  });

  it("names are unique and each one is a valid Prometheus name", () => {
    const names = METRICS.map((d) => promMetric("inference-router", d.name));
    expect(new Set(names).size).toBe(names.length);
    for (const n of names) expect(n).toMatch(/^[a-zA-Z_:][a-zA-Z0-9_:]*$/);
  });
});

describe("stats tags (Envoy tag extraction, Istio extraStatTags form)", () => {
  it("each label is written as Istio writes extraStatTags regexes", () => {
    expect(tagSpecifiers()).toEqual(STAT_TAGS.map((t) => ({ tag_name: t, regex: `(${t}=\\.=(.*?);\\.;)` })));
    expect([...STAT_TAGS].sort()).toEqual(["endpoint", "outcome", "pool", "protocol"]);
  });

  it("turns every labelled name into the table's name plus its labels, values unchanged", () => {
    for (const d of METRICS) {
      const labels = Object.fromEntries(d.labels.map((l) => [l, l === "endpoint" ? "[fd00::1]:8000" : `${l}_v-1`]));
      const x = extractTags(`wasmcustom.${statName("inference-router", d.name, labels)}`, tagSpecifiers());
      expect(x.name).toBe(`wasmcustom.inference-router.${d.name}`);
      expect(Object.fromEntries(x.tags)).toEqual(labels);
    }
  });

  it("a pool named like another tag's keyword is not mangled by Istio's unanchored tags", () => {
    // Two of the unanchored stats_tags Istio's bootstrap always carries (tools/packaging/common/envoy_bootstrap.json).
    const istioUnanchored = [
      { tag_name: "cache", regex: "(cache\\.(.+?)\\.)" },
      { tag_name: "component", regex: "(component\\.(.+?)\\.)" },
    ];
    const name = `wasmcustom.${statName("inference-router", "upstream_queue", { pool: "kv-cache", endpoint: "10.0.0.1:8000" })}`;
    const x = extractTags(name, [...istioUnanchored, ...tagSpecifiers()]);
    expect(x.name).toBe("wasmcustom.inference-router.upstream_queue");
    expect(Object.fromEntries(x.tags)).toEqual({ pool: "kv-cache", endpoint: "10.0.0.1:8000" });
    // A pool name with dots loses them, so `kv.cache.x` cannot feed the `cache` tag either:
    const dotted = extractTags(`wasmcustom.${statName("inference-router", "picks", { pool: "kv.cache.x" })}`, [
      ...istioUnanchored,
      ...tagSpecifiers(),
    ]);
    expect(dotted).toEqual({ name: "wasmcustom.inference-router.picks", tags: [["pool", "kv_cache_x"]] });
    // The dotted form this replaced would have lost its labels to the `cache` tag:
    expect(extractTags("wasmcustom.inference-router.pool.kv-cache.endpoint.x.upstream_queue", istioUnanchored).tags).toEqual([
      ["cache", "endpoint"],
    ]);
  });
});
