// Builds the AssemblyScript test filters that are missing or older than what they depend on, once per vitest run.
// `npm test` runs the full build first, so normally everything is fresh and this returns at once. Only stale
// filters are rebuilt, so edits elsewhere in assembly/ do not recompile the host's own test filters.
import { execFileSync } from "node:child_process";
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";

const root = join(import.meta.dirname, "..", "..");

function newest(path: string): number {
  if (!existsSync(path)) return 0;
  const st = statSync(path);
  if (!st.isDirectory()) return st.mtimeMs;
  let t = 0;
  for (const e of readdirSync(path)) t = Math.max(t, newest(join(path, e)));
  return t;
}

export default function setup(): void {
  if (process.env.HOST_TEST_NO_BUILD) return;
  const dir = join(root, "test", "filters");
  const filters = readdirSync(dir).filter((f) => f.endsWith(".ts"));
  const out = (f: string) => join(root, "build", "test", f.replace(/\.ts$/, ".wasm"));
  const common = Math.max(newest(join(root, "asconfig.json")), newest(join(root, "assembly", "runtime")), newest(join(root, "assembly", "compat")));
  const product = newest(join(root, "assembly"));
  const stale = filters.filter((f) => {
    if (!existsSync(out(f))) return true;
    const src = readFileSync(join(dir, f), "utf8");
    // Filters that pull in the product code depend on all of assembly/; the others only on runtime + compat.
    const deps = Math.max(statSync(join(dir, f)).mtimeMs, /assembly\/(router|index)/.test(src) ? product : common);
    return statSync(out(f)).mtimeMs < deps;
  });
  if (stale.length === 0) return;
  const names = stale.map((f) => f.replace(/\.ts$/, ""));
  try {
    execFileSync(process.execPath, [join(root, "scripts", "build-wasm.mjs"), "--only", "test", ...names], { cwd: root, stdio: "pipe" });
  } catch (e) {
    // Keep going: tests of a filter that failed to build fail on their own with a clear "file not found".
    process.stderr.write(`test filter build reported errors:\n${(e as { stderr?: Buffer }).stderr?.toString() ?? e}\n`);
  }
}
