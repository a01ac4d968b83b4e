// Long fuzzing run of build/inference-router.wasm in the proxy-wasm host (invariants: test/fuzz/engine.ts).
//   node scripts/fuzz.mjs [--cases 1000000] [--workers <cores>] [--seed <n>] [--config-share 0.02] [--wasm build/inference-router.wasm]
//   npm run fuzz -- --cases 1000000
// One worker thread per core; each builds 16 proxies (pool/endpoint × body mode on/off × allow_on_headers_stop_iteration
// on/off, generated catalogs, 2 worker VMs each) and reuses them across cases. Cases run in chunks of 10k, each chunk
// with its own fast-check seed (printed), so a failure can be replayed: --replay <requests|configs>:<seed>:<path>.
// Prints cases/s and invariant counters; exits 1 on the first violation, with the counterexample.
import { availableParallelism } from "node:os";
import { isMainThread, parentPort, Worker, workerData } from "node:worker_threads";
import { fileURLToPath } from "node:url";
import { join } from "node:path";
import { arg, compileEngines, loadWasm, outDir, root } from "./reliability-build.mjs";

const CHUNK = 10_000;

if (isMainThread) {
  const cases = Number(arg("cases", "1000000"));
  const workers = Number(arg("workers", String(Math.max(1, availableParallelism()))));
  const seed = Number(arg("seed", String(Date.now() % 1_000_000_007)));
  const configShare = Number(arg("config-share", "0.02"));
  const wasmPath = arg("wasm", join(root, "build", "inference-router.wasm"));
  const replay = arg("replay", undefined);
  compileEngines();
  const wasm = loadWasm(wasmPath);
  console.log(
    `fuzz: ${replay ? `replay ${replay}` : `${cases} cases`} on ${workers} worker thread(s); seed ${seed}; wasm ${wasmPath} sha256 ${wasm.sha256.slice(0, 16)} (${wasm.mtime})`,
  );
  const t0 = performance.now();
  const totals = {};
  const progress = new Map();
  let failed = false;
  const shards = replay ? 1 : workers;
  let running = shards;
  await Promise.all(
    Array.from(
      { length: shards },
      (_, k) =>
        new Promise((resolve) => {
          const w = new Worker(fileURLToPath(import.meta.url), {
            workerData: {
              shard: k,
              cases: Math.floor(cases / shards) + (k < cases % shards ? 1 : 0),
              seed: seed + k * 1_000_003,
              configShare,
              wasm: wasm.bytes,
              replay,
            },
          });
          w.on("message", (m) => {
            if (m.type === "progress") progress.set(k, m.counters);
            else if (m.type === "chunk") console.log(`  shard ${k}: chunk seed ${m.seed} (${m.family}, ${m.runs} runs) ok`);
            else if (m.type === "done") {
              for (const [key, v] of Object.entries(m.counters)) totals[key] = (totals[key] ?? 0) + v;
              progress.delete(k);
            } else if (m.type === "failure") {
              failed = true;
              console.log(
                `\nVIOLATION in shard ${k} (${m.family}); replay with: node scripts/fuzz.mjs --replay ${m.family}:${m.seed}:${m.path}\n${m.message}`,
              );
            }
          });
          w.on("error", (e) => {
            failed = true;
            console.log(`shard ${k} crashed: ${e.stack ?? e}`);
            resolve();
          });
          w.on("exit", () => {
            running--;
            resolve();
          });
        }),
    )
      .concat([
        new Promise((resolve) => {
          const timer = setInterval(() => {
            let n = totals.cases ?? 0,
              cfg = totals.configs ?? 0;
            for (const c of progress.values()) {
              n += c.cases ?? 0;
              cfg += c.configs ?? 0;
            }
            const s = (performance.now() - t0) / 1000;
            console.log(
              `  ${Math.round(s)} s: ${n + cfg} cases (${n} request cases, ${cfg} configs), ${Math.round((n + cfg) / s)} cases/s`,
            );
            if (running === 0) {
              clearInterval(timer);
              resolve();
            }
          }, 30_000);
          timer.unref();
        }),
      ])
      .slice(0, shards),
  );
  const s = (performance.now() - t0) / 1000;
  const total = (totals.cases ?? 0) + (totals.configs ?? 0);
  console.log(
    `\nfuzz ${failed ? "FAILED" : "passed"}: ${total} cases (${totals.cases ?? 0} request cases with ${totals.streams ?? 0} streams, ${totals.configs ?? 0} configurations) in ${s.toFixed(1)} s = ${Math.round(total / s)} cases/s; seed ${seed}`,
  );
  for (const k of Object.keys(totals).sort()) console.log(`  ${k.padEnd(40)} ${totals[k]}`);
  process.exit(failed ? 1 : 0);
} else {
  const { shard, cases, seed, configShare, wasm, replay } = workerData;
  const fc = (await import("fast-check")).default;
  const E = await import(join(outDir, "test", "fuzz", "engine.js"));
  const counters = {};
  const targets = await E.makeTargets(wasm, seed, 16);
  const reqArb = E.requestCaseArb(targets.length);
  const cfgArb = E.configCaseSpecArb();
  const fmt = (v) => fc.stringify(v).slice(0, 6000);
  async function runChunk(family, chunkSeed, runs, path) {
    const params = { seed: chunkSeed, numRuns: runs, path, endOnFailure: false, includeErrorInReport: true };
    const details =
      family === "requests"
        ? fc.check(
            fc.property(reqArb, (spec) => E.runRequestCase(targets, spec, counters)),
            params,
          )
        : await fc.check(
            fc.asyncProperty(cfgArb, (spec) => E.runConfigCase(wasm, spec, counters)),
            params,
          );
    if (details.failed) {
      parentPort.postMessage({
        type: "failure",
        family,
        seed: chunkSeed,
        path: details.counterexamplePath,
        message: `${details.errorInstance?.message ?? details.error}\ncounterexample: ${fmt(details.counterexample)}`,
      });
      return false;
    }
    return true;
  }
  if (replay) {
    const [family, s, path] = replay.split(":");
    await runChunk(family, Number(s), 1, path);
  } else {
    let done = 0,
      chunk = 0;
    while (done < cases) {
      const n = Math.min(CHUNK, cases - done);
      const nCfg = Math.round(n * configShare);
      const chunkSeed = seed + chunk * 7919;
      if (!(await runChunk("requests", chunkSeed, n - nCfg, undefined))) break;
      if (nCfg && !(await runChunk("configs", chunkSeed + 1, nCfg, undefined))) break;
      done += n;
      chunk++;
      parentPort.postMessage({ type: "progress", counters });
    }
  }
  for (const t of targets) await t.proxy.close();
  parentPort.postMessage({ type: "done", counters });
}
