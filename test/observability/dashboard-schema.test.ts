// The generated Grafana dashboard, read back from the file `generate` writes, against a JSON Schema of Grafana's own
// dashboard model (derived from @grafana/schema's `Dashboard` type at test time: grafana-schema.ts).
import { join } from "node:path";
import { Ajv, type ValidateFunction } from "ajv";
import { beforeAll, describe, expect, it } from "vitest";
import { loadRouterConfig } from "../../src/toolkit/load.js";
import { generate } from "../../src/toolkit/generate.js";
import { DASHBOARD_FILE } from "../../src/toolkit/observability.js";
import { grafanaDashboardSchema } from "./grafana-schema.js";

const ROOT = join(import.meta.dirname, "..", "..");
const dashboard = () =>
  JSON.parse(
    generate(loadRouterConfig(join(ROOT, "examples", "router.yaml")), { source: "router.yaml" }).files.find(
      (f) => f.path === DASHBOARD_FILE,
    )!.content!,
  );

let validate: ValidateFunction;
const errors = (d: unknown) => (validate(d) ? [] : (validate.errors ?? []).map((e) => `${e.instancePath} ${e.message}`));

beforeAll(() => {
  validate = new Ajv({ allErrors: true, strict: false }).compile(grafanaDashboardSchema());
}, 60_000);

describe("the generated dashboard by Grafana's dashboard model", () => {
  it("validates, panels and variables included", () => {
    const d = dashboard();
    expect(d.panels.length).toBeGreaterThan(5);
    expect(errors(d)).toEqual([]);
  });

  it("the schema is strict: unknown keys, wrong types and missing required fields are rejected", () => {
    const extra = dashboard();
    extra.panel = [];
    expect(errors(extra)).not.toEqual([]);
    const wrongType = dashboard();
    wrongType.panels[0].gridPos.h = "8";
    expect(errors(wrongType).join("\n")).toMatch(/gridPos\/h/);
    const noVersion = dashboard();
    delete noVersion.schemaVersion;
    expect(errors(noVersion).join("\n")).toMatch(/schemaVersion/);
    const badEnum = dashboard();
    badEnum.graphTooltip = 7;
    expect(errors(badEnum)).not.toEqual([]);
    const panelKey = dashboard();
    panelKey.panels[0].querys = [];
    expect(errors(panelKey)).not.toEqual([]);
  });
});
