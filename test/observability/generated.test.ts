// The dashboard and alerts generated for examples/router.yaml: valid by the PrometheusRule CRD schema, every PromQL
// expression parsed by Prometheus's grammar and naming only metrics of the table, and covering what operators ask.
import { join } from "node:path";
import { parse } from "yaml";
import { describe, expect, it } from "vitest";
import { loadRouterConfig } from "../../src/toolkit/load.js";
import { METRICS, promMetric } from "../../src/observability/metrics.js";
import { promqlProblems } from "../../src/observability/promql.js";
import { STAT_TAGS, tagSpecifiers } from "../../src/observability/tags.js";
import { generate, validateGenerated, type K8sObject } from "../../src/toolkit/generate.js";
import {
  alertRules,
  dashboardProblems,
  DASHBOARD_FILE,
  ENVOY_STATS_FILE,
  grafanaDashboard,
  ISTIO_STATS_FILE,
  RULES_FILE,
  validatePrometheusRule,
  validateStatsDoc,
} from "../../src/toolkit/observability.js";

const ROOT = join(import.meta.dirname, "..", "..");
const cfg = loadRouterConfig(join(ROOT, "examples", "router.yaml"));
const result = generate(cfg, { source: "router.yaml" });
const pc = result.pluginConfig;
const file = (p: string) => result.files.find((f) => f.path === p)!;
const rules = () =>
  structuredClone(alertRules(cfg, pc)) as K8sObject & { spec: { groups: Array<{ rules: Array<Record<string, unknown>> }> } };
const exprs = (d: ReturnType<typeof grafanaDashboard>) =>
  (d.panels ?? []).flatMap((p) => ("targets" in p ? (p.targets ?? []) : []).map((t) => String((t as { expr?: string }).expr)));

describe("generated observability for examples/router.yaml", () => {
  it("is written by generate and every file validates", () => {
    for (const p of [RULES_FILE, DASHBOARD_FILE, ENVOY_STATS_FILE, ISTIO_STATS_FILE]) expect(file(p), p).toBeDefined();
    expect(validateGenerated(cfg, result, "router.yaml")).toEqual([]);
    expect(validatePrometheusRule(file(RULES_FILE).objects![0], RULES_FILE, pc.name)).toEqual([]);
    expect(dashboardProblems(JSON.parse(file(DASHBOARD_FILE).content!), pc.name, DASHBOARD_FILE)).toEqual([]);
  });

  it("alerts on a pool gone all stale, shedding, ejections and stale fallback", () => {
    const r = rules().spec.groups[0]!.rules;
    expect(r.map((x) => x.alert)).toEqual(
      expect.arrayContaining([
        "InferenceRouterPoolAllStale",
        "InferenceRouterShedding",
        "InferenceRouterUpstreamEjected",
        "InferenceRouterStaleFallback",
      ]),
    );
    for (const x of r) expect(promqlProblems(String(x.expr), pc.name), String(x.alert)).toEqual([]);
  });

  it("the dashboard shows every per-upstream gauge, picks, ejections, shedding and decision reasons", () => {
    const all = exprs(grafanaDashboard(cfg, pc)).join("\n");
    for (const m of METRICS.filter((d) => d.labels.includes("pool") || d.labels.includes("outcome"))) {
      if (m.name === "upstream_capacity_milli") continue; // used as the catalog filter of every per-upstream query
      expect(all, m.name).toContain(promMetric(pc.name, m.name));
    }
    for (const reason of ["stale_fallbacks", "fallback_pool_picks", "saturated_picks", "affinity_hits", "lora_affinity_hits"])
      expect(all).toContain(promMetric(pc.name, reason));
    expect(all).toContain('outcome="shed"');
  });

  it("the Envoy and Istio stats-tag files are what validate-output accepts", () => {
    expect(validateStatsDoc(parse(file(ENVOY_STATS_FILE).content!), ENVOY_STATS_FILE)).toEqual([]);
    expect(validateStatsDoc(parse(file(ISTIO_STATS_FILE).content!), ISTIO_STATS_FILE)).toEqual([]);
    // The files carry exactly the tags the filter's names are written for (and the host applies in the tests).
    expect(parse(file(ENVOY_STATS_FILE).content!).stats_config.stats_tags).toEqual(tagSpecifiers());
    expect(parse(file(ISTIO_STATS_FILE).content!).meshConfig.defaultConfig.extraStatTags).toEqual([...STAT_TAGS]);
    expect(validateStatsDoc({ stats_config: { stats_tags: [{ tag_name: "pool", regexp: "x" }] } }, "x")).not.toEqual([]);
  });
});

describe("the validators catch what they are for", () => {
  it("a PrometheusRule that breaks the CRD schema", () => {
    const bad = rules();
    delete bad.spec.groups[0]!.rules[0]!["expr"];
    expect(validatePrometheusRule(bad, "x", pc.name).some((p) => /CRD schema/.test(p.message))).toBe(true);
    const bad2 = rules();
    bad2.spec.groups[0]!.rules[0]!["for"] = "two minutes";
    expect(validatePrometheusRule(bad2, "x", pc.name).some((p) => /CRD schema/.test(p.message))).toBe(true);
  });

  it("PromQL that does not parse, or names a metric the filter does not export", () => {
    const bad = rules();
    bad.spec.groups[0]!.rules[1]!["expr"] = "sum(rate(inference_router_requests[5m])";
    expect(validatePrometheusRule(bad, "x", pc.name).map((p) => p.path)).toEqual(["spec.groups[0].rules[1].expr"]);
    expect(promqlProblems("inference_router_upstream_queue_depth > 1")).toEqual([expect.stringMatching(/unknown metric/)]);
  });

  it("a dashboard with overlapping panels, an undefined variable or a broken query", () => {
    const d = grafanaDashboard(cfg, pc);
    const p0 = d.panels![0]! as unknown as { gridPos: { x: number; y: number }; targets: Array<{ expr: string }> };
    const p1 = d.panels![1]! as { gridPos: { x: number; y: number } };
    p1.gridPos = { ...p1.gridPos, x: p0.gridPos.x, y: p0.gridPos.y };
    p0.targets[0]!.expr = `sum(${promMetric(pc.name, "picks")}{pool=~"$nope"}`;
    const msgs = dashboardProblems(d, pc.name, "d")
      .map((p) => p.message)
      .join("\n");
    expect(msgs).toMatch(/overlaps/);
    expect(msgs).toMatch(/undefined variable \$nope/);
    expect(msgs).toMatch(/PromQL syntax error/);
  });
});
