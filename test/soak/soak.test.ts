// Soak, short version (`npm run soak` runs this with 50k requests, then the 1M-request soak of scripts/soak.mjs; see
// docs/reliability.md): 30k requests through three worker VMs; after warm-up, Wasm memory pages of every worker and
// the size of shared data do not move.
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { ROUTER_WASM } from "../filter/helpers.js";
import { runSoak } from "./soak.js";

const REQUESTS = process.env.INFERENCE_ROUTER_SOAK === "1" ? 50_000 : 30_000;

describe("soak", () => {
  it(`keeps memory pages and shared data flat over ${REQUESTS / 1000}k requests on 3 workers`, { timeout: 120_000 }, async () => {
    const wasm = new Uint8Array(readFileSync(process.env.FUZZ_WASM ?? ROUTER_WASM));
    const r = await runSoak({ wasm, requests: REQUESTS, interval: 10_000, workers: 3 });
    if (process.env.FUZZ_VERBOSE) console.log(JSON.stringify(r.samples), r.counters, "polling", r.polling);
    const warm = r.samples.find((s) => s.requests === 10_000)!;
    const last = r.samples[r.samples.length - 1]!;
    expect(last.requests).toBe(REQUESTS);
    expect(last.pages).toEqual(warm.pages);
    expect(last.sharedKeys).toBe(warm.sharedKeys);
    expect(last.sharedBytes).toBe(warm.sharedBytes);
    // The run did what it is meant to: ejections of the failing upstream, local replies, spoofs, held bodies.
    expect(r.counters["resp.bad_upstream_503"]).toBeGreaterThan(10);
    expect(r.counters["reply.404"]).toBeGreaterThan(1000);
    expect(r.counters["log.warn"]).toBeGreaterThan(0); // "ejected upstream ..."
    expect(r.counters["held_stalled"] ?? 0).toBe(0);
  });
});
