// Regenerates everything derived from the plugin-config schema (src/config/plugin-config.ts); see src/config/codegen.ts.
//   npm run gen:config            write the files that changed, list them
//   npm run gen:config -- --check exit 1 if any is stale (what test/units/config-generated.test.ts checks)
// The generator is TypeScript: it is compiled with the toolkit (tsc -p tsconfig.build.json, incremental) first.
import { spawnSync } from "node:child_process";
import { readFileSync, writeFileSync, existsSync } from "node:fs";
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const tsc = spawnSync(process.execPath, [join(root, "node_modules", "typescript", "bin", "tsc"), "-p", "tsconfig.build.json"], {
  cwd: root,
  stdio: "inherit",
});
if (tsc.status !== 0) process.exit(1);
const { generatedFiles } = await import(join(root, "dist", "config", "codegen.js"));
const check = process.argv.includes("--check");
const files = generatedFiles(() => readFileSync(join(root, "README.md"), "utf8"));
let stale = 0;
for (const [path, content] of Object.entries(files)) {
  const abs = join(root, path);
  if (existsSync(abs) && readFileSync(abs, "utf8") === content) continue;
  stale++;
  if (check) console.log(`stale: ${path}`);
  else {
    writeFileSync(abs, content);
    console.log(`wrote ${path}`);
  }
}
if (!stale) console.log("generated files up to date");
process.exit(check && stale ? 1 : 0);
