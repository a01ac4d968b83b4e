// Soak: many requests through several worker VMs of one proxy running build/inference-router.wasm, with the
// virtual clock advancing (ticks, heartbeats, held bodies released, ejections expiring), a failing upstream that
// keeps getting ejected and readmitted, resets, spoofed headers, unknown models, ORCA load reports on responses and,
// when the filter polls metrics, every callout answered (or failed). Wasm memory pages per worker and the size of
// shared data (keys, bytes) are sampled at fixed intervals: after warm-up they must not move.
// Used by test/soak/soak.test.ts (short) and scripts/soak.mjs (`npm run soak`, 1M requests).
import { createProxy, HeaderMap, VirtualClock, type HttpStream, type Proxy } from "../../src/host/index.js";
import { PluginConfigSchema, PoolSchema } from "../../src/config/plugin-config.js";
import { Rng } from "../fuzz/arbitraries.js";

export interface SoakSample {
  requests: number;
  virtualMs: number;
  pages: number[];
  sharedKeys: number;
  sharedBytes: number;
  elapsedMs: number;
}

export interface SoakResult {
  samples: SoakSample[];
  counters: Record<string, number>;
  elapsedMs: number;
  polling: boolean;
  config: unknown;
}

const BAD = "10.0.0.3:8000";

export function soakConfig(polling: boolean): Record<string, unknown> {
  const metrics = (fqdn: string) => (polling ? { metrics: { cluster: `outbound|8000||${fqdn}`, engine: "vllm" } } : {});
  return {
    steering: "endpoint",
    body: { enabled: true, maxBytes: 4096, timeoutMs: 200 },
    headers: { priorityIn: "x-priority" },
    pools: [
      {
        name: "h100",
        models: ["llama-3-70b"],
        modelPrefixes: ["llama-3-70b:"],
        weight: 2,
        endpoints: ["10.0.0.1:8000", "10.0.0.2:8000", BAD],
        maxInFlight: 8,
        fallback: "l4",
        ...metrics("vllm-h100.llm.svc.cluster.local"),
      },
      {
        name: "l4",
        models: ["llama-3-8b", "mistral-7b"],
        endpoints: ["10.0.1.1:8000", "10.0.1.2:8000"],
        maxInFlight: 4,
        ...metrics("vllm-l4.llm.svc.cluster.local"),
      },
      { name: "cpu", modelPrefixes: ["bert"], endpoints: ["10.0.2.1:8000"], maxInFlight: 2 },
    ],
    models: [
      { name: "llama-3-70b", priority: 5 },
      { name: "mistral-7b", priority: -5 },
    ],
    shedding: { belowPriority: 0, retryAfterSeconds: 2 },
    outlier: { consecutiveErrors: 2, baseEjectionMs: 1000, maxEjectionMs: 8000, maxEjectionPercent: 50 },
  };
}

/** Does the schema of record (and so the filter) know per-pool metrics polling? */
export function schemaHasPolling(): boolean {
  return "metrics" in (PoolSchema as unknown as { shape: Record<string, unknown> }).shape;
}

export function sharedDataSize(p: Proxy): { keys: number; bytes: number } {
  let keys = 0,
    bytes = 0;
  for (const k of Object.keys(p.sharedData.entries(p.vmId))) {
    keys++;
    bytes += Buffer.byteLength(k) + (p.sharedData.get(p.vmId, k)?.value.length ?? 0);
  }
  return { keys, bytes };
}

const METRICS_TEXTS = [
  "vllm:num_requests_waiting 3\nvllm:num_requests_running 7\nvllm:gpu_cache_usage_perc 0.42\nvllm:kv_cache_usage_perc 0.42\n",
  'vllm:num_requests_waiting{model_name="llama-3-70b"} 0\nvllm:kv_cache_usage_perc{model_name="llama-3-70b"} 0.05\n',
  "vllm:num_requests_waiting 250\nvllm:kv_cache_usage_perc 0.99\n",
  "garbage\n{{{",
  "",
];

export async function runSoak(opts: {
  wasm: Uint8Array;
  requests: number;
  interval: number;
  workers?: number;
  seed?: number;
  onSample?: (s: SoakSample) => void;
}): Promise<SoakResult> {
  const workers = opts.workers ?? 3;
  const clock = new VirtualClock(1_700_000_000_000);
  let polling = schemaHasPolling();
  let config = soakConfig(polling);
  PluginConfigSchema.parse(config);
  let proxy: Proxy;
  const mk = (cfg: unknown) =>
    createProxy({
      wasm: opts.wasm,
      pluginConfig: cfg as object,
      workers,
      clock,
      allowOnHeadersStopIteration: true,
      failurePolicy: "FAIL_CLOSED",
    });
  try {
    proxy = await mk(config);
  } catch (e) {
    if (!polling) throw e;
    polling = false; // the schema knows polling but this build of the filter does not yet
    config = soakConfig(false);
    proxy = await mk(config);
  }
  (proxy.clusters as Set<string>).has = () => true;
  const p = proxy;
  const rng = new Rng(opts.seed ?? 7);
  const c: Record<string, number> = {};
  const bump = (k: string, n = 1) => {
    c[k] = (c[k] ?? 0) + n;
  };
  const open: Array<{ s: HttpStream; until: number }> = [];
  const samples: SoakSample[] = [];
  const t0 = performance.now();
  const sample = (n: number) => {
    const sd = sharedDataSize(p);
    const s: SoakSample = {
      requests: n,
      virtualMs: clock.nowMs() - 1_700_000_000_000,
      pages: p.workers.map((w) => w.memoryPages()),
      sharedKeys: sd.keys,
      sharedBytes: sd.bytes,
      elapsedMs: Math.round(performance.now() - t0),
    };
    samples.push(s);
    opts.onSample?.(s);
  };
  const body = (model: string) =>
    JSON.stringify({ model, messages: [{ role: "user", content: "hello ".repeat(1 + rng.nextInt(0, 40)) }], stream: rng.next() < 0.3 });
  sample(0);
  for (let i = 1; i <= opts.requests; i++) {
    const s = p.newStream(i % workers);
    const r = rng.next();
    const h = new HeaderMap([
      [":method", "POST"],
      [":authority", "gpu.example"],
      [":scheme", "http"],
    ]);
    let chunks: string[] = [];
    if (r < 0.45) {
      const m = rng.pick(["llama-3-70b", "llama-3-8b", "mistral-7b", "bert-base", "llama-3-70b:sql"]);
      h.add(":path", `/v2/models/${m}/infer`);
      h.add("content-type", "application/json");
    } else if (r < 0.75) {
      h.add(":path", "/v1/chat/completions");
      h.add("content-type", "application/json");
      const b = body(rng.pick(["llama-3-70b", "llama-3-8b", "mistral-7b"]));
      const cut = rng.nextInt(0, b.length);
      chunks = cut > 0 && cut < b.length ? [b.slice(0, cut), b.slice(cut)] : [b];
    } else if (r < 0.8) {
      h.add(":path", `/v2/models/unknown-${rng.nextInt(0, 9)}/infer`);
    } else if (r < 0.9) {
      h.add(":path", "/v2/models/llama-3-8b/infer");
      h.add("x-gateway-destination-endpoint", "169.254.169.254:80");
      h.add("x-gateway-destination-endpoint", "10.0.0.1:8000");
      h.add("x-inference-priority", "100");
      h.add("x-priority", String(rng.nextInt(-120, 120)));
      bump("spoofed");
    } else if (r < 0.95) {
      h.replace(":method", "GET");
      h.add(":path", rng.pick(["/v2/health/ready", "/metrics", "/v1/models"]));
    } else {
      // A chat request whose body never ends: held, then released by the tick after body.timeoutMs.
      h.add(":path", "/v1/chat/completions");
      chunks = ['{"messages":[{"role":"user","content":"hi"}],'];
      bump("never_ending_body");
    }
    const never = r >= 0.95;
    s.sendRequestHeaders(h, chunks.length === 0);
    chunks.forEach((ch, k) => s.sendRequestBody(ch, !never && k === chunks.length - 1));
    if (s.localReply) {
      bump(`reply.${s.localReply.status}`);
      s.complete();
    } else if (!s.reachedRouter || never)
      open.push({ s, until: i + rng.nextInt(300, 600) }); // held (≤ timeout + one tick = 250 ms): finish later
    else finish(s);
    // Streams kept open a while (in-flight slots held across ticks), then answered, reset or abandoned.
    while (open.length && open[0]!.until <= i) {
      const o = open.shift()!;
      if (o.s.localReply) {
        bump(`reply.${o.s.localReply.status}`);
        o.s.complete();
        continue;
      }
      if (!o.s.reachedRouter) {
        bump("held_stalled");
        o.s.reset();
        continue;
      }
      finish(o.s);
    }
    clock.advance(1);
    p.drain();
    if (i % 97 === 0) {
      for (const call of p.callouts.pending) {
        bump("callouts");
        if (rng.next() < 0.1) call.fail();
        else call.respond({ status: rng.next() < 0.05 ? 500 : 200, body: rng.pick(METRICS_TEXTS) });
      }
      if (p.callouts.all.length > 1024) {
        const keep = p.callouts.all.filter((x) => !x.settled);
        p.callouts.all.length = 0;
        p.callouts.all.push(...keep);
      }
      const crit = p.logs.atLevel("critical");
      if (crit.length || p.workers.some((w) => w.failed))
        throw new Error(
          `soak: VM failed at request ${i}: ${p.workers.map((w) => w.vm.failure).join("; ")} ${crit.map((l) => l.message).join(" | ")}`,
        );
      for (const l of p.logs) bump(`log.${l.level}`);
      p.logs.clear();
    }
    if (i % opts.interval === 0) sample(i);
  }
  for (const o of open) o.s.reset();
  if (opts.requests % opts.interval !== 0) sample(opts.requests);
  return { samples, counters: c, elapsedMs: Math.round(performance.now() - t0), polling, config };

  function finish(s: HttpStream): void {
    const ep = s.routerRequestHeaders?.get("x-gateway-destination-endpoint");
    if (s.routerRequestHeaders?.getAll("x-gateway-destination-endpoint").some((v) => v.includes("169.254.169.254")))
      throw new Error("soak: spoofed endpoint reached the router");
    const x = rng.next();
    if (x < 0.01) {
      s.reset();
      bump("reset");
      return;
    }
    if (x < 0.02) {
      s.complete();
      bump("no_response");
      return;
    } // upstream never answered; stream torn down
    const bad = ep?.split(",")[0] === BAD;
    const rh = new HeaderMap([[":status", bad ? "503" : x < 0.04 ? "500" : "200"]]);
    if (x < 0.3)
      rh.add(
        "endpoint-load-metrics",
        `TEXT cpu_utilization=0.5,named_metrics.kv_cache_utilization=${(x * 3).toFixed(2)},named_metrics.num_requests_waiting=${Math.floor(x * 20)}`,
      );
    s.sendResponseHeaders(rh, true);
    bump(bad ? "resp.bad_upstream_503" : "resp.ok");
    if (ep) bump("routed");
    s.complete();
  }
}
