// `inference-router start` (what `npm start` runs): the local stack from examples/local.yaml (simulated A100 and L4
// servers + the gateway running the built filter), a short bounded load with a live per-upstream view, a summary,
// then it keeps serving for curl until Ctrl-C (or exits after the summary with --exit).
import { Samples, fmtMs } from "./stats.js";
import { beliefLines, readBeliefs, type Belief, type Truth } from "./belief.js";
import { loadLocalConfig } from "./local-config.js";
import { startStack, type Stack } from "./stack.js";
import { mulberry32 } from "../sim/prng.js";

export interface StartOptions {
  config: string;
  wasm: string;
  durationS: number;
  /** Requests per second offered. */
  rate: number;
  exit: boolean;
  port?: number;
  adminPort?: number;
  workers?: number;
  out: (s: string) => void;
  /** Redraw the live view in place (a TTY and not CI). */
  live: boolean;
  /** Resolves when the stack should stop (default: SIGINT/SIGTERM). */
  until?: Promise<void>;
  seed?: number;
}

export interface StartResult {
  sent: number;
  completed: number;
  ok: number;
  byStatus: Record<number, number>;
  byUpstream: Record<string, number>;
  fastGpu: number;
  slowGpu: number;
  gatewayPort: number;
  adminPort: number | undefined;
}

const MAX_IN_FLIGHT = 256;

const SYSTEM_PROMPTS = [
  "You are a helpful assistant for a cloud company. Answer briefly and cite the relevant documentation section. ".repeat(12),
  "You are a code reviewer. Point out bugs, risky patterns and missing tests in the diff the user sends. ".repeat(16),
  "You translate customer support tickets into English and classify them by product and urgency. ".repeat(8),
];

const prng = mulberry32;

interface Rec {
  status: number;
  upstream: string;
  model: string;
  stream: boolean;
  latencyMs: number;
  ttftMs?: number;
}

function bar(n: number, max: number, width = 12): string {
  const k = max > 0 ? Math.min(width, Math.round((n / max) * width)) : 0;
  return `${"█".repeat(k)}${"·".repeat(width - k)}`;
}

function pad(s: string, n: number): string {
  return s.length >= n ? s : s + " ".repeat(n - s.length);
}

function view(stack: Stack, elapsedS: number, o: StartOptions, sent: number, done: number, inFlight: number, errors: number): string[] {
  const lines = [
    `inference-router local  t=${elapsedS.toFixed(1)}s/${o.durationS}s  sent ${sent}  done ${done}  in flight ${inFlight}  errors ${errors}  offered ${o.rate}/s`,
    `${pad("upstream", 26)}${pad("gpu", 6)}${pad("in flight", 22)}${pad("queue", 7)}${pad("kv", 6)}${pad("reqs", 7)}${pad("p50", 8)}${pad("p99", 8)}ttft p50`,
  ];
  const all = [...stack.gateway.upstreamStats.values()];
  const maxActive = Math.max(4, ...all.map((u) => u.active));
  for (const u of all) {
    const sim = stack.simulatorAt.get(u.address);
    const st = sim?.model.stats(sim.now());
    lines.push(
      `${pad(`${u.pool}/${u.address}`, 26)}${pad(u.gpu, 6)}${pad(`${bar(u.active, maxActive)} ${u.active}`, 22)}${pad(st ? String(st.waiting) : "-", 7)}` +
        `${pad(st ? `${Math.round(st.kvCacheUsage * 100)}%` : "-", 6)}${pad(String(u.requests), 7)}${pad(fmtMs(u.latencyMs.percentile(50)), 8)}${pad(fmtMs(u.latencyMs.percentile(99)), 8)}${fmtMs(u.ttftMs.percentile(50))}`,
    );
  }
  lines.push(
    "",
    ...beliefLines(readBeliefs(stack.gateway.proxy.prometheus(), stack.gateway.options.router.pluginName), (b) => truthOf(stack, b)),
  );
  return lines;
}

/** The simulators behind a filter upstream (its endpoint, or every member of its pool), summed; KV averaged. */
function truthOf(stack: Stack, b: Belief): Truth | undefined {
  const members = b.endpoint !== undefined ? [b.endpoint] : (stack.upstreams[b.pool] ?? []);
  const sims = members.map((m) => stack.simulatorAt.get(m));
  if (sims.length === 0 || sims.some((x) => x === undefined)) return undefined;
  const st = sims.map((x) => x!.model.stats(x!.now()));
  return {
    queue: st.reduce((a, x) => a + x.waiting, 0),
    running: st.reduce((a, x) => a + x.running, 0),
    kvCache: st.reduce((a, x) => a + x.kvCacheUsage, 0) / st.length,
  };
}

function waitForSignal(): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      process.off("SIGINT", done);
      process.off("SIGTERM", done);
      resolve();
    };
    process.once("SIGINT", done);
    process.once("SIGTERM", done);
  });
}

export async function runStart(o: StartOptions): Promise<StartResult> {
  const cfg = loadLocalConfig(o.config);
  const stack = await startStack(cfg, {
    wasm: o.wasm,
    ...(o.port !== undefined ? { port: o.port } : {}),
    ...(o.adminPort !== undefined ? { adminPort: o.adminPort } : {}),
    ...(o.workers !== undefined ? { workers: o.workers } : {}),
  });
  const gw = stack.gateway;
  const base = `http://127.0.0.1:${gw.port}`;
  o.out(`filter ${o.wasm} running in ${gw.proxy.workers.length} worker VMs; gateway ${base}, admin http://127.0.0.1:${gw.adminPort}\n`);
  for (const [pool, members] of Object.entries(stack.upstreams)) {
    o.out(`  pool ${pool}: ${members.map((m) => `${m} (${stack.simulatorAt.get(m)?.model.spec.gpu ?? "external"})`).join(", ")}\n`);
  }
  const models = [...new Set(cfg.router.pools.flatMap((p) => p.models))];
  o.out(`load: ${o.durationS}s at ${o.rate} req/s over ${models.join(", ")} (half streaming, shared system prompts)\n\n`);

  const rand = prng(o.seed ?? 42);
  const recs: Rec[] = [];
  const ac = new AbortController();
  let sent = 0,
    inFlight = 0,
    errors = 0;
  const t0 = performance.now();
  const total = Math.max(1, Math.ceil(o.durationS * o.rate));
  const pending: Array<Promise<void>> = [];

  const one = async (): Promise<void> => {
    const model = models.length > 1 && rand() < 0.25 ? models[1]! : models[0]!;
    const stream = rand() < 0.5;
    const system = SYSTEM_PROMPTS[Math.floor(rand() * SYSTEM_PROMPTS.length)]!;
    const user = "Please explain how request routing works. ".repeat(1 + Math.floor(rand() * 30));
    const maxTokens = 16 + Math.floor(rand() * 112);
    const body = JSON.stringify({
      model,
      stream,
      max_tokens: maxTokens,
      messages: [
        { role: "system", content: system },
        { role: "user", content: user },
      ],
    });
    const start = performance.now();
    inFlight++;
    try {
      const r = await fetch(`${base}/v1/chat/completions`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body,
        signal: ac.signal,
      });
      let ttft: number | undefined;
      if (r.body) {
        const reader = r.body.getReader();
        for (;;) {
          const { done, value } = await reader.read();
          if (done) break;
          if (ttft === undefined && value && value.length > 0) ttft = performance.now() - start;
        }
      }
      if (r.status >= 400) errors++;
      recs.push({
        status: r.status,
        upstream: r.headers.get("x-inference-router-upstream") ?? "(none)",
        model,
        stream,
        latencyMs: performance.now() - start,
        ...(stream && ttft !== undefined ? { ttftMs: ttft } : {}),
      });
    } catch {
      errors++;
      recs.push({ status: 0, upstream: "(failed)", model, stream, latencyMs: performance.now() - start });
    } finally {
      inFlight--;
    }
  };

  let lastLines = 0;
  let lastPlain = 0;
  const draw = (final = false) => {
    const el = (performance.now() - t0) / 1000;
    const lines = view(stack, Math.min(el, o.durationS), o, sent, recs.length, inFlight, errors);
    if (o.live) {
      o.out(`${lastLines ? `\x1b[${lastLines}A\x1b[J` : ""}${lines.join("\n")}\n`);
      lastLines = lines.length;
    } else if (final || el - lastPlain >= 2) {
      lastPlain = el;
      o.out(`${lines.join("\n")}\n\n`);
    }
  };
  const ticker = setInterval(() => draw(), 500);

  // Open-loop arrivals at the offered rate (bounded in count, time and concurrency).
  const deadline = t0 + o.durationS * 1000;
  while (sent < total && performance.now() < deadline) {
    const due = t0 + (sent * 1000) / o.rate;
    const wait = due - performance.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    if (inFlight >= MAX_IN_FLIGHT) continue;
    sent++;
    pending.push(one());
  }
  // Let in-flight requests finish (bounded).
  const drainBy = setTimeout(() => ac.abort(), 30_000);
  await Promise.allSettled(pending);
  clearTimeout(drainBy);
  clearInterval(ticker);
  draw(true);

  // Summary.
  const ok = recs.filter((r) => r.status >= 200 && r.status < 300);
  const byStatus: Record<number, number> = {};
  for (const r of recs) byStatus[r.status] = (byStatus[r.status] ?? 0) + 1;
  const byUpstream: Record<string, number> = {};
  for (const r of ok) byUpstream[r.upstream] = (byUpstream[r.upstream] ?? 0) + 1;
  const gpuOf = (up: string) => stack.simulatorAt.get(up.split("/")[1] ?? "")?.model.spec;
  let fast = 0,
    slow = 0;
  for (const r of ok) {
    const spec = gpuOf(r.upstream);
    if (!spec) continue;
    if (spec.speed >= 1) fast++;
    else slow++;
  }
  const lat = new Samples(),
    ttft = new Samples();
  for (const r of ok) {
    lat.add(r.latencyMs);
    if (r.ttftMs !== undefined) ttft.add(r.ttftMs);
  }
  const out: string[] = [
    "",
    `summary: ${recs.length} requests in ${((performance.now() - t0) / 1000).toFixed(1)}s, ${ok.length} ok, status ${Object.entries(
      byStatus,
    )
      .map(([k, v]) => `${k}: ${v}`)
      .join(", ")}`,
    `latency p50 ${fmtMs(lat.percentile(50))}  p99 ${fmtMs(lat.percentile(99))};  TTFT (streaming) p50 ${fmtMs(ttft.percentile(50))}  p99 ${fmtMs(ttft.percentile(99))}`,
    `fast GPUs (speed >= 1): ${fast} requests (${ok.length ? Math.round((fast / ok.length) * 100) : 0}%), slow GPUs: ${slow} (${ok.length ? Math.round((slow / ok.length) * 100) : 0}%)`,
    "per upstream:",
  ];
  for (const [up, n] of Object.entries(byUpstream).sort()) {
    const mine = ok.filter((r) => r.upstream === up);
    const l = new Samples(),
      t = new Samples();
    for (const r of mine) {
      l.add(r.latencyMs);
      if (r.ttftMs !== undefined) t.add(r.ttftMs);
    }
    const perModel = models.map((m) => `${m}: ${mine.filter((r) => r.model === m).length}`).join(", ");
    out.push(
      `  ${pad(up, 26)} ${pad(gpuOf(up)?.gpu ?? "?", 5)} ${pad(String(n), 5)} (${pad(`${Math.round((n / Math.max(1, ok.length)) * 100)}%)`, 5)} p50 ${pad(fmtMs(l.percentile(50)), 7)} p99 ${pad(fmtMs(l.percentile(99)), 7)} ttft p50 ${pad(fmtMs(t.percentile(50)), 7)} ${perModel}`,
    );
  }
  const picks = gw.proxy
    .prometheus()
    .split("\n")
    .filter((l) => /^inference_router_(requests|picks|ejections)\{/.test(l) && !l.endsWith(" 0"));
  out.push("filter stats (non-zero):", ...picks.map((l) => `  ${l}`), "");
  o.out(`${out.join("\n")}\n`);

  const result: StartResult = {
    sent,
    completed: recs.length,
    ok: ok.length,
    byStatus,
    byUpstream,
    fastGpu: fast,
    slowGpu: slow,
    gatewayPort: gw.port,
    adminPort: gw.adminPort,
  };
  if (o.exit) {
    await stack.close();
    return result;
  }
  const m0 = models[0] ?? "llama-3.1-8b-instruct";
  o.out(
    [
      `still serving (Ctrl-C to stop). Try:`,
      `  curl ${base}/v1/chat/completions -H 'content-type: application/json' -d '{"model":"${m0}","messages":[{"role":"user","content":"hello"}]}'`,
      `  curl -N ${base}/v1/chat/completions -H 'content-type: application/json' -d '{"model":"${models[1] ?? m0}","stream":true,"messages":[{"role":"user","content":"hello"}]}'`,
      `  curl -i ${base}/v1/chat/completions -H 'content-type: application/json' -H 'x-inference-pool: l4' -d '{"model":"${m0}","messages":[{"role":"user","content":"spoofed pool header is stripped"}]}'`,
      `  curl http://127.0.0.1:${gw.adminPort}/stats/prometheus      # filter + gateway stats`,
      `  curl -X POST http://${stack.upstreams[cfg.router.pools[0]!.name]?.[0]}/admin/fault -d '{"slowdown":5}'   # degrade one server`,
      "",
    ].join("\n"),
  );
  await (o.until ?? waitForSignal());
  await stack.close();
  return result;
}
