// Builds the project's Wasm modules, each only when what it is built from changed.
//   build/inference-router.wasm        the filter, release options of asconfig.json (what ships, what tests drive)
//   build/inference-router.debug.wasm  the filter, debug options (names, source map, .wat)
//   build/test/<name>.wasm             each test filter in test/filters (the host's own tests), test options
//   build/units/<name>.wasm            each unit harness in test/units, test options, runtime exported so tests
//                                      can pass strings and buffers through @assemblyscript/loader
// Test-only modules use asconfig's `test` target (light optimisation): they check behaviour, not size or speed.
//
// What to rebuild is decided in one place, here: a module's stamp (build/.stamps/<module>.sha256) holds the
// SHA-256 of everything it is built from: the source files its entry imports (followed transitively), the
// asconfig.json target, the `lib` folder, the AssemblyScript and SDK versions and the compiler arguments. The
// module is rebuilt when its output or stamp is missing or the digest differs; timestamps play no part, so a
// checkout, a branch switch or a touched file without changes never triggers a rebuild.
//
// Usage: node scripts/build-wasm.mjs [--for start|test|all] [--only release|debug|test|units] [--force] [--quiet] [name...]
//   --for start   the filter only (what `npm start` runs)
//   --for test    the filter, test filters and unit harnesses (what `npm test` runs; its global setup calls this)
//   --for all     everything (default)
//   name...       with --only test|units: just these modules
// Prints one line per module built (with its time); --quiet prints nothing when everything is fresh.
import { createHash } from "node:crypto";
import { spawn } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { basename, dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import os from "node:os";

export const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const asc = join(root, "node_modules", "assemblyscript", "bin", "asc.js");
const stampDir = join(root, "build", ".stamps");

/** Every module this script knows, with the group it belongs to. */
export function modules() {
  const out = [
    { label: "release", group: "release", entry: "assembly/index.ts", out: "build/inference-router.wasm", target: "release", args: [] },
    { label: "debug", group: "debug", entry: "assembly/index.ts", out: "build/inference-router.debug.wasm", target: "debug", args: [] },
  ];
  const list = (dir) =>
    (existsSync(join(root, dir)) ? readdirSync(join(root, dir)) : []).filter((f) => f.endsWith(".ts") && !f.endsWith(".test.ts")).sort();
  for (const f of list("test/filters")) {
    const name = basename(f, ".ts");
    out.push({
      label: `test/${name}`,
      group: "test",
      name,
      entry: `test/filters/${f}`,
      out: `build/test/${name}.wasm`,
      target: "test",
      args: [],
    });
  }
  for (const f of list("test/units")) {
    const name = basename(f, ".ts");
    out.push({
      label: `units/${name}`,
      group: "units",
      name,
      entry: `test/units/${f}`,
      out: `build/units/${name}.wasm`,
      target: "test",
      args: ["--exportRuntime", "--exportStart", "_start"],
    });
  }
  return out;
}

const PURPOSES = { start: ["release"], test: ["release", "test", "units"], all: ["release", "debug", "test", "units"] };

// ---------------------------------------------------------------------------------------------------------------
// Inputs of a module.

const IMPORT = /(?:^|[\s;])(?:import|export)\s[^;]*?from\s*["']([^"']+)["']|(?:^|[\s;])import\s*["']([^"']+)["']/gm;

function resolveSource(from, spec) {
  const base = resolve(dirname(from), spec);
  for (const c of [base, `${base}.ts`, join(base, "index.ts")]) if (existsSync(c) && statSync(c).isFile()) return c;
  return undefined;
}

function walk(dir, out) {
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) walk(p, out);
    else if (e.name.endsWith(".ts")) out.push(p);
  }
  return out;
}

function packageVersion(name) {
  const p = join(root, "node_modules", name, "package.json");
  return existsSync(p) ? `${name}@${JSON.parse(readFileSync(p, "utf8")).version}` : `${name}@missing`;
}

/** Source files the entry pulls in (relative imports, followed), plus the packages it names. */
function sourceClosure(entry) {
  const files = new Set();
  const packages = new Set();
  const todo = [join(root, entry)];
  while (todo.length) {
    const f = todo.pop();
    if (files.has(f)) continue;
    files.add(f);
    const text = readFileSync(f, "utf8");
    for (const m of text.matchAll(IMPORT)) {
      const spec = m[1] ?? m[2];
      if (spec.startsWith(".")) {
        const r = resolveSource(f, spec);
        if (r) todo.push(r);
      } else packages.add(spec.startsWith("@") ? spec.split("/").slice(0, 2).join("/") : spec.split("/")[0]);
    }
  }
  return { files: [...files].sort(), packages: [...packages].sort() };
}

const asconfig = JSON.parse(readFileSync(join(root, "asconfig.json"), "utf8"));
const libFiles = (asconfig.options.lib ?? []).flatMap((d) => walk(join(root, d), [])).sort();

/** The module's argv for asc and the digest of everything that decides its output. */
function plan(m) {
  const argv = [m.entry, "--config", "asconfig.json", "--target", m.target, "-o", m.out, ...m.args];
  const { files, packages } = sourceClosure(m.entry);
  const h = createHash("sha256");
  h.update(
    JSON.stringify({
      argv,
      options: asconfig.options,
      target: asconfig.targets[m.target],
      tools: [packageVersion("assemblyscript"), ...packages.map(packageVersion)],
    }),
  );
  for (const f of [...files, ...libFiles]) h.update(`\0${relative(root, f)}\0`).update(readFileSync(f));
  return { argv, digest: h.digest("hex") };
}

const stampPath = (m) => join(stampDir, `${m.label.replace(/\//g, "__")}.sha256`);

/** Whether the module's output is missing or was built from other inputs. */
export function isStale(m, digest = plan(m).digest) {
  if (!existsSync(join(root, m.out)) || !existsSync(stampPath(m))) return true;
  return readFileSync(stampPath(m), "utf8").trim() !== digest;
}

// ---------------------------------------------------------------------------------------------------------------
// Building.

function compile(argv) {
  return new Promise((done) => {
    const p = spawn(process.execPath, [asc, ...argv], { cwd: root, stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    p.stdout.on("data", (d) => (out += d));
    p.stderr.on("data", (d) => (out += d));
    p.on("close", (code) => done({ code, out }));
  });
}

/**
 * Builds the stale modules among `selected`, as many at once as there are cores (asc is single-threaded).
 * Returns the number that failed; asc's output is shown only for those (it warns about SDK sources we do not own).
 */
export async function build(selected, { force = false, log = (s) => process.stdout.write(s) } = {}) {
  const jobs = [];
  for (const m of selected) {
    const p = plan(m);
    if (force || isStale(m, p.digest)) jobs.push({ m, ...p });
  }
  if (jobs.length === 0) return { built: 0, failed: 0 };
  log(`building ${jobs.length} wasm module(s): ${jobs.map((j) => j.m.label).join(", ")}\n`);
  mkdirSync(stampDir, { recursive: true });
  const width = Math.max(1, Math.min(os.availableParallelism?.() ?? 2, 4));
  const queue = jobs.slice();
  let failed = 0,
    finished = 0;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: width }, async () => {
      while (queue.length) {
        const j = queue.shift();
        mkdirSync(dirname(join(root, j.m.out)), { recursive: true });
        const t = performance.now();
        const r = await compile(j.argv);
        finished++;
        if (r.code !== 0) {
          failed++;
          // The previous output must not pass for this build: remove it and its stamp.
          rmSync(join(root, j.m.out), { force: true });
          rmSync(stampPath(j.m), { force: true });
          log(`  [${finished}/${jobs.length}] ${j.m.label} FAILED:\n${r.out}\n`);
          continue;
        }
        writeFileSync(stampPath(j.m), `${j.digest}\n`);
        log(`  [${finished}/${jobs.length}] ${j.m.label} (${((performance.now() - t) / 1000).toFixed(1)} s)\n`);
      }
    }),
  );
  log(`built ${jobs.length - failed} of ${jobs.length} in ${((performance.now() - t0) / 1000).toFixed(1)} s\n`);
  return { built: jobs.length - failed, failed };
}

/** The modules named by command-line style options. */
export function select({ purpose = "all", only, names = [] } = {}) {
  const groups = only ? [only] : PURPOSES[purpose];
  if (!groups) throw new Error(`unknown --for ${purpose} (start, test or all)`);
  return modules().filter((m) => groups.includes(m.group) && (!names.length || !m.name || names.includes(m.name)));
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const args = process.argv.slice(2);
  const opt = (k) => (args.includes(k) ? args[args.indexOf(k) + 1] : undefined);
  const names = args.filter((a, i) => !a.startsWith("--") && !["--only", "--for"].includes(args[i - 1]));
  const selected = select({ purpose: opt("--for"), only: opt("--only"), names });
  const r = await build(selected, { force: args.includes("--force") });
  if (r.built === 0 && r.failed === 0 && !args.includes("--quiet")) console.log(`wasm modules up to date (${selected.length})`);
  if (r.failed) process.exit(1);
}
