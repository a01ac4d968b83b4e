// Saturation means full (issue 11): requests sent since the last load report count in the score (anti-herding)
// but never alone make an upstream saturated; held-open requests beyond maxInFlight still do; in pool mode the
// reported-queue threshold is per server. Through the compiled .wasm, one gateway (one proxy, as `npm start` runs).
import { describe, expect, it } from "vitest";
import type { Proxy } from "../../src/host/index.js";
import { loadKey, oip, readLoad, routerProxy } from "./helpers.js";

const PRIMARY = "outbound|8000||primary.llm.svc.cluster.local";
const SPARE = "outbound|8000||spare.llm.svc.cluster.local";

function vllm(waiting: number, running = 0, kv = 0): string {
  return `vllm:num_requests_waiting{model_name="m"} ${waiting}\nvllm:num_requests_running{model_name="m"} ${running}\nvllm:kv_cache_usage_perc{model_name="m"} ${kv}\n`;
}

/** A primary pool with a fallback, both polled; the first poll is answered with `page(cluster)`. */
async function gateway(page: (cluster: string) => string, primary: Record<string, unknown> = {}): Promise<Proxy> {
  const p = await routerProxy(
    {
      pools: [
        { name: "primary", models: ["m"], fallback: "spare", maxInFlight: 4, metrics: { cluster: PRIMARY }, ...primary },
        { name: "spare", models: ["m"], metrics: { cluster: SPARE } },
      ],
    },
    { clusters: [PRIMARY, SPARE] },
  );
  // One poll (interval 1 s); the virtual clock then stands still: every request below is inside this interval.
  p.advance(1000);
  expect(p.callouts.pending.length).toBe(2);
  for (const c of p.callouts.pending) c.respond({ status: 200, body: page(c.cluster) });
  return p;
}

async function send(p: Proxy, n: number, keepOpen = false): Promise<{ pools: Record<string, number>; shed: number }> {
  const pools: Record<string, number> = {};
  let shed = 0;
  for (let i = 0; i < n; i++) {
    const r = await p.request({ ...oip("m"), keepOpen });
    if (r.localReply?.status === 429) shed++;
    const pool = r.routerHeaders?.["x-inference-pool"] ?? "(none)";
    pools[pool] = (pools[pool] ?? 0) + 1;
  }
  return { pools, shed };
}

describe("saturation means full", () => {
  it("50 sequential completed requests inside one poll interval all stay on the idle primary pool, 0 shed", async () => {
    const p = await gateway(() => vllm(0));
    expect(await send(p, 50)).toEqual({ pools: { primary: 50 }, shed: 0 });
    // They still count for anti-herding: the score sees all 50 sends since the report.
    expect(readLoad(p, loadKey("primary", "primary"))!.sentSinceReport).toBe(50);
  });

  it("held-open requests beyond maxInFlight still saturate the primary: the next ones go to the fallback", async () => {
    const p = await gateway(() => vllm(0));
    expect(await send(p, 4, true)).toEqual({ pools: { primary: 4 }, shed: 0 });
    expect(await send(p, 2, true)).toEqual({ pools: { spare: 2 }, shed: 0 });
  });

  it("a reported queue at saturation.queue saturates; sends since the report only weigh in the score", async () => {
    const p = await gateway((c) => vllm(c === PRIMARY ? 8 : 0));
    expect((await send(p, 3)).pools).toEqual({ spare: 3 });
  });

  it("pool mode: saturation.queue is per server (a pool's reported queue is its members' sum)", async () => {
    // Two members polled per endpoint; 6 + 6 queued = 12 for the pool: under 8 per server, so not saturated.
    const p = await routerProxy(
      {
        pools: [
          {
            name: "primary",
            models: ["m"],
            fallback: "spare",
            endpoints: ["10.0.0.1:8000", "10.0.0.2:8000"],
            metrics: { cluster: PRIMARY },
          },
          { name: "spare", models: ["m"], metrics: { cluster: SPARE } },
        ],
      },
      { clusters: [PRIMARY, SPARE] },
    );
    p.advance(1000);
    expect(p.callouts.pending.length).toBe(3);
    for (const c of p.callouts.pending) c.respond({ status: 200, body: vllm(c.cluster === PRIMARY ? 6 : 0) });
    expect((await send(p, 3)).pools).toEqual({ primary: 3 });
  });
});
