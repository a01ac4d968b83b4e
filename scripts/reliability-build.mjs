// Compiles the fuzz and soak engines (test/fuzz/engine.ts, test/soak/soak.ts and what they import from src/) to
// build/reliability/ with the project's TypeScript, so scripts/fuzz.mjs and scripts/soak.mjs run them in plain
// Node (Node 20 cannot run TypeScript). Type errors are reported but do not stop the emit.
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, readFileSync, statSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

export const root = join(dirname(fileURLToPath(import.meta.url)), "..");
export const outDir = join(root, "build", "reliability");

export function compileEngines() {
  const tsc = join(root, "node_modules", "typescript", "bin", "tsc");
  const r = spawnSync(
    process.execPath,
    [
      tsc,
      "--outDir",
      outDir,
      "--rootDir",
      root,
      "--module",
      "NodeNext",
      "--moduleResolution",
      "NodeNext",
      "--target",
      "ES2022",
      "--skipLibCheck",
      "--types",
      "node",
      "--declaration",
      "false",
      "--sourceMap",
      "false",
      join(root, "test", "fuzz", "engine.ts"),
      join(root, "test", "soak", "soak.ts"),
    ],
    { cwd: root, encoding: "utf8" },
  );
  if (!existsSync(join(outDir, "test", "fuzz", "engine.js"))) {
    process.stderr.write(r.stdout + r.stderr);
    throw new Error("could not compile the fuzz/soak engines");
  }
  if (r.status !== 0) process.stderr.write(`(type errors while compiling the engines, emitted anyway)\n${r.stdout.slice(0, 2000)}\n`);
}

/** The module under test, with its digest and age so the figures printed can be tied to a build. */
export function loadWasm(path) {
  if (!existsSync(path)) throw new Error(`${path} not found: run \`npm run build:wasm\` first`);
  const bytes = new Uint8Array(readFileSync(path));
  return { bytes, sha256: createHash("sha256").update(bytes).digest("hex"), mtime: statSync(path).mtime.toISOString() };
}

export function arg(name, fallback) {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && i + 1 < process.argv.length ? process.argv[i + 1] : fallback;
}
