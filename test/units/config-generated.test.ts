// The files generated from the plugin-config schema (src/config/codegen.ts) are what the schema generates now:
// after a schema change, `npm run gen:config` must have been run (this test names the stale files).
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { genConfigClasses, genDump, genParser, genReadmeTable, generatedFiles, schemaTree } from "../../src/config/codegen.js";
import { z } from "zod";
import { CONFIG_KEYS } from "../fuzz/config-keys.js";
import { PluginConfigSchema } from "../../src/config/plugin-config.js";

const root = join(import.meta.dirname, "..", "..");
const read = (p: string) => readFileSync(join(root, p), "utf8");

describe("generated from the plugin-config schema", () => {
  it("every generated file is up to date (else run: npm run gen:config)", () => {
    const files = generatedFiles(() => read("README.md"));
    const stale = Object.entries(files)
      .filter(([path, content]) => read(path) !== content)
      .map(([path]) => path);
    expect(stale, "stale generated files: run `npm run gen:config`").toEqual([]);
  });

  it("covers every key of the schema (the key lists match zod's own shape)", () => {
    const shape = (PluginConfigSchema as unknown as { _zod: { def: { in?: unknown; shape?: Record<string, unknown> } } })._zod.def;
    const top = Object.keys(shape.shape ?? (shape.in as { _zod: { def: { shape: Record<string, unknown> } } })._zod.def.shape);
    expect(CONFIG_KEYS[""]).toEqual(top);
    expect(schemaTree().fields.map((f) => f.key)).toEqual(top);
  });

  it("a field added the plain way (zod only) needs nothing else: classes, walk, dump and README follow", () => {
    const shape = (PluginConfigSchema as unknown as { shape: Record<string, z.ZodType> }).shape;
    const extended = z.object({
      ...shape,
      learning: z
        .object({
          enabled: z.boolean().default(false).describe("Learn capacity."),
          halfLifeMs: z.number().int().min(100).max(600_000).default(10_000),
          floor: z.number().min(0).max(1).optional().describe("Lowest learned share."),
          header: z
            .string()
            .regex(/^[a-z0-9!#$%&'*+.^_`|~-]{1,64}$/, "must be a lower-case HTTP header name of 1-64 token characters")
            .optional(),
        })
        .strict()
        .default({ enabled: false, halfLifeMs: 10_000 }),
    });
    const tree = schemaTree(extended);
    const classes = genConfigClasses(tree);
    expect(classes).toContain("export class LearningConfig {");
    expect(classes).toContain("  halfLifeMs: i32 = 10000;");
    expect(classes).toContain("  floor: f64 = 0;\n  hasFloor: bool = false;"); // 0 is a valid value: a has-flag
    expect(classes).toContain("  learning: LearningConfig = new LearningConfig();");
    const walk = genParser(tree);
    expect(walk).toContain('const LEARNING_CONFIG_KEYS: Array<string> = ["enabled", "halfLifeMs", "floor", "header"];');
    expect(walk).toContain('o.halfLifeMs = int(m.at("halfLifeMs"), m.path("halfLifeMs"), 100, 600000, o.halfLifeMs);');
    expect(walk).toContain("o.hasFloor = true;");
    expect(genDump(tree)).toContain("if (v.hasFloor)");
    expect(genReadmeTable(tree)).toContain("| `learning.floor` | unset | number 0 … 1 | Lowest learned share. |");
    // A pattern the filter has no checker for is refused with instructions, not silently accepted.
    const bad = z.object({ ...shape, odd: z.string().regex(/^x+$/).optional() });
    expect(() => genParser(schemaTree(bad))).toThrow(/no AssemblyScript checker/);
  });
});
