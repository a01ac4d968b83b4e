// The files generated from the plugin-config schema (src/config/codegen.ts) are what the schema generates now:
// after a schema change, `npm run gen:config` must have been run (this test names the stale files).
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { generatedFiles, schemaTree } from "../../src/config/codegen.js";
import { CONFIG_KEYS } from "../fuzz/config-keys.js";
import { PluginConfigSchema } from "../../src/config/plugin-config.js";

const root = join(import.meta.dirname, "..", "..");
const read = (p: string) => readFileSync(join(root, p), "utf8");

describe("generated from the plugin-config schema", () => {
  it("every generated file is up to date (else run: npm run gen:config)", () => {
    const files = generatedFiles(() => read("README.md"));
    const stale = Object.entries(files).filter(([path, content]) => read(path) !== content).map(([path]) => path);
    expect(stale, "stale generated files: run `npm run gen:config`").toEqual([]);
  });

  it("covers every key of the schema (the key lists match zod's own shape)", () => {
    const shape = (PluginConfigSchema as unknown as { _zod: { def: { in?: unknown; shape?: Record<string, unknown> } } })._zod.def;
    const top = Object.keys((shape.shape ?? (shape.in as { _zod: { def: { shape: Record<string, unknown> } } })._zod.def.shape));
    expect(CONFIG_KEYS[""]).toEqual(top);
    expect(schemaTree().fields.map((f) => f.key)).toEqual(top);
  });
});
