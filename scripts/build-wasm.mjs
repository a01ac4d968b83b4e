// Builds every Wasm module of the project with the options in asconfig.json:
//   build/inference-router.wasm (release), build/inference-router.debug.wasm (debug),
//   build/test/<name>.wasm for each AssemblyScript test filter in test/filters (release options),
//   build/units/<name>.wasm for each unit harness in test/units (release options, runtime exported so tests can
//   pass strings and buffers through @assemblyscript/loader).
// Usage: node scripts/build-wasm.mjs [--only release|debug|test|units] [name...]
import { readdirSync, mkdirSync, existsSync } from "node:fs";
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { dirname, join, basename } from "node:path";
import os from "node:os";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const asc = join(root, "node_modules", "assemblyscript", "bin", "asc.js");
const args = process.argv.slice(2);
const only = args.includes("--only") ? args[args.indexOf("--only") + 1] : undefined;
const names = args.filter((a, i) => !a.startsWith("--") && args[i - 1] !== "--only");

const jobs = [];
if (!only || only === "release") jobs.push(["release", ["assembly/index.ts", "--config", "asconfig.json", "--target", "release"]]);
if (!only || only === "debug") jobs.push(["debug", ["assembly/index.ts", "--config", "asconfig.json", "--target", "debug"]]);
if (!only || only === "test") {
  mkdirSync(join(root, "build", "test"), { recursive: true });
  for (const f of readdirSync(join(root, "test", "filters")).filter((f) => f.endsWith(".ts")).sort()) {
    const name = basename(f, ".ts");
    if (names.length && !names.includes(name)) continue;
    // Same options as the product's release build, another entry file.
    jobs.push([`test/${name}`, ["--config", "asconfig.json", "--target", "release", join("test", "filters", f),
      "-o", join("build", "test", `${name}.wasm`)]]);
  }
}

if (!only || only === "units") {
  mkdirSync(join(root, "build", "units"), { recursive: true });
  for (const f of existsSync(join(root, "test", "units")) ? readdirSync(join(root, "test", "units")).filter((f) => f.endsWith(".ts") && !f.endsWith(".test.ts")).sort() : []) {
    const name = basename(f, ".ts");
    if (names.length && !names.includes(name)) continue;
    jobs.push([`units/${name}`, ["--config", "asconfig.json", "--target", "release", join("test", "units", f),
      "-o", join("build", "units", `${name}.wasm`), "--exportRuntime", "--exportStart", "_start"]]);
  }
}

function run([label, argv]) {
  return new Promise((resolve) => {
    const p = spawn(process.execPath, [asc, ...argv], { cwd: root, stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    p.stdout.on("data", (d) => (out += d));
    p.stderr.on("data", (d) => (out += d));
    p.on("close", (code) => resolve({ label, code, out }));
  });
}

// asc is single-threaded: run as many compilations at once as there are cores.
const width = Math.max(1, Math.min(os.availableParallelism?.() ?? 2, 4));
let failed = 0;
const queue = jobs.slice();
await Promise.all(Array.from({ length: width }, async () => {
  while (queue.length) {
    const r = await run(queue.shift());
    // asc prints warnings for SDK sources we do not own; show output only on failure.
    if (r.code !== 0) { failed++; process.stderr.write(`asc ${r.label} failed:\n${r.out}\n`); }
  }
}));
if (failed) process.exit(1);
console.log(`built ${jobs.length} wasm module(s)`);
