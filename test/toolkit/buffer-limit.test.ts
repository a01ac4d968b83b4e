// The listener buffer limit the toolkit sets in body mode, and that it tells the filter the same number.
import { describe, expect, test } from "vitest";
import { parsePluginConfig } from "../../src/config/plugin-config.js";
import { bufferLimitFor } from "../../src/toolkit/buffer-limit.js";
import { generate, validateGenerated, type K8sObject } from "../../src/toolkit/generate.js";
import { variant } from "./helpers.js";

function envoyFilter(body: { enabled: boolean; maxBytes?: number }): { ef: K8sObject; plugin: ReturnType<typeof parsePluginConfig> } {
  const cfg = variant((c) => {
    c.body = body;
  });
  const r = generate(cfg);
  expect(validateGenerated(cfg, r, "test").filter((p) => (p as { level?: string }).level !== "warning")).toEqual([]);
  const ef = r.files
    .flatMap((f) => f.objects ?? [])
    .find((o) => o.kind === "EnvoyFilter" && JSON.stringify(o).includes("EXTENSION_CONFIG"))!;
  const spec = ef.spec as { configPatches: Array<{ applyTo: string; patch: { value: Record<string, unknown> } }> };
  const wasm = spec.configPatches.find((p) => p.applyTo === "EXTENSION_CONFIG")!.patch.value as {
    typed_config: { config: { configuration: { value: string } } };
  };
  return { ef, plugin: parsePluginConfig(JSON.parse(wasm.typed_config.config.configuration.value)) };
}

describe("listener buffer limit (body mode)", () => {
  test("body mode sets per_connection_buffer_limit_bytes on the workload's listeners and passes it to the filter", () => {
    const { ef, plugin } = envoyFilter({ enabled: true, maxBytes: 262_144 });
    const patches = (ef.spec as { configPatches: Array<{ applyTo: string; patch: { operation: string; value: Record<string, unknown> } }> })
      .configPatches;
    const l = patches.find((p) => p.applyTo === "LISTENER")!;
    expect(l.patch.operation).toBe("MERGE");
    expect(l.patch.value).toEqual({ per_connection_buffer_limit_bytes: 1_048_576 });
    expect(plugin.body.bufferLimitBytes).toBe(1_048_576);
    expect(plugin.body.maxBytes).toBeLessThanOrEqual(plugin.body.bufferLimitBytes);
  });
  test("without body mode no listener is touched", () => {
    const { ef } = envoyFilter({ enabled: false });
    expect(JSON.stringify(ef)).not.toContain("LISTENER");
  });
  test("the limit is bounded and never below Envoy's default", () => {
    expect(
      bufferLimitFor(
        variant((c) => {
          c.body = { enabled: true, maxBytes: 256 };
        }),
      ),
    ).toBe(1_048_576);
    expect(
      bufferLimitFor(
        variant((c) => {
          c.body = { enabled: true, maxBytes: 1_048_576 };
        }),
      ),
    ).toBe(1_048_576);
  });
});
