// The long runs `npm test` keeps short: first the memory and soak tests at full length (vitest with
// INFERENCE_ROUTER_SOAK=1: 100k + 50k requests on one VM, 50k on three), then a long soak of
// build/inference-router.wasm in the proxy-wasm host (scenario: test/soak/soak.ts).
//   node scripts/soak.mjs [--requests 1000000] [--interval 100000] [--workers 3] [--seed 7] [--wasm build/inference-router.wasm] [--no-tests]
//   npm run soak
// Prints Wasm memory pages per worker VM and shared-data keys/bytes at every interval; exits 1 if the tests fail or
// unless the last sample equals the first one after warm-up (the first interval).
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { arg, compileEngines, loadWasm, outDir, root } from "./reliability-build.mjs";

if (!process.argv.includes("--no-tests")) {
  const vitest = join(root, "node_modules", "vitest", "vitest.mjs");
  console.log("long memory and soak tests (vitest, INFERENCE_ROUTER_SOAK=1)");
  const t = spawnSync(process.execPath, [vitest, "run", "test/filter/memory.test.ts", "test/soak/soak.test.ts"], {
    cwd: root,
    stdio: "inherit",
    env: { ...process.env, INFERENCE_ROUTER_SOAK: "1" },
  });
  if (t.status !== 0) process.exit(1);
}

const requests = Number(arg("requests", "1000000"));
const interval = Number(arg("interval", "100000"));
const workers = Number(arg("workers", "3"));
const seed = Number(arg("seed", "7"));
const wasmPath = arg("wasm", join(root, "build", "inference-router.wasm"));
compileEngines();
const wasm = loadWasm(wasmPath);
const { runSoak } = await import(join(outDir, "test", "soak", "soak.js"));
console.log(
  `soak: ${requests} requests, ${workers} worker VMs, seed ${seed}; wasm ${wasmPath} sha256 ${wasm.sha256.slice(0, 16)} (${wasm.mtime})`,
);
console.log("  requests   virtual s  wall s   req/s   pages/worker   shared keys  shared bytes");
let prev = { requests: 0, elapsedMs: 0 };
const r = await runSoak({
  wasm: wasm.bytes,
  requests,
  interval,
  workers,
  seed,
  onSample: (s) => {
    const rate =
      s.requests > prev.requests ? Math.round((s.requests - prev.requests) / ((s.elapsedMs - prev.elapsedMs) / 1000 || 1e-9)) : 0;
    console.log(
      `  ${String(s.requests).padStart(8)}  ${String(s.virtualMs / 1000).padStart(9)}  ${(s.elapsedMs / 1000).toFixed(1).padStart(6)}  ${String(rate).padStart(6)}   ${s.pages.join(",").padEnd(13)}  ${String(s.sharedKeys).padStart(11)}  ${String(s.sharedBytes).padStart(12)}`,
    );
    prev = s;
  },
});
const warm = r.samples.find((s) => s.requests >= interval);
const last = r.samples[r.samples.length - 1];
const flat =
  warm && last && warm.pages.join() === last.pages.join() && warm.sharedKeys === last.sharedKeys && warm.sharedBytes === last.sharedBytes;
console.log(
  `\nsoak ${flat ? "passed" : "FAILED"}: ${requests} requests in ${(r.elapsedMs / 1000).toFixed(1)} s = ${Math.round(requests / (r.elapsedMs / 1000))} req/s; metrics polling ${r.polling ? "configured" : "not available in this build"}`,
);
console.log(
  `  after warm-up (${warm?.requests}): pages ${warm?.pages.join(",")}, shared ${warm?.sharedKeys} keys / ${warm?.sharedBytes} bytes; last: pages ${last?.pages.join(",")}, shared ${last?.sharedKeys} keys / ${last?.sharedBytes} bytes`,
);
for (const k of Object.keys(r.counters).sort()) console.log(`  ${k.padEnd(28)} ${r.counters[k]}`);
process.exit(flat ? 0 : 1);
