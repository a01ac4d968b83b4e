// The decision trace (docs/observability.md fixes the format): the response header and the log line, through the
// compiled .wasm — one case per reason the tests can provoke, the header absent when off, an upstream's copy never
// reaching the client, values escaped.
import { describe, expect, it } from "vitest";
import type { Proxy, RequestResult, RequestSpec } from "../../src/host/index.js";
import { chat, loadKey, oip, routerProxy, twoPools, writeReport } from "./helpers.js";

const HEADER = "x-inference-router-decision";
const LOG_KEYS = [
  "v",
  "reason",
  "protocol",
  "model",
  "priority",
  "pool",
  "endpoint",
  "score",
  "runner_up",
  "runner_up_score",
  "candidates",
  "stale",
  "request_id",
];
const HEADER_KEYS = ["v", "reason", "pool", "endpoint", "score", "runner_up", "runner_up_score"];
const TRACE = { decisionTrace: { header: true, log: true } };

/** Parses one decision log line; throws unless it has the fixed words, every key once and in order. */
export function decision(line: string, plugin = "inference-router"): Record<string, string> {
  const words = line.split(" ");
  if (words[0] !== plugin || words[1] !== "decision") throw new Error(`not a decision line: ${line}`);
  const out: Record<string, string> = {};
  for (const w of words.slice(2)) {
    const m = /^([a-z_]+)=([^ "=]+)$/.exec(w);
    if (!m) throw new Error(`bad field ${JSON.stringify(w)} in ${line}`);
    out[m[1]!] = m[2]!;
  }
  expect(Object.keys(out)).toEqual(LOG_KEYS);
  return out;
}

/** Parses the response header; throws unless its keys are a subsequence of the documented order. */
function headerFields(v: string | undefined): Record<string, string> {
  if (v === undefined) throw new Error("no decision header");
  const out: Record<string, string> = {};
  for (const part of v.split("; ")) {
    const m = /^([a-z_]+)=([^ ;=]+)$/.exec(part);
    if (!m) throw new Error(`bad part ${JSON.stringify(part)} in ${v}`);
    out[m[1]!] = m[2]!;
  }
  const keys = Object.keys(out);
  expect(keys).toEqual(HEADER_KEYS.filter((k) => keys.includes(k)));
  expect(out.v).toBe("1");
  return out;
}

/** The decision header the client got (an upstream response or a local reply). */
function sent(r: RequestResult): Record<string, string> {
  const local = r.localReply?.headers.find(([k]) => k === HEADER)?.[1];
  return headerFields(local ?? r.headers[HEADER]);
}

/** The decision log lines so far, parsed. */
function lines(p: Proxy): Record<string, string>[] {
  return p.logs
    .messages()
    .filter((m) => / decision v=/.test(m))
    .map((m) => decision(m));
}

const first = (r: RequestResult) => r.routerHeaders!["x-gateway-destination-endpoint"]!.split(",")[0]!;

describe("decision trace: one reason per decision", () => {
  it("least_loaded: header and log line name the pick, its score, the runner-up and the request id", async () => {
    const p = await routerProxy(twoPools({ steering: "endpoint", ...TRACE }));
    const now = p.clock.nowMs();
    writeReport(p, loadKey("l4", "10.0.1.1:8000"), { queue: 2, kvCache: 0, atMs: now });
    writeReport(p, loadKey("l4", "10.0.1.2:8000"), { queue: 0, kvCache: 0, atMs: now });
    const r = await p.request(oip("mistral-7b", { headers: { "x-request-id": "req-42" } }));
    // Scores (default weights, capacity 1): idle (0 + 1) / 1 = 1; a queue of 2 weighs 2 each: (2·2 + 1) / 1 = 5.
    const h = sent(r);
    expect(h).toEqual({
      v: "1",
      reason: "least_loaded",
      pool: "l4",
      endpoint: "10.0.1.2:8000",
      score: "1.0000",
      runner_up: "10.0.1.1:8000",
      runner_up_score: "5.0000",
    });
    expect(first(r)).toBe(h.endpoint);
    const [l] = lines(p);
    expect(l).toEqual({
      v: "1",
      reason: "least_loaded",
      protocol: "oip-infer",
      model: "mistral-7b",
      priority: "0",
      pool: "l4",
      endpoint: "10.0.1.2:8000",
      score: "1.0000",
      runner_up: "10.0.1.1:8000",
      runner_up_score: "5.0000",
      candidates: "2",
      stale: "0",
      request_id: "req-42",
    });
    expect(p.logs.atLevel("info").some((e) => e.message.startsWith("inference-router decision "))).toBe(true);
  });

  it("prefix_affinity: a new prefix is placed by rendezvous, then its holder keeps it", async () => {
    const p = await routerProxy(
      {
        steering: "endpoint",
        body: { enabled: true },
        affinity: { prefix: { enabled: true, blockBytes: 64, blocks: 4 } },
        pools: [{ name: "a", models: ["m"], endpoints: ["10.0.0.1:8000", "10.0.0.2:8000", "10.0.0.3:8000"] }],
        ...TRACE,
      },
      { allowOnHeadersStopIteration: true },
    );
    const system = "You are a meticulous assistant for the ACME support desk. ".repeat(4);
    const ask = (q: string): RequestSpec => ({
      ...chat("m"),
      body: JSON.stringify({
        model: "m",
        messages: [
          { role: "system", content: system },
          { role: "user", content: q },
        ],
      }),
    });
    const a = await p.request(ask("q1"));
    const b = await p.request(ask("q2"));
    expect(sent(a).reason).toBe("prefix_affinity");
    expect(sent(b).reason).toBe("prefix_affinity");
    expect(sent(b).endpoint).toBe(first(a));
    expect(lines(p).map((l) => l.protocol)).toEqual(["openai-chat", "openai-chat"]);
  });

  it("lora_affinity: the upstream running the adapter is preferred", async () => {
    const cluster = "outbound|8000||vllm-a.llm.svc.cluster.local";
    const p = await routerProxy(
      {
        steering: "endpoint",
        affinity: { prefix: { maxLoadFactor: 10 } },
        ...TRACE,
        pools: [{ name: "a", models: ["m"], modelPrefixes: ["m:"], endpoints: ["10.0.0.1:8000", "10.0.0.2:8000"], metrics: { cluster } }],
      },
      { clusters: [cluster] },
    );
    p.advance(1000);
    for (const c of p.callouts.pending) {
      const lora = c.headers["x-gateway-destination-endpoint"] === "10.0.0.2:8000" ? "sql" : "";
      c.respond({
        status: 200,
        body: `vllm:num_requests_running{model_name="m"} 1\nvllm:lora_requests_info{max_lora="4",running_lora_adapters="${lora}",waiting_lora_adapters=""} 1\n`,
      });
    }
    const h = sent(await p.request(oip("m:sql")));
    expect(h).toMatchObject({ reason: "lora_affinity", endpoint: "10.0.0.2:8000" });
  });

  it("fallback_pool, then saturated and shed when everything is full", async () => {
    const p = await routerProxy({
      pools: [
        { name: "local", models: ["m"], maxInFlight: 1, fallback: "remote" },
        { name: "remote", models: ["m"], maxInFlight: 1 },
      ],
      models: [{ name: "m", priority: -1 }],
      headers: { priorityIn: "x-priority", trustedPeers: ["ns:vip"] },
      ...TRACE,
    });
    expect(sent(await p.request(oip("m", { keepOpen: true })))).toMatchObject({ reason: "least_loaded", pool: "local" });
    const fb = sent(await p.request(oip("m", { keepOpen: true })));
    expect(fb).toMatchObject({ reason: "fallback_pool", pool: "remote" });
    expect(fb.endpoint).toBeUndefined(); // pool mode: no endpoint
    const shed = await p.request(oip("m"));
    expect(shed.localReply!.status).toBe(429);
    expect(sent(shed)).toEqual({ v: "1", reason: "shed" });
    const vip = await p.request(oip("m", { peer: "spiffe://cluster.local/ns/vip/sa/batch", headers: { "x-priority": "5" } }));
    expect(sent(vip).reason).toBe("saturated");
    expect(lines(p).map((l) => [l.reason, l.pool, l.candidates])).toEqual([
      ["least_loaded", "local", "1"],
      ["fallback_pool", "remote", "2"],
      ["shed", "-", "2"],
      ["saturated", sent(vip).pool, "2"],
    ]);
    expect(lines(p).map((l) => l.priority)).toEqual(["-1", "-1", "-1", "5"]);
  });

  it("stale_fallback: every report stale, picked on local counts; the log counts the stale candidates", async () => {
    const p = await routerProxy(twoPools({ steering: "endpoint", scoring: { staleAfterMs: 1000 }, ...TRACE }));
    const now = p.clock.nowMs();
    writeReport(p, loadKey("l4", "10.0.1.1:8000"), { queue: 0, kvCache: 0, atMs: now - 5000 });
    writeReport(p, loadKey("l4", "10.0.1.2:8000"), { queue: 0, kvCache: 0, atMs: now - 5000 });
    expect(sent(await p.request(oip("mistral-7b"))).reason).toBe("stale_fallback");
    expect(lines(p)[0]).toMatchObject({ reason: "stale_fallback", candidates: "2", stale: "2", runner_up: "-", runner_up_score: "-" });
  });

  it("no_healthy (503) and unknown_model (404, or on the upstream's response with passthrough)", async () => {
    const p = await routerProxy(twoPools({ steering: "endpoint", outlier: { consecutiveErrors: 1, maxEjectionPercent: 100 }, ...TRACE }));
    for (let i = 0; i < 10; i++) await p.request(oip("mistral-7b", { response: { status: 500 } }));
    const down = await p.request(oip("mistral-7b"));
    expect(down.localReply!.status).toBe(503);
    expect(sent(down)).toEqual({ v: "1", reason: "no_healthy" });
    const unknown = await p.request(oip("gpt-9"));
    expect(unknown.localReply!.status).toBe(404);
    expect(sent(unknown)).toEqual({ v: "1", reason: "unknown_model" });
    expect(lines(p).at(-1)).toMatchObject({ reason: "unknown_model", model: "gpt-9", pool: "-", candidates: "-", stale: "-" });
    const q = await routerProxy(twoPools({ unknownModel: "passthrough", ...TRACE }));
    expect(sent(await q.request(oip("gpt-9")))).toEqual({ v: "1", reason: "unknown_model" });
  });

  it("undetermined: the model is in a body the filter does not read (body mode off), routed untouched", async () => {
    const p = await routerProxy(twoPools(TRACE));
    const r = await p.request(chat("llama-3-8b"));
    expect(r.routerHeaders!["x-inference-pool"]).toBeUndefined();
    expect(sent(r)).toEqual({ v: "1", reason: "undetermined" });
    expect(lines(p)[0]).toMatchObject({ reason: "undetermined", protocol: "openai-chat", model: "-", pool: "-", score: "-" });
  });
});

describe("decision trace: off, forged, hostile", () => {
  it("is off by default: no header, no info line; the line exists only at debug level", async () => {
    const p = await routerProxy(twoPools());
    const r = await p.request(oip("mistral-7b"));
    expect(r.headers[HEADER]).toBeUndefined();
    expect(lines(p)).toEqual([]);
    const d = await routerProxy(twoPools(), { logLevel: "debug" });
    await d.request(oip("mistral-7b"));
    expect(
      d.logs
        .atLevel("debug")
        .filter((e) => / decision v=/.test(e.message))
        .map((e) => decision(e.message).reason),
    ).toEqual(["least_loaded"]);
  });

  it("an upstream cannot forge it: its copy is replaced, or removed when nothing was decided", async () => {
    const p = await routerProxy(twoPools({ decisionTrace: { header: true } }));
    const forged = { headers: { [HEADER]: "v=1; reason=least_loaded; pool=evil" } };
    const r = await p.request(oip("mistral-7b", { response: forged }));
    expect(r.stream.downstreamHeaders!.getAll(HEADER)).toHaveLength(1);
    expect(sent(r)).toMatchObject({ reason: "least_loaded", pool: "l4" });
    const health = await p.request({ method: "GET", path: "/health", response: forged });
    expect(health.headers[HEADER]).toBeUndefined();
  });

  it("a renamed header, and client-supplied model and request id escaped in the log line", async () => {
    const p = await routerProxy(twoPools({ unknownModel: "passthrough", decisionTrace: { header: true, headerName: "x-why", log: true } }));
    const nasty = 'a b="c";d%\u00e9\u{1F600}';
    const r = await p.request(oip(nasty, { headers: { "x-request-id": "x".repeat(100) + " y=z" } }));
    expect(sent({ ...r, headers: { [HEADER]: r.headers["x-why"]! } }).reason).toBe("unknown_model");
    expect(r.headers[HEADER]).toBeUndefined();
    const [l] = lines(p);
    expect(l!.model).toBe("a%20b%3D%22c%22%3Bd%25%C3%A9%F0%9F%98%80");
    expect(decodeURIComponent(l!.model!)).toBe(nasty);
    expect(l!.request_id).toBe("x".repeat(64));
  });
});
