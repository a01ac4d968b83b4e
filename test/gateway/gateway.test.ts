// End to end: 3 simulators + the gateway running build/inference-router.wasm in the host on the real clock.
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { main } from "../../src/cli.js";
import { Gateway } from "../../src/gateway/gateway.js";
import { parseLocalConfig } from "../../src/gateway/local-config.js";
import { parsePromText, readBeliefs } from "../../src/gateway/belief.js";
import { Simulator } from "../../src/sim/server.js";

const ROOT = join(import.meta.dirname, "..", "..");
const WASM = join(ROOT, "build", "inference-router.wasm");
const LLAMA = "llama-3.1-8b-instruct";
const QWEN = "qwen2.5-7b-instruct";

function routerDoc(steering: "pool" | "endpoint", endpoints: Record<string, string[]> = {}): Record<string, unknown> {
  return {
    namespace: "test",
    workload: { selector: { matchLabels: { app: "t" } } },
    frontend: { host: "llm", port: 8000 },
    wasm: { url: "file://build/inference-router.wasm" },
    steering,
    body: { enabled: true },
    pools: [
      { name: "a100", gpu: "a100", weight: 3, models: [LLAMA], endpoints: endpoints.a100 ?? [] },
      { name: "l4", gpu: "l4", weight: 1, models: [LLAMA, QWEN], endpoints: endpoints.l4 ?? [] },
    ],
  };
}

let sims: Simulator[];
let pool: Gateway;
let endpoint: Gateway;
let upstreams: Record<string, string[]>;

beforeAll(async () => {
  sims = [
    new Simulator({ name: "a100-0", gpu: "a100", models: [LLAMA] }),
    new Simulator({ name: "l4-0", gpu: "l4", models: [LLAMA, QWEN] }),
    new Simulator({ name: "l4-1", gpu: "l4", models: [LLAMA, QWEN] }),
  ];
  for (const s of sims) await s.listen(0);
  upstreams = { a100: [sims[0]!.address], l4: [sims[1]!.address, sims[2]!.address] };
  const pcfg = parseLocalConfig(
    { ...routerDoc("pool"), local: { pools: { a100: { addresses: upstreams.a100 }, l4: { addresses: upstreams.l4 } } } },
    "pool.yaml",
  );
  pool = new Gateway({ router: pcfg.router, upstreams, wasm: WASM, workers: 2, port: 0, adminPort: 0 });
  await pool.start();
  const ecfg = parseLocalConfig(routerDoc("endpoint", upstreams), "endpoint.yaml");
  endpoint = new Gateway({ router: ecfg.router, upstreams, wasm: WASM, workers: 2, port: 0, adminPort: 0 });
  await endpoint.start();
});

afterAll(async () => {
  await pool?.close();
  await endpoint?.close();
  for (const s of sims ?? []) await s.close();
});

function chat(gw: Gateway, model: string, extra: { stream?: boolean; headers?: Record<string, string> } = {}) {
  return fetch(`http://127.0.0.1:${gw.port}/v1/chat/completions`, {
    method: "POST",
    headers: { "content-type": "application/json", ...(extra.headers ?? {}) },
    body: JSON.stringify({ model, max_tokens: 4, stream: extra.stream === true, messages: [{ role: "user", content: "hello there" }] }),
  });
}

const poolOf = (r: Response) => (r.headers.get("x-inference-router-upstream") ?? "").split("/")[0];

describe("gateway (pool steering)", () => {
  it("routes each model to a pool that serves it; a spoofed pool header does not steer", async () => {
    const before = sims.map((s) => s.requests);
    const rs = await Promise.all(Array.from({ length: 6 }, () => chat(pool, QWEN, { headers: { "x-inference-pool": "a100" } })));
    for (const r of rs) {
      expect(r.status).toBe(200);
      expect(poolOf(r)).toBe("l4");
      await r.json();
    }
    expect(sims[0]!.requests - before[0]!).toBe(0);
    expect(sims[1]!.requests + sims[2]!.requests - before[1]! - before[2]!).toBe(6);
    // llama goes to either pool, and the upstream really served it
    const l = await chat(pool, LLAMA);
    expect(["a100", "l4"]).toContain(poolOf(l));
    expect(((await l.json()) as { model: string }).model).toBe(LLAMA);
  });

  it("returns the filter's local reply for an unknown model", async () => {
    const r = await chat(pool, "gpt-99");
    expect(r.status).toBe(404);
    expect(r.headers.get("x-inference-router-upstream")).toBeNull();
    expect(((await r.json()) as { error: { type: string } }).error.type).toBe("model_not_found");
  });

  it("streams SSE through the filter as it is produced", async () => {
    const t0 = performance.now();
    const r = await fetch(`http://127.0.0.1:${pool.port}/v1/chat/completions`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ model: QWEN, max_tokens: 30, stream: true, messages: [{ role: "user", content: "stream please" }] }),
    });
    expect(r.status).toBe(200);
    expect(r.headers.get("content-type")).toBe("text/event-stream");
    const reader = r.body!.getReader();
    let first: number | undefined;
    let text = "";
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      first ??= performance.now() - t0;
      text += new TextDecoder().decode(value);
    }
    const total = performance.now() - t0;
    expect(text.trimEnd().endsWith("data: [DONE]")).toBe(true);
    expect(text.match(/"content"/g)?.length).toBe(30);
    // 30 tokens on an L4 take ~0.9 s; the first chunk must arrive well before the end
    expect(first!).toBeLessThan(total / 2);
  });

  it("passes non-inference requests untouched to the default pool", async () => {
    const r = await fetch(`http://127.0.0.1:${pool.port}/health`);
    expect(r.status).toBe(200);
    expect(poolOf(r)).toBe("a100");
  });

  it("answers GET /v1/models with the union of the pools' models (a local-gateway convenience)", async () => {
    const r = await fetch(`http://127.0.0.1:${pool.port}/v1/models`);
    expect(r.status).toBe(200);
    const ids = ((await r.json()) as { data: Array<{ id: string }> }).data.map((m) => m.id).sort();
    expect(ids).toEqual([LLAMA, QWEN]);
  });

  it("exposes the filter's stats and the gateway's at /stats/prometheus", async () => {
    const text = await (await fetch(`http://127.0.0.1:${pool.adminPort}/stats/prometheus`)).text();
    expect(text).toMatch(/^inference_router_requests\{protocol="openai-chat",outcome="routed"\} [1-9]\d*$/m);
    expect(text).toMatch(/^inference_router_requests\{protocol="openai-chat",outcome="unknown_model"\} [1-9]\d*$/m);
    expect(text).toMatch(/^inference_router_picks\{pool="l4"\} [1-9]\d*$/m);
    expect(text).toMatch(
      new RegExp(
        `^inference_gateway_upstream_rq_total\\{pool="l4",upstream="${upstreams.l4![0]!.replace(/\./g, "\\.")}",gpu="l4"\\} \\d+$`,
        "m",
      ),
    );
    expect(text).toContain("inference_gateway_upstream_ttft_ms{");
    const json = (await (await fetch(`http://127.0.0.1:${pool.adminPort}/stats`)).json()) as { upstreams: Array<{ requests: number }> };
    expect(json.upstreams.reduce((n, u) => n + u.requests, 0)).toBeGreaterThanOrEqual(8);
  });

  it("shows the filter's per-upstream gauges at /stats/prometheus after traffic and ORCA reports", async () => {
    // The simulators answer ORCA when asked (as vLLM does): each response updates the picked endpoint's record,
    // and the heartbeat tick (about 1 s) publishes the gauges.
    for (let i = 0; i < 4; i++) await (await chat(endpoint, LLAMA, { headers: { "endpoint-load-metrics-format": "TEXT" } })).text();
    const scrape = async () => parsePromText(await (await fetch(`http://127.0.0.1:${endpoint.adminPort}/stats/prometheus`)).text());
    const ages = async () => (await scrape()).filter((s) => s.name === "inference_router_upstream_report_age_ms");
    // A publication may fall between the requests (a tick while one is in flight): wait for one after them, where
    // the record holds a report and nothing is in flight.
    const settled = async () => {
      const s = await scrape();
      return (
        s.some((x) => x.name === "inference_router_upstream_report_age_ms") &&
        s.filter((x) => x.name === "inference_router_upstream_in_flight").every((x) => x.value === 0)
      );
    };
    for (let t = 0; t < 50 && !(await settled()); t++) await new Promise((r) => setTimeout(r, 100));
    const series = await scrape();
    const ep = (await ages())[0]!.labels;
    expect(Object.keys(ep).sort()).toEqual(["endpoint", "pool"]);
    expect([...upstreams.a100!, ...upstreams.l4!]).toContain(ep.endpoint);
    const one = (name: string, labels: Record<string, string>) =>
      series.find((s) => s.name === `inference_router_${name}` && s.labels.pool === labels.pool && s.labels.endpoint === labels.endpoint)
        ?.value;
    expect(one("upstream_stale", ep)).toBe(0);
    expect(one("upstream_in_flight", ep)).toBe(0);
    expect(one("upstream_capacity_milli", { pool: "a100", endpoint: upstreams.a100![0]! })).toBe(3000);
    expect(one("upstream_capacity_milli", { pool: "l4", endpoint: upstreams.l4![0]! })).toBe(1000);
    // The live view reads the same export.
    expect(
      readBeliefs(endpoint.proxy.prometheus())
        .map((b) => `${b.pool}/${b.endpoint}`)
        .sort(),
    ).toEqual([...upstreams.a100!.map((a) => `a100/${a}`), ...upstreams.l4!.map((a) => `l4/${a}`)].sort());
  });

  it("turns a dead upstream into Envoy's 503 through the filter", async () => {
    const cfg = parseLocalConfig(routerDoc("pool"), "dead.yaml");
    const dead = new Simulator({ gpu: "l4", models: [LLAMA, QWEN] });
    await dead.listen(0);
    const gw = new Gateway({
      router: cfg.router,
      upstreams: { a100: upstreams.a100!, l4: [dead.address] },
      wasm: WASM,
      workers: 1,
      port: 0,
      adminPort: -1,
    });
    await gw.start();
    try {
      dead.setFaults({ dead: true });
      const r = await chat(gw, QWEN);
      expect(r.status).toBe(503);
      expect(await r.text()).toContain("upstream connect error or disconnect/reset before headers");
    } finally {
      await gw.close();
      await dead.close();
    }
  });
});

describe("gateway (endpoint steering, override_host semantics)", () => {
  it("sends each request to the endpoint the filter chose; a spoofed endpoint header does not steer", async () => {
    const rs = await Promise.all(
      Array.from({ length: 4 }, () => chat(endpoint, QWEN, { headers: { "x-gateway-destination-endpoint": upstreams.a100![0]! } })),
    );
    for (const r of rs) {
      expect(r.status).toBe(200);
      const [p, addr] = (r.headers.get("x-inference-router-upstream") ?? "").split("/");
      expect(p).toBe("l4");
      expect(upstreams.l4).toContain(addr);
      await r.text();
    }
  });
});

describe("start --exit", () => {
  it("runs the local stack with a bounded load and prints a summary", async () => {
    let out = "";
    const io = {
      out: (s: string) => {
        out += s;
      },
      err: (s: string) => {
        out += s;
      },
    };
    const code = await main(
      [
        "start",
        "-c",
        join(ROOT, "examples", "local.yaml"),
        "--wasm",
        WASM,
        "--duration",
        "3",
        "--rate",
        "8",
        "--exit",
        "--port",
        "0",
        "--admin-port",
        "0",
      ],
      io,
    );
    expect(code, out).toBe(0);
    expect(out).toMatch(/summary: \d+ requests/);
    expect(out).toMatch(/fast GPUs \(speed >= 1\): \d+ requests/);
    expect(out).toContain("per upstream:");
    expect(out).toMatch(/ok, status 200: \d+/);
    // The plain-text live view: the filter's belief from its gauges next to the simulators' truth, per upstream.
    expect(out).toContain("filter's belief (its gauges)");
    expect(out).toMatch(/^a100 +\d+ +\d+ +\d+% +\d+ +(\d+\.\d|never)s? +(fresh|stale|none|ejected) +6 +\| \d+ +\d+ +\d+%$/m);
  }, 30_000);
});

describe("gateway callouts", () => {
  it("sends the filter's HTTP callouts to the members of the named cluster over real HTTP", async () => {
    const l4 = upstreams.l4!;
    const clusters = [...pool.clusters.keys()];
    expect(clusters).toEqual(expect.arrayContaining(["a100", "l4", "metrics-l4", "gpu", "outbound|8000|l4|llm.test.svc.cluster.local"]));
    const req = (cluster: string, authority: string) => ({
      cluster,
      authority,
      method: "GET",
      path: "/metrics",
      headers: [
        [":method", "GET"],
        [":path", "/metrics"],
        [":authority", authority],
      ] as Array<[string, string]>,
      body: new Uint8Array(0),
      timeoutMs: 2000,
    });
    const r = await pool.callout(req("metrics-l4", l4[1]!));
    expect(r.status).toBe(200);
    expect(new TextDecoder().decode(r.body as Uint8Array)).toContain(`vllm:num_requests_waiting{engine="0",model_name="${QWEN}"}`);
    const viaIstioName = await pool.callout(req("outbound|8000|l4|llm.test.svc.cluster.local", "llm"));
    expect(viaIstioName.status).toBe(200);
    // the host refuses clusters it does not know (BadArgument), so the filter can only reach configured pools
    expect(pool.proxy.clusters.has("evil")).toBe(false);
  });
});
