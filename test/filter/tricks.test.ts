// Model-name encodings and client tricks (issue 12), through the compiled filter: UTF-8 names matched exactly
// and carried losslessly; bodies parsed like the server will parse them; foreign steering headers stripped;
// override / priority headers trusted by mTLS identity only; never a 413 from holding the body.
import { describe, expect, it } from "vitest";
import type { RequestSpec } from "../../src/host/index.js";
import { chat, oip, routerProxy, twoPools } from "./helpers.js";

const body = (o: Record<string, unknown>) => ({ enabled: true, maxBytes: 65536, timeoutMs: 200, ...o });
const raw = (text: string, extra: Partial<RequestSpec> = {}): RequestSpec => ({
  method: "POST",
  path: "/v1/chat/completions",
  headers: { "content-type": "application/json" },
  body: text,
  ...extra,
});
const pctDecode = (v: string) => decodeURIComponent(v);

describe("UTF-8 model names", () => {
  const names = ["café-7b", "模型-大", "llama😀", "a%b", "x,y", 'q"uote', "back\\slash", "sp ace"];
  const cfg = () => ({
    pools: [
      { name: "u", models: names, endpoints: ["10.0.0.1:8000"] },
      { name: "other", models: ["cafe-7b"], endpoints: ["10.0.0.2:8000"] },
    ],
    body: body({}),
  });

  it("accepts any UTF-8 name in the config and matches the exact decoded name from a JSON body", async () => {
    const p = await routerProxy(cfg(), { allowOnHeadersStopIteration: true });
    for (const n of names) {
      const r = await p.request(chat(n));
      expect(r.routerHeaders!["x-inference-pool"], n).toBe("u");
      // Lossless, header-safe: percent-decoding gives the exact name back.
      const h = r.routerHeaders!["x-inference-model"]!;
      expect(h).toMatch(/^[\x21-\x7e]+$/);
      expect(h).not.toMatch(/[",\\]/);
      expect(pctDecode(h), n).toBe(n);
    }
  });

  it("reads a percent-encoded UTF-8 name from a KServe v2 path", async () => {
    const p = await routerProxy(cfg());
    const r = await p.request(oip("模型-大"));
    expect(r.routerHeaders!["x-inference-pool"]).toBe("u");
    expect(r.routerHeaders!["x-inference-model"]).toBe("%E6%A8%A1%E5%9E%8B-%E5%A4%A7");
  });

  it("never lets a look-alike or a different spelling match: homoglyph, full-width, NFD, case", async () => {
    const p = await routerProxy(cfg(), { allowOnHeadersStopIteration: true });
    for (const fake of ["cafe\u0301-7b", "сafé-7b" /* Cyrillic с */, "ｃａｆé-7b", "CAFÉ-7B", "café-7b\u200b"]) {
      const r = await p.request(chat(fake));
      expect(r.localReply?.status, fake).toBe(404);
    }
    // Names that would collide under a substitution ('_' for non-ASCII) stay apart.
    const a = await p.request(chat("café-7b"));
    const b = await p.request(chat("cafe-7b"));
    expect(a.routerHeaders!["x-inference-pool"]).toBe("u");
    expect(b.routerHeaders!["x-inference-pool"]).toBe("other");
    expect(a.routerHeaders!["x-inference-model"]).not.toBe(b.routerHeaders!["x-inference-model"]);
  });

  it("a '%' in a name is itself encoded, so an encoded-looking name cannot pose as another", async () => {
    const p = await routerProxy(
      { pools: [{ name: "p", models: ["a%2Cb", "a,b"] }], body: body({}) },
      { allowOnHeadersStopIteration: true },
    );
    const x = await p.request(chat("a%2Cb"));
    const y = await p.request(chat("a,b"));
    expect(x.routerHeaders!["x-inference-model"]).toBe("a%252Cb");
    expect(y.routerHeaders!["x-inference-model"]).toBe("a%2Cb");
  });

  it("refuses config names that are not UTF-8 model names (controls, too long)", async () => {
    for (const bad of ["a\u0000b", "tab\tx", "c1\u0085", "x".repeat(257), "é".repeat(129), "\ud800"]) {
      await expect(routerProxy({ pools: [{ name: "p", models: [bad] }] }), JSON.stringify(bad).slice(0, 20)).rejects.toThrow();
    }
    // 256 bytes exactly is fine.
    await routerProxy({ pools: [{ name: "p", models: ["é".repeat(128)] }] });
  });
});

describe("parse like the server", () => {
  const proxy = () => routerProxy(twoPools({ body: body({}) }), { allowOnHeadersStopIteration: true });

  it("duplicate top-level model: the last one wins, as in Python's json and Go's encoding/json", async () => {
    const p = await proxy();
    const r = await p.request(raw('{"model":"llama-3-70b","messages":[],"model":"mistral-7b"}'));
    expect(r.routerHeaders!["x-inference-model"]).toBe("mistral-7b");
    expect(r.routerHeaders!["x-inference-pool"]).toBe("l4");
    // An escaped key is the same key.
    const e = await p.request(raw('{"model":"mistral-7b","mod\\u0065l":"llama-3-70b"}'));
    expect(e.routerHeaders!["x-inference-pool"]).toBe("a100");
  });

  it("a body with trailing bytes (not exactly one JSON document) is never routed on a partial parse", async () => {
    const p = await proxy();
    for (const t of ['{"model":"mistral-7b"}{"model":"llama-3-70b"}', '{"model":"mistral-7b"} x', '{"model":"mistral-7b"}}']) {
      const r = await p.request(raw(t));
      expect(r.routerHeaders!["x-inference-pool"], t).toBeUndefined();
      expect(r.routerHeaders!["x-inference-model"], t).toBeUndefined();
    }
  });

  it("protobuf: the last model_name wins (ModelInfer)", async () => {
    const p = await proxy();
    const enc = new TextEncoder();
    const s = (f: number, v: string) => [(f << 3) | 2, v.length, ...enc.encode(v)];
    const msg = [...s(1, "llama-3-70b"), ...s(1, "mistral-7b")];
    const f = new Uint8Array(5 + msg.length);
    new DataView(f.buffer).setUint32(1, msg.length, false);
    f.set(msg, 5);
    const r = await p.request({
      method: "POST",
      path: "/inference.GRPCInferenceService/ModelInfer",
      headers: { "content-type": "application/grpc" },
      body: f,
    });
    expect(r.routerHeaders!["x-inference-pool"]).toBe("l4");
  });
});

describe("no foreign steering", () => {
  const foreign = {
    "x-gateway-destination-endpoint-subset": "10.9.9.9:8000",
    "x-envoy-original-dst-host": "10.9.9.9:8000",
    "target-pod": "10.9.9.9",
    "routing-strategy": "random",
    "x-ai-eg-model": "llama-3-70b",
    "x-ai-eg-upstream-host": "10.9.9.9",
    "x-higress-target-cluster": "outbound|80||evil",
  };
  it("strips every listed header on every request, inference or not", async () => {
    const p = await routerProxy(twoPools());
    for (const spec of [
      oip("llama-3-8b", { headers: foreign }),
      { method: "GET", path: "/health", headers: foreign },
      oip("unknown", { headers: foreign }),
    ]) {
      const r = await p.request({ ...spec, response: { status: 200 } });
      const seen = r.routerHeaders ?? {};
      for (const k of Object.keys(foreign)) expect(seen[k], k).toBeUndefined();
    }
  });
  it("strips every copy and every spelling: duplicates, upper and mixed case, owned and foreign alike", async () => {
    const p = await routerProxy(twoPools());
    const upper = Object.fromEntries(Object.entries(foreign).map(([k, v], i) => [i % 2 ? k.toUpperCase() : k, [v, v + "-2"]]));
    const owned = { "X-Inference-Pool": ["evil", "evil-2"], "X-INFERENCE-MODEL": "mistral-7b", "x-inference-priority": ["100", "99"] };
    for (const spec of [
      oip("llama-3-8b", { headers: { ...upper, ...owned } }),
      { method: "GET", path: "/health", headers: { ...upper, ...owned } },
    ]) {
      const r = await p.request({ ...spec, response: { status: 200 } });
      const seen = r.routerHeaders ?? {};
      for (const k of Object.keys(foreign)) expect(seen[k], k).toBeUndefined();
      if (spec.method === "GET")
        for (const k of ["x-inference-pool", "x-inference-model", "x-inference-priority"]) expect(seen[k], k).toBeUndefined();
      else {
        expect(["a100", "l4"]).toContain(seen["x-inference-pool"]);
        expect(seen["x-inference-model"]).toBe("llama-3-8b");
        expect(seen["x-inference-priority"]).not.toMatch(/^(100|99)$/);
      }
    }
  });
  it("the list is configurable", async () => {
    const p = await routerProxy(twoPools({ headers: { stripInbound: ["x-my-router"] } }));
    const r = await p.request(oip("llama-3-8b", { headers: { "x-my-router": "a", "target-pod": "b" } }));
    expect(r.routerHeaders!["x-my-router"]).toBeUndefined();
    expect(r.routerHeaders!["target-pod"]).toBe("b");
  });
});

describe("trust by identity, not by header", () => {
  const cfg = (peers: string[]) => twoPools({ headers: { modelOverride: "x-model", priorityIn: "x-priority", trustedPeers: peers } });
  const ask = { headers: { "x-model": "mistral-7b", "x-priority": "50" } };

  it("honours the headers from a configured principal or namespace", async () => {
    const p = await routerProxy(cfg(["spiffe://cluster.local/ns/gw/sa/gateway", "ns:batch"]));
    for (const peer of ["spiffe://cluster.local/ns/gw/sa/gateway", "spiffe://cluster.local/ns/batch/sa/any"]) {
      const r = await p.request(oip("llama-3-70b", { ...ask, peer }));
      expect(r.routerHeaders!["x-inference-model"], peer).toBe("mistral-7b");
      expect(r.routerHeaders!["x-inference-priority"]).toBe("50");
    }
  });

  it("ignores and counts them from anyone else, including without mTLS", async () => {
    const p = await routerProxy(cfg(["spiffe://cluster.local/ns/gw/sa/gateway", "ns:batch"]));
    const others = [
      undefined,
      "spiffe://cluster.local/ns/gw/sa/other",
      "spiffe://cluster.local/ns/batchx/sa/a",
      "spiffe://cluster.local/ns/batch/sa/a/extra",
      "spiffe://evil/ns/gw/sa/gateway",
      "spiffe://cluster.local/ns/gw/sa/gateway/",
    ];
    for (const peer of others) {
      const r = await p.request(oip("llama-3-70b", { ...ask, peer }));
      expect(r.routerHeaders!["x-inference-model"], String(peer)).toBe("llama-3-70b");
      expect(r.routerHeaders!["x-inference-priority"]).toBe("0");
    }
    expect(p.prometheus()).toMatch(new RegExp(`inference_router_untrusted_headers\\{\\} ${others.length}\\n`));
  });

  it("with no trusted peers configured, the headers are never honoured", async () => {
    const p = await routerProxy(cfg([]));
    const r = await p.request(oip("llama-3-70b", { ...ask, peer: "spiffe://cluster.local/ns/gw/sa/gateway" }));
    expect(r.routerHeaders!["x-inference-model"]).toBe("llama-3-70b");
  });
});

describe("never a 413 from holding the body", () => {
  // The OpenAI Python SDK serialises `messages` before `model`: a long prompt puts the model late.
  const sdkOrder = (promptBytes: number, model = "mistral-7b") =>
    JSON.stringify({ messages: [{ role: "user", content: "p".repeat(promptBytes) }], model, stream: false });

  it("holds with watermark semantics: no 413 even under a smaller limit than it was told (Envoy Gateway's 32 KiB)", async () => {
    // The host answers 413 past its limit for a filter that buffers (test/host/buffer-limit.test.ts); the router
    // holds with StopIterationAndWatermark, so a misconfigured limit costs backpressure, never a 413.
    const p = await routerProxy(twoPools({ body: body({ maxBytes: 65536, bufferLimitBytes: 1_048_576 }) }), {
      allowOnHeadersStopIteration: true,
      bufferLimitBytes: 32_768,
    });
    const b = sdkOrder(40_000);
    const r = await p.request(chat("x", { body: b, bodyChunks: [b.slice(0, 20_000), b.slice(20_000, 30_000), b.slice(30_000)] }));
    expect(r.localReply).toBeUndefined();
    expect(r.routerBody).toBe(b);
    expect(r.routerHeaders!["x-inference-pool"]).toBe("l4");
  });

  it("told the limit, the filter stops holding before it and decides with what it has (model after scan limit)", async () => {
    const p = await routerProxy(twoPools({ body: body({ maxBytes: 65536, bufferLimitBytes: 32_768 }) }), {
      allowOnHeadersStopIteration: true,
      bufferLimitBytes: 32_768,
    });
    const b = sdkOrder(40_000);
    const r = await p.request(chat("x", { body: b, bodyChunks: [b.slice(0, 20_000), b.slice(20_000)] }));
    expect(r.localReply).toBeUndefined();
    expect(r.routerBody.length).toBe(b.length);
    expect(r.routerHeaders!["x-inference-pool"]).toBeUndefined(); // undetermined: routed untouched
    expect(p.prometheus()).toMatch(/inference_router_model_after_scan_limit\{\} 1\n/);
  });

  it("a prompt that fits within the limit is routed even with the model after it", async () => {
    const p = await routerProxy(twoPools({ body: body({ maxBytes: 1_048_576, bufferLimitBytes: 1_048_576 }) }), {
      allowOnHeadersStopIteration: true,
      bufferLimitBytes: 1_048_576,
    });
    const b = sdkOrder(1_000_000);
    const chunks = [];
    for (let i = 0; i < b.length; i += 16_384) chunks.push(b.slice(i, i + 16_384));
    const r = await p.request(chat("x", { body: b, bodyChunks: chunks }));
    expect(r.localReply).toBeUndefined();
    expect(r.routerHeaders!["x-inference-pool"]).toBe("l4");
  });

  it("more held multi-chunk bodies than copy buffers: the rest use Envoy's buffer, all routed, memory fixed", async () => {
    const p = await routerProxy(twoPools({ body: body({ maxBytes: 65536 }) }), { allowOnHeadersStopIteration: true });
    const pagesBefore = p.workers[0]!.memoryPages();
    const b = sdkOrder(30_000);
    const streams = [];
    for (let i = 0; i < 7; i++) {
      const s = p.newStream();
      s.sendRequestHeaders({ ":method": "POST", ":path": "/v1/chat/completions", ":authority": "x", "content-type": "application/json" });
      s.sendRequestBody(b.slice(0, 10_000));
      streams.push(s);
    }
    for (const s of streams) s.sendRequestBody(b.slice(10_000), true);
    for (const s of streams) {
      expect(s.localReply).toBeUndefined();
      expect(s.routerRequestHeaders!.get("x-inference-pool")).toBe("l4");
      expect(s.routerRequestBody).toBe(b);
      s.complete();
    }
    expect(p.workers[0]!.memoryPages()).toBe(pagesBefore);
  });

  it("one chunk larger than the limit is let through, not buffered", async () => {
    const p = await routerProxy(twoPools({ body: body({ maxBytes: 65536, bufferLimitBytes: 32_768 }) }), {
      allowOnHeadersStopIteration: true,
      bufferLimitBytes: 32_768,
    });
    const b = sdkOrder(100_000);
    const r = await p.request(chat("x", { body: b }));
    expect(r.localReply).toBeUndefined();
    expect(r.routerBody.length).toBe(b.length);
  });
});
