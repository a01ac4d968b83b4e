// The pluginConfig the toolkit writes is the exact JSON the filter parses: feed what `generate` put in the
// WasmPlugin (and in the EnvoyFilter alternative's StringValue) to the compiled .wasm and expect it configured,
// in every steering and body mode.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { parseAllDocuments } from "yaml";
import { describe, expect, it } from "vitest";
import { createProxy, VirtualClock } from "../../src/host/index.js";
import { generate } from "../../src/toolkit/generate.js";
import { loadRouterConfig } from "../../src/toolkit/load.js";

const root = join(import.meta.dirname, "..", "..");
const wasm = readFileSync(join(root, "build", "inference-router.wasm"));
const example = loadRouterConfig(join(root, "examples", "router.yaml"));

/** Accepted by the filter: createProxy runs configure in the canary and the worker, and throws on rejection. */
async function accepted(pluginConfig: unknown, clusters: string[] = []): Promise<void> {
  const p = await createProxy({ wasm, pluginConfig: JSON.stringify(pluginConfig), clock: new VirtualClock(), clusters });
  expect(p.logs.matching("configuration rejected")).toEqual([]);
  expect(p.logs.matching(/inference-router: configured \d+ pool/).length).toBeGreaterThan(0);
  await p.close();
}

describe("generated pluginConfig is accepted by the .wasm", () => {
  it("the checked-in istio/wasm-envoyfilter.yaml and its WasmPlugin alternative", async () => {
    const wp = parseAllDocuments(readFileSync(join(root, "istio", "alternatives", "wasmplugin.yaml"), "utf8"))[0]!.toJS();
    await accepted(wp.spec.pluginConfig);
    expect(wp.spec.pluginConfig.pools[0].hosts).toContain("llm.llm.svc.cluster.local:8000");
    const ef = parseAllDocuments(readFileSync(join(root, "istio", "wasm-envoyfilter.yaml"), "utf8"))[0]!.toJS();
    const ext = ef.spec.configPatches.find((c: { applyTo: string }) => c.applyTo === "EXTENSION_CONFIG");
    const sv = ext.patch.value.typed_config.config.configuration;
    expect(sv["@type"]).toBe("type.googleapis.com/google.protobuf.StringValue");
    await accepted(JSON.parse(sv.value));
  });

  for (const [name, patch] of [
    ["pool steering", { steering: "pool" }],
    ["pool steering, body mode", { steering: "pool", body: { enabled: true, maxBytes: 65536, timeoutMs: 500 } }],
  ] as const) {
    it(name, async () => {
      const cfg = { ...example, ...patch } as typeof example;
      const r = generate(cfg);
      await accepted(
        r.pluginConfig,
        r.metrics.map((m) => m.cluster),
      );
    });
  }

  it("endpoint steering with listed endpoints", async () => {
    const cfg = {
      ...example,
      steering: "endpoint",
      pools: example.pools.map((p, i) => ({ ...p, endpoints: [`10.0.${i}.1:8000`, `10.0.${i}.2:8000`] })),
    } as typeof example;
    const r = generate(cfg);
    expect(r.pluginConfig.steering).toBe("endpoint");
    await accepted(
      r.pluginConfig,
      r.metrics.map((m) => m.cluster),
    );
  });
});
